import { OrderSteps } from '@shop/contracts';
import { runWithCorrelationId, runWithLogContext, setLogOrderId } from './correlation-context';
import { JsonLogger, logEntry, maskEmails, type LogRecord, type LogSink } from './json-logger';

function capture(minLevel?: 'debug' | 'info') {
  const lines: Record<string, unknown>[] = [];
  const logger = new JsonLogger('order-api', { minLevel, write: (line) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

class MemorySink implements LogSink {
  readonly published: { record: LogRecord; json: string }[] = [];
  closed = false;
  publish(record: LogRecord, json: string): void {
    this.published.push({ record, json });
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

describe('JsonLogger', () => {
  it('writes one JSON record with service, level, context and correlation id', () => {
    const { logger, lines } = capture();
    runWithCorrelationId('req-42', () => logger.log('order placed', 'OrdersService'));
    expect(lines).toEqual([
      expect.objectContaining({
        service: 'order-api',
        level: 'info',
        context: 'OrdersService',
        message: 'order placed',
        correlationId: 'req-42',
      }),
    ]);
    expect(Date.parse(lines[0].time as string)).not.toBeNaN();
  });

  it('keeps the stack of errors and drops records below the minimum level', () => {
    const { logger, lines } = capture('info');
    logger.debug('noise');
    logger.error('boom', 'Error: boom\n    at x', 'Relay');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', context: 'Relay', stack: 'Error: boom\n    at x' });
  });

  it("takes the order, exchange, routing key and queue from a consumer's context once the order is known", () => {
    const { logger, lines } = capture();
    const orderId = '7d0f2c1e-0000-4000-8000-000000000001';
    runWithLogContext(
      { correlationId: 'c-1', exchange: 'order', routingKey: 'order.notify', queue: 'order_notify' },
      () => {
        logger.log('received');
        setLogOrderId(orderId);
        logger.log(logEntry('email accepted', { step: OrderSteps.emailSent }));
      },
    );
    const where = {
      exchange: 'order',
      routingKey: 'order.notify',
      queue: 'order_notify',
      correlationId: 'c-1',
    };
    expect(lines[0]).toEqual(expect.objectContaining({ message: 'received', ...where }));
    expect(lines[0]).not.toHaveProperty('orderId');
    expect(lines[1]).toEqual(
      expect.objectContaining({ message: 'email accepted', orderId, step: 'email-sent', ...where }),
    );
    // Outside that context nothing of it remains.
    logger.log('later');
    expect(lines[2]).not.toHaveProperty('orderId');
    expect(lines[2]).not.toHaveProperty('queue');
  });

  it("lets a caller's fields win over the context's, and leaves out a field the contract would refuse", () => {
    const { logger, lines } = capture();
    runWithLogContext({ orderId: 'from-context', queue: 'order_status' }, () =>
      logger.log(
        logEntry('published', { orderId: 'from-row', exchange: 'payment', routingKey: 'x'.repeat(256) }),
        'OutboxRelay',
      ),
    );
    expect(lines[0]).toEqual(
      expect.objectContaining({
        message: 'published',
        context: 'OutboxRelay',
        orderId: 'from-row',
        exchange: 'payment',
        queue: 'order_status',
      }),
    );
    expect(lines[0]).not.toHaveProperty('routingKey');
  });

  it('still prints any other object as JSON text', () => {
    const { logger, lines } = capture();
    logger.log({ message: 'hi', extra: 1 });
    logger.log({ orderId: 'o-1' });
    expect(lines.map((line) => line.message)).toEqual(['{"message":"hi","extra":1}', '{"orderId":"o-1"}']);
    expect(lines[1]).not.toHaveProperty('orderId');
  });

  it('masks email addresses', () => {
    expect(maskEmails('sent to wang.xiaoming@example.cn and kim@shop.kr')).toBe(
      'sent to w***@example.cn and k***@shop.kr',
    );
  });

  it('hands sinks the masked record, byte for byte the line written to stdout', () => {
    const written: string[] = [];
    const logger = new JsonLogger('notify-worker', { write: (line) => written.push(line) });
    const sink = new MemorySink();
    logger.attach(sink);
    runWithCorrelationId('corr-1', () => {
      logger.log({ to: 'wang.xiaoming@example.cn' }, 'Mailer');
      logger.error(new Error('rejected kim@shop.kr'));
    });
    expect(sink.published.map((p) => p.json)).toEqual(written);
    expect(written.join('\n')).not.toMatch(/wang\.xiaoming@|kim@/);
    expect(sink.published[0].record).toMatchObject({
      service: 'notify-worker',
      level: 'info',
      message: '{"to":"w***@example.cn"}',
      correlationId: 'corr-1',
    });
    expect(sink.published[1].record).toMatchObject({ level: 'error', message: 'rejected k***@shop.kr' });
    expect(sink.published[1].record.stack).toContain('rejected k***@shop.kr');
  });

  it('never lets a failing sink reach the caller, and closes its sinks', async () => {
    const { logger, lines } = capture();
    const sink = new MemorySink();
    logger.attach({
      publish: () => {
        throw new Error('sink broken');
      },
      close: async () => undefined,
    });
    logger.attach(sink);
    expect(() => logger.warn('still logged')).not.toThrow();
    expect(lines).toHaveLength(1);
    expect(sink.published).toHaveLength(1);
    await logger.close();
    expect(sink.closed).toBe(true);
  });

  it('writes its stdout lines together, later, and at once on close', async () => {
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const logger = new JsonLogger('order-api');
      ['one', 'two', 'three'].forEach((text) => logger.log(text));
      expect(stdout).not.toHaveBeenCalled();
      await logger.close();
      expect(stdout).toHaveBeenCalledTimes(1);
      const lines = String(stdout.mock.calls[0][0]).split('\n');
      expect(lines.slice(0, 3).map((line) => JSON.parse(line).message)).toEqual(['one', 'two', 'three']);
      expect(lines[3]).toBe('');
    } finally {
      stdout.mockRestore();
    }
  });
});
