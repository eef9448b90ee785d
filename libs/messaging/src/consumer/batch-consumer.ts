import { Injectable } from '@nestjs/common';
import type { Channel, ConsumeMessage } from 'amqplib';
import { ConsumerRuntime } from './consumer-runtime';

/** How a batch consumer settles one delivery: acked, or back to its queue for another try. */
export type BatchOutcome = 'ack' | 'requeue';

/** Receives one delivery; `settle` is called once, when its outcome is known (in any later turn). */
export type OnBatchDelivery = (message: ConsumeMessage, settle: (outcome: BatchOutcome) => void) => void;

interface Delivery {
  message: ConsumeMessage;
  outcome: BatchOutcome | undefined;
  settled: () => void;
}

/**
 * Settles the deliveries of one channel in the order they arrived: once a run of them at the front
 * is decided, the requeued ones are nacked one by one and the rest acked with a single "multiple"
 * ack (one frame for the whole batch instead of one per record). A delivery tag belongs to its
 * channel, so a channel that closed takes its unsettled deliveries with it: the broker redelivers them.
 */
class ChannelSettler {
  private readonly deliveries: Delivery[] = [];
  private head = 0;
  private scheduled = false;

  constructor(private readonly channel: Channel) {}

  track(message: ConsumeMessage, settled: () => void): Delivery {
    const delivery: Delivery = { message, outcome: undefined, settled };
    this.deliveries.push(delivery);
    return delivery;
  }

  settle(delivery: Delivery, outcome: BatchOutcome): void {
    delivery.outcome = outcome;
    if (this.scheduled) return;
    this.scheduled = true;
    // Every record of a batch is decided in the same turn: settle them with one ack.
    setImmediate(() => this.flush());
  }

  /** Sends what is decided at the front now. */
  private flush(): void {
    this.scheduled = false;
    let lastAcked: ConsumeMessage | undefined;
    const from = this.head;
    try {
      while (this.head < this.deliveries.length) {
        const delivery = this.deliveries[this.head];
        if (delivery.outcome === undefined) break;
        if (delivery.outcome === 'requeue') this.channel.nack(delivery.message, false, true);
        else lastAcked = delivery.message;
        this.head += 1;
      }
      // Covers every delivery of this channel up to it: the requeued ones were nacked just before.
      if (lastAcked) this.channel.ack(lastAcked, true);
      for (let index = from; index < this.head; index++) this.deliveries[index].settled();
    } catch {
      // The channel closed (amqplib throws): the broker redelivers all it held, so none is in hand here.
      for (let index = from; index < this.deliveries.length; index++) this.deliveries[index].settled();
      this.head = this.deliveries.length;
    } finally {
      if (this.head > 1_024 && this.head * 2 > this.deliveries.length) {
        this.deliveries.splice(0, this.head);
        this.head = 0;
      }
    }
  }
}

/**
 * A consumer that acks in batches: each delivery is handed over with a `settle` callback instead of
 * a promise, and every delivery decided in the same turn is acked with one frame (no promise and no ack
 * frame per record, for a high-rate queue written to disk in batches). It runs on the ConsumerRuntime,
 * with WorkQueueSubscriber's reconnection, messages_in_progress and drain: at shutdown the consumer is
 * cancelled, `beforeDrain` runs (write the batch now rather than at its timer), and the stop waits until
 * every delivery it holds is settled. The prefetch must be at least a batch, or every batch waits for
 * its timer.
 */
@Injectable()
export class BatchConsumer {
  private readonly settlers = new WeakMap<Channel, ChannelSettler>();
  private readonly queues = new Set<string>();

  constructor(private readonly runtime: ConsumerRuntime) {}

  consume(
    queue: string,
    onDelivery: OnBatchDelivery,
    options: { prefetch?: number; beforeDrain?: () => Promise<void> } = {},
  ): void {
    this.queues.add(queue);
    this.runtime.consume(
      queue,
      (message, channel, settled) => {
        let settler = this.settlers.get(channel);
        if (!settler) this.settlers.set(channel, (settler = new ChannelSettler(channel)));
        const delivery = settler.track(message, settled);
        onDelivery(message, (outcome) => settler.settle(delivery, outcome));
      },
      options,
    );
  }

  /** Deliveries received and not yet acked or nacked (a batch being written). */
  get messagesInHand(): number {
    return this.runtime.messagesInHand(this.queues);
  }
}
