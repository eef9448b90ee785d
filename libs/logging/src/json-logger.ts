import type { LoggerService, LogLevel } from '@nestjs/common';
import { currentCorrelationId } from './correlation-context';

export interface LogRecord {
  time: string;
  service: string;
  level: 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  context?: string;
  message: string;
  correlationId?: string;
  stack?: string;
}

const LEVEL_OF: Record<LogLevel, LogRecord['level']> = {
  verbose: 'debug',
  debug: 'debug',
  log: 'info',
  warn: 'warn',
  error: 'error',
  fatal: 'fatal',
};

const RANK: Record<LogRecord['level'], number> = { debug: 10, info: 20, warn: 30, error: 40, fatal: 50 };

/** Email addresses never appear in logs in full: `wang@example.cn` becomes `w***@example.cn`. */
export function maskEmails(text: string): string {
  return text.replace(/([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/g, '$1***@$2');
}

/** One JSON line per record on stdout, so any log shipper (or `jq`) can read it. */
export class JsonLogger implements LoggerService {
  private readonly minRank: number;

  constructor(
    private readonly service: string,
    options: { minLevel?: LogRecord['level']; write?: (line: string) => void } = {},
  ) {
    this.minRank = RANK[options.minLevel ?? 'info'];
    if (options.write) this.write = options.write;
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.emit('log', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.emit('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.emit('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.emit('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.emit('fatal', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    // Nest calls error(message, stack, context) or error(message, context).
    const stack = rest.length >= 2 && typeof rest[0] === 'string' ? (rest.shift() as string) : undefined;
    this.emit('error', message, rest, stack ?? (message instanceof Error ? message.stack : undefined));
  }

  private emit(nestLevel: LogLevel, message: unknown, rest: unknown[], stack?: string): void {
    const level = LEVEL_OF[nestLevel];
    if (RANK[level] < this.minRank) return;
    const context = typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    const text =
      message instanceof Error
        ? message.message
        : typeof message === 'string'
          ? message
          : JSON.stringify(message);
    const record: LogRecord = {
      time: new Date().toISOString(),
      service: this.service,
      level,
      ...(context && { context }),
      message: maskEmails(text),
      ...(currentCorrelationId() && { correlationId: currentCorrelationId() }),
      ...(stack && { stack: maskEmails(stack) }),
    };
    this.write(JSON.stringify(record));
  }

  private write = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
}
