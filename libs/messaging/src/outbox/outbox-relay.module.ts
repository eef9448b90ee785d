import { DynamicModule, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { createPgPool } from '@shop/db';
import type { Pool } from 'pg';
import { OutboxRelay } from './outbox-relay';
import {
  DEFAULT_OUTBOX_RELAY_OPTIONS,
  OUTBOX_RELAY_OPTIONS,
  OUTBOX_RELAY_POOL,
  type OutboxRelayOptions,
} from './outbox-relay.options';

/** Needs `MessagingModule` in the application (it is global). */
@Module({})
export class OutboxRelayModule implements OnApplicationShutdown {
  constructor(@Inject(OUTBOX_RELAY_POOL) private readonly pool: Pool) {}

  static forRoot(
    options: Pick<OutboxRelayOptions, 'databaseUrl' | 'applicationName'> & Partial<OutboxRelayOptions>,
  ): DynamicModule {
    const resolved: OutboxRelayOptions = { ...DEFAULT_OUTBOX_RELAY_OPTIONS, ...options };
    const logger = new Logger(OutboxRelay.name);
    return {
      module: OutboxRelayModule,
      global: true,
      providers: [
        { provide: OUTBOX_RELAY_OPTIONS, useValue: resolved },
        {
          provide: OUTBOX_RELAY_POOL,
          useFactory: () =>
            createPgPool({
              databaseUrl: resolved.databaseUrl,
              maxConnections: 2,
              applicationName: `${resolved.applicationName}-outbox-relay`,
              onIdleError: (error) => logger.warn(`idle relay connection lost: ${error.message}`),
            }),
        },
        OutboxRelay,
      ],
      exports: [OutboxRelay],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }
}
