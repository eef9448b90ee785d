export * from './local-cluster';
