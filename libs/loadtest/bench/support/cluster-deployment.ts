import { CLUSTER_TOPOLOGY } from '@shop/contracts';
import { connectToolToBroker } from '@shop/broker';
import { CLUSTER_REPLICAS, replicaName, type LocalCluster } from '@shop/local-cluster';
import { declareTopology, ensureVhostExists } from '@shop/testing';
import type { ServiceName } from './tool-environment';

/** One process of a bench or drill: `notify-worker` on one node, `notify-worker-2` among replicas. */
export interface ReplicaPlan {
  name: string;
  service: ServiceName;
  /** What it gets on top of the common environment. */
  env: Record<string, string>;
}

/**
 * The replicas of `services` on the local cluster, logged in as guest on `vhost`. Each replica lists the
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
        RABBITMQ_URL: cluster.url({ user: 'guest', password: 'guest', vhost }, cluster.nodesFrom(index)),
        RABBITMQ_DECLARE_TOPOLOGY: 'false',
      },
    })),
  );
}

/** `vhost` on the cluster for guest, with CLUSTER_TOPOLOGY declared in it (quorum queues on three nodes). */
export async function prepareClusterVhost(
  cluster: LocalCluster,
  vhost: string,
  log: (line: string) => void,
): Promise<string> {
  const url = cluster.url({ user: 'guest', password: 'guest', vhost });
  ensureVhostExists(url, vhost, log, (...args) => cluster.ctlSync(cluster.nodes[0], args));
  const admin = await connectToolToBroker(url, 'cluster-topology');
  try {
    await declareTopology(await admin.connection.createChannel(), CLUSTER_TOPOLOGY);
  } finally {
    await admin.close();
  }
  return url;
}
