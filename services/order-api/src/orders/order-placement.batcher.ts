import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import {
  GroupCommit,
  isStatementError,
  PG_POOL,
  queryKeepingConnection,
  type ItemResult,
} from '@shop/db';
import { OutboxRelay, type OutboxRecord } from '@shop/messaging';
import { Exchanges, MessageTypes, RoutingKeys } from '@shop/contracts';
import type { Pool } from 'pg';
import { ORDER_API_CONFIG, type OrderApiConfig } from '../config/order-api.config';
import {
  checkPlaceOrdersRows,
  ORDER_CURRENCY,
  placeOrdersQuery,
  type OrderToPlace,
  type PlaceOrdersRow,
  type SaleRefusalOutcome,
} from './place-orders.sql';
import { SoldOutMarkers } from './sold-out-markers';

/** What became of one order of a batch. `placed` is only ever answered after the batch committed. */
export type Placement =
  | {
      kind: 'placed';
      createdAt: Date;
      /** When the reservation ends unless the order is paid. */
      payBy: Date;
      totalCents: number;
      currency: string;
      items: { sku: string; name: string; quantity: number; unitPriceCents: number }[];
    }
  | { kind: 'replay' }
  | { kind: 'unknown-sku'; skus: string[] }
  | { kind: 'out-of-stock'; skus: string[] }
  | { kind: 'too-big' }
  /** A sale's rule refused it (`refusal`: which), for the products `skus`; nothing was taken. */
  | { kind: 'sale-refusal'; refusal: SaleRefusalOutcome; skus: string[] };

/** More orders than this for one sold-out product: their keys are not held in memory. */
const MAX_KEYS_HELD_PER_PRODUCT = 50_000;

/**
 * Group commit for POST /orders: every order that arrives while a batch is in the database waits for
 * the next batch, and one call of `place_orders` (one transaction, one commit flush) places them all,
 * each with its own outcome. A hot product's row lock and commit flush are paid once per batch instead
 * of once per order.
 *
 * A batch that fails with an error raised by PostgreSQL was rolled back as a whole, so its orders are
 * placed again one by one and each gets its own answer. A batch whose connection failed may or may not
 * have committed: every order in it gets that error (503), never a 201, and a retry with the same
 * Idempotency-Key finds the order if it was placed.
 */
