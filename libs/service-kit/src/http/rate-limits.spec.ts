import { Controller, Get, Inject, Module, Req, Res } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { JsonLogger } from '@shop/logging';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createServiceApp, type ServiceAppOptions } from '../create-service-app';
import { rateLimited, RateLimits } from './rate-limits';

const LIMITS = Symbol('LIMITS');
type ProbeLimit = 'per-client' | 'per-customer';

@Controller()
class ProbeController {
  constructor(@Inject(LIMITS) private readonly limits: RateLimits<ProbeLimit>) {}

  @Get('client')
  client(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.count('per-client', request, reply);
  }

  @Get('customer')
  customer(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    return this.count('per-customer', request, reply);
  }

  private async count(name: ProbeLimit, request: FastifyRequest, reply: FastifyReply) {
    const retryAfter = await this.limits.exceeded(name, request);
    if (retryAfter !== undefined)
      throw rateLimited(reply, retryAfter, `Slow down; retry in ${retryAfter} s.`);
    return { ip: request.ip };
  }
}

@Module({
  controllers: [ProbeController],
  providers: [
    {
      provide: LIMITS,
      useFactory: (adapterHost: HttpAdapterHost) =>
        new RateLimits<ProbeLimit>(
          {
            'per-client': { max: 2, timeWindowMs: 30_000 },
            'per-customer': {
              max: 1,
              timeWindowMs: 30_000,
              keyOf: async (request) => String(request.headers['x-customer']),
            },
          },
          () => adapterHost.httpAdapter.getInstance<FastifyInstance>(),
        ),
      inject: [HttpAdapterHost],
    },
  ],
})
class ProbeModule {}

describe('RateLimits and trusted proxies', () => {
  let fastify: FastifyInstance;
  let close: () => Promise<void>;

  async function start(options: Partial<ServiceAppOptions> = {}) {
    const app = await createServiceApp(ProbeModule, {
      logger: new JsonLogger('probe', { write: () => undefined }),
      ...options,
    });
    await app.init();
    fastify = app.get(HttpAdapterHost).httpAdapter.getInstance<FastifyInstance>();
    close = () => app.close();
  }

  const get = async (url: string, remoteAddress: string, headers: Record<string, string> = {}) => {
    const response = await fastify.inject({ method: 'GET', url, remoteAddress, headers });
    return { status: response.statusCode, headers: response.headers, body: response.json() };
  };

  afterEach(async () => {
    await close();
  });

  it('answers 429 RATE_LIMITED with Retry-After over a limit, counting each client apart', async () => {
    await start();
    expect((await get('/client', '192.0.2.1')).status).toBe(200);
    expect((await get('/client', '192.0.2.1')).status).toBe(200);
    const refused = await get('/client', '192.0.2.1');
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) });
    expect(refused.body.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(refused.body.retryAfterSeconds).toBeLessThanOrEqual(30);
    expect(refused.headers['retry-after']).toBe(String(refused.body.retryAfterSeconds));
    expect((await get('/client', '192.0.2.2')).status).toBe(200);
  });

  it('counts by keyOf when a limit has one, whatever the address', async () => {
    await start();
    expect((await get('/customer', '192.0.2.1', { 'x-customer': 'alice' })).status).toBe(200);
    expect((await get('/customer', '192.0.2.2', { 'x-customer': 'alice' })).status).toBe(429);
    expect((await get('/customer', '192.0.2.2', { 'x-customer': 'bob' })).status).toBe(200);
  });

  it("believes X-Forwarded-For from loopback only, by default: another sender's names no one", async () => {
    await start();
    const viaProxy = await get('/client', '127.0.0.1', { 'x-forwarded-for': '203.0.113.7, 198.51.100.1' });
    expect(viaProxy.body).toEqual({ ip: '198.51.100.1' });
    expect((await get('/client', '::1', { 'x-forwarded-for': '203.0.113.8' })).body).toEqual({
      ip: '203.0.113.8',
    });
    // From elsewhere the header is ignored, so changing it does not make a fresh client.
    for (const forged of ['203.0.113.1', '203.0.113.2']) {
      const answer = await get('/client', '192.0.2.9', { 'x-forwarded-for': forged });
      expect(answer.body).toEqual({ ip: '192.0.2.9' });
    }
    expect((await get('/client', '192.0.2.9', { 'x-forwarded-for': '203.0.113.3' })).status).toBe(429);
  });

  it('believes the proxies TRUST_PROXY names instead', async () => {
    await start({ trustProxy: ['10.0.0.0/8'] });
    expect((await get('/client', '10.1.2.3', { 'x-forwarded-for': '203.0.113.7' })).body).toEqual({
      ip: '203.0.113.7',
    });
    expect((await get('/client', '127.0.0.1', { 'x-forwarded-for': '203.0.113.7' })).body).toEqual({
      ip: '127.0.0.1',
    });
  });
});
