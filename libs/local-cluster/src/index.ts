export * from './load-balancer';
export * from './local-cluster';
export * from './replicas';
export * from './local-definitions';
