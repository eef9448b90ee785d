/** Amounts are integer cents everywhere; this is the one way they are shown to people (emails, PDFs). */
export function formatMoney(cents: number, currency: string): string {
  let formatter = formatters.get(currency);
  if (!formatter) {
    formatter = new Intl.NumberFormat('en-IE', { style: 'currency', currency });
    formatters.set(currency, formatter);
  }
  return formatter.format(cents / 100);
}

// Building a formatter costs far more than using one (it dominated rendering a 60-line PDF).
const formatters = new Map<string, Intl.NumberFormat>();

/** The short order number customers see (first block of the UUID, upper-case), e.g. `7D0F6A3B`. */
export function orderNumberOf(orderId: string): string {
  return orderId.split('-')[0].toUpperCase();
}
