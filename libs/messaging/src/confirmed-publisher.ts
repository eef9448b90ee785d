import { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import { Inject, Injectable } from '@nestjs/common';
import type { ConsumeMessage } from 'amqplib';
import { MESSAGING_OPTIONS, type MessagingOptions } from './messaging.options';

export interface OutgoingMessage {
  exchange: string;
  routingKey: string;
  /** The JSON body, already serialised. */
  body: Buffer;
  messageId: string;
  correlationId: string;
  type: string;
  /** When the event happened; published as the AMQP timestamp (whole seconds). */
  occurredAt: Date;
  headers?: Record<string, string>;
}

/**
 * Publishes persistent JSON messages on golevelup's confirm channel. The promise resolves only when
 * the broker has confirmed the message, and rejects after `publishTimeoutMs` (the message is then
 * dropped from the client's buffer, so a caller such as the outbox relay can retry it safely later).
 */
@Injectable()
export class ConfirmedPublisher {
  constructor(
    private readonly amqp: AmqpConnection,
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
  ) {}

  async publish(message: OutgoingMessage): Promise<void> {
    const confirmed = await this.amqp.publish(message.exchange, message.routingKey, message.body, {
      persistent: true,
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      messageId: message.messageId,
      correlationId: message.correlationId,
      type: message.type,
      timestamp: Math.floor(message.occurredAt.getTime() / 1000),
      appId: this.options.appId,
      headers: message.headers,
      // amqp-connection-manager's per-message deadline (not part of AMQP).
      timeout: this.options.publishTimeoutMs ?? 5_000,
    } as Parameters<AmqpConnection['publish']>[3]);
    if (confirmed === false) throw new Error(`publish of ${message.messageId} was not confirmed`);
  }

  /**
   * Publishes a consumed message elsewhere (a retry queue, a dead-letter queue) unchanged: same body,
   * same messageId, correlationId, type, timestamp and appId, with `headers` added to its own.
   */
  async forward(
    exchange: string,
    routingKey: string,
    original: ConsumeMessage,
    headers: Record<string, string | number>,
  ): Promise<void> {
    const { properties } = original;
    const confirmed = await this.amqp.publish(exchange, routingKey, original.content, {
      persistent: true,
      contentType: properties.contentType,
      contentEncoding: properties.contentEncoding,
      messageId: properties.messageId,
      correlationId: properties.correlationId,
      type: properties.type,
      timestamp: properties.timestamp,
      appId: properties.appId,
      headers: { ...(properties.headers ?? {}), ...headers },
      timeout: this.options.publishTimeoutMs ?? 5_000,
    } as Parameters<AmqpConnection['publish']>[3]);
    if (confirmed === false) throw new Error(`forward of ${properties.messageId} was not confirmed`);
  }
}
