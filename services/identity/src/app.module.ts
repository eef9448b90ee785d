import { DynamicModule, Module } from '@nestjs/common';
import { DatabaseHealthCheck, DbModule } from '@shop/db';
import { BrokerHealthCheck, MessagingModule } from '@shop/messaging';
import { HealthModule, MetricsModule } from '@shop/service-kit';
import { IDENTITY_CONFIG, type IdentityConfig } from './config/identity.config';
import { OpsModule } from './ops/ops.module';
import { RetentionModule } from './retention/retention.module';
import { SignInModule } from './sign-in/sign-in.module';

export const SERVICE_NAME = 'identity';

@Module({})
export class AppModule {
  static forRoot(config: IdentityConfig): DynamicModule {
    return {
      module: AppModule,
      // Global so feature modules can inject IDENTITY_CONFIG.
      global: true,
      imports: [
        DbModule.forRoot({
          databaseUrl: config.DATABASE_URL,
          maxConnections: 5,
          applicationName: SERVICE_NAME,
        }),
        // Publishes only (customer.sign-in-code); consumes nothing.
        MessagingModule.forRoot({
          url: config.RABBITMQ_URL,
          appId: SERVICE_NAME,
          declareTopology: config.RABBITMQ_DECLARE_TOPOLOGY,
        }),
        MetricsModule.forRoot({ service: SERVICE_NAME }),
        HealthModule.register([DatabaseHealthCheck, BrokerHealthCheck]),
        SignInModule,
        OpsModule.forRoot(config.OPS_TOKEN),
        RetentionModule.forRoot({ retentionDays: config.RETENTION_DAYS }),
      ],
      providers: [{ provide: IDENTITY_CONFIG, useValue: config }],
      exports: [IDENTITY_CONFIG],
    };
  }
}
