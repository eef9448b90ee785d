import { DynamicModule, Injectable, Module } from '@nestjs/common';
import { vhostOf } from '@shop/config';
import { HealthModule, MetricsModule, type HealthCheck } from '@shop/service-kit';
import { DashboardAuth } from './auth/dashboard-auth';
import { DashboardOperatorGuard } from './auth/dashboard-operator.guard';
import { SessionController } from './auth/session.controller';
import { SignInFormParser } from './auth/sign-in-form.parser';
import { DASHBOARD_CONFIG, type DashboardConfig } from './config/dashboard.config';
import { FollowController } from './follow/follow.controller';
import { OrderFollows } from './follow/order-follows';
import { PageController } from './page/page.controller';
import { FlashSaleRunner } from './sales/flash-sale.runner';
import { SalesController } from './sales/sales.controller';
import { SnapshotCollector } from './snapshot/snapshot.collector';
import { SnapshotBuilder } from './snapshot/snapshot-builder';
import { AmqpBrokerReader, BROKER_READER } from './sources/broker-reader';
import { ManagementBrokerReader } from './sources/management-reader';
import { WATCHED_TOPOLOGY, watchedTopology } from './sources/watched-topology';
import { EventsController } from './stream/events.controller';
import { SseHub } from './stream/sse-hub';

export const SERVICE_NAME = 'dashboard';

/** Healthy once a snapshot has been taken: the page then has something to show. */
@Injectable()
class SnapshotHealthCheck implements HealthCheck {
  readonly name = 'snapshots';

  constructor(
    private readonly collector: SnapshotCollector,
    private readonly hub: SseHub,
  ) {}

  async check(): Promise<void> {
    if (!this.collector.latest) throw new Error('no snapshot taken yet');
  }

  details() {
    return { takenAt: this.collector.latest?.at, pagesConnected: this.hub.clientCount };
  }
}

/** The dashboard's sources, snapshot loop, event stream and sale runner; global so /health can check them. */
@Module({})
class DashboardCoreModule {
  static forRoot(config: DashboardConfig): DynamicModule {
    const topology = watchedTopology(config.PAYMENT_WINDOW_MS);
    return {
      module: DashboardCoreModule,
      global: true,
      exports: [SnapshotHealthCheck],
      controllers: [PageController, EventsController, SalesController, SessionController, FollowController],
      providers: [
        { provide: DASHBOARD_CONFIG, useValue: config },
        { provide: WATCHED_TOPOLOGY, useValue: topology },
        {
          provide: BROKER_READER,
          useFactory: () => {
            const amqp = new AmqpBrokerReader(config.RABBITMQ_URL, topology);
            if (!config.RABBITMQ_MANAGEMENT_URL) return amqp;
            return new ManagementBrokerReader(
              config.RABBITMQ_MANAGEMENT_URL,
              vhostOf(config.RABBITMQ_URL),
              topology,
              amqp,
            );
          },
        },
        { provide: SnapshotBuilder, useValue: new SnapshotBuilder({ topology }) },
        { provide: SseHub, useValue: new SseHub() },
        DashboardAuth,
        DashboardOperatorGuard,
        SignInFormParser,
        FlashSaleRunner,
        OrderFollows,
        SnapshotCollector,
        SnapshotHealthCheck,
      ],
    };
  }
}

@Module({})
export class AppModule {
  static forRoot(config: DashboardConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        MetricsModule.forRoot({ service: SERVICE_NAME }),
        DashboardCoreModule.forRoot(config),
        HealthModule.register([SnapshotHealthCheck]),
      ],
    };
  }
}
