import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { formatMoney, OrderSteps } from '@shop/contracts';
import { logEntry } from '@shop/logging';
import { ApiError } from '@shop/service-kit';
import { randomUUID } from 'node:crypto';
import { validationFailed } from '../common/zod-validation';
import type { NormalisedOrder } from './create-order.request';
import { scopedIdempotencyKey } from './idempotency-key';
import { OrderPlacementBatcher } from './order-placement.batcher';
import { OrderRepository } from './order.repository';
import { toOrderView, type OrderView } from './order.view';
import { SoldOutMarkers } from './sold-out-markers';
import type { SaleRefusalOutcome } from './place-orders.sql';
import { WaitingRoom, type QueuedTicket } from '../admission/waiting-room';
import { SaleCatalog } from '../sales/sale-catalog';
import {
  limitPerCustomer,
  refusalFromMemory,
  saleClosed,
  saleNotOpen,
  signInRequired,
} from '../sales/sale-rules';

/** Who an order is placed for: a guest (the body's email), or a signed-in customer (their token's). */
export type OrderOwner = { kind: 'guest' } | { kind: 'customer'; customerId: string; email: string };

/** Most orders one page of GET /orders holds. */
export const MAX_PAGE_SIZE = 100;

export interface OrderPage {
  orders: OrderView[];
  /** The last order of this page, to ask for the next one; undefined on the last page. */
  next?: { createdAt: Date; id: string };
}

export interface PlaceOrderResult {
  kind: 'order';
  order: OrderView;
  /** false when an Idempotency-Key replay returned the order placed earlier. */
  created: boolean;
}

/** What POST /orders answers: the order, or (a sale with queued admission) a ticket in the waiting room. */
export type AdmissionResult = PlaceOrderResult | { kind: 'queued'; ticket: QueuedTicket };

/** One order request as the waiting room's consumer places it: checked and scoped when it was queued. */
export interface QueuedOrder {
  request: NormalisedOrder;
  idempotencyKey: string;
  customer: Extract<OrderOwner, { kind: 'customer' }>;
  correlationId: string;
}

@Injectable()
export class OrdersService {
  private readonly logger = new Logger(OrdersService.name);

  constructor(
    private readonly orders: OrderRepository,
    private readonly placements: OrderPlacementBatcher,
    private readonly soldOut: SoldOutMarkers,
    private readonly sales: SaleCatalog,
    private readonly waitingRoom: WaitingRoom,
  ) {}

