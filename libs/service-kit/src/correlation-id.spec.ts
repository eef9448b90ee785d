import {
  Body,
  Controller,
  Get,
  Global,
  Injectable,
  Logger,
  Module,
  OnApplicationShutdown,
  Post,
} from '@nestjs/common';
import { currentCorrelationId, JsonLogger, type LogRecord, type LogSink } from '@shop/logging';
import { createServiceApp } from './create-service-app';

@Controller('echo')
class EchoController {
  private readonly logger = new Logger('Echo');

  @Post()
  async echo(@Body() body: { delayMs: number }): Promise<{ correlationId?: string }> {
    // Awaits across timers, as a handler awaiting the database does.
    await new Promise((resolve) => setTimeout(resolve, body.delayMs));
    this.logger.log('handled');
    return { correlationId: currentCorrelationId() };
  }

  @Get('fail')
  fail(): never {
    throw new Error('boom');
  }
}

@Injectable()
class SaysGoodbye implements OnApplicationShutdown {
  onApplicationShutdown(): void {
    new Logger('SaysGoodbye').log('shutting down');
  }
}

// Global, like the services' messaging and database modules, whose shutdown hooks Nest runs last.
@Global()
@Module({ controllers: [EchoController], providers: [SaysGoodbye] })
class EchoModule {}

class MemorySink implements LogSink {
  readonly records: LogRecord[] = [];
  recordsAtClose: number | undefined;
  publish(record: LogRecord): void {
    this.records.push(record);
  }
  async close(): Promise<void> {
    this.recordsAtClose = this.records.length;
  }
}

async function start() {
  const logger = new JsonLogger('echo', { write: () => undefined });
  const sink = new MemorySink();
  logger.attach(sink);
  const app = await createServiceApp(EchoModule, { logger });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return { app, sink, baseUrl: `http://127.0.0.1:${port}` };
}

describe('createServiceApp: correlation ids and the logger', () => {
  it('runs each request, body parsing and awaits included, in its own correlation id', async () => {
    const { app, sink, baseUrl } = await start();
    try {
      const ids = Array.from({ length: 20 }, (_, i) => `corr-${i}`);
      const responses = await Promise.all(
        ids.map(async (id, i) => {
          const response = await fetch(`${baseUrl}/echo`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-correlation-id': id },
            // Later requests finish first, so their work interleaves.
            body: JSON.stringify({ delayMs: (20 - i) * 3 }),
          });
          return (await response.json()) as { correlationId?: string };
        }),
      );
      expect(responses.map((r) => r.correlationId)).toEqual(ids);
      const handled = sink.records.filter((r) => r.message === 'handled').map((r) => r.correlationId);
      expect([...handled].sort()).toEqual([...ids].sort());
    } finally {
      await app.close();
    }
  });

  it("uses the request's id without X-Correlation-Id, and tags errors logged for the request", async () => {
    const { app, sink, baseUrl } = await start();
    try {
      const response = await fetch(`${baseUrl}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'req-7' },
        body: '{"delayMs":1}',
      });
      expect(await response.json()).toEqual({ correlationId: 'req-7' });
      await fetch(`${baseUrl}/echo/fail`, { headers: { 'x-correlation-id': 'corr-fail' } });
      expect(sink.records.find((r) => r.level === 'error')).toMatchObject({
        message: 'INTERNAL_ERROR: boom',
        correlationId: 'corr-fail',
      });
    } finally {
      await app.close();
    }
  });

  it("closes the logger's sinks after every other shutdown hook has logged", async () => {
    const { app, sink } = await start();
    await app.close();
    expect(sink.recordsAtClose).toBeDefined();
    const goodbye = sink.records.findIndex((r) => r.message === 'shutting down');
    expect(goodbye).toBeGreaterThanOrEqual(0);
    expect(goodbye).toBeLessThan(sink.recordsAtClose!);
  });
});
