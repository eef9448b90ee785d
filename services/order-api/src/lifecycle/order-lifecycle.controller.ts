import { applyDecorators, Body, Controller, HttpStatus, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CARD_TOKEN_PATTERN } from '@shop/contracts';
import { ApiError } from '@shop/service-kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AuthSchemes } from '../auth/auth-schemes';
import { PrincipalResolver } from '../auth/principal.resolver';
import { errorResponseSchema, openApiSchemaOf } from '../common/openapi-schema';
import { requireJsonContentType } from '../common/request-headers';
import { parseOrReject } from '../common/zod-validation';
import { OrderAccess, orderNotFound } from '../orders/order-access';
import { orderLocation, type OrderView } from '../orders/order.view';
import { OrdersService } from '../orders/orders.service';
import { RateLimited } from '../rate-limits/order-rate-limits';
import type { LifecycleEvent } from './order-lifecycle';
import { OrderLifecycleStore, type LifecycleResult } from './order-lifecycle.store';

const PayOrderRequest = z
  .object({
    card: z
      .string()
      .regex(CARD_TOKEN_PATTERN, 'must be 12 to 19 digits (a sandbox test card: see docs/api.md)'),
  })
  .strict();

/** What POST /orders/:id/payment answers: the attempt under way (its result comes as the order's status). */
export interface PaymentAccepted {
  orderId: string;
  paymentId: string;
  status: 'pending';
}

const ApiOrderActionAccess = () =>
  applyDecorators(
    ApiBearerAuth(AuthSchemes.orderAccessToken),
    ApiBearerAuth(AuthSchemes.customer),
    ApiBearerAuth(AuthSchemes.operator),
    ApiResponse({
      status: 400,
      description: 'INVALID_ORDER_ID, VALIDATION_FAILED',
      schema: errorResponseSchema,
    }),
    ApiResponse({ status: 401, description: 'AUTHENTICATION_REQUIRED', schema: errorResponseSchema }),
    ApiResponse({
      status: 404,
      description: 'ORDER_NOT_FOUND: no such order, or the credential does not open it (the same answer)',
      schema: errorResponseSchema,
    }),
  );

/**
 * The customer's side of an order's life: paying for it and cancelling it. Both go through the same
 * transition table and store as the payment service's answers and the deadlines, so a payment racing its
 * deadline, or a cancel racing a payment, ends one way.
 */
@ApiTags('orders')
@Controller('orders')
export class OrderLifecycleController {
  constructor(
    private readonly access: OrderAccess,
    private readonly orders: OrdersService,
    private readonly principals: PrincipalResolver,
    private readonly store: OrderLifecycleStore,
  ) {}

  @Post(':id/payment')
  @ApiOperation({
    summary: 'Pay for a placed order before its payBy (the payment service charges the card)',
    description:
      'Answers 202 at once: the payment request is committed with the order and published to the payment ' +
      'service, whose answer moves the order to paid (or leaves it placed, payment.failure set, to try ' +
      'another card). The card is a sandbox test card number (docs/api.md): a real provider integration would ' +
      "take a token from the provider's browser library instead. Needs the order's accessToken, its " +
      "customer's token or the operator token, in the Authorization header.",
  })
  @ApiOrderActionAccess()
  @ApiBody({ schema: openApiSchemaOf(PayOrderRequest) })
  @ApiResponse({
    status: 202,
    description: '{ orderId, paymentId, status: "pending" }; Location names the order',
  })
  @ApiResponse({
    status: 409,
    description:
      'ORDER_ALREADY_PAID, ORDER_NOT_PAYABLE (cancelled, expired, refunded, or payBy passed), ' +
      'PAYMENT_IN_PROGRESS (wait for the current attempt)',
    schema: errorResponseSchema,
  })
  @RateLimited('payments')
  async pay(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Param('id') id: string,
    @Body() body: unknown,
  ): Promise<PaymentAccepted> {
    requireJsonContentType(request);
    const order = await this.access.open(request, id, 'Paying for an order');
    const { card } = parseOrReject(PayOrderRequest, body);
    const paymentId = randomUUID();
    const result = await this.store.apply({ orderId: order.id, event: { type: 'pay', paymentId }, card });
    this.refuseUnless(order.id, result);
    void reply.status(HttpStatus.ACCEPTED).header('location', orderLocation(order.id));
    return { orderId: order.id, paymentId, status: 'pending' };
  }

  @Post(':id/cancel')
  @ApiOperation({
    summary: 'Cancel an order: at once before payment, after a refund once paid',
    description:
      'Unpaid: cancelled at once, its stock back (200). Paid or completed: the refund is asked for, and ' +
      'the order becomes cancelled with its stock back when the payment service confirms it (202; ' +
      'cancelRequestedAt set). Cancelling a cancelled order answers 200 again.',
  })
  @ApiOrderActionAccess()
  @ApiResponse({ status: 200, description: 'The order, cancelled' })
  @ApiResponse({ status: 202, description: 'The order, its refund under way' })
  @ApiResponse({
    status: 409,
    description: 'ORDER_NOT_CANCELLABLE (expired or refunded already)',
    schema: errorResponseSchema,
  })
  async cancel(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Param('id') id: string,
  ): Promise<OrderView & { accessToken: string }> {
    const order = await this.access.open(request, id, 'Cancelling an order');
    const event: LifecycleEvent = { type: 'cancel' };
    this.refuseUnless(order.id, await this.store.apply({ orderId: order.id, event }));
    const after = await this.orders.findOrder(order.id);
    if (!after) throw orderNotFound(order.id);
    void reply
      .status(after.status === 'cancelled' ? HttpStatus.OK : HttpStatus.ACCEPTED)
      .header('cache-control', 'private, no-store');
    return { ...after, accessToken: this.principals.accessTokenOf(after.id) };
  }

  private refuseUnless(orderId: string, result: LifecycleResult): void {
    if (result.outcome === 'unknown-order') throw orderNotFound(orderId);
    if (result.outcome === 'refused') {
      throw new ApiError(HttpStatus.CONFLICT, result.code, `${capitalised(result.why)}.`, {
        status: result.status,
      });
    }
  }
}

const capitalised = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
