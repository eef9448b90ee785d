import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { PgChannelListener } from '@shop/db';
import { ORDER_API_CONFIG, type OrderApiConfig } from '../config/order-api.config';
import { PaymentWindowQueues } from './payment-window-queues';
import type { Sale } from './sale';
import { SaleRepository } from './sale.repository';

/** Raised by the `sales_changed` / `sales_truncated` triggers; the payload is the sku (`*`: all). */
export const SALE_CHANGED_CHANNEL = 'sale_changed';

/**
 * Every sale, in memory, by product: POST /orders decides from here whether an order is a sale's, and
 * refuses one before the window opens or after it closes without touching the database. The database
 * stays the judge (place_orders checks the window, the sign-in and the limit under the product's lock),
 * so a stale entry can only make a refusal come from the database instead of from memory, or route an
 * order to the wrong admission mode for the moment it takes a notification to arrive.
 *
 * Kept fresh by the `sale_changed` notification (delivered at commit, from any instance's PUT or plain
 * SQL), and read again in full whenever the listener (re)connects.
 */
@Injectable()
export class SaleCatalog implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(SaleCatalog.name);
  private readonly bySku = new Map<string, Sale>();
  private listener: PgChannelListener | undefined;

  constructor(
    @Inject(ORDER_API_CONFIG) private readonly config: OrderApiConfig,
    private readonly sales: SaleRepository,
    private readonly windows: PaymentWindowQueues,
  ) {}

  onModuleInit(): void {
    this.listener = new PgChannelListener({
      databaseUrl: this.config.DATABASE_URL,
      channel: SALE_CHANGED_CHANNEL,
      applicationName: 'order-api',
      onNotification: (sku) => void this.reload(sku === '*' ? undefined : sku),
      onListening: () => void this.reload(),
      onLost: (error) =>
        this.logger.warn(`sale notifications lost (${error.message}); reading them again when back`),
    });
    this.listener.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.listener?.stop();
  }

  /** The sale of each product of these order lines that has one (the hot path: no allocation without sales). */
  salesOf(lines: readonly { sku: string }[]): Sale[] {
    if (this.bySku.size === 0) return [];
    const found: Sale[] = [];
    for (const { sku } of lines) {
      const sale = this.bySku.get(sku);
      if (sale) found.push(sale);
    }
    return found;
  }

  bySkuNow(sku: string): Sale | undefined {
    return this.bySku.get(sku);
  }

  /** A product's sale read from the database now (this instance had not heard of it yet). */
  async read(sku: string): Promise<Sale | undefined> {
    const sale = await this.sales.findBySku(sku);
    if (sale) this.saved(sale);
    return sale;
  }

  /** A sale this instance saved: known at once, before its notification comes back. */
  saved(sale: Sale): void {
    for (const [sku, known] of this.bySku)
      if (known.id === sale.id && sku !== sale.sku) this.bySku.delete(sku);
    this.bySku.set(sale.sku, sale);
  }

  deleted(id: string): void {
    for (const [sku, known] of this.bySku) if (known.id === id) this.bySku.delete(sku);
  }

  /** One product's sale again (or every sale): after a notification, or a reconnect. */
  private async reload(sku?: string): Promise<void> {
    try {
      if (sku === undefined) {
        const all = await this.sales.all();
        this.bySku.clear();
        for (const sale of all) this.bySku.set(sale.sku, sale);
        // A restarted broker has lost no queue, but a new one (a fresh vhost) has none of the sales' windows.
        await Promise.all(all.map((sale) => this.windows.ensure(sale.paymentWindowMs)));
        return;
      }
      const sale = await this.sales.findBySku(sku);
      if (sale) {
        this.saved(sale);
        await this.windows.ensure(sale.paymentWindowMs);
      } else this.bySku.delete(sku);
    } catch (error) {
      this.logger.warn(`could not read the sales (${(error as Error).message}); the database still decides`);
    }
  }
}
