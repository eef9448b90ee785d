import { SERVICE_PORTS } from '@shop/config';
import { CLUSTER_TOPOLOGY, TOPOLOGY } from '@shop/contracts';
import {
  applyLocalDefinitions,
  CLUSTER_REPLICAS,
  LocalCluster,
  replicaName,
  type ScaledService,
} from '@shop/local-cluster';

export type ServiceName = ScaledService;

/** One process `npm start` runs: a service, or one of its replicas. */
export interface ServiceInstance {
  service: ServiceName;
  /** `order-api`, or `order-api-2` for a replica. */
  name: string;
  port: number;
  /** What the instance gets on top of the common environment. */
  env: Record<string, string>;
}

/** Replica k (1-based) of a service listens on its port + 100·k (order-api-1 on 3100, -2 on 3200, …). */
export const replicaPort = (service: ServiceName, replica: number): number =>
  SERVICE_PORTS[service] + 100 * replica;

export function singleNodeInstances(rabbitmqUrl: string): ServiceInstance[] {
  return (Object.keys(CLUSTER_REPLICAS) as ServiceName[]).map((service) => ({
    service,
    name: service,
    port: SERVICE_PORTS[service],
    env: { RABBITMQ_URL: rabbitmqUrl },
  }));
}

export interface SingleNodeDeployment {
  /** The vhost the services run in: `shop` once provisioned, else the one RABBITMQ_URL names. */
  vhost: string;
  instances: ServiceInstance[];
  /** RABBITMQ_URL as guest in that vhost: the dashboard's and the load test's queue depths. */
  adminUrl: string;
  /** Users, permissions and policies were imported (the broker is this machine's). */
  provisioned: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The machine's broker, as `npm start` uses it: the vhost `shop` is provisioned like the Docker broker
 * (topology, queue limit policies, one user per service with its permissions, through rabbitmqctl, which
 * only reaches this machine's node), and each service logs in as its own user with
 * RABBITMQ_DECLARE_TOPOLOGY=false. The passwords are kept in var/secrets (0600, made on first use) or
 * come from RABBITMQ_<SERVICE>_PASSWORD. A RABBITMQ_URL naming another host is used as it is.
 */
export async function prepareSingleNode(
  rabbitmqUrl: string,
  log: (line: string) => void,
): Promise<SingleNodeDeployment> {
  const base = new URL(rabbitmqUrl.split(',')[0]);
  if (!LOOPBACK.has(base.hostname)) {
    log(
      `RABBITMQ_URL names ${base.hostname}, not this machine: services use it as they are, without their own users`,
    );
    return {
      vhost: decodeURIComponent(base.pathname.slice(1)) || '/',
      instances: singleNodeInstances(rabbitmqUrl),
      adminUrl: rabbitmqUrl,
      provisioned: false,
    };
  }
  const applied = await applyLocalDefinitions({
    topology: TOPOLOGY,
    adminUser: decodeURIComponent(base.username) || 'guest',
  });
  const urlAs = (user?: { name: string; password: string }) => {
    const url = new URL(base.toString());
    if (user) {
      url.username = encodeURIComponent(user.name);
      url.password = encodeURIComponent(user.password);
    }
    url.pathname = `/${encodeURIComponent(applied.vhost)}`;
    return url.toString();
  };
  const passwordOf = new Map(applied.users.map((user) => [user.name as string, user.password]));
  return {
    vhost: applied.vhost,
    instances: singleNodeInstances(rabbitmqUrl).map((instance) => ({
      ...instance,
      env: {
        ...instance.env,
        RABBITMQ_URL: urlAs({ name: instance.service, password: passwordOf.get(instance.service)! }),
        RABBITMQ_DECLARE_TOPOLOGY: 'false',
      },
    })),
    adminUrl: urlAs(),
    provisioned: true,
  };
}

export interface ClusterDeployment {
  cluster: LocalCluster;
  vhost: string;
  instances: ServiceInstance[];
  /** RABBITMQ_URL as guest, for the load test's queue depths. */
  adminUrl: string;
}

/**
 * Brings the local three-node cluster up (or finds it up), imports the cluster topology and the service
 * users, and lays out the replicas: each logs in as its own RabbitMQ user and checks rather than declares
 * the queues (RABBITMQ_DECLARE_TOPOLOGY=false: quorum queues come from the import). Replica k lists the
 * nodes starting at node k, so connections spread over the cluster instead of all landing on rabbit-1.
 */
export async function prepareCluster(log: (line: string) => void): Promise<ClusterDeployment> {
  const cluster = new LocalCluster({ log });
  await cluster.up();
  const applied = await applyLocalDefinitions({
    topology: CLUSTER_TOPOLOGY,
    rabbitmqctl: (args, input) => cluster.ctl(cluster.nodes[0], args, { input }),
  });
  const passwordOf = new Map(applied.users.map((user) => [user.name as string, user.password]));
  const instances: ServiceInstance[] = [];
  for (const service of Object.keys(CLUSTER_REPLICAS) as ServiceName[]) {
    for (let replica = 1; replica <= CLUSTER_REPLICAS[service]; replica++) {
      const credentials = { user: service, password: passwordOf.get(service)!, vhost: applied.vhost };
      instances.push({
        service,
        name: replicaName(service, replica),
        port: replicaPort(service, replica),
        env: {
          RABBITMQ_URL: cluster.url(credentials, cluster.nodesFrom(replica - 1)),
          RABBITMQ_DECLARE_TOPOLOGY: 'false',
        },
      });
    }
  }
  return {
    cluster,
    vhost: applied.vhost,
    instances,
    adminUrl: cluster.url({ user: 'guest', password: 'guest', vhost: applied.vhost }),
  };
}
