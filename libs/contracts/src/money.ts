/** Amounts are integer cents everywhere; this is the one way they are shown to people (emails, PDFs). */
export function formatMoney(cents: number, currency: string): string {
  return new Intl.NumberFormat('en-IE', { style: 'currency', currency }).format(cents / 100);
}

/** The short order number customers see (first block of the UUID, upper-case), e.g. `7D0F6A3B`. */
export function orderNumberOf(orderId: string): string {
  return orderId.split('-')[0].toUpperCase();
}
