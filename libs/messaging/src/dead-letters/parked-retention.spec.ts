import { FailureHeaders } from '@shop/contracts';
import type { GetMessage } from 'amqplib';
import { parkedAt } from './parked-retention';

const withHeaders = (headers: Record<string, unknown>) =>
  ({ properties: { headers }, content: Buffer.alloc(0), fields: {} }) as unknown as GetMessage;

describe('parkedAt', () => {
  it('reads our x-failed-at, else the time of the broker dead-lettering it (x-death)', () => {
    expect(parkedAt(withHeaders({ [FailureHeaders.failedAt]: '2026-11-01T08:00:00.000Z' }))).toEqual(
      new Date('2026-11-01T08:00:00.000Z'),
    );
    const death = { reason: 'delivery_limit', queue: 'order_notify', time: 1_793_520_000 };
    expect(parkedAt(withHeaders({ 'x-death': [death] }))).toEqual(new Date(1_793_520_000_000));
    expect(
      parkedAt(withHeaders({ 'x-death': [{ ...death, time: { '!': 'timestamp', value: 1_793_520_000 } }] })),
    ).toEqual(new Date(1_793_520_000_000));
  });

  it('knows no time for a message that says none, or an unreadable one', () => {
    expect(parkedAt(withHeaders({}))).toBeUndefined();
    expect(parkedAt(withHeaders({ [FailureHeaders.failedAt]: 'yesterday-ish' }))).toBeUndefined();
  });
});
