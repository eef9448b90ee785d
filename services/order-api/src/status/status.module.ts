import { Module } from '@nestjs/common';
import { OrderStatusHandler } from './order-status.handler';
import { OrderStatusStore } from './order-status.store';

/** The order's status, as the workers' events move it on (see OrderStatusStore). */
@Module({ providers: [OrderStatusStore, OrderStatusHandler] })
export class StatusModule {}
