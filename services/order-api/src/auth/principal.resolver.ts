import { Inject, Injectable } from '@nestjs/common';
import { bearerTokenOf, secretsEqual } from '@shop/service-kit';
import type { FastifyRequest } from 'fastify';
import { ORDER_API_CONFIG, type OrderApiConfig } from '../config/order-api.config';
import { CustomerTokenVerifier, looksLikeJwt } from './customer-token.verifier';
import { orderAccessTokenOf } from './order-access-token';

/**
 * Who a request speaks for, from its credential:
 * - `operator`: `Authorization: Bearer <OPS_TOKEN>` (never from the query string);
 * - `customer`: a customer JWT from identity that verified (`sub` = customer id, `email` lower-cased);
 * - `token`: some other bearer token (or `?accessToken=`), which can only be an order's access token:
 *   whether it grants an order is for `grantsOrder` to say;
 * - `invalid`: a JWT that failed verification;
 * - `none`: no credential at all.
 */
export type Principal =
  | { kind: 'operator' }
  | { kind: 'customer'; sub: string; email: string }
  | { kind: 'token'; token: string }
  | { kind: 'invalid' }
  | { kind: 'none' };

/** The one place that turns a request's credentials into a Principal and decides who may read an order. */
@Injectable()
export class PrincipalResolver {
  /** A request's verified customer JWT, so the rate limit's check and the handler verify it once. */
  private readonly customers = new WeakMap<object, Promise<Principal>>();

  constructor(
    @Inject(ORDER_API_CONFIG) private readonly config: OrderApiConfig,
    private readonly customerTokens: CustomerTokenVerifier,
  ) {}

  /**
   * The bearer token wins over `accessToken` in the query string (accepted so a PDF link works in a
   * browser, where no header can be set); the query string is only read where `queryToken` is passed.
   */
  async resolve(request: Pick<FastifyRequest, 'headers'>, queryToken?: string): Promise<Principal> {
    const bearer = bearerTokenOf(request.headers);
    const token = bearer ?? (queryToken === undefined || queryToken === '' ? undefined : queryToken);
    if (token === undefined) return { kind: 'none' };
    // The operator token only as a header: in a query string it would end up in URLs, histories and logs.
    if (bearer !== undefined && secretsEqual(token, this.config.OPS_TOKEN)) return { kind: 'operator' };
    if (bearer !== undefined && looksLikeJwt(token)) {
      let principal = this.customers.get(request);
      if (!principal) {
        principal = this.verifiedCustomer(token);
        this.customers.set(request, principal);
      }
      return principal;
    }
    return { kind: 'token', token };
  }

  private async verifiedCustomer(token: string): Promise<Principal> {
    const claims = await this.customerTokens.verify(token);
    return claims ? { kind: 'customer', ...claims } : { kind: 'invalid' };
  }

  /** The access token of an order, as POST /orders answers it. */
  accessTokenOf(orderId: string): string {
    return orderAccessTokenOf(this.config.ORDER_TOKEN_SECRET, orderId);
  }

  /**
   * Whether the principal may read the order (`customerId` null: a guest order): the operator, the
   * customer who placed it, or whoever holds its access token (compared in constant time).
   */
  grantsOrder(principal: Principal, order: { id: string; customerId: string | null }): boolean {
    switch (principal.kind) {
      case 'operator':
        return true;
      case 'customer':
        return order.customerId !== null && order.customerId === principal.sub;
      case 'token':
        return secretsEqual(principal.token, this.accessTokenOf(order.id));
      case 'invalid':
      case 'none':
        return false;
    }
  }
}
