import { isPaymentDueQueue, paymentDueQueue, Queues, TOPOLOGY, type Topology } from '@shop/contracts';

/**
 * The topology the dashboard reads and draws: the system's, plus the delay queue of the payment window
 * order-api runs with when that is not the default window (whose queue the topology already holds).
 */
export function watchedTopology(paymentWindowMs: number): Topology {
  const delayQueue = paymentDueQueue(paymentWindowMs);
  if (TOPOLOGY.queues.some((queue) => queue.name === delayQueue.name)) return TOPOLOGY;
  return { ...TOPOLOGY, queues: [...TOPOLOGY.queues, delayQueue] };
}

/**
 * Queues published to through the default exchange (routing key = queue name), which no binding
 * shows: report_rpc's requests and the reservations' deadlines in their delay queues.
 */
export function defaultExchangeQueues(topology: Topology): string[] {
  return topology.queues
    .map((queue) => queue.name)
    .filter((name) => name === Queues.reportRpc || isPaymentDueQueue(name));
}

export const WATCHED_TOPOLOGY = Symbol('WATCHED_TOPOLOGY');
