/** Text from a message (names, skus) made safe for an HTML body. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/**
 * A message's ISO time as a customer reads it: `2026-12-07 05:12 UTC`, in UTC whatever offset it came
 * with. The seconds are cut, never rounded up: a deadline shown is never later than the real one.
 */
export function utcMinuteOf(isoTime: string): string {
  const iso = new Date(isoTime).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}
