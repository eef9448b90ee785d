import { DynamicModule, Module } from '@nestjs/common';
import { DatabaseHealthCheck, DbModule } from '@shop/db';
import { BrokerHealthCheck, MessagingModule, OutboxRelayModule } from '@shop/messaging';
import { HealthModule, MetricsModule } from '@shop/service-kit';
import { AuthModule } from './auth/auth.module';
import { ORDER_API_CONFIG, type OrderApiConfig } from './config/order-api.config';
import { OrdersModule } from './orders/orders.module';
import { ProductsModule } from './products/products.module';
import { RateLimitsModule } from './rate-limits/rate-limits.module';
import { ReportRpcClient } from './reports/report-rpc.client';
import { ReportsModule } from './reports/reports.module';
import { LifecycleModule } from './lifecycle/lifecycle.module';
import { AdmissionModule } from './admission/admission.module';

export const SERVICE_NAME = 'order-api';

/**
 * Events order-api holds unacknowledged at once, per queue it consumes (order_status: two per order in a
 * flash sale; order_payments; order_deadlines): the more in hand, the fewer transactions apply them.
 */
const ORDER_EVENTS_PREFETCH = 200;

@Module({})
export class AppModule {
  static forRoot(config: OrderApiConfig): DynamicModule {
    return {
      module: AppModule,
      // Global so feature modules can inject ORDER_API_CONFIG.
      global: true,
      imports: [
        DbModule.forRoot({
          databaseUrl: config.DATABASE_URL,
          maxConnections: config.DATABASE_POOL_SIZE,
          applicationName: SERVICE_NAME,
        }),
        MessagingModule.forRoot({
          url: config.RABBITMQ_URL,
          appId: SERVICE_NAME,
          declareTopology: config.RABBITMQ_DECLARE_TOPOLOGY,
          prefetchCount: ORDER_EVENTS_PREFETCH,
        }),
        OutboxRelayModule.forRoot({
          databaseUrl: config.DATABASE_URL,
          applicationName: SERVICE_NAME,
          sweepIntervalMs: config.OUTBOX_SWEEP_INTERVAL_MS,
        }),
        ReportsModule,
        MetricsModule.forRoot({ service: SERVICE_NAME }),
        HealthModule.register([DatabaseHealthCheck, BrokerHealthCheck, ReportRpcClient]),
        AuthModule,
        RateLimitsModule,
        OrdersModule,
        ProductsModule,
        LifecycleModule,
        AdmissionModule,
      ],
      providers: [{ provide: ORDER_API_CONFIG, useValue: config }],
      exports: [ORDER_API_CONFIG],
    };
  }
}