  /**
   * POST /orders: placed at once, or, for a sale with queued admission, queued in the waiting room with
   * a ticket. A sale's window and sign-in are checked first, from memory: a refused request touches
   * nothing.
   */
  async admitOrder(
    request: NormalisedOrder,
    clientKey: string | undefined,
    correlationId: string,
    owner: OrderOwner = { kind: 'guest' },
  ): Promise<AdmissionResult> {
    if (owner.kind === 'customer' && request.customer.email !== owner.email) {
      throw new ApiError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        'CUSTOMER_EMAIL_MISMATCH',
        'Signed in, an order goes to the email you signed in with: customer.email must be that one (or sign out to order as a guest).',
      );
    }
    const idempotencyKey =
      clientKey === undefined
        ? undefined
        : scopedIdempotencyKey(
            owner.kind === 'customer'
              ? { customerId: owner.customerId }
              : { guestEmail: request.customer.email },
            clientKey,
          );
    const sales = this.sales.salesOf(request.lines);
    if (sales.length > 0) {
      const refusal = refusalFromMemory(
        sales,
        { signedIn: owner.kind === 'customer', mayBeReplay: idempotencyKey !== undefined },
        Date.now(),
      );
      if (refusal) throw refusal;
      // Known sold out: answered at once (below) rather than after a wait in line for nothing.
      if (
        owner.kind === 'customer' &&
        sales.some((sale) => sale.admission === 'queued') &&
        this.soldOut.shortOf(request.lines).length === 0
      ) {
        return {
          kind: 'queued',
          ticket: await this.waitingRoom.enter(request, clientKey, correlationId, owner),
        };
      }
    }
    return this.place(request, idempotencyKey, correlationId, owner);
  }

  /**
   * A request from the waiting room, in its turn: the same rules as a direct order (the window again:
   * it may have closed while the request waited), answered with the order or a refusal (ApiError).
   */
  async placeQueued(queued: QueuedOrder): Promise<PlaceOrderResult> {
    const sales = this.sales.salesOf(queued.request.lines);
    const refusal = refusalFromMemory(sales, { signedIn: true, mayBeReplay: true }, Date.now());
    if (refusal) throw refusal;
    return this.place(queued.request, queued.idempotencyKey, queued.correlationId, queued.customer);
  }

  private async place(
    request: NormalisedOrder,
    idempotencyKey: string | undefined,
    correlationId: string,
    owner: OrderOwner,
  ): Promise<PlaceOrderResult> {
    const knownShort = this.soldOut.shortOf(request.lines);
    if (knownShort.length > 0) {
      // Certainly not enough stock, so no lock and no write; only a retry of an order placed earlier
      // may still succeed.
      if (!idempotencyKey) throw outOfStock(knownShort);
      let known = this.soldOut.orderForKey(knownShort, idempotencyKey);
      if (known === 'ask-database') {
        // Right after a sell-out the keys are being read: one read answers all of these refusals.
        await this.placements.keysRead(knownShort);
        known = this.soldOut.orderForKey(knownShort, idempotencyKey);
      }
      if (known === 'no-order') throw outOfStock(knownShort);
      if (known === 'ask-database' && !(await this.orders.orderExistsFor(idempotencyKey))) {
        throw outOfStock(knownShort);
      }
      return this.replay(idempotencyKey, request);
    }

    const orderId = randomUUID();
    const placement = await this.placements.place({
      request,
      idempotencyKey,
      customerId: owner.kind === 'customer' ? owner.customerId : undefined,
      correlationId,
      orderId,
      notifyMessageId: randomUUID(),
      reportMessageId: randomUUID(),
      deadlineMessageId: randomUUID(),
    });

    switch (placement.kind) {
      case 'too-many-waiting':
        throw new ApiError(
          HttpStatus.SERVICE_UNAVAILABLE,
          'TOO_MANY_ORDERS_WAITING',
          'Too many orders are waiting to be placed; retry in a moment.',
        );
      case 'replay':
        return this.replay(idempotencyKey as string, request);
      case 'unknown-sku':
        throw new ApiError(
          HttpStatus.UNPROCESSABLE_ENTITY,
          'UNKNOWN_SKU',
          `No product has sku ${placement.skus.join(', ')}.`,
          { skus: placement.skus },
        );
      case 'out-of-stock':
        throw outOfStock(placement.skus);
      case 'too-big':
        throw validationFailed('request body', [
          { field: 'items', code: 'too_big', message: 'the order total is larger than an order can hold' },
        ]);
      case 'sale-refusal':
        throw await this.saleRefusal(placement.refusal, placement.skus);
      case 'placed':
        break;
    }

    const itemCount = placement.items.reduce((sum, item) => sum + item.quantity, 0);
    // No customer data here: the order id and the correlation id are enough to follow it.
    this.logger.log(
      logEntry(
        `order ${orderId} placed (${itemCount} items, ${formatMoney(placement.totalCents, placement.currency)})`,
        { orderId, step: OrderSteps.placed },
      ),
    );
    return {
      kind: 'order',
      created: true,
      order: {
        id: orderId,
        status: 'placed',
        customer: request.customer,
        items: placement.items.map((item) => ({
          ...item,
          lineTotalCents: item.unitPriceCents * item.quantity,
        })),
        totalCents: placement.totalCents,
        currency: placement.currency,
        createdAt: placement.createdAt.toISOString(),
        payBy: placement.payBy.toISOString(),
        payment: { status: 'none' },
        ...(owner.kind === 'customer' && { customerId: owner.customerId }),
      },
    };
  }

  async findOrder(orderId: string): Promise<OrderView | undefined> {
    const order = await this.orders.findById(orderId);
    return order ? toOrderView(order) : undefined;
  }

  /** Newest first; one customer's orders, or everyone's (operators) when `customerId` is undefined. */
  async listOrders(query: {
    customerId?: string;
    limit: number;
    after?: { createdAt: Date; id: string };
  }): Promise<OrderPage> {
    // One more than asked: tells whether there is a next page without a count.
    const rows = await this.orders.findPage({ ...query, limit: query.limit + 1 });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      orders: page.map(toOrderView),
      next: rows.length > query.limit && last ? { createdAt: last.createdAt, id: last.id } : undefined,
    };
  }

  /** The same key again: the same order if the request is the same, otherwise a refusal. */
  private async replay(idempotencyKey: string, request: NormalisedOrder): Promise<PlaceOrderResult> {
    const existing = await this.orders.findByIdempotencyKey(idempotencyKey);
    if (!existing) throw new Error(`order for idempotency key ${idempotencyKey} vanished`);
    if (existing.requestHash !== request.requestHash) {
      throw new ApiError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        'IDEMPOTENCY_KEY_REUSED',
        'This Idempotency-Key was already used for a different order; use a new key for a new order.',
      );
    }
    return { kind: 'order', created: false, order: toOrderView(existing) };
  }

  /** The database applied a sale's rule this instance's memory did not know of yet (or the limit). */
  private async saleRefusal(refusal: SaleRefusalOutcome, skus: string[]): Promise<ApiError> {
    const sale = this.sales.bySkuNow(skus[0]) ?? (await this.sales.read(skus[0]));
    if (!sale) throw new Error(`place_orders refused ${skus.join(', ')} as ${refusal}, but no sale holds it`);
    switch (refusal) {
      case 'sale_not_open':
        return saleNotOpen(sale, Date.now());
      case 'sale_closed':
        return saleClosed(sale);
      case 'sign_in_required':
        return signInRequired(sale);
      case 'limit_per_customer':
        return limitPerCustomer(sale);
    }
  }
}

function outOfStock(skus: string[]): ApiError {
  return new ApiError(HttpStatus.CONFLICT, 'OUT_OF_STOCK', `Not enough stock for ${skus.join(', ')}.`, {
    skus,
  });
}
