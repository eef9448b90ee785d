export * from './load-balancer';
export * from './local-cluster';
export * from './replicas';
