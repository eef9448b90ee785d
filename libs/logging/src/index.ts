export * from './correlation-context';
export * from './json-logger';
export * from './log-buffer';
export * from './log-publisher';
