export * from './correlation-context';
export * from './json-logger';
