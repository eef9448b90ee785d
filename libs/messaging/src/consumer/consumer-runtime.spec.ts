import type { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import { Queues } from '@shop/contracts';
import { ServiceMetrics } from '@shop/service-kit';
import type { ConsumeMessage } from 'amqplib';
import { EventEmitter } from 'node:events';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { BatchConsumer } from './batch-consumer';
import { ConsumerRuntime } from './consumer-runtime';

/** The part of an amqplib channel the runtime uses, recording what it was asked to do. */
class FakeChannel {
  readonly calls: string[] = [];
  deliver: ((message: ConsumeMessage | null) => void) | undefined;
  closed = false;

  async assertQueue(queue: string) {
    this.calls.push(`assert ${queue}`);
  }
  async checkQueue(queue: string) {
    this.calls.push(`check ${queue}`);
  }
  async prefetch(count: number) {
    this.calls.push(`prefetch ${count}`);
  }
  async consume(queue: string, onMessage: (message: ConsumeMessage | null) => void, options: object) {
    this.calls.push(`consume ${queue} ${JSON.stringify(options)}`);
    this.deliver = onMessage;
  }
  async cancel(tag: string) {
    this.calls.push(`cancel ${tag}`);
  }
  ack(message: ConsumeMessage, allUpTo = false) {
    if (this.closed) throw new Error('Channel closed');
    this.calls.push(`ack ${message.fields.deliveryTag}${allUpTo ? ' and before' : ''}`);
  }
  nack(message: ConsumeMessage, _allUpTo: boolean, requeue: boolean) {
    if (this.closed) throw new Error('Channel closed');
    this.calls.push(`nack ${message.fields.deliveryTag}${requeue ? ' requeue' : ''}`);
  }
}

/** golevelup's connection as far as the runtime sees it: each createChannel runs its set-up on a fresh channel. */
function fakeBroker() {
  const channels: FakeChannel[] = [];
  const closedWrappers: EventEmitter[] = [];
  const amqp = {
    managedConnection: {
      createChannel: ({ setup }: { setup: (channel: FakeChannel) => Promise<void> }) => {
        const wrapper: EventEmitter = Object.assign(new EventEmitter(), {
          close: async () => void closedWrappers.push(wrapper),
        });
        const channel = new FakeChannel();
        channels.push(channel);
        setImmediate(() => setup(channel).catch((error: Error) => wrapper.emit('error', error)));
        return wrapper;
      },
    },
  } as unknown as AmqpConnection;
  return { amqp, channels, closedWrappers };
}

let tag = 0;
const message = () =>
  ({
    fields: { deliveryTag: ++tag },
    properties: {},
    content: Buffer.from('{}'),
  }) as unknown as ConsumeMessage;

const runtimeOn = (amqp: AmqpConnection, declareTopology: boolean, metrics?: ServiceMetrics) =>
  new ConsumerRuntime(amqp, { url: 'amqp://guest:guest@localhost', appId: 'spec', declareTopology }, metrics);

describe('ConsumerRuntime', () => {
  it("declares a contract queue with its arguments when the service declares the topology, and only checks it otherwise, then consumes with the consumer's prefetch", async () => {
    const { amqp, channels } = fakeBroker();
    runtimeOn(amqp, true).consume(Queues.logArchive, () => undefined, { prefetch: 7 });
    runtimeOn(amqp, false).consume(Queues.logArchive, () => undefined);
    await nextTurn();
    await nextTurn();
    expect(channels[0].calls.slice(0, 2)).toEqual([`assert ${Queues.logArchive}`, 'prefetch 7']);
    expect(channels[1].calls.slice(0, 2)).toEqual([`check ${Queues.logArchive}`, 'prefetch 10']);
    expect(channels[0].calls[2]).toMatch(
      new RegExp(`^consume ${Queues.logArchive} .*"consumerTag":"spec\\.`),
    );
  });

  it('consumes again on a new channel a second after the broker cancelled the consumer', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    try {
      const { amqp, channels } = fakeBroker();
      runtimeOn(amqp, true).consume(Queues.logArchive, () => undefined);
      await nextTurn();
      await nextTurn();
      channels[0].deliver!(null);
      expect(channels).toHaveLength(1);
      jest.advanceTimersByTime(1_000);
      await nextTurn();
      await nextTurn();
      expect(channels).toHaveLength(2);
      expect(channels[1].calls).toContainEqual(expect.stringMatching(/^consume log_archive/));
    } finally {
      jest.useRealTimers();
    }
  });

  it('at shutdown cancels, hands back what arrives after, and waits for the delivery in hand; messages_in_progress follows', async () => {
    const { amqp, channels } = fakeBroker();
    const metrics = new ServiceMetrics({ service: 'spec' });
    const runtime = runtimeOn(amqp, true, metrics);
    let finish: (() => void) | undefined;
    runtime.consume(Queues.logArchive, (delivery, channel, settled) => {
      finish = () => {
        channel.ack(delivery);
        settled();
      };
    });
    await nextTurn();
    await nextTurn();
    const [channel] = channels;
    const inHand = message();
    channel.deliver!(inHand);
    expect(runtime.messagesInHand()).toBe(1);
    expect(await metrics.registry.metrics()).toMatch(
      /messages_in_progress\{queue="log_archive",service="spec"\} 1/,
    );

    let stopped = false;
    const stopping = runtime.beforeApplicationShutdown().then(() => (stopped = true));
    await nextTurn();
    expect(channel.calls).toContainEqual(expect.stringMatching(/^cancel spec\.log_archive\./));
    const late = message();
    channel.deliver!(late);
    expect(channel.calls).toContain(`nack ${late.fields.deliveryTag} requeue`);
    expect(stopped).toBe(false);

    finish!();
    await stopping;
    expect(channel.calls).toContain(`ack ${inHand.fields.deliveryTag}`);
    expect(runtime.messagesInHand()).toBe(0);
    expect(await metrics.registry.metrics()).toMatch(
      /messages_in_progress\{queue="log_archive",service="spec"\} 0/,
    );
  });
});

