export * from './broker-connection';
