import { Global, Module } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { RateLimits } from '@shop/service-kit';
import type { FastifyInstance } from 'fastify';
import { PrincipalResolver } from '../auth/principal.resolver';
import { ORDER_API_CONFIG, type OrderApiConfig } from '../config/order-api.config';
import { ORDER_RATE_LIMITS, OrderRateLimitGuard, orderRateLimitsOf } from './order-rate-limits';

/** The per-client and per-customer limits of placing and paying for orders (`@RateLimited(route)`). */
@Global()
@Module({
  providers: [
    {
      provide: ORDER_RATE_LIMITS,
      useFactory: (config: OrderApiConfig, principals: PrincipalResolver, adapterHost: HttpAdapterHost) =>
        new RateLimits(orderRateLimitsOf(config, principals), () =>
          adapterHost.httpAdapter.getInstance<FastifyInstance>(),
        ),
      inject: [ORDER_API_CONFIG, PrincipalResolver, HttpAdapterHost],
    },
    OrderRateLimitGuard,
  ],
  exports: [ORDER_RATE_LIMITS, OrderRateLimitGuard],
})
export class RateLimitsModule {}
