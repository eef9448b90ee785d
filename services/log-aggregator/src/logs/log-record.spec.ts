import type { ConsumeMessage } from 'amqplib';
import { parseLogDelivery, readLogDelivery, rejectedLine, utcDateOf } from './log-record';

const delivery = (body: string, properties: Record<string, unknown> = {}) =>
  ({
    content: Buffer.from(body),
    fields: { exchange: 'logs', routingKey: 'order-api.info', redelivered: false },
    properties: { type: 'log.record.v1', messageId: 'm-1', ...properties },
  }) as unknown as ConsumeMessage;

const valid = { time: '2026-11-23T10:00:00.000Z', service: 'order-api', level: 'info', message: 'hi' };

describe('log records', () => {
  it('files a record under the UTC date of its time', () => {
    expect(utcDateOf('2026-11-23T23:59:59.999Z')).toBe('2026-11-23');
    expect(utcDateOf('2026-11-24T01:00:00+02:00')).toBe('2026-11-23');
    expect(utcDateOf('2026-11-23T20:00:00-05:00')).toBe('2026-11-24');
  });

  it('accepts a valid log.record.v1, with or without the type property', () => {
    expect(parseLogDelivery(delivery(JSON.stringify(valid)))).toEqual({ ok: true, message: valid });
    expect(parseLogDelivery(delivery(JSON.stringify(valid), { type: undefined })).ok).toBe(true);
  });

  it('refuses another type, bad JSON and missing fields, saying why', () => {
    const reasons = [
      parseLogDelivery(delivery(JSON.stringify(valid), { type: 'log.record.v2' })),
      parseLogDelivery(delivery('{oops')),
      parseLogDelivery(delivery(JSON.stringify({ service: 'order-api' }))),
    ].map((result) => (result.ok ? 'ok' : result.reason));
    expect(reasons[0]).toMatch(/unsupported message type "log.record.v2"/);
    expect(reasons[1]).toMatch(/^body is not valid JSON/);
    expect(reasons[2]).toMatch(/time/);
  });

  it('archives a one-line body of known fields as is, anything else re-serialised from the validated record', () => {
    const body = JSON.stringify(valid);
    expect(readLogDelivery(delivery(body))).toEqual({ ok: true, record: valid, line: `${body}\n` });
    const extra = readLogDelivery(delivery(JSON.stringify({ ...valid, secret: 'x' })));
    const pretty = readLogDelivery(delivery(JSON.stringify(valid, null, 2)));
    for (const result of [extra, pretty]) {
      expect(result).toEqual({ ok: true, record: valid, line: `${JSON.stringify(valid)}\n` });
    }
    expect(readLogDelivery(delivery(body, { type: 'log.record.v2' }))).toMatchObject({ ok: false });
    expect(readLogDelivery(delivery('{oops'))).toEqual(parseLogDelivery(delivery('{oops')));
  });

  it('keeps where a rejected delivery came from, why, and its body cut at 10 kB', () => {
    const line = rejectedLine(
      'log_archive',
      delivery('x'.repeat(20_000)),
      'bad',
      new Date('2026-11-23T10:00:00Z'),
    );
    expect(line).toMatchObject({
      receivedAt: '2026-11-23T10:00:00.000Z',
      queue: 'log_archive',
      exchange: 'logs',
      routingKey: 'order-api.info',
      messageId: 'm-1',
      reason: 'bad',
    });
    expect(line.body).toHaveLength(10_003);
  });
});
