import { rabbitmqNodesOf } from '@shop/config';
import amqp, {
  AmqpConnectionManagerClass,
  type AmqpConnectionManagerOptions,
  type AmqpConnectionManager,
} from 'amqp-connection-manager';
import type { ChannelModel } from 'amqplib';

export interface BrokerConnectionTuning {
  /** Wait between two connection attempts, each to the next node (default 1 s). */
  reconnectTimeInSeconds?: number;
  /** Heartbeat interval: how soon a silently dead node is noticed (default 5 s). */
  heartbeatIntervalInSeconds?: number;
}

/**
 * The connection settings of every process here, services (through golevelup, which takes them as
 * `connectionManagerOptions`) and tools alike. amqp-connection-manager tries the nodes of the URL in
 * turn, round robin, and reconnects by itself after a loss.
 */
export function brokerConnectionOptions(
  connectionName: string,
  tuning: BrokerConnectionTuning = {},
): AmqpConnectionManagerOptions {
  return {
    heartbeatIntervalInSeconds: tuning.heartbeatIntervalInSeconds ?? 5,
    reconnectTimeInSeconds: tuning.reconnectTimeInSeconds ?? 1,
    connectionOptions: {
      // A message goes out as several frames; with Nagle on, the last one waits for the ACK of the
      // first, which delayed ACK holds back for tens of milliseconds (docs/measured.md).
      noDelay: true,
      // A node that accepts TCP but never answers (paused, partitioned) fails this attempt in 5 s.
      timeout: 5_000,
      // The name the management UI and `rabbitmqctl list_connections` show.
      clientProperties: { connection_name: connectionName },
    },
  };
}

/**
 * A connection to the broker of `rabbitmqUrl` (one node, or a cluster's nodes separated by commas)
 * that fails over to the next node and reconnects by itself. It starts connecting at once; channels
 * made with `createChannel` are set up again on every new connection.
 */
export function connectToBroker(
  rabbitmqUrl: string,
  connectionName: string,
  tuning?: BrokerConnectionTuning,
): AmqpConnectionManager {
  return amqp.connect(rabbitmqNodesOf(rabbitmqUrl), brokerConnectionOptions(connectionName, tuning));
}

export interface ToolConnection {
  /** The amqplib connection to the node that answered first. */
  connection: ChannelModel;
  /** Which node that is. */
  node: string;
  close(): Promise<void>;
}

/**
 * For a command-line tool or a probe that runs once: the first node of `rabbitmqUrl` that answers,
 * within `timeoutMs` (the other nodes are tried in turn). Unlike `connectToBroker` it does not
 * reconnect: a tool reports the loss and stops.
 */
export async function connectToolToBroker(
  rabbitmqUrl: string,
  connectionName: string,
  { timeoutMs = 10_000 }: { timeoutMs?: number } = {},
): Promise<ToolConnection> {
  const nodes = rabbitmqNodesOf(rabbitmqUrl);
  const manager = new AmqpConnectionManagerClass(
    nodes,
    brokerConnectionOptions(connectionName, { reconnectTimeInSeconds: 0.2 }),
  );
  let node = nodes[0];
  manager.on('connect', ({ url }) => (node = typeof url === 'string' ? url : node));
  try {
    await manager.connect({ timeout: timeoutMs });
  } catch (error) {
    await manager.close().catch(() => undefined);
    throw new Error(
      `no RabbitMQ node of ${redactedNodes(rabbitmqUrl)} answered: ${(error as Error).message}`,
    );
  }
  const connection = manager.connection!;
  // Hand the connection over as is: no reconnect once the tool has it.
  connection.removeAllListeners('close');
  connection.on('error', () => undefined);
  return {
    connection,
    node,
    close: async () => {
      await connection.close().catch(() => undefined);
      await manager.close().catch(() => undefined);
    },
  };
}

/**
 * The RabbitMQ user `rabbitmqUrl` logs in as (amqplib's `guest` when the URL names none): what every
 * message published on that connection must carry as `user_id`, which the broker checks.
 */
export function brokerUserOf(rabbitmqUrl: string): string {
  const [first] = rabbitmqNodesOf(rabbitmqUrl);
  try {
    return decodeURIComponent(new URL(first).username) || 'guest';
  } catch {
    return 'guest';
  }
}

/** The nodes without their passwords, for messages. */
export function redactedNodes(rabbitmqUrl: string): string {
  return rabbitmqNodesOf(rabbitmqUrl)
    .map((node) => {
      try {
        const url = new URL(node);
        if (url.password) url.password = '***';
        return url.toString();
      } catch {
        return '<not a URL>';
      }
    })
    .join(',');
}
