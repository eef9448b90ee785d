import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import {
  eachAloneIfBatchFails,
  GroupCommit,
  GroupCommitFullError,
  isStatementError,
  type ItemResult,
} from '@shop/db';
import { OutboxRelay } from '@shop/messaging';
import { ORDER_API_CONFIG, type OrderApiConfig } from '../config/order-api.config';
import { OrderRepository, type PlacedInBatch, type Placement } from './order.repository';
import type { OrderToPlace } from './place-orders.sql';
import { SoldOutMarkers } from './sold-out-markers';

/** More orders than this for one sold-out product: their keys are not held in memory. */
const MAX_KEYS_HELD_PER_PRODUCT = 50_000;

/**
 * Group commit for POST /orders: every order that arrives while a batch is in the database waits for
 * the next batch, and one call of `place_orders` (one transaction, one commit flush) places them all,
 * each with its own outcome. A hot product's row lock and commit flush are paid once per batch instead
 * of once per order.
 *
 * A batch PostgreSQL refused was rolled back as a whole, so its orders are placed again one by one, in
 * arrival order, and each gets its own answer (eachAloneIfBatchFails). A batch whose connection failed
 * may or may not have committed: every order in it gets that error (503), never a 201, and a retry with
 * the same Idempotency-Key finds the order if it was placed. Once a batch committed, its outbox rows go
 * to the relay and its stock levels to the sold-out markers.
 */
@Injectable()
export class OrderPlacementBatcher implements OnApplicationBootstrap {
  private readonly logger = new Logger(OrderPlacementBatcher.name);
  private readonly batches: GroupCommit<OrderToPlace, Placement>;
  /** Order-key reads in flight, by sku: a refusal that needs them waits for the read instead of asking itself. */
  private readonly keyReads = new Map<string, Promise<void>>();

  constructor(
    private readonly orders: OrderRepository,
    private readonly relay: OutboxRelay,
    private readonly soldOut: SoldOutMarkers,
    @Inject(ORDER_API_CONFIG) config: OrderApiConfig,
  ) {
    this.batches = new GroupCommit(
      eachAloneIfBatchFails(
        (batch) => this.placeBatch(batch),
        (error) => this.placeOneByOneAfter(error),
      ),
      {
        maxBatchSize: config.ORDER_BATCH_MAX_ORDERS,
        maxBatchWeight: config.ORDER_BATCH_MAX_LINES,
        weightOf: (order) => order.request.lines.length,
        maxWaiting: config.ORDER_BATCH_MAX_WAITING,
      },
    );
  }

  onApplicationBootstrap(): Promise<void> {
    return this.orders.warmUp();
  }

  /** Until the order keys of these sold-out skus, if being read, are in memory (or the read failed). */
  async keysRead(skus: readonly string[]): Promise<void> {
    await Promise.all(skus.map((sku) => this.keyReads.get(sku)));
  }

  /** Orders waiting for the next batch. */
  get waitingCount(): number {
    return this.batches.waitingCount;
  }

  async place(order: OrderToPlace): Promise<Placement> {
    try {
      return await this.batches.submit(order);
    } catch (error) {
      if (error instanceof GroupCommitFullError) return { kind: 'too-many-waiting' };
      throw error;
    }
  }

  /** Whether a failed batch of several orders is placed again one by one (only when it was rolled back). */
  private placeOneByOneAfter(error: unknown): boolean {
    if (!isStatementError(error)) return false;
    this.logger.warn(`a batch of orders failed (${(error as Error).message}); placing them one by one`);
    return true;
  }

  private async placeBatch(batch: OrderToPlace[]): Promise<ItemResult<Placement>[]> {
    const generation = this.soldOut.currentGeneration();
    const placed = await this.orders.placeBatch(batch);
    // Committed: the orders are safe. Publishing happens in the background; the sweep covers failures.
    const outbox = placed.flatMap((order) => order.outbox);
    if (outbox.length > 0) this.relay.relayCommitted(outbox);
    this.learnStockLevels(batch, placed, generation);
    return placed.map((order) => ({ ok: true, value: order.placement }));
  }

  /**
   * Feeds the sold-out markers with what each product has left after the batch (the last order that
   * names a product saw its final level), and loads the order keys of products that reached 0.
   */
  private learnStockLevels(batch: OrderToPlace[], placed: PlacedInBatch[], generation: number): void {
    const unitsLeft = new Map<string, number>();
    placed.forEach((order, i) => {
      const levels = order.unitsLeft;
      if (!levels) return;
      batch[i].request.lines.forEach((line, l) => unitsLeft.set(line.sku, levels[l]));
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
    const read = this.orders
      .keysOfOrdersFor(sku, MAX_KEYS_HELD_PER_PRODUCT)
      .then((keys) => {
        if (keys) this.soldOut.rememberKeys(sku, keys, generation);
      })
      .catch((error: Error) => this.logger.warn(`could not read the order keys of ${sku}: ${error.message}`))
      .finally(() => this.keyReads.delete(sku));
    this.keyReads.set(sku, read);
  }
}
