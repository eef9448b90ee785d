export * from './broker-control';
export * from './broker-probe';
export * from './http-app.harness';
export * from './mailpit-api';
export * from './smtp-sink';
export * from './test-config';
export * from './test-database';
export * from './wait-for';
