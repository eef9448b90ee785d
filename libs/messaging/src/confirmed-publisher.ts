import { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import { Inject, Injectable, Logger, OnModuleInit, Optional } from '@nestjs/common';
import { brokerUserOf, RenewingConfirmChannel } from '@shop/broker';
import {
  assertMessageSize,
  copiedMessageProperties,
  type Envelope,
  envelopeOf,
  jsonMessageProperties,
} from '@shop/contracts';
import { ServiceMetrics } from '@shop/service-kit';
import type { ConfirmChannel, ConsumeMessage, Message, Options } from 'amqplib';
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
  /** AMQP per-message TTL in milliseconds: the broker drops (or dead-letters) the message once it passes. */
  expirationMs?: number;
}

/** An event to publish: its body is the envelope (envelopeOf) of `data`, with the same id, type and times. */
export interface OutgoingEvent<Message extends Envelope = Envelope> extends Omit<OutgoingMessage, 'body'> {
  type: Message['type'];
  data: Message['data'];
  /** The message's contract: when given, the envelope is checked against it before it leaves. */
  schema?: { parse(envelope: unknown): unknown };
}

/**
 * Publishes persistent JSON messages on golevelup's confirm channel. The promise resolves only when
 * the broker has confirmed the message, and rejects after `publishTimeoutMs` (the message is then
 * dropped from the client's buffer, so a caller such as the outbox relay can retry it safely later).
 *
 * Every message carries this connection's user as `user_id` (the broker refuses any other, and consumers
 * check it against EVENT_PUBLISHERS) and at most MAX_MESSAGE_BYTES: a bigger one rejects before it is sent.
 * A publish the broker refuses (a queue at its length limit: `reject-publish`) rejects too.
 *
 * Every message is `mandatory`: the broker confirms a message that no queue is bound for and then
 * drops it, so without it a missing binding (a definitions file without it, a deleted queue) would lose
 * every order event while the outbox marked them published. A returned message rejects instead.
 *
 * It publishes on a confirm channel of its own on golevelup's connection, which it replaces when the
 * broker has nacked everything on it for a while (RenewingConfirmChannel: after a quorum queue's leader
 * is lost, RabbitMQ 3.10 can leave a channel nacking that queue for good).
 */
@Injectable()
export class ConfirmedPublisher implements OnModuleInit {
  private readonly logger = new Logger(ConfirmedPublisher.name);
  /** Messages the broker returned as unroutable (see returnKey), until their publish reads them. */
  private readonly returned = new Set<string>();
  /** Opened at start-up (onModuleInit), so the first message does not wait for a channel to open. */
  private publishChannel: RenewingConfirmChannel | undefined;

  private readonly published;
  private readonly renewals;
  /** This connection's RabbitMQ user: the `user_id` of everything published here. */
  readonly userId: string;

  constructor(
    private readonly amqp: AmqpConnection,
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
    // Absent in an app without MetricsModule (some specs): then nothing is counted.
    @Optional() metrics?: ServiceMetrics,
  ) {
    this.userId = brokerUserOf(options.url);
    this.published = metrics?.counter(
      'messages_published_total',
      'Messages published with a confirm, by exchange, routing key and outcome (confirmed, returned, failed)',
      ['exchange', 'routing_key', 'outcome'],
    );
    this.renewals = metrics?.counter(
      'publish_channel_renewals_total',
      'Times the publishing channel was replaced after the broker nacked everything on it for a while',
    );
  }

  onModuleInit(): void {
    this.publishChannel ??= this.openPublishChannel();
  }

  /** The channel publishes go on; a publish before onModuleInit (a spec without Nest) opens it. */
  private get channel(): RenewingConfirmChannel {
    return (this.publishChannel ??= this.openPublishChannel());
  }

  private openPublishChannel(): RenewingConfirmChannel {
    return new RenewingConfirmChannel(this.amqp.managedConnection, {
      name: `${this.options.appId} publisher`,
      publishTimeoutMs: this.options.publishTimeoutMs ?? 5_000,
      setup: (channel) => this.watchReturns(channel),
      onRenew: (reason) => {
        this.renewals?.inc();
        this.logger.warn(reason);
      },
      onError: (error) =>
        this.logger.warn(`publishing channel not opened (${error.message}); again on the next connection`),
    });
  }

  /** Times the publishing channel was replaced (also the metric publish_channel_renewals_total). */
  get channelRenewals(): number {
    return this.publishChannel?.renewals ?? 0;
  }

  /**
   * Runs on every new amqplib channel (after a reconnect, after a renewal). The broker sends basic.return
   * before the confirm, so the mark is here by the time the publish's promise resolves.
   */
  private watchReturns(channel: ConfirmChannel): void {
    channel.on('return', ({ fields, properties }: Message) =>
      this.returned.add(returnKey(fields.exchange, fields.routingKey, properties.messageId)),
    );
  }

  /** Publishes an event as its envelope: the one place a body is built from an event's data. */
  async publishEvent<Message extends Envelope = Envelope>(event: OutgoingEvent<Message>): Promise<void> {
    const { data, schema, ...message } = event;
    const envelope = envelopeOf<Envelope>({ ...message, data });
    const body = JSON.stringify(schema ? schema.parse(envelope) : envelope);
    await this.publish({ ...message, body: Buffer.from(body) });
  }

  /** Publishes a body serialised already; an event's data goes through publishEvent instead. */
  async publish(message: OutgoingMessage): Promise<void> {
    await this.send(message.exchange, message.routingKey, message.body, {
      ...jsonMessageProperties({ ...message, appId: this.options.appId, userId: this.userId }),
      ...(message.expirationMs === undefined
        ? {}
        : { expiration: String(Math.max(0, Math.round(message.expirationMs))) }),
    });
  }

  /**
   * Publishes a consumed message elsewhere (a retry queue, a dead-letter queue) unchanged: same body,
   * same messageId, correlationId, type, timestamp and appId, with `headers` added to its own. Its
   * `user_id` becomes this connection's; the first publisher stays in `x-original-user-id`.
   */
  async forward(
    exchange: string,
    routingKey: string,
    original: ConsumeMessage,
    headers: Record<string, string | number>,
  ): Promise<void> {
    const { properties } = original;
    await this.send(
      exchange,
      routingKey,
      original.content,
      copiedMessageProperties(properties, { ...(properties.headers ?? {}), ...headers }, this.userId),
    );
  }

  private async send(exchange: string, routingKey: string, body: Buffer, properties: Options.Publish) {
    const key = returnKey(exchange, routingKey, properties.messageId);
    let outcome: 'confirmed' | 'returned' | 'failed' = 'failed';
    try {
      assertMessageSize(body, `message ${String(properties.messageId)} to "${exchange}" "${routingKey}"`);
      await this.channel.publish(exchange, routingKey, body, { ...properties, mandatory: true });
      if (this.returned.has(key)) {
        outcome = 'returned';
        throw new Error(
          `unroutable: no queue is bound to exchange "${exchange}" for routing key "${routingKey}" (message ${properties.messageId} returned)`,
        );
      }
      outcome = 'confirmed';
    } finally {
      this.returned.delete(key);
      // The default exchange ('') is labelled by its AMQP name, so the series reads as a place.
      this.published?.inc({ exchange: exchange || 'amq.default', routing_key: routingKey, outcome });
    }
  }
}

/** A returned message is told apart by where it went and its id (some poison messages have none). */
const returnKey = (exchange: string, routingKey: string, messageId: unknown) =>
  `${exchange}\u0000${routingKey}\u0000${String(messageId)}`;
