export * from './smtp-sink';
export * from './mailpit-api';
