import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { PgChannelListener } from '@shop/db';
import { ORDER_API_CONFIG, type OrderApiConfig } from '../config/order-api.config';
import { SoldOutMarkers } from './sold-out-markers';

/** Raised by the `products_stock_replenished` / `products_created` triggers; the payload is the sku. */
export const STOCK_REPLENISHED_CHANNEL = 'product_stock_replenished';

/** Feeds the database's stock-replenished notifications into SoldOutMarkers. */
@Injectable()
export class StockReplenishedListener implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('SoldOutMarkers');
  private listener: PgChannelListener | undefined;

  constructor(
    @Inject(ORDER_API_CONFIG) private readonly config: OrderApiConfig,
    private readonly markers: SoldOutMarkers,
  ) {}

  onModuleInit(): void {
    // Without the listener the markers are never trusted, so every order goes to the database.
    if (!this.config.SOLD_OUT_MARKERS) return;
    this.listener = new PgChannelListener({
      databaseUrl: this.config.DATABASE_URL,
      channel: STOCK_REPLENISHED_CHANNEL,
      applicationName: 'order-api',
      onNotification: (sku) => this.markers.replenished(sku),
      onListening: () => this.markers.listening(),
      onLost: (error) => {
        this.markers.lost();
        this.logger.warn(
          `stock notifications lost (${error.message}); every order asks the database until back`,
        );
      },
    });
    this.listener.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.listener?.stop();
  }
}
