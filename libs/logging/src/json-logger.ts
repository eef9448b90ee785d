import type { LoggerService, LogLevel } from '@nestjs/common';
import { LOG_FIELD_LIMITS, type LogRecordV1, type OrderStep } from '@shop/contracts';
import { correlationContext } from './correlation-context';

/** What the logger writes and publishes: the `log.record.v1` contract. */
export type LogRecord = LogRecordV1;

/** A record's fields besides its text, which a caller may give; the log context fills in the rest. */
export interface LogFields {
  orderId?: string;
  step?: OrderStep;
  exchange?: string;
  routingKey?: string;
  queue?: string;
}

/** A message with fields: `logger.log(logEntry('order 7d0f placed', { orderId, step: OrderSteps.placed }))`. */
export interface LogEntry extends LogFields {
  message: string;
}

export const logEntry = (message: string, fields: LogFields): LogEntry => ({ message, ...fields });

const ENTRY_KEYS = new Set(['message', 'orderId', 'step', 'exchange', 'routingKey', 'queue']);

/** A plain object holding a string `message` and only LogFields: a LogEntry, not something to print as JSON. */
function isLogEntry(message: unknown): message is LogEntry {
  return (
    typeof message === 'object' &&
    message !== null &&
    Object.getPrototypeOf(message) === Object.prototype &&
    typeof (message as { message?: unknown }).message === 'string' &&
    Object.keys(message).every((key) => ENTRY_KEYS.has(key))
  );
}

/** The value when it is a string the contract takes (at most `most` characters), else nothing. */
const fieldOf = (value: unknown, most: number): string | undefined =>
  typeof value === 'string' && value.length <= most ? value : undefined;

/** Somewhere else records go besides stdout (the broker, see LogPublisher). */
export interface LogSink {
  /** Must return at once and never throw; `json` is the exact line written to stdout. */
  publish(record: LogRecord, json: string): void;
  /** Flushes what it still holds, in bounded time. */
  close(): Promise<void>;
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
  // Most records hold no address at all: skip the regular expression for them.
  if (!text.includes('@')) return text;
  return text.replace(/([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})/g, '$1***@$2');
}

/**
 * Lines for stdout, written together every few milliseconds (or as soon as many pile up): one write
 * call, and one wake-up of whoever reads the pipe, per interval instead of per record. Whatever is
 * held is written synchronously when the process exits.
 */
class StdoutLines {
  private held: string[] = [];
  private heldChars = 0;
  private timer: NodeJS.Timeout | undefined;
  private exitHooked = false;

  constructor(private readonly intervalMs: number) {}

  add(line: string): void {
    this.held.push(line);
    this.heldChars += line.length;
    if (this.heldChars >= 64 * 1024) return this.flush();
    if (this.timer) return;
    if (!this.exitHooked) {
      this.exitHooked = true;
      process.once('exit', () => this.flush());
    }
    // Outside the caller's correlation context: the timer belongs to no request.
    this.timer = correlationContext.exit(() => setTimeout(() => this.flush(), this.intervalMs));
    this.timer.unref();
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.held.length === 0) return;
    const text = `${this.held.join('\n')}\n`;
    this.held = [];
    this.heldChars = 0;
    process.stdout.write(text);
  }
}

/** Shared by every logger of the process, so their lines keep the order they were logged in. */
const stdoutLines = new StdoutLines(20);

/**
 * One JSON line per record on stdout, so any log shipper (or `jq`) can read it, and the same record
 * handed to each attached sink (`attachLogPublisher` adds the broker). Synchronous: logging never
 * waits; stdout lines are written a few milliseconds later, together (see StdoutLines); a `write`
 * option gets each line at once instead.
 */
export class JsonLogger implements LoggerService {
  private readonly minRank: number;
  private readonly sinks: LogSink[] = [];

  constructor(
    readonly service: string,
    options: { minLevel?: LogRecord['level']; write?: (line: string) => void } = {},
  ) {
    this.minRank = RANK[options.minLevel ?? 'info'];
    if (options.write) this.write = options.write;
  }

  /** Sends every record from now on to `sink` as well. */
  attach(sink: LogSink): void {
    this.sinks.push(sink);
  }

  /** Flushes and closes the attached sinks (createServiceApp calls it last on shutdown). */
  async close(): Promise<void> {
    stdoutLines.flush();
    const sinks = this.sinks.splice(0);
    await Promise.all(sinks.map((sink) => sink.close()));
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
    const entry = isLogEntry(message) ? message : undefined;
    const text =
      message instanceof Error
        ? message.message
        : typeof message === 'string'
          ? message
          : entry
            ? entry.message
            : JSON.stringify(message);
    const scope = correlationContext.getStore();
    const correlationId = scope?.correlationId;
    // The caller's fields win over the context's (an outbox row names its own order and exchange).
    const orderId = fieldOf(entry?.orderId ?? scope?.orderId, LOG_FIELD_LIMITS.orderId);
    const step = fieldOf(entry?.step, LOG_FIELD_LIMITS.step);
    const exchange = fieldOf(entry?.exchange ?? scope?.exchange, LOG_FIELD_LIMITS.name);
    const routingKey = fieldOf(entry?.routingKey ?? scope?.routingKey, LOG_FIELD_LIMITS.name);
    const queue = fieldOf(entry?.queue ?? scope?.queue, LOG_FIELD_LIMITS.name);
    // Masked once, here: stdout and the published record are the same JSON line.
    const record: LogRecord = {
      time: new Date().toISOString(),
      service: this.service,
      level,
      ...(context && { context: maskEmails(context) }),
      message: maskEmails(text),
      ...(correlationId && { correlationId: maskEmails(correlationId) }),
      ...(orderId && { orderId }),
      ...(step && { step }),
      ...(exchange !== undefined && { exchange }),
      ...(routingKey !== undefined && { routingKey }),
      ...(queue !== undefined && { queue }),
      ...(stack && { stack: maskEmails(stack) }),
    };
    const json = JSON.stringify(record);
    this.write(json);
    for (const sink of this.sinks) {
      try {
        sink.publish(record, json);
      } catch {
        // A sink's failure must never reach the code that logged; stdout has the record.
      }
    }
  }

  private write = (line: string): void => stdoutLines.add(line);
}
