import { Module } from '@nestjs/common';
import { WaitingRoomDepth } from '../admission/waiting-room-depth';
import { PaymentWindowQueues } from './payment-window-queues';
import { SaleCatalog } from './sale-catalog';
import { SaleRepository } from './sale.repository';
import { SalesController } from './sales.controller';

/** Flash sales: their rules (window, limit, sign-in, payment window) and how their orders are admitted. */
@Module({
  controllers: [SalesController],
  providers: [SaleRepository, SaleCatalog, PaymentWindowQueues, WaitingRoomDepth],
  exports: [SaleCatalog, PaymentWindowQueues, WaitingRoomDepth],
})
export class SalesModule {}
