import { Exchanges, Queues } from '@shop/contracts';
import { BrokerProbe, waitFor } from '@shop/testing';
import { randomUUID } from 'node:crypto';
import { declareLogTopology, logRecord, publishLogRecord } from '../testing/log-aggregator.harness';

/**
 * The fanout `logs.broadcast` (bound to `logs` with `#`) copies every record to every queue bound to
 * it, whatever the key: the aggregator's durable `log_archive` and any number of live tails.
 */
describe('fanout exchange "logs.broadcast": every subscriber gets every record', () => {
  let broker: BrokerProbe;
  let tails: string[];
  let topicOnly: string;
  const runId = randomUUID();

  beforeAll(async () => {
    broker = await BrokerProbe.connect();
    await declareLogTopology(broker.channel);
    tails = [];
    for (let i = 0; i < 2; i++) {
      const { queue } = await broker.channel.assertQueue('', { exclusive: true, autoDelete: true });
      await broker.channel.bindQueue(queue, Exchanges.logsBroadcast, '');
      tails.push(queue);
    }
    ({ queue: topicOnly } = await broker.channel.assertQueue('', { exclusive: true, autoDelete: true }));
    await broker.channel.bindQueue(topicOnly, Exchanges.logs, '#');
  });
  beforeEach(() => broker.purge(Queues.logArchive, Queues.logAlerts));
  afterAll(async () => {
    await broker.purge(Queues.logArchive, Queues.logAlerts);
    await broker.close();
  });

  /** This run's messages on `queue` (others on the test vhost may log too), by correlation id. */
  const received = async (queue: string, count: number) => {
    const mine: string[] = [];
    await waitFor(`${count} of this run's message(s) on ${queue}`, async () => {
      for (const message of await broker.drain(queue)) {
        if (String(message.properties.correlationId).startsWith(runId)) {
          mine.push(message.properties.correlationId);
        }
      }
      return mine.length >= count;
    });
    return mine.sort();
  };

  it('delivers each record published to "logs" to both tails and to log_archive', async () => {
    const records = [
      logRecord({ service: 'order-api', level: 'info', correlationId: `${runId}-1` }),
      logRecord({ service: 'notify-worker', level: 'error', correlationId: `${runId}-2` }),
      logRecord({ service: 'report-worker', level: 'debug', correlationId: `${runId}-3` }),
      logRecord({ service: 'log-aggregator', level: 'warn', correlationId: `${runId}-4` }),
    ];
    for (const record of records) await publishLogRecord(broker, record);

    const all = records.map((r) => r.correlationId).sort();
    expect(await received(tails[0], 4)).toEqual(all);
    expect(await received(tails[1], 4)).toEqual(all);
    expect(await received(Queues.logArchive, 4)).toEqual(all);
  });

  it('ignores the routing key: a record published to the fanout itself reaches every subscriber', async () => {
    const record = logRecord({ service: 'order-api', level: 'info', correlationId: `${runId}-direct` });
    await publishLogRecord(broker, record, { exchange: Exchanges.logsBroadcast, routingKey: 'no.such.key' });

    for (const queue of [...tails, Queues.logArchive]) {
      expect(await received(queue, 1)).toEqual([record.correlationId]);
    }
    // The binding goes one way, logs → logs.broadcast: a queue on the topic exchange sees none of it.
    const onTopic = await broker.drain(topicOnly);
    expect(onTopic.filter((m) => m.properties.correlationId === record.correlationId)).toEqual([]);
  });
});
