import { connectToBroker } from '@shop/broker';
import { rabbitmqNodesOf } from '@shop/config';
import type { ParkingQueueSource, Topology } from '@shop/contracts';
import { listParked, type ParkedMessage } from '@shop/messaging/dead-letters';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Channel, ChannelModel } from 'amqplib';
import {
  deadLetterQueuesOf,
  type ParkedReading,
  type QueueReading,
  type RawTick,
} from '../snapshot/snapshot-builder';

/** Parked messages are listed (taken and put back) this often at most, not every second. */
const LIST_PARKED_EVERY_MS = 5_000;
const PARKED_LISTED = 50;

export type BrokerReading = RawTick['broker'] & { parked: RawTick['parked'] };

/** Where queue figures and node states come from: the management API, or AMQP alone. */
export interface BrokerReader {
  read(): Promise<BrokerReading>;
  close(): Promise<void>;
}

/**
 * Reads the broker over AMQP only (RabbitMQ's management plugin is not enabled on every broker): one
 * connection per node, whose state says whether the node is up; depths and consumer counts by passive
 * declares on the first connected node (they need no permission and create nothing); and the parked
 * messages of a dead-letter queue that holds any, listed without removing them (`npm run dlq -- list`).
 */
export class AmqpBrokerReader implements BrokerReader {
  private readonly nodes: { name: string; manager: AmqpConnectionManager }[];
  private readonly channels = new WeakMap<ChannelModel, Channel>();
  private parked: { at: number; byQueue: Record<string, ParkedReading[]>; depths: string } = {
    at: 0,
    byQueue: {},
    depths: '',
  };

  constructor(
    rabbitmqUrl: string,
    private readonly topology: Topology,
  ) {
    this.nodes = rabbitmqNodesOf(rabbitmqUrl).map((url) => ({
      name: nodeNameOf(url),
      manager: connectToBroker(url, `dashboard → ${nodeNameOf(url)}`),
    }));
    for (const { manager } of this.nodes) manager.on('connectFailed', () => undefined);
  }

  async read(): Promise<BrokerReading> {
    const nodes = this.nodes.map(({ name, manager }) => ({
      name,
      up: manager.isConnected(),
      ...(manager.isConnected() ? {} : { detail: 'no AMQP connection' }),
    }));
    const connection = this.nodes.find(({ manager }) => manager.isConnected())?.manager.connection;
    if (!connection) return { source: 'amqp', nodes, queues: [], parked: {} };
    const queues: QueueReading[] = [];
    for (const { name } of this.topology.queues) {
      const figures = await this.check(connection, name);
      if (figures) queues.push(figures);
    }
    return { source: 'amqp', nodes, queues, parked: await this.readParked(connection, queues) };
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map(({ manager }) => manager.close().catch(() => undefined)));
  }

  private async check(connection: ChannelModel, queue: string): Promise<QueueReading | undefined> {
    try {
      const channel = await this.channelOn(connection);
      const { messageCount, consumerCount } = await channel.checkQueue(queue);
      return { name: queue, ready: messageCount, consumers: consumerCount };
    } catch {
      // A missing queue closes the channel: the next read opens another.
      this.channels.delete(connection);
      return undefined;
    }
  }

  private async channelOn(connection: ChannelModel): Promise<Channel> {
    let channel = this.channels.get(connection);
    if (!channel) {
      channel = await connection.createChannel();
      channel.on('error', () => undefined);
      channel.on('close', () => {
        if (this.channels.get(connection) === channel) this.channels.delete(connection);
      });
      this.channels.set(connection, channel);
    }
    return channel;
  }

  /** Lists a dead-letter queue's messages again when its depth changed, or every few seconds. */
  private async readParked(
    connection: ChannelModel,
    queues: QueueReading[],
  ): Promise<Record<string, ParkedReading[]>> {
    const dlqs = deadLetterQueuesOf(this.topology);
    const depths = dlqs.map(({ queue }) => queues.find((q) => q.name === queue)?.ready ?? 0).join(',');
    if (depths === this.parked.depths && Date.now() - this.parked.at < LIST_PARKED_EVERY_MS)
      return this.parked.byQueue;
    const byQueue: Record<string, ParkedReading[]> = {};
    for (const { source, queue } of dlqs) {
      if (!source || (queues.find((q) => q.name === queue)?.ready ?? 0) === 0) continue;
      byQueue[queue] = await this.listOn(connection, source).catch(() => []);
    }
    this.parked = { at: Date.now(), byQueue, depths };
    return byQueue;
  }

  /** `npm run dlq -- list` on a channel of its own, closed after: every message taken goes back. */
  private async listOn(connection: ChannelModel, source: ParkingQueueSource): Promise<ParkedReading[]> {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    try {
      return (await listParked(channel, source, PARKED_LISTED)).map(summarise);
    } finally {
      await channel.close().catch(() => undefined);
    }
  }
}

function summarise(parked: ParkedMessage): ParkedReading {
  return {
    messageId: parked.messageId,
    reason: parked.reason,
    lastError: parked.lastError,
    ...(parked.failedAt ? { failedAt: parked.failedAt } : {}),
  };
}

/** `127.0.0.1:5681` for a node URL: what the page calls the node. */
export function nodeNameOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || (parsed.protocol === 'amqps:' ? '5671' : '5672')}`;
  } catch {
    return url;
  }
}

export const BROKER_READER = Symbol('BROKER_READER');
