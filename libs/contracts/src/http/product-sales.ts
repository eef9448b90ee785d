import type { OrderLifecycleStatus } from '../messages/order-lifecycle/order-lifecycle.v1';

/**
 * `GET /products/:sku/sales` (order-api): orders that include a product and how far they got through the
 * pipeline, counted by the database. The load test's drain and checks read it.
 */
export interface ProductSales {
  sku: string;
  stock: number;
  orders: number;
  /** Units of every order placed, including those given back since. */
  unitsSold: number;
  /** Units reserved by orders still placed, paid or completed: stock = initial + restocks − unitsHeld. */
  unitsHeld: number;
  /** Units given back by orders that expired, were cancelled or refunded (each order's once). */
  unitsReturned: number;
  /** Orders by status. */
  byStatus: Record<OrderLifecycleStatus, number>;
  /** Orders whose confirmation email was sent. */
  notified: number;
  /** Orders whose PDF report was written. */
  reported: number;
}
