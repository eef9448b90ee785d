import { isPaymentDueQueue, type Topology } from '@shop/contracts';
import type { QueueReading } from '../snapshot/snapshot-builder';
import type { BrokerReader, BrokerReading } from './broker-reader';

interface ManagementQueue {
  name: string;
  messages_ready?: number;
  messages_unacknowledged?: number;
  consumers?: number;
  message_stats?: {
    publish_details?: { rate: number };
    deliver_get_details?: { rate: number };
    ack_details?: { rate: number };
  };
}

interface ManagementNode {
  name: string;
  running: boolean;
}

/**
 * Reads queues and nodes from RabbitMQ's management API (compose enables the plugin): ready and
 * unacked counts, consumers, and the broker's own publish / deliver / ack rates, for the topology's
 * queues and every payment window's delay queue; each node as the cluster sees it. Parked messages still come over AMQP (`amqp`), which lists them without removing.
 */
export class ManagementBrokerReader implements BrokerReader {
  private readonly base: string;
  private readonly authorization: string;

  constructor(
    managementUrl: string,
    private readonly vhost: string,
    private readonly topology: Topology,
    private readonly amqp: BrokerReader,
  ) {
    const url = new URL(managementUrl);
    this.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    url.username = '';
    url.password = '';
    this.base = url.toString().replace(/\/$/, '');
  }

  async read(): Promise<BrokerReading> {
    const [queues, nodes, overAmqp] = await Promise.all([
      this.get<ManagementQueue[]>(
        `/api/queues/${encodeURIComponent(this.vhost)}?columns=name,messages_ready,messages_unacknowledged,consumers,message_stats`,
      ),
      this.get<ManagementNode[]>('/api/nodes?columns=name,running'),
      this.amqp.read(),
    ]);
    if (!queues || !nodes) return overAmqp;
    const known = new Set(this.topology.queues.map((queue) => queue.name));
    // Every payment window's delay queue, however many windows order-api instances have run with.
    const watched = (name: string) => known.has(name) || isPaymentDueQueue(name);
    return {
      source: 'management',
      nodes: nodes.map((node) => ({
        name: node.name,
        up: node.running,
        ...(node.running ? {} : { detail: 'not running' }),
      })),
      queues: queues.filter((queue) => watched(queue.name)).map(toReading),
      parked: overAmqp.parked,
    };
  }

  close(): Promise<void> {
    return this.amqp.close();
  }

  /** The JSON at `path`, or undefined when the API cannot be read this second (AMQP figures are shown then). */
  private async get<T>(path: string): Promise<T | undefined> {
    try {
      const response = await fetch(`${this.base}${path}`, {
        headers: { authorization: this.authorization },
        signal: AbortSignal.timeout(800),
      });
      return response.ok ? ((await response.json()) as T) : undefined;
    } catch {
      return undefined;
    }
  }
}

function toReading(queue: ManagementQueue): QueueReading {
  const stats = queue.message_stats ?? {};
  return {
    name: queue.name,
    ready: queue.messages_ready ?? 0,
    unacked: queue.messages_unacknowledged ?? 0,
    consumers: queue.consumers ?? 0,
    rates: {
      publish: stats.publish_details?.rate ?? 0,
      deliver: stats.deliver_get_details?.rate ?? 0,
      ack: stats.ack_details?.rate ?? 0,
    },
  };
}
