import { FailureHeaders, Queues, TOPOLOGY } from '@shop/contracts';
import { BrokerProbe, declareTopology, freePort, testConfig, waitFor } from '@shop/testing';
import { AmqpBrokerReader, nodeNameOf } from './broker-reader';

describe('AmqpBrokerReader (real RabbitMQ)', () => {
  let broker: BrokerProbe;
  let reader: AmqpBrokerReader;
  let deadNode: string;

  beforeAll(async () => {
    broker = await BrokerProbe.connect();
    await declareTopology(broker.channel, TOPOLOGY);
    await broker.purge(Queues.orderNotifyDeadLetter, Queues.orderReportDeadLetter);
    // A second "node" nobody listens on: the reader must say it is down and read the queues from the other.
    const url = new URL(testConfig.rabbitmqUrl);
    url.port = String(await freePort());
    deadNode = url.toString();
    reader = new AmqpBrokerReader(`${deadNode},${testConfig.rabbitmqUrl}`, TOPOLOGY);
  });
  afterAll(async () => {
    await reader?.close();
    await broker?.purge(Queues.orderNotifyDeadLetter);
    await broker?.close();
  });

  it('says which node is up, reads every queue from it, and lists parked messages without removing them', async () => {
    // Parked as a worker parks: in the DLQ through order.dlx, with the failure headers.
    for (const [messageId, reason] of [
      ['parked-1', 'invalid-message'],
      ['parked-2', 'retries-exhausted'],
      ['parked-3', 'invalid-message'],
    ]) {
      await broker.publishConfirmed('order.dlx', Queues.orderNotify, Buffer.from('{}'), {
        messageId,
        persistent: true,
        headers: {
          [FailureHeaders.deadLetterReason]: reason,
          [FailureHeaders.lastError]: `why ${messageId}`,
        },
      });
    }

    const reading = await waitFor('a reading with the node connected', async () => {
      const r = await reader.read();
      return r.nodes.some((node) => node.up) ? r : undefined;
    });
    expect(reading.source).toBe('amqp');
    expect(reading.nodes).toEqual([
      { name: nodeNameOf(deadNode), up: false, detail: 'no AMQP connection' },
      { name: nodeNameOf(testConfig.rabbitmqUrl), up: true },
    ]);
    expect(reading.queues.map((q) => q.name).sort()).toEqual(TOPOLOGY.queues.map((q) => q.name).sort());
    expect(reading.queues.find((q) => q.name === Queues.orderNotifyDeadLetter)).toEqual({
      name: Queues.orderNotifyDeadLetter,
      ready: 3,
      consumers: 0,
    });
    expect(reading.parked[Queues.orderNotifyDeadLetter]).toEqual([
      { messageId: 'parked-1', reason: 'invalid-message', lastError: 'why parked-1' },
      { messageId: 'parked-2', reason: 'retries-exhausted', lastError: 'why parked-2' },
      { messageId: 'parked-3', reason: 'invalid-message', lastError: 'why parked-3' },
    ]);
    expect(reading.parked[Queues.orderReportDeadLetter]).toBeUndefined();

    // Listing put them all back.
    const again = await reader.read();
    expect(again.queues.find((q) => q.name === Queues.orderNotifyDeadLetter)?.ready).toBe(3);
    expect((await broker.channel.checkQueue(Queues.orderNotifyDeadLetter)).messageCount).toBe(3);
  });

  it('counts a work queue’s consumers', async () => {
    const consumer = await broker.channel.consume(Queues.orderReport, () => undefined);
    try {
      const reading = await reader.read();
      expect(reading.queues.find((q) => q.name === Queues.orderReport)?.consumers).toBe(1);
    } finally {
      await broker.channel.cancel(consumer.consumerTag);
    }
  });
});
