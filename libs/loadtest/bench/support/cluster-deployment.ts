import { CLUSTER_TOPOLOGY } from '@shop/contracts';
import { connectToolToBroker } from '@shop/broker';
import { applyLocalDefinitions, CLUSTER_REPLICAS, replicaName, type LocalCluster } from '@shop/local-cluster';
import { declareTopology, ensureVhostExists, testRabbitmqUrlAs } from '@shop/testing';
import type { ServiceName } from './tool-environment';

/** One process of a bench or drill: `notify-worker` on one node, `notify-worker-2` among replicas. */
export interface ReplicaPlan {
  name: string;
  service: ServiceName;
  /** What it gets on top of the common environment. */
  env: Record<string, string>;
}

/**
 * The replicas of `services` on the local cluster, each logged in as its own user on `vhost` (order-api
 * accepts a status event only from the worker that owns it; prepareClusterVhost provisions the users). Each replica lists the
 * nodes from a different one, so connections spread over the cluster; none declares the topology (it
 * would declare the single-node classic queues; prepareClusterVhost declares CLUSTER_TOPOLOGY).
 */
export function clusterReplicas(
  cluster: LocalCluster,
  vhost: string,
  services: readonly ServiceName[],
): ReplicaPlan[] {
  return services.flatMap((service) =>
    Array.from({ length: CLUSTER_REPLICAS[service] }, (_, index) => ({
      name: replicaName(service, index + 1),
      service,
      env: {
        RABBITMQ_URL: testRabbitmqUrlAs(
          service,
          cluster.url({ user: 'guest', password: 'guest', vhost }, cluster.nodesFrom(index)),
        ),
        RABBITMQ_DECLARE_TOPOLOGY: 'false',
      },
    })),
  );
}

/**
 * `vhost` on the cluster for guest, with CLUSTER_TOPOLOGY declared in it (quorum queues on three nodes),
 * the queue limit policies and the service users (with every right there).
 */
export async function prepareClusterVhost(
  cluster: LocalCluster,
  vhost: string,
  log: (line: string) => void,
): Promise<string> {
  const url = cluster.url({ user: 'guest', password: 'guest', vhost });
  ensureVhostExists(url, vhost, log, (...args) => cluster.ctlSync(cluster.nodes[0], args));
  await applyLocalDefinitions({
    vhost,
    topology: CLUSTER_TOPOLOGY,
    servicesMayDeclare: true,
    rabbitmqctl: (args, input) => cluster.ctl(cluster.nodes[0], args, { input }),
  });
  const admin = await connectToolToBroker(url, 'cluster-topology');
  try {
    await declareTopology(await admin.connection.createChannel(), CLUSTER_TOPOLOGY);
  } finally {
    await admin.close();
  }
  return url;
}
