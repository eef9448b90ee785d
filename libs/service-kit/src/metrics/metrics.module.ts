import { Controller, DynamicModule, Get, Module, OnModuleInit, Res } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { METRICS_OPTIONS, ServiceMetrics, type MetricsOptions } from './service-metrics';

@Controller('metrics')
class MetricsController {
  constructor(private readonly metrics: ServiceMetrics) {}

  /** Prometheus text exposition format, as Prometheus and Grafana agents scrape it. */
  @Get()
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    const body = await this.metrics.registry.metrics();
    void reply.header('content-type', this.metrics.registry.contentType).send(body);
  }
}

/** Counts every HTTP request by method, route pattern and status, and times it. */
class HttpRequestMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: ServiceMetrics,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify?.addHook) return;
    const requests = this.metrics.counter(
      'http_requests_total',
      'HTTP requests answered, by method, route pattern and status code',
      ['method', 'route', 'status'],
    );
    const duration = this.metrics.histogram(
      'http_request_duration_seconds',
      'Time from the request arriving to its answer being sent, by method and route pattern',
      ['method', 'route'],
    );
    fastify.addHook('onResponse', async (request, reply) => {
      // The route's pattern (/orders/:id), never the raw URL: one series per route, not per order.
      const route = request.routeOptions?.url ?? 'unmatched';
      requests.inc({ method: request.method, route, status: String(reply.statusCode) });
      duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    });
  }
}

/**
 * `GET /metrics` and the service's ServiceMetrics, global so any module (messaging, a feature module)
 * can inject it and register its counters.
 */
@Module({})
export class MetricsModule {
  static forRoot(options: MetricsOptions): DynamicModule {
    return {
      module: MetricsModule,
      global: true,
      controllers: [MetricsController],
      providers: [
        { provide: METRICS_OPTIONS, useValue: options },
        ServiceMetrics,
        {
          provide: HttpRequestMetrics,
          useFactory: (metrics: ServiceMetrics, host: HttpAdapterHost) =>
            new HttpRequestMetrics(metrics, host),
          inject: [ServiceMetrics, HttpAdapterHost],
        },
      ],
      exports: [ServiceMetrics],
    };
  }
}
