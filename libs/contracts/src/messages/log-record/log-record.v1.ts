import { z } from 'zod';

/** Levels of a log record, lowest first; the `<level>` word of its routing key. */
export const LogLevels = ['debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LogLevels)[number];

/** The most characters of a record's free text; a publisher truncates longer ones (boundedLogRecord). */
export const LOG_RECORD_LIMITS = {
  message: 8 * 1024,
  stack: 16 * 1024,
  context: 200,
  correlationId: 200,
} as const;

/**
 * The named steps of an order's journey a record may mark (`step`): what the dashboard's "follow an
 * order" view draws as its timeline. Other records about the order show between them, unnamed.
 */
export const OrderSteps = {
  placed: 'placed',
  outboxPublished: 'outbox-published',
  emailSent: 'email-sent',
  pdfWritten: 'pdf-written',
  statusApplied: 'status-applied',
  paymentCharged: 'payment-charged',
  paymentRefunded: 'payment-refunded',
  paymentApplied: 'payment-applied',
  deadline: 'deadline',
} as const;
export type OrderStep = (typeof OrderSteps)[keyof typeof OrderSteps];

/** Longest order id and AMQP name (exchange, routing key, queue) a record carries; longer ones are left out. */
export const LOG_FIELD_LIMITS = { orderId: 100, step: 40, name: 255 } as const;

/**
 * One log record, published by every service to the topic exchange `logs` with routing key
 * `<service>.<level>` (see `logRoutingKeyOf`), AMQP type `log.record.v1`. The body is the same JSON line
 * the service writes to stdout, and email addresses in it are already masked. Not an envelope: a log
 * record is its own metadata, and the AMQP properties carry messageId, correlationId, appId, timestamp.
 */
export const LogRecordV1 = z.object({
  time: z.iso.datetime({ offset: true }),
  /** One routing-key word: no dots, so `*.error` and `order-api.*` bind as expected. */
  service: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be a lower-case word (letters, digits, -)'),
  level: z.enum(LogLevels),
  message: z.string().max(LOG_RECORD_LIMITS.message),
  /** The Nest logger context, usually a class name (`OrdersService`). */
  context: z.string().max(LOG_RECORD_LIMITS.context).optional(),
  /** The HTTP request's correlation id, then its order's messages': follows one order everywhere. */
  correlationId: z.string().min(1).max(LOG_RECORD_LIMITS.correlationId).optional(),
  stack: z.string().max(LOG_RECORD_LIMITS.stack).optional(),
  /** The order the record concerns: published as header `order-id`, which `logs.follow` routes on. */
  orderId: z.string().min(1).max(LOG_FIELD_LIMITS.orderId).optional(),
  /** Which step of the order's journey it records (OrderSteps), when it records one. */
  step: z.string().min(1).max(LOG_FIELD_LIMITS.step).optional(),
  /** The exchange, routing key and queue the message being handled crossed ('' is the default exchange). */
  exchange: z.string().max(LOG_FIELD_LIMITS.name).optional(),
  routingKey: z.string().max(LOG_FIELD_LIMITS.name).optional(),
  queue: z.string().max(LOG_FIELD_LIMITS.name).optional(),
});

export type LogRecordV1 = z.infer<typeof LogRecordV1>;

/** Marks where a field was cut; counted in the limit, so a bounded field is always valid. */
const cut = (text: string, most: number): string => {
  if (text.length <= most) return text;
  const marker = `… [${text.length - most} more characters cut]`;
  return `${text.slice(0, Math.max(0, most - marker.length))}${marker}`;
};

/**
 * The record with its free-text fields cut to LOG_RECORD_LIMITS, so a publisher never sends one the
 * schema refuses; the same object when nothing was too long.
 */
export function boundedLogRecord<
  T extends {
    message: string;
    stack?: string;
    context?: string;
    correlationId?: string;
  },
>(record: T): T {
  const tooLong = (Object.keys(LOG_RECORD_LIMITS) as (keyof typeof LOG_RECORD_LIMITS)[]).some(
    (field) => (record[field]?.length ?? 0) > LOG_RECORD_LIMITS[field],
  );
  if (!tooLong) return record;
  return {
    ...record,
    message: cut(record.message, LOG_RECORD_LIMITS.message),
    ...(record.stack !== undefined ? { stack: cut(record.stack, LOG_RECORD_LIMITS.stack) } : {}),
    ...(record.context !== undefined ? { context: cut(record.context, LOG_RECORD_LIMITS.context) } : {}),
    ...(record.correlationId !== undefined
      ? { correlationId: record.correlationId.slice(0, LOG_RECORD_LIMITS.correlationId) }
      : {}),
  };
}
