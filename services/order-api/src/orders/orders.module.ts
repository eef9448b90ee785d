import { Module } from '@nestjs/common';
import { WaitingRoom } from '../admission/waiting-room';
import { SalesModule } from '../sales/sales.module';
import { ORDER_API_CONFIG, type OrderApiConfig } from '../config/order-api.config';
import { OrderAccess } from './order-access';
import { OrderPlacementBatcher } from './order-placement.batcher';
import { OrderRepository } from './order.repository';
import { OrdersController } from './orders.controller';
import { OrdersByStatusMetric } from './orders-by-status.metric';
import { OrdersService } from './orders.service';
import { OutboxBacklogMetric } from './outbox-backlog.metric';
import { SoldOutMarkers } from './sold-out-markers';
import { StockReplenishedListener } from './stock-replenished.listener';

@Module({
  imports: [SalesModule],
  controllers: [OrdersController],
  providers: [
    OutboxBacklogMetric,
    OrdersByStatusMetric,
    OrdersService,
    OrderAccess,
    OrderRepository,
    OrderPlacementBatcher,
    StockReplenishedListener,
    WaitingRoom,
    {
      provide: SoldOutMarkers,
      useFactory: (config: OrderApiConfig) => new SoldOutMarkers(config.SOLD_OUT_MARKER_TTL_MS),
      inject: [ORDER_API_CONFIG],
    },
  ],
  exports: [OrdersService, OrderAccess, OrderRepository, WaitingRoom, SalesModule],
})
export class OrdersModule {}
