import {
  applyDecorators,
  CanActivate,
  ExecutionContext,
  Inject,
  Injectable,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiResponse } from '@nestjs/swagger';
import { rateLimited, type RateLimit, RateLimits } from '@shop/service-kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PrincipalResolver, type Principal } from '../auth/principal.resolver';
import { errorResponseSchema } from '../common/openapi-schema';
import type { OrderApiConfig } from '../config/order-api.config';

/** The routes counted: POST /orders and POST /orders/:id/payment. */
export type LimitedRoute = 'orders' | 'payments';

type LimitName = `${LimitedRoute}-per-client` | `${LimitedRoute}-per-customer`;

/** Each route's two limits, named once here so that a request builds no string. */
const LIMITS_OF = {
  orders: { route: 'orders', perClient: 'orders-per-client', perCustomer: 'orders-per-customer' },
  payments: { route: 'payments', perClient: 'payments-per-client', perCustomer: 'payments-per-customer' },
} as const satisfies Record<
  LimitedRoute,
  { route: LimitedRoute; perClient: LimitName; perCustomer: LimitName }
>;

export const ORDER_RATE_LIMITS = Symbol('ORDER_RATE_LIMITS');

const LIMITED_ROUTE = 'order-api:limited-route';

/** The customer's id of a principal that is one; undefined for a guest, an order token or the operator. */
const customerIdOf = (principal: Principal): string | undefined =>
  principal.kind === 'customer' ? principal.sub : undefined;

/** The four limits from the configuration; the per-customer ones count by the verified JWT's `sub`. */
export function orderRateLimitsOf(
  config: OrderApiConfig,
  principals: PrincipalResolver,
): Record<LimitName, RateLimit> {
  const timeWindowMs = config.RATE_LIMIT_WINDOW_SECONDS * 1000;
  // Only asked for a customer's request (OrderRateLimitGuard), and memoised by the resolver.
  const keyOf = async (request: FastifyRequest) => customerIdOf(await principals.resolve(request)) ?? '';
  return {
    'orders-per-client': { max: config.ORDER_RATE_LIMIT_PER_CLIENT, timeWindowMs },
    'orders-per-customer': { max: config.ORDER_RATE_LIMIT_PER_CUSTOMER, timeWindowMs, keyOf },
    'payments-per-client': { max: config.PAYMENT_RATE_LIMIT_PER_CLIENT, timeWindowMs },
    'payments-per-customer': { max: config.PAYMENT_RATE_LIMIT_PER_CUSTOMER, timeWindowMs, keyOf },
  };
}

/**
 * Counts the route's requests per client (address) and, for a signed-in customer, per customer:
 * over either limit, 429 RATE_LIMITED with Retry-After, before anything is read or written.
 */
export const RateLimited = (route: LimitedRoute) =>
  applyDecorators(
    SetMetadata(LIMITED_ROUTE, LIMITS_OF[route]),
    UseGuards(OrderRateLimitGuard),
    ApiResponse({
      status: 429,
      description:
        'RATE_LIMITED: too many requests from this address or this customer in the window; retry after ' +
        'Retry-After seconds (also retryAfterSeconds). Nothing was written.',
      schema: errorResponseSchema,
    }),
  );

@Injectable()
export class OrderRateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(ORDER_RATE_LIMITS) private readonly limits: RateLimits<LimitName>,
    private readonly principals: PrincipalResolver,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const limits = this.reflector.get<(typeof LIMITS_OF)[LimitedRoute] | undefined>(
      LIMITED_ROUTE,
      context.getHandler(),
    );
    if (!limits) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    // The client first: it costs no signature check, so a client hammering with tokens is stopped cheaply.
    const clientRetry = await this.limits.exceeded(limits.perClient, request);
    if (clientRetry !== undefined) {
      throw rateLimited(
        http.getResponse<FastifyReply>(),
        clientRetry,
        `Too many ${limits.route} from this address; retry in ${clientRetry} s.`,
      );
    }
    if (customerIdOf(await this.principals.resolve(request)) === undefined) return true;
    const customerRetry = await this.limits.exceeded(limits.perCustomer, request);
    if (customerRetry === undefined) return true;
    throw rateLimited(
      http.getResponse<FastifyReply>(),
      customerRetry,
      `Too many ${limits.route} from this customer; retry in ${customerRetry} s.`,
    );
  }
}
