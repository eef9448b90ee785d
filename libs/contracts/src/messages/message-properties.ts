/**
 * The AMQP properties every message here carries: persistent JSON with `messageId`, `correlationId`,
 * `type`, `timestamp` and `appId` (docs/messaging.md, "Broker topology"). One builder for every publisher and
 * test fixture, so none can forget one. Plain data: amqplib's `Options.Publish` accepts it as it is.
 */
export interface MessageProperties {
  /** false only for RPC requests and replies, which die with their caller's deadline anyway. */
  persistent: boolean;
  contentType: string;
  contentEncoding?: string;
  messageId: string;
  correlationId?: string;
  type: string;
  /** Whole seconds since the epoch, as AMQP's timestamp property is. */
  timestamp: number;
  appId: string;
  /** The RabbitMQ user of the publishing connection; the broker refuses any other (see brokerUserOf). */
  userId?: string;
  headers?: Record<string, unknown>;
}

/**
 * The largest message body any publisher here sends, checked before publishing. The brokers refuse
 * bigger ones too (`max_message_size` in deploy/rabbitmq/*.conf), but a broker we cannot configure
 * (the machine's) only at 128 MiB, and then by closing the channel; this check fails the one publish
 * with a clear error instead. The largest real message is an RPC reply carrying a PDF.
 */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Throws a clear error (code MESSAGE_TOO_LARGE) for a body larger than MAX_MESSAGE_BYTES. */
export function assertMessageSize(body: Buffer, what: string): void {
  if (body.length <= MAX_MESSAGE_BYTES) return;
  throw Object.assign(
    new Error(
      `${what} is ${body.length} bytes, more than the ${MAX_MESSAGE_BYTES} bytes a message may have (MAX_MESSAGE_BYTES); not published`,
    ),
    { code: 'MESSAGE_TOO_LARGE' },
  );
}

/**
 * Headers that say who published a message that was forwarded since (a retry, a parking, a replay):
 * the forwarder's own user is then in `user_id`, as the broker requires.
 */
export const PublisherHeaders = {
  /** The user_id of the message's first publisher, set by whoever forwards it. */
  originalUserId: 'x-original-user-id',
} as const;

export interface OutgoingMessageDescription {
  messageId: string;
  /** Left out when there is none (a log record outside any request). */
  correlationId?: string;
  type: string;
  /** When the event happened. */
  occurredAt: Date;
  /** The publishing service (`order-api`), or the tool or spec. */
  appId: string;
  /** The publishing connection's RabbitMQ user (brokerUserOf its URL). */
  userId?: string;
  headers?: Record<string, unknown>;
  /** Default `application/json` (UTF-8); a report RPC reply is `application/pdf`. */
  contentType?: string;
  /** Default true: the message outlives a broker restart. */
  persistent?: boolean;
}

/** The properties of a new message: JSON and persistent unless said otherwise. */
export function jsonMessageProperties(message: OutgoingMessageDescription): MessageProperties {
  const contentType = message.contentType ?? 'application/json';
  return {
    persistent: message.persistent ?? true,
    contentType,
    ...(contentType === 'application/json' ? { contentEncoding: 'utf-8' } : {}),
    messageId: message.messageId,
    ...(message.correlationId ? { correlationId: message.correlationId } : {}),
    type: message.type,
    timestamp: Math.floor(message.occurredAt.getTime() / 1000),
    appId: message.appId,
    ...(message.userId !== undefined ? { userId: message.userId } : {}),
    ...(message.headers ? { headers: message.headers } : {}),
  };
}

/** What a consumed message says about itself (amqplib's `MessageProperties` has these fields). */
export interface ConsumedProperties {
  contentType?: string;
  contentEncoding?: string;
  messageId?: string;
  correlationId?: string;
  type?: string;
  timestamp?: number;
  appId?: string;
  userId?: string;
  headers?: Record<string, unknown>;
}

/**
 * Who published a consumed message: its `user_id`, which the broker checked, unless `forwarder` (the
 * consumer's own user) forwarded it (its retry path, its parking), when the original publisher is in the
 * `x-original-user-id` header that only the forwarder's own connection can have put there.
 */
export function publisherOf(
  properties: ConsumedProperties,
  forwarder: string | undefined,
): string | undefined {
  const header = properties.headers?.[PublisherHeaders.originalUserId];
  const userId = properties.userId === undefined ? undefined : String(properties.userId);
  if (forwarder !== undefined && userId === forwarder && header !== undefined) return String(header);
  return userId;
}

/**
 * The properties to publish a consumed message again elsewhere (a retry queue, a dead-letter queue, a
 * replay) unchanged: the same content type, ids, type, timestamp and appId, with `headers` instead of its own.
 * `user_id` becomes the forwarder's (the broker takes no other); the first publisher is kept in
 * `x-original-user-id`.
 */
export function copiedMessageProperties(
  original: ConsumedProperties,
  headers: Record<string, unknown>,
  forwarder: string | undefined,
): Partial<MessageProperties> & { persistent: boolean; headers: Record<string, unknown> } {
  const publisher = publisherOf(original, forwarder);
  // Whatever the original claimed in this header is replaced: only a checked user_id is kept.
  const copiedHeaders = { ...headers };
  delete copiedHeaders[PublisherHeaders.originalUserId];
  if (publisher !== undefined) copiedHeaders[PublisherHeaders.originalUserId] = publisher;
  return {
    persistent: true,
    contentType: original.contentType,
    contentEncoding: original.contentEncoding,
    messageId: original.messageId,
    correlationId: original.correlationId,
    type: original.type,
    timestamp: original.timestamp,
    appId: original.appId,
    ...(forwarder !== undefined ? { userId: forwarder } : {}),
    headers: copiedHeaders,
  };
}
