import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { formatMoney } from '@shop/contracts';
import { PG_POOL, PrismaService, queryKeepingConnection } from '@shop/db';
import { OutboxRelay, type OutboxRecord } from '@shop/messaging';
import { ApiError } from '@shop/service-kit';
import { randomUUID } from 'node:crypto';
import type { DatabaseError, Pool } from 'pg';
import type { NormalisedOrder } from './create-order.request';
import { toOrderView, type OrderView } from './order.view';
import { PLACE_ORDER_SQL, PlaceOrderRejection } from './place-order.sql';

/** Where an order's PDF report stands. */
export type ReportLocation =
  { state: 'no-order' } | { state: 'not-ready' } | { state: 'ready'; fileName: string };

export interface PlaceOrderResult {
  order: OrderView;
  /** false when an Idempotency-Key replay returned the order placed earlier. */
  created: boolean;
}

interface PlacedRow {
  order: { id: string; status: string; total_cents: number; currency: string; created_at: string };
  items: { sku: string; name: string; quantity: number; unitPriceCents: number }[];
  outbox: {
    id: string;
    exchange: string;
    routing_key: string;
    message_type: string;
    payload: unknown;
    headers: OutboxRecord['headers'];
    created_at: string;
  }[];
}

@Injectable()
export class OrdersService {
  private readonly logger = new Logger(OrdersService.name);

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly prisma: PrismaService,
    private readonly relay: OutboxRelay,
  ) {}

  async placeOrder(
    request: NormalisedOrder,
    idempotencyKey: string | undefined,
    correlationId: string,
  ): Promise<PlaceOrderResult> {
    const orderId = randomUUID();
    let placed: PlacedRow;
    try {
      const { rows } = await queryKeepingConnection<PlacedRow>(this.pool, {
        // Named: prepared once per connection, so PostgreSQL skips parsing and planning after that.
        name: 'place-order-v1',
        text: PLACE_ORDER_SQL,
        values: [
          request.lines.map((line) => line.sku),
          request.lines.map((line) => line.quantity),
          orderId,
          idempotencyKey ?? null,
          request.requestHash,
          request.customer.email,
          request.customer.name,
          correlationId,
          randomUUID(),
          randomUUID(),
        ],
      });
      placed = rows[0];
    } catch (error) {
      return this.explainRejection(error as DatabaseError, request, idempotencyKey);
    }

    // Committed: the order is safe. Publishing happens in the background; the sweep covers failures.
    this.relay.relayCommitted(
      placed.outbox.map((row) => ({
        id: row.id,
        exchange: row.exchange,
        routingKey: row.routing_key,
        messageType: row.message_type,
        payload: row.payload,
        headers: row.headers,
        createdAt: new Date(row.created_at),
      })),
    );
    const itemCount = placed.items.reduce((sum, item) => sum + item.quantity, 0);
    // No customer data here: the order id and the correlation id are enough to follow it.
    this.logger.log(
      `order ${placed.order.id} placed (${itemCount} items, ${formatMoney(placed.order.total_cents, placed.order.currency.trim())})`,
    );
    return {
      created: true,
      order: {
        id: placed.order.id,
        status: placed.order.status,
        customer: request.customer,
        items: placed.items.map((item) => ({ ...item, lineTotalCents: item.unitPriceCents * item.quantity })),
        totalCents: placed.order.total_cents,
        currency: placed.order.currency.trim(),
        createdAt: new Date(placed.order.created_at).toISOString(),
      },
    };
  }

  async findOrder(orderId: string): Promise<OrderView | undefined> {
    const order = await this.prisma.order.findUnique({ where: { id: orderId }, include: { items: true } });
    return order ? toOrderView(order) : undefined;
  }

  /** Where the order's PDF report is, once report-worker has written and recorded it. */
  async findReport(orderId: string): Promise<ReportLocation> {
    const order = await this.prisma.order.findUnique({
      where: { id: orderId },
      select: { report: { select: { fileName: true } } },
    });
    if (!order) return { state: 'no-order' };
    return order.report ? { state: 'ready', fileName: order.report.fileName } : { state: 'not-ready' };
  }

  private async explainRejection(
    error: DatabaseError,
    request: NormalisedOrder,
    idempotencyKey: string | undefined,
  ): Promise<PlaceOrderResult> {
    const isReplay =
      (error.code === '23505' && error.constraint === 'orders_idempotency_key_key') ||
      (error.code === 'P0001' && error.message === PlaceOrderRejection.idempotentReplay);
    if (isReplay && idempotencyKey) return this.replay(idempotencyKey, request);
    if (error.code === 'P0001' && error.message === PlaceOrderRejection.unknownSku) {
      const skus = (error.detail ?? '').split(',');
      throw new ApiError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        'UNKNOWN_SKU',
        `No product has sku ${skus.join(', ')}.`,
        { skus },
      );
    }
    if (error.code === 'P0001' && error.message === PlaceOrderRejection.outOfStock) {
      const skus = (error.detail ?? '').split(',');
      throw new ApiError(HttpStatus.CONFLICT, 'OUT_OF_STOCK', `Not enough stock for ${skus.join(', ')}.`, {
        skus,
      });
    }
    throw error;
  }

  /** The same key again: the same order if the request is the same, otherwise a refusal. */
  private async replay(idempotencyKey: string, request: NormalisedOrder): Promise<PlaceOrderResult> {
    const existing = await this.prisma.order.findUnique({
      where: { idempotencyKey },
      include: { items: true },
    });
    if (!existing) throw new Error(`order for idempotency key ${idempotencyKey} vanished`);
    if (existing.requestHash !== request.requestHash) {
      throw new ApiError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        'IDEMPOTENCY_KEY_REUSED',
        'This Idempotency-Key was already used for a different order; use a new key for a new order.',
        { orderId: existing.id },
      );
    }
    return { created: false, order: toOrderView(existing) };
  }
}
