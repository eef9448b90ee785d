import { z } from 'zod';

/** Levels of a log record, lowest first; the `<level>` word of its routing key. */
export const LogLevels = ['debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LogLevels)[number];

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
  message: z.string(),
  /** The Nest logger context, usually a class name (`OrdersService`). */
  context: z.string().max(200).optional(),
  /** The HTTP request's correlation id, then its order's messages': follows one order everywhere. */
  correlationId: z.string().min(1).max(200).optional(),
  stack: z.string().optional(),
});

export type LogRecordV1 = z.infer<typeof LogRecordV1>;
