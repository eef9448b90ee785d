export * from './load-config';
export * from './variables';
export * from './node-flags';
export * from './database-roles';
export * from './local-secrets';
export * from './compose-secrets';
export * from './service-variables';
