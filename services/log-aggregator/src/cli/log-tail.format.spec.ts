import { formatAsJson, formatForHumans } from './log-tail.format';

const message = (body: unknown, routingKey = 'order-api.error') => ({
  routingKey,
  content: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body, null, 2)),
});

const record = {
  time: '2026-11-23T12:34:56.789+02:00',
  service: 'order-api',
  level: 'error',
  context: 'OrdersService',
  message: 'could not place the order',
  correlationId: 'req-42',
  stack: 'Error: boom\n    at place',
};

describe('logs:tail output', () => {
  it('prints one readable line per record (UTC time), then its stack indented', () => {
    expect(formatForHumans(message(record), false)).toBe(
      '10:34:56.789 ERROR order-api [OrdersService] could not place the order (correlation req-42)\n' +
        '    Error: boom\n        at place',
    );
    const { context: _context, correlationId: _correlationId, stack: _stack, ...bare } = record;
    expect(formatForHumans(message({ ...bare, level: 'info' }), false)).toBe(
      '10:34:56.789 INFO  order-api could not place the order',
    );
  });

  it("names a record's step and the exchange, key and queue its message came through", () => {
    const { stack: _stack, context: _context, ...bare } = record;
    const step = {
      ...bare,
      level: 'info',
      message: 'order 7d0f: confirmation email accepted',
      orderId: '7d0f',
      step: 'email-sent',
      exchange: 'order',
      routingKey: 'order.notify',
      queue: 'order_notify',
    };
    expect(formatForHumans(message(step), false)).toBe(
      '10:34:56.789 INFO  order-api order 7d0f: confirmation email accepted <email-sent> (via order order.notify → order_notify) (correlation req-42)',
    );
    const deadline = {
      ...step,
      step: 'outbox-published',
      exchange: '',
      routingKey: 'order_payment_due.15m',
      queue: undefined,
    };
    expect(formatForHumans(message(deadline), false)).toContain(
      '<outbox-published> (via (default exchange) order_payment_due.15m)',
    );
  });

  it('colours the level on a terminal', () => {
    const text = formatForHumans(message({ ...record, level: 'warn', stack: undefined }), true);
    expect(text).toContain('\x1b[33mWARN \x1b[0m');
    expect(formatForHumans(message({ ...record, level: 'fatal' }), true)).toContain(
      '\x1b[1;97;41mFATAL\x1b[0m',
    );
  });

  it('shows what is not a log record, with its key and why', () => {
    expect(formatForHumans(message('{oops'), false)).toMatch(
      /^\?\? order-api\.error: not a log record \(body is not valid JSON.*\): \{oops$/,
    );
  });

  it('--json prints the record as published, on one line', () => {
    expect(formatAsJson(message(record))).toBe(JSON.stringify(record));
    expect(formatAsJson(message('not\njson'))).toBe('not\\njson');
  });
});
