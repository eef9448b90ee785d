import { SERVICE_PORTS } from '@shop/config';
import { CLUSTER_TOPOLOGY } from '@shop/contracts';
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
