import { HttpStatus, Injectable } from '@nestjs/common';
import { ApiError, authenticationRequired } from '@shop/service-kit';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { PrincipalResolver } from '../auth/principal.resolver';
import type { OrderView } from './order.view';
import { OrdersService } from './orders.service';

const OrderId = z.uuid({ message: 'must be a UUID' });

export function validOrderId(id: string): string {
  if (!OrderId.safeParse(id).success) {
    throw new ApiError(HttpStatus.BAD_REQUEST, 'INVALID_ORDER_ID', 'The order id must be a UUID.');
  }
  return id;
}

// The same answer for an order that does not exist and one the credential does not open: a wrong
// token learns nothing, not even that the order exists.
export const orderNotFound = (id: string) =>
  new ApiError(HttpStatus.NOT_FOUND, 'ORDER_NOT_FOUND', `No order has id ${id}.`);

/**
 * Who may open an order: its access token, the JWT of the customer who placed it, or the operator
 * token. Reads and the customer's actions on an order (pay, cancel) share this one rule.
 */
@Injectable()
export class OrderAccess {
  constructor(
    private readonly orders: OrdersService,
    private readonly principals: PrincipalResolver,
  ) {}

  /**
   * The order, if the request's credential opens it: 401 without any, and the same 404 for a missing
   * order and for one the credential does not open. `queryAccessToken` (?accessToken=) is for links
   * opened in a browser; actions take the Authorization header only.
   */
  async open(
    request: FastifyRequest,
    id: string,
    action: string,
    queryAccessToken?: unknown,
  ): Promise<OrderView> {
    const principal = await this.principals.resolve(
      request,
      typeof queryAccessToken === 'string' ? queryAccessToken : undefined,
    );
    if (principal.kind === 'none') {
      throw authenticationRequired(
        `${action} needs its accessToken (Authorization: Bearer <accessToken>), its customer's token or the operator token.`,
      );
    }
    const order = await this.orders.findOrder(validOrderId(id));
    if (!order || !this.principals.grantsOrder(principal, { id, customerId: order.customerId ?? null })) {
      throw orderNotFound(id);
    }
    return order;
  }
}
