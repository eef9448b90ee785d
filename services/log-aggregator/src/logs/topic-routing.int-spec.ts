import { Exchanges, Queues } from '@shop/contracts';
import { BrokerProbe } from '@shop/testing';
import { randomUUID } from 'node:crypto';
import { declareLogTopology } from '../testing/log-aggregator.harness';

/**
 * How the topic exchange `logs` routes by key (the RabbitMQ tutorial's rules): a binding key's words are
 * matched against the routing key's dot-separated words, `*` stands for exactly one word and `#` for
 * zero or more. Each binding below gets its own temporary queue (server-named, exclusive).
 */
const BINDINGS = ['*.error', 'order-api.*', '#', 'notify-worker.warn', '*.*.x', '#.x'] as const;

const KEYS = [
  'order-api.info',
  'order-api.error',
  'notify-worker.warn',
  'report-worker.error',
  'a.b.x',
  'a.b.c.x',
  'x',
  'order-api',
  'order-api.info.extra',
];

const EXPECTED: Record<(typeof BINDINGS)[number], string[]> = {
  // `*` is one word: two-word keys ending in "error" only.
  '*.error': ['order-api.error', 'report-worker.error'],
  // Not "order-api" (no second word) nor "order-api.info.extra" (a third word).
  'order-api.*': ['order-api.info', 'order-api.error'],
  // Zero or more words: everything.
  '#': KEYS,
  // No wildcard: that key and nothing else.
  'notify-worker.warn': ['notify-worker.warn'],
  // Exactly three words ending in x: not "a.b.c.x" (four) nor "x" (one).
  '*.*.x': ['a.b.x'],
  // `#` may be zero words: "x" matches as well as any longer key ending in x.
  '#.x': ['a.b.x', 'a.b.c.x', 'x'],
};

describe('topic exchange "logs": which binding receives which routing key', () => {
  let broker: BrokerProbe;
  const queueOf = new Map<string, string>();
  // Other processes on the test vhost may log too: only this run's messages count.
  const runId = randomUUID();

  beforeAll(async () => {
    broker = await BrokerProbe.connect();
    await declareLogTopology(broker.channel);
    for (const binding of BINDINGS) {
      const { queue } = await broker.channel.assertQueue('', { exclusive: true, autoDelete: true });
      await broker.channel.bindQueue(queue, Exchanges.logs, binding);
      queueOf.set(binding, queue);
    }
  });

  afterAll(async () => {
    // These keys also reached the durable log queues (through the fanout and `*.error`): leave them clean.
    await broker.purge(Queues.logArchive, Queues.logAlerts);
    await broker.close();
  });

  it('routes each key to exactly the bindings that match it', async () => {
    for (const key of KEYS) {
      await broker.publishConfirmed(Exchanges.logs, key, Buffer.from(key), { messageId: `${runId} ${key}` });
    }
    // A confirm means the message is already in every queue it was routed to.
    const received: Record<string, string[]> = {};
    for (const binding of BINDINGS) {
      const messages = await broker.drain(queueOf.get(binding)!);
      received[binding] = messages
        .filter((m) => String(m.properties.messageId).startsWith(runId))
        .map((m) => m.fields.routingKey)
        .sort();
    }
    const sorted = Object.fromEntries(
      Object.entries(EXPECTED).map(([binding, keys]) => [binding, [...keys].sort()]),
    );
    expect(received).toEqual(sorted);
  });
});
