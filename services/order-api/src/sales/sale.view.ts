import { WAITING_ROOM_SIZE, type SaleView } from '@shop/contracts';
import { saleStateAt, type Sale } from './sale';

export function toSaleView(sale: Sale, now: number, waitingRoomDepth: number | undefined): SaleView {
  return {
    id: sale.id,
    sku: sale.sku,
    opensAt: sale.opensAt.toISOString(),
    closesAt: sale.closesAt.toISOString(),
    limitPerCustomer: sale.limitPerCustomer,
    paymentWindowMs: sale.paymentWindowMs,
    admission: sale.admission,
    state: saleStateAt(sale, now),
    waitingRoom:
      sale.admission === 'queued' && waitingRoomDepth !== undefined
        ? { depth: waitingRoomDepth, size: WAITING_ROOM_SIZE }
        : null,
  };
}
