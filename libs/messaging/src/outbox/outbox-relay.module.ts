import { DynamicModule, Module } from '@nestjs/common';
import { OutboxRelay } from './outbox-relay';
import {
  DEFAULT_OUTBOX_RELAY_OPTIONS,
  OUTBOX_RELAY_OPTIONS,
  type OutboxRelayOptions,
} from './outbox-relay.options';

/** Needs `DbModule` and `MessagingModule` in the application (both are global). */
@Module({})
export class OutboxRelayModule {
  static forRoot(options: Partial<OutboxRelayOptions> = {}): DynamicModule {
    return {
      module: OutboxRelayModule,
      global: true,
      providers: [
        { provide: OUTBOX_RELAY_OPTIONS, useValue: { ...DEFAULT_OUTBOX_RELAY_OPTIONS, ...options } },
        OutboxRelay,
      ],
      exports: [OutboxRelay],
    };
  }
}
