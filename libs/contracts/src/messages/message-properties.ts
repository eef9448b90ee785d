/**
 * The AMQP properties every message here carries: persistent JSON with `messageId`, `correlationId`,
 * `type`, `timestamp` and `appId` (the README's "Broker topology"). One builder for every publisher and
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
  headers?: Record<string, unknown>;
}

export interface OutgoingMessageDescription {
  messageId: string;
  /** Left out when there is none (a log record outside any request). */
  correlationId?: string;
  type: string;
  /** When the event happened. */
  occurredAt: Date;
  /** The publishing service (`order-api`), or the tool or spec. */
  appId: string;
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
  headers?: Record<string, unknown>;
}

/**
 * The properties to publish a consumed message again elsewhere (a retry queue, a dead-letter queue, a
 * replay) unchanged: the same content type, ids, type, timestamp and appId, with `headers` instead of its own.
 */
export function copiedMessageProperties(
  original: ConsumedProperties,
  headers: Record<string, unknown>,
): Partial<MessageProperties> & { persistent: boolean; headers: Record<string, unknown> } {
  return {
    persistent: true,
    contentType: original.contentType,
    contentEncoding: original.contentEncoding,
    messageId: original.messageId,
    correlationId: original.correlationId,
    type: original.type,
    timestamp: original.timestamp,
    appId: original.appId,
    headers,
  };
}
