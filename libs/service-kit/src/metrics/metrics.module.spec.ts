import { Controller, Get, HttpException, Module, Param } from '@nestjs/common';
import { JsonLogger } from '@shop/logging';
import { parsePrometheusText, sampleValue } from '@shop/testing';
import { createServiceApp } from '../create-service-app';
import { MetricsModule } from './metrics.module';
import { ServiceMetrics } from './service-metrics';

@Controller('things')
class ThingsController {
  constructor(private readonly metrics: ServiceMetrics) {}

  @Get(':id')
  thing(@Param('id') id: string): { id: string } {
    this.metrics.counter('things_looked_up_total', 'Things looked up', ['kind']).inc({ kind: 'thing' });
    if (id === 'missing') throw new HttpException({ code: 'NOT_FOUND', message: 'no such thing' }, 404);
    return { id };
  }
}

@Module({ imports: [MetricsModule.forRoot({ service: 'things-api' })], controllers: [ThingsController] })
class ThingsModule {}

describe('MetricsModule: GET /metrics', () => {
  let app: Awaited<ReturnType<typeof createServiceApp>>;
  let base: string;

  beforeAll(async () => {
    app = await createServiceApp(ThingsModule, {
      logger: new JsonLogger('things-api', { write: () => undefined }),
    });
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
  });
  afterAll(() => app.close());

  it('serves Prometheus text whose counters match the requests made', async () => {
    for (const id of ['a', 'b', 'c']) expect((await fetch(`${base}/things/${id}`)).status).toBe(200);
    expect((await fetch(`${base}/things/missing`)).status).toBe(404);

    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parsePrometheusText(await response.text());

    const requests = (status: string) =>
      sampleValue(samples, 'http_requests_total', { method: 'GET', route: '/things/:id', status });
    expect(requests('200')).toBe(3);
    expect(requests('404')).toBe(1);
    expect(sampleValue(samples, 'http_request_duration_seconds_count', { route: '/things/:id' })).toBe(4);
    expect(sampleValue(samples, 'things_looked_up_total', { kind: 'thing', service: 'things-api' })).toBe(4);
    // Node's process metrics, as every Prometheus client exports them.
    expect(sampleValue(samples, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(samples.every((sample) => sample.labels.service === 'things-api')).toBe(true);
  });

  it('parses strictly: a malformed exposition is refused', () => {
    expect(() => parsePrometheusText('http_requests_total{method=GET} 1')).toThrow(/line 1/);
    expect(() => parsePrometheusText('# TYPE x countr')).toThrow(/unknown type/);
    expect(() => parsePrometheusText('x{a="b"} twelve')).toThrow(/bad value/);
    expect(parsePrometheusText('x Nan\ny +Inf').map((s) => s.value)).toEqual([NaN, Infinity]);
  });
});
