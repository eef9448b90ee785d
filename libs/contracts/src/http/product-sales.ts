/**
 * `GET /products/:sku/sales` (order-api): orders that include a product and how far they got through the
 * pipeline, counted by the database. The load test's drain and checks read it.
 */
export interface ProductSales {
  sku: string;
  stock: number;
  orders: number;
  unitsSold: number;
  /** Orders whose confirmation email was sent. */
  notified: number;
  /** Orders whose PDF report was written. */
  reported: number;
}
