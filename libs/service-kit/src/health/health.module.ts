import { DynamicModule, Module, Type } from '@nestjs/common';
import { HEALTH_CHECKS, type HealthCheck } from './health-check';
import { HealthController } from './health.controller';

/** `GET /health` over the given checks (providers already available in the app, e.g. DatabaseHealthCheck). */
@Module({})
export class HealthModule {
  static register(checks: Type<HealthCheck>[]): DynamicModule {
    return {
      module: HealthModule,
      controllers: [HealthController],
      providers: [
        { provide: HEALTH_CHECKS, useFactory: (...instances: HealthCheck[]) => instances, inject: checks },
      ],
    };
  }
}
