import type { SERVICE_PORTS } from '@shop/config';

/** The services that run the system; the dashboard only watches them and runs once beside them. */
export type ScaledService = Exclude<keyof typeof SERVICE_PORTS, 'dashboard'>;

/**
 * How many of each service run on the cluster (`npm start -- --cluster`, the cluster drill and bench,
 * compose's profile `cluster`): two order-api instances behind HAProxy, two of each worker sharing their
 * queue, one log-aggregator, since it appends to the log files and two would interleave their writes,
 * one identity, and two payment services sharing their queue.
 */
export const CLUSTER_REPLICAS: Readonly<Record<ScaledService, number>> = {
  'order-api': 2,
  'notify-worker': 2,
  'report-worker': 2,
  'log-aggregator': 1,
  // Sign-ins are few. Its key pair and per-email limits live in the database; its per-client limits in memory.
  identity: 1,
  // Two sharing payment_requests, like the workers: a charge is decided once in the database, whichever takes it.
  payment: 2,
};

/** `order-api-2` for a replica, the service's own name when it runs once. */
export const replicaName = (service: ScaledService, replica: number): string =>
  CLUSTER_REPLICAS[service] > 1 ? `${service}-${replica}` : service;