describe('ConsumerRuntime at a stop that cannot drain', () => {
  it('stops 10 s after a delivery that is never settled, closing its channel so the broker delivers it again', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    try {
      const { amqp, channels, closedWrappers } = fakeBroker();
      const runtime = runtimeOn(amqp, true);
      runtime.consume(Queues.logArchive, () => undefined); // holds every delivery, settles none
      await nextTurn();
      await nextTurn();
      channels[0].deliver!(message());

      let stopped = false;
      const stopping = runtime.beforeApplicationShutdown().then(() => (stopped = true));
      await nextTurn();
      jest.advanceTimersByTime(9_999);
      await nextTurn();
      expect(stopped).toBe(false);
      expect(closedWrappers).toHaveLength(0);
      jest.advanceTimersByTime(1);
      await stopping;
      expect(closedWrappers).toHaveLength(1);
      expect(runtime.messagesInHand()).toBe(1);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('BatchConsumer', () => {
  const consuming = async () => {
    const { amqp, channels } = fakeBroker();
    const consumer = new BatchConsumer(runtimeOn(amqp, true));
    const settles: ((outcome: 'ack' | 'requeue') => void)[] = [];
    consumer.consume(Queues.logArchive, (_message, settle) => settles.push(settle));
    await nextTurn();
    await nextTurn();
    return { consumer, channel: channels[0], settles };
  };

  it('acks a run decided in the same turn with one multiple ack, nacking the requeued ones first, in order', async () => {
    const { consumer, channel, settles } = await consuming();
    const deliveries = [message(), message(), message(), message()];
    for (const delivery of deliveries) channel.deliver!(delivery);
    const [, second, third, fourth] = deliveries.map((delivery) => delivery.fields.deliveryTag);
    settles[0]('ack');
    settles[1]('requeue');
    settles[2]('ack');
    await nextTurn();
    expect(channel.calls.filter((call) => /^(n?ack)/.test(call))).toEqual([
      `nack ${second} requeue`,
      `ack ${third} and before`,
    ]);
    expect(consumer.messagesInHand).toBe(1);

    settles[3]('ack');
    await nextTurn();
    expect(channel.calls).toContain(`ack ${fourth} and before`);
    expect(consumer.messagesInHand).toBe(0);
  });

  it('waits for the front of the line: a later delivery decided first is not acked before an earlier one', async () => {
    const { channel, settles } = await consuming();
    const [early, late] = [message(), message()];
    channel.deliver!(early);
    channel.deliver!(late);
    settles[1]('ack');
    await nextTurn();
    expect(channel.calls.filter((call) => call.startsWith('ack'))).toEqual([]);
    settles[0]('ack');
    await nextTurn();
    expect(channel.calls.filter((call) => call.startsWith('ack'))).toEqual([
      `ack ${late.fields.deliveryTag} and before`,
    ]);
  });

  it('holds nothing of a channel that closed: the broker redelivers all of it', async () => {
    const { consumer, channel, settles } = await consuming();
    channel.deliver!(message());
    channel.deliver!(message());
    channel.closed = true;
    settles[0]('ack');
    await nextTurn();
    expect(consumer.messagesInHand).toBe(0);
  });
});
