import type { SaleAdmission, SaleState } from '@shop/contracts';

/** A flash sale of one product, as order-api keeps it in memory and in the `sales` table. */
export interface Sale {
  id: string;
  sku: string;
  opensAt: Date;
  closesAt: Date;
  limitPerCustomer: number;
  paymentWindowMs: number;
  admission: SaleAdmission;
}

export function saleStateAt(sale: Pick<Sale, 'opensAt' | 'closesAt'>, now: number): SaleState {
  if (now < sale.opensAt.getTime()) return 'scheduled';
  return now < sale.closesAt.getTime() ? 'open' : 'closed';
}
