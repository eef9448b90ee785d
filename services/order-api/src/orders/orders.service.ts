import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { formatMoney } from '@shop/contracts';
import { PG_POOL, PrismaService, queryKeepingConnection } from '@shop/db';
import { OutboxRelay, type OutboxRecord } from '@shop/messaging';
import { ApiError } from '@shop/service-kit';
import { randomUUID } from 'node:crypto';
import type { DatabaseError, Pool } from 'pg';
import { validationFailed } from '../common/zod-validation';
import type { NormalisedOrder } from './create-order.request';
import { toOrderView, type OrderView } from './order.view';
import { PLACE_ORDER_SQL, PlaceOrderRejection } from './place-order.sql';
import { SoldOutMarkers } from './sold-out-markers';

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
  stock_left: { sku: string; unitsLeft: number }[];
}

@Injectable()
export class OrdersService {
  private readonly logger = new Logger(OrdersService.name);

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly prisma: PrismaService,
    private readonly relay: OutboxRelay,
    private readonly soldOut: SoldOutMarkers,
  ) {}

  /** Skus whose stock is being read after a refusal, so a stampede of refusals reads each once. */
  private readonly stockReads = new Set<string>();

  async placeOrder(
    request: NormalisedOrder,
    idempotencyKey: string | undefined,
    correlationId: string,
  ): Promise<PlaceOrderResult> {
    const knownShort = this.soldOut.shortOf(request.lines);
    if (knownShort.length > 0) {
      // Certainly sold out, so no lock and no write; only a replay of an order placed earlier may
      // still succeed, and finding that out is one index read.
      if (idempotencyKey && (await this.orderExistsFor(idempotencyKey)))
        return this.replay(idempotencyKey, request);
      throw outOfStock(knownShort);
    }

    const orderId = randomUUID();
    const generation = this.soldOut.currentGeneration();
    let placed: PlacedRow;
    try {
      const { rows } = await queryKeepingConnection<PlacedRow>(this.pool, {
        // Named: prepared once per connection, so PostgreSQL skips parsing and planning after that.
        name: 'place-order-v2',
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
      if ((error as DatabaseError).message === PlaceOrderRejection.outOfStock) {
        this.readStockLevels(((error as DatabaseError).detail ?? '').split(','));
      }
      return this.explainRejection(error as DatabaseError, request, idempotencyKey);
    }

    for (const { sku, unitsLeft } of placed.stock_left) this.soldOut.remember(sku, unitsLeft, generation);

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
      throw outOfStock((error.detail ?? '').split(','));
    }
    // 22003 (out of range): the total, summed in PostgreSQL integers, is too big for an order; refuse, not a 500.
    if (error.code === '22003') {
      throw validationFailed('request body', [
        { field: 'items', code: 'too_big', message: 'the order total is larger than an order can hold' },
      ]);
    }
    throw error;
  }

  private async orderExistsFor(idempotencyKey: string): Promise<boolean> {
    const { rowCount } = await queryKeepingConnection(this.pool, {
      name: 'order-exists-for-key-v1',
      text: 'SELECT 1 FROM orders WHERE idempotency_key = $1',
      values: [idempotencyKey],
    });
    return (rowCount ?? 0) > 0;
  }

  /**
   * After a refusal, reads how much stock is left (a plain read: no lock) so the next orders for a
   * sold-out product are refused from memory. Runs in the background, once per sku at a time.
   */
  private readStockLevels(skus: string[]): void {
    const unread = skus.filter((sku) => sku && !this.stockReads.has(sku));
    if (unread.length === 0) return;
    for (const sku of unread) this.stockReads.add(sku);
    const generation = this.soldOut.currentGeneration();
    queryKeepingConnection<{ sku: string; stock: number }>(this.pool, {
      name: 'stock-levels-v1',
      text: 'SELECT sku, stock FROM products WHERE sku = ANY($1::text[])',
      values: [unread],
    })
      .then(({ rows }) => {
        for (const { sku, stock } of rows) this.soldOut.remember(sku, stock, generation);
      })
      .catch((error: Error) => this.logger.warn(`could not read stock levels: ${error.message}`))
      .finally(() => {
        for (const sku of unread) this.stockReads.delete(sku);
      });
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

function outOfStock(skus: string[]): ApiError {
  return new ApiError(HttpStatus.CONFLICT, 'OUT_OF_STOCK', `Not enough stock for ${skus.join(', ')}.`, {
    skus,
  });
}
