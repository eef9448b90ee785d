import { Module } from '@nestjs/common';
import { OrdersModule } from '../orders/orders.module';
import { OrderDeadlineHandler } from './order-deadline.handler';
import { OrderLifecycleController } from './order-lifecycle.controller';
import { OrderLifecycleStore } from './order-lifecycle.store';
import { OrderStatusHandler } from './order-status.handler';
import { PaymentResultHandler } from './payment-result.handler';

/**
 * An order's life after its placement (see order-lifecycle.ts): payments, deadlines, cancellations
 * and the fulfilment steps, all applied by OrderLifecycleStore.
 */
@Module({
  imports: [OrdersModule],
  controllers: [OrderLifecycleController],
  providers: [OrderLifecycleStore, OrderStatusHandler, PaymentResultHandler, OrderDeadlineHandler],
})
export class LifecycleModule {}
