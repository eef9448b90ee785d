export * from './api-error';
export * from './api-exception.filter';
export * from './correlation-id';
export * from './create-service-app';
export * from './health/health-check';
export * from './health/health.module';
export * from './metrics/metrics.module';
export * from './metrics/service-metrics';
