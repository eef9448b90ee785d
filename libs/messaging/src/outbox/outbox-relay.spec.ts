import { ConsoleLogger, Logger } from '@nestjs/common';
import { waitFor } from '@shop/testing';
import type { Pool } from 'pg';
import { ConfirmedPublisher, type OutgoingEvent, type OutgoingMessage } from '../confirmed-publisher';
import type { OutboxRecord } from './outbox-record';
import { OutboxRelay } from './outbox-relay';
import { DEFAULT_OUTBOX_RELAY_OPTIONS, type OutboxRelayOptions } from './outbox-relay.options';

/** A statement the relay sent, with its parameters. */
interface Sent {
  text: string;
  values?: unknown[];
}

/**
 * A pg Pool that records every statement and answers the sweep's SELECT with `due` rows. The SQL itself
 * is the integration specs' business; here it is which ids are marked, when, and what is skipped.
 */
function recordingPool(due: () => Record<string, unknown>[] = () => []) {
  const sent: Sent[] = [];
  const query = async (text: string, values?: unknown[]) => {
    sent.push({ text: text.trim().split(/\s+/).slice(0, 2).join(' '), values });
    return text.trim().startsWith('SELECT') ? { rows: due(), rowCount: 0 } : { rows: [], rowCount: 0 };
  };
  const pool = { query, connect: async () => ({ query, release: () => undefined }) } as unknown as Pool;
  return { pool, sent, marked: () => sent.filter((s) => s.text === 'UPDATE outbox_messages') };
}

/** A publisher whose confirms the spec settles by message id. */
function controlledPublisher() {
  const published: OutgoingMessage[] = [];
  const settle = new Map<string, { confirm: () => void; fail: (error: Error) => void }>();
  const publisher = {
    publish: (message: OutgoingMessage) =>
      new Promise<void>((confirm, fail) => {
        published.push(message);
        settle.set(message.messageId, { confirm, fail });
      }),
    // The real envelope building, onto the publish above.
    publishEvent(event: OutgoingEvent): Promise<void> {
      return ConfirmedPublisher.prototype.publishEvent.call(this, event);
    },
  } as unknown as ConfirmedPublisher;
  return { publisher, published, settle };
}

const record = (id: string): OutboxRecord => ({
  id,
  exchange: 'order',
  routingKey: 'order.notify',
  messageType: 'order.placed.v1',
  data: { orderId: id },
  headers: { correlationId: `corr-${id}`, 'x-source': 'spec' },
  createdAt: new Date('2026-12-03T10:00:00.000Z'),
});

const row = (id: string) => ({
  id,
  exchange: 'order',
  routing_key: 'order.report',
  message_type: 'order.placed.v1',
  payload: { orderId: id },
  headers: { correlationId: `corr-${id}` },
  created_at: new Date('2026-12-03T09:00:00.000Z'),
});

const options = (overrides: Partial<OutboxRelayOptions> = {}): OutboxRelayOptions => ({
  ...DEFAULT_OUTBOX_RELAY_OPTIONS,
  databaseUrl: 'postgresql://unused',
  applicationName: 'spec',
  sweepIntervalMs: 0,
  markBatchDelayMs: 1,
  ...overrides,
});

describe('OutboxRelay (its decisions, without a database or broker)', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(new ConsoleLogger()));

  it('publishes committed rows in their envelope (id, correlation id, headers, time) and marks the confirmed ones in one UPDATE', async () => {
    const { pool, marked } = recordingPool();
    const { publisher, published, settle } = controlledPublisher();
    const relay = new OutboxRelay(pool, publisher, options());

    relay.relayCommitted([record('a'), record('b'), record('c')]);
    expect(published.map((m) => m.messageId)).toEqual(['a', 'b', 'c']);
    expect(published[0]).toEqual({
      exchange: 'order',
      routingKey: 'order.notify',
      body: Buffer.from(
        JSON.stringify({
          messageId: 'a',
          type: 'order.placed.v1',
          version: 1,
          occurredAt: '2026-12-03T10:00:00.000Z',
          correlationId: 'corr-a',
          data: { orderId: 'a' },
        }),
      ),
      messageId: 'a',
      correlationId: 'corr-a',
      type: 'order.placed.v1',
      occurredAt: new Date('2026-12-03T10:00:00.000Z'),
      headers: { 'x-source': 'spec' },
    });

    // Nothing is marked before its confirm; a failed one is never marked (the sweep retries it).
    expect(marked()).toEqual([]);
    settle.get('a')!.confirm();
    settle.get('b')!.confirm();
    settle.get('c')!.fail(new Error('nacked'));
    await waitFor('the confirmed rows marked', () => marked().length > 0);
    expect(marked().map((m) => m.values?.[0])).toEqual([['a', 'b']]);
  });

  it('leaves rows to the sweep when more than maxInFlight would be unconfirmed, or once stopped', async () => {
    const { pool } = recordingPool();
    const { publisher, published } = controlledPublisher();
    const relay = new OutboxRelay(pool, publisher, options({ maxInFlight: 2 }));

    relay.relayCommitted([record('a'), record('b'), record('c')]);
    expect(published).toEqual([]);
    relay.relayCommitted([record('a'), record('b')]);
    expect(published.map((m) => m.messageId)).toEqual(['a', 'b']);

    await relay.onApplicationShutdown();
    relay.relayCommitted([record('d')]);
    expect(published).toHaveLength(2);
  });

  it('the sweep skips rows the fast path still holds, marks what it published and backs off what failed', async () => {
    const { pool, sent } = recordingPool(() => [row('pending'), row('due-ok'), row('due-bad')]);
    const { publisher, published, settle } = controlledPublisher();
    const relay = new OutboxRelay(pool, publisher, options({ sweepBatchSize: 200 }));
    relay.relayCommitted([record('pending')]);

    const swept = relay.sweep();
    await waitFor('the sweep publishing', () => published.length === 3);
    // The fast path's own row is selected (locked) but not published a second time.
    expect(published.map((m) => m.messageId)).toEqual(['pending', 'due-ok', 'due-bad']);
    settle.get('due-ok')!.confirm();
    settle.get('due-bad')!.fail(new Error('unroutable: no queue is bound'));
    // Fewer rows than a batch: one round.
    expect(await swept).toBe(1);

    const inTransaction = sent.slice(sent.findIndex((s) => s.text === 'BEGIN'));
    expect(inTransaction.map((s) => s.text)).toEqual([
      'BEGIN',
      'SELECT id,',
      'UPDATE outbox_messages',
      'UPDATE outbox_messages',
      'COMMIT',
    ]);
    expect(inTransaction[2].values).toEqual([['due-ok']]);
    expect(inTransaction[3].values).toEqual([['due-bad'], 'unroutable: no queue is bound', 60]);
  });

  it('prunes old published rows at most once a minute', async () => {
    const { pool, sent } = recordingPool();
    const { publisher } = controlledPublisher();
    const relay = new OutboxRelay(pool, publisher, options({ retentionHours: 24 }));
    await relay.sweep();
    await relay.sweep();
    const deletes = sent.filter((s) => s.text === 'DELETE FROM');
    expect(deletes).toEqual([{ text: 'DELETE FROM', values: [24] }]);
  });
});