@Injectable()
export class OrderPlacementBatcher implements OnApplicationBootstrap {
  private readonly logger = new Logger(OrderPlacementBatcher.name);
  private readonly batches: GroupCommit<OrderToPlace, Placement>;
  /** Order-key reads in flight, by sku: a refusal that needs them waits for the read instead of asking itself. */
  private readonly keyReads = new Map<string, Promise<void>>();
  private readonly poolSize: number;
  private readonly paymentWindowMs: number;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly relay: OutboxRelay,
    private readonly soldOut: SoldOutMarkers,
    @Inject(ORDER_API_CONFIG) config: OrderApiConfig,
  ) {
    this.poolSize = config.DATABASE_POOL_SIZE;
    this.paymentWindowMs = config.PAYMENT_WINDOW_MS;
    this.batches = new GroupCommit((batch) => this.placeBatch(batch), {
      maxBatchSize: config.ORDER_BATCH_MAX_ORDERS,
      maxBatchWeight: config.ORDER_BATCH_MAX_LINES,
      weightOf: (order) => order.request.lines.length,
      maxWaiting: config.ORDER_BATCH_MAX_WAITING,
    });
  }

  /**
   * Opens every pool connection and runs an empty batch on each, so the first flash sale after a start
   * does not pay for new backends, the statement's preparation and the function's first planning while
   * thousands of requests wait. A database that is down only delays nothing: the warm-up gives up.
   */
  async onApplicationBootstrap(): Promise<void> {
    const clients = await Promise.all(
      Array.from({ length: this.poolSize }, () => this.pool.connect().catch(() => undefined)),
    );
    await Promise.all(
      clients.map((client) =>
        client
          ?.query(placeOrdersQuery([], this.paymentWindowMs))
          .then(() => client.release())
          .catch((error: Error) => client.release(error)),
      ),
    );
    const warmed = clients.filter(Boolean).length;
    if (warmed < this.poolSize) this.logger.warn(`warmed ${warmed} of ${this.poolSize} database connections`);
  }

  /** Until the order keys of these sold-out skus, if being read, are in memory (or the read failed). */
  async keysRead(skus: readonly string[]): Promise<void> {
    await Promise.all(skus.map((sku) => this.keyReads.get(sku)));
  }

  /** Orders waiting for the next batch. */
  get waitingCount(): number {
    return this.batches.waitingCount;
  }

  place(order: OrderToPlace): Promise<Placement> {
    return this.batches.submit(order);
  }

  /** Whether a key has an order, for a request the sold-out markers refuse and cannot decide alone. */
  async orderExistsFor(idempotencyKey: string): Promise<boolean> {
    const { rowCount } = await queryKeepingConnection(this.pool, {
      name: 'order-exists-for-key-v1',
      text: 'SELECT 1 FROM orders WHERE idempotency_key = $1',
      values: [idempotencyKey],
    });
    return (rowCount ?? 0) > 0;
  }

  private async placeBatch(batch: OrderToPlace[]): Promise<ItemResult<Placement>[]> {
    const generation = this.soldOut.currentGeneration();
    let rows: PlaceOrdersRow[];
    try {
      const result = await queryKeepingConnection<PlaceOrdersRow>(
        this.pool,
        placeOrdersQuery(batch, this.paymentWindowMs),
      );
      rows = checkPlaceOrdersRows(result.rows, batch.length);
    } catch (error) {
      if (batch.length > 1 && isStatementError(error)) {
        this.logger.warn(
          `a batch of ${batch.length} orders failed (${(error as Error).message}); placing them one by one`,
        );
        return this.placeOneByOne(batch);
      }
      throw error;
    }
    this.relayOutbox(batch, rows);
    this.learnStockLevels(batch, rows, generation);
    return rows.map((row) => ({ ok: true, value: placementOf(row) }));
  }

  /** In arrival order, so the first come is still served first. */
  private async placeOneByOne(batch: OrderToPlace[]): Promise<ItemResult<Placement>[]> {
    const results: ItemResult<Placement>[] = [];
    for (const order of batch) {
      try {
        const [result] = await this.placeBatch([order]);
        results.push(result);
      } catch (error) {
        results.push({ ok: false, error });
      }
    }
    return results;
  }

  /** Committed: the orders are safe. Publishing happens in the background; the sweep covers failures. */
  private relayOutbox(batch: OrderToPlace[], rows: PlaceOrdersRow[]): void {
    const records: OutboxRecord[] = [];
    rows.forEach((row, i) => {
      if (row.outcome !== 'placed') return;
      const order = batch[i];
      const headers = { correlationId: order.correlationId, 'order-id': order.orderId };
      const createdAt = row.created_at as Date;
      const common = {
        exchange: Exchanges.order,
        messageType: MessageTypes.orderPlacedV1,
        headers,
        createdAt,
      };
      records.push(
        {
          ...common,
          id: order.notifyMessageId,
          routingKey: RoutingKeys.orderNotify,
          payload: row.notify_payload,
        },
        {
          ...common,
          id: order.reportMessageId,
          routingKey: RoutingKeys.orderReport,
          payload: row.report_payload,
        },
        {
          // Through the default exchange, straight into the window's delay queue.
          ...common,
          exchange: '',
          id: order.deadlineMessageId,
          routingKey: row.deadline_queue as string,
          messageType: MessageTypes.orderPaymentDueV1,
          payload: row.deadline_payload,
        },
      );
    });
    if (records.length > 0) this.relay.relayCommitted(records);
  }

  /**
   * Feeds the sold-out markers with what each product has left after the batch (the last order that
   * names a product saw its final level), and loads the order keys of products that reached 0.
   */
  private learnStockLevels(batch: OrderToPlace[], rows: PlaceOrdersRow[], generation: number): void {
    const unitsLeft = new Map<string, number>();
    rows.forEach((row, i) => {
      if (!row.units_left) return;
      batch[i].request.lines.forEach((line, l) => unitsLeft.set(line.sku, (row.units_left as number[])[l]));
    });
    for (const [sku, units] of unitsLeft) {
      this.soldOut.remember(sku, units, generation);
      if (this.soldOut.wantsKeysOf(sku)) this.loadKeysOfSoldOut(sku);
    }
  }

  /** In the background, once per sku at a time; refusals that need the keys wait for it (`keysRead`). */
  private loadKeysOfSoldOut(sku: string): void {
    if (this.keyReads.has(sku)) return;
    const generation = this.soldOut.currentGeneration();
    const read = queryKeepingConnection<{ idempotency_key: string }>(this.pool, {
      name: 'keys-of-orders-for-sku-v1',
      text: `SELECT o.idempotency_key
               FROM order_items i JOIN orders o ON o.id = i.order_id
              WHERE i.product_id = (SELECT id FROM products WHERE sku = $1) AND o.idempotency_key IS NOT NULL
              LIMIT $2`,
      values: [sku, MAX_KEYS_HELD_PER_PRODUCT + 1],
    })
      .then(({ rows }) => {
        if (rows.length > MAX_KEYS_HELD_PER_PRODUCT) return;
        this.soldOut.rememberKeys(
          sku,
          rows.map((row) => row.idempotency_key),
          generation,
        );
      })
      .catch((error: Error) => this.logger.warn(`could not read the order keys of ${sku}: ${error.message}`))
      .finally(() => this.keyReads.delete(sku));
    this.keyReads.set(sku, read);
  }
}

function placementOf(row: PlaceOrdersRow): Placement {
  switch (row.outcome) {
    case 'placed':
      return {
        kind: 'placed',
        createdAt: row.created_at as Date,
        payBy: row.pay_by as Date,
        totalCents: row.total_cents as number,
        currency: ORDER_CURRENCY,
        items: row.items ?? [],
      };
    case 'replay':
      return { kind: 'replay' };
    case 'unknown_sku':
      return { kind: 'unknown-sku', skus: row.skus ?? [] };
    case 'out_of_stock':
      return { kind: 'out-of-stock', skus: row.skus ?? [] };
    case 'too_big':
      return { kind: 'too-big' };
    case 'sale_not_open':
    case 'sale_closed':
    case 'sign_in_required':
    case 'limit_per_customer':
      return { kind: 'sale-refusal', refusal: row.outcome, skus: row.skus ?? [] };
  }
}
