import { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { brokerUserOf } from '@shop/broker';
import { assertMessageSize, jsonMessageProperties } from '@shop/contracts';
import { runWithLogContext } from '@shop/logging';
import { ServiceMetrics } from '@shop/service-kit';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { MESSAGING_OPTIONS, type MessagingOptions } from '../messaging.options';
import { ConsumerRuntime } from './consumer-runtime';

/** What a request is answered with: its body and the message type and content type that say what it is. */
export interface RpcReply {
  contentType: string;
  type: string;
  body: Buffer;
}

export interface RpcServeOptions {
  /** Requests this process works on at once. */
  prefetch: number;
  /** A request header holding the caller's deadline (epoch ms); without it, timestamp + expiration. */
  deadlineHeader?: string;
}

/** answered; dropped (deadline passed, nowhere to reply); refused (reply_to is not the caller's own). */
export type RpcOutcome = 'answered' | 'dropped' | 'refused';

/** RabbitMQ's direct reply-to: a reply to `amq.rabbitmq.reply-to.<token>` reaches the asking channel only. */
const DIRECT_REPLY_TO_PREFIX = 'amq.rabbitmq.reply-to.';
/** The broker's answer to a passive declare of an exclusive queue another connection owns. */
const RESOURCE_LOCKED = 405;

/**
 * The server side of the RPC pattern: a request names its `reply_to` queue and `correlation_id`; the
 * reply goes to that queue through the default exchange with the correlation id copied, so any AMQP
 * client (its own exclusive reply queue, or direct reply-to) can call it. It runs on the ConsumerRuntime
 * (a channel of its own with its own prefetch, so requests from people are not queued behind a work
 * queue's backlog; reconnection; drain at shutdown); several processes share a queue.
 *
 * - It replies only to direct reply-to or to an exclusive queue (its caller's own). The default
 *   exchange reaches any queue, so a `reply_to` naming a work queue would otherwise make this process
 *   post replies into it; such a request is dropped, logged and counted (`refused`).
 * - A request whose deadline passed is dropped unanswered, and no reply is sent after the deadline:
 *   the caller has given up. Every request is acked once answered or dropped, never requeued (a
 *   handler turns its own failures into an error reply), so none can loop.
 * - `<queue>_requests_total{outcome}` counts the requests settled.
 */
@Injectable()
export class RpcServer {
  private readonly logger = new Logger(RpcServer.name);
  /** The connection's RabbitMQ user: the `user_id` of every reply. */
  private readonly userId: string;
  private readonly countsByQueue = new Map<string, Record<RpcOutcome, number>>();

  constructor(
    private readonly amqp: AmqpConnection,
    private readonly runtime: ConsumerRuntime,
    @Inject(MESSAGING_OPTIONS) private readonly options: MessagingOptions,
    // Absent in an app without MetricsModule (some specs): then nothing is counted.
    @Optional() private readonly metrics?: ServiceMetrics,
  ) {
    this.userId = brokerUserOf(options.url);
  }

  /** Answers the requests of `queue` with `answer`, from now on and after every reconnect. */
  serve(
    queue: string,
    answer: (request: ConsumeMessage) => Promise<RpcReply>,
    { prefetch, deadlineHeader }: RpcServeOptions,
  ): void {
    const counts: Record<RpcOutcome, number> = { answered: 0, dropped: 0, refused: 0 };
    this.countsByQueue.set(queue, counts);
    const requests = this.metrics?.counter(
      `${queue.replace(/[^a-zA-Z0-9_]/g, '_')}_requests_total`,
      `${queue} requests settled: answered, dropped (deadline passed, nowhere to reply) or refused (reply_to is not direct reply-to nor an exclusive queue)`,
      ['outcome'],
    );
    const count = (outcome: RpcOutcome) => {
      counts[outcome]++;
      requests?.inc({ outcome });
    };
    this.runtime.consume(
      queue,
      (message, channel, settled) => {
        void this.handle(queue, channel, message, answer, deadlineHeader, count).finally(settled);
      },
      { prefetch },
    );
  }

  /** Requests of `queue` answered, dropped and refused since start. */
  counts(queue: string): Readonly<Record<RpcOutcome, number>> {
    return { ...(this.countsByQueue.get(queue) ?? { answered: 0, dropped: 0, refused: 0 }) };
  }

  private async handle(
    queue: string,
    channel: ConfirmChannel,
    message: ConsumeMessage,
    answer: (request: ConsumeMessage) => Promise<RpcReply>,
    deadlineHeader: string | undefined,
    count: (outcome: RpcOutcome) => void,
  ): Promise<void> {
    const { replyTo, correlationId } = message.properties;
    const deadline = deadlineOf(message, deadlineHeader);
    try {
      if (!replyTo || !correlationId) {
        this.logger.warn(`${queue}: a request without reply_to or correlation_id dropped`);
        count('dropped');
        return;
      }
      if (deadline !== undefined && Date.now() >= deadline) {
        this.logger.warn(`${queue}: request ${correlationId} dropped unanswered: its deadline had passed`);
        count('dropped');
        return;
      }
      if (!(await this.isCallersOwn(String(replyTo)))) {
        this.logger.warn(
          `${queue}: request ${correlationId} dropped unanswered: reply_to ${String(replyTo).slice(0, 200)} is neither direct reply-to nor an exclusive queue`,
        );
        count('refused');
        return;
      }
      // Logged like a work-queue message: with where it came through (and its order, once the answer reads it).
      const context = {
        correlationId: String(correlationId),
        exchange: message.fields.exchange,
        routingKey: message.fields.routingKey,
        queue,
      };
      const reply = await runWithLogContext(context, () => answer(message));
      if (deadline !== undefined && Date.now() >= deadline) {
        this.logger.warn(`${queue}: request ${correlationId} answered after its deadline; reply not sent`);
        count('dropped');
        return;
      }
      assertMessageSize(reply.body, `the reply to ${correlationId}`);
      await new Promise<void>((resolve, reject) =>
        channel.publish(
          '',
          String(replyTo),
          reply.body,
          jsonMessageProperties({
            messageId: randomUUID(),
            correlationId: String(correlationId),
            type: reply.type,
            contentType: reply.contentType,
            occurredAt: new Date(),
            appId: this.options.appId,
            userId: this.userId,
            // A reply lives as long as its caller waits: no disk write for it.
            persistent: false,
          }),
          (error) => (error ? reject(error) : resolve()),
        ),
      );
      count('answered');
    } catch (error) {
      this.logger.warn(`${queue}: request ${correlationId ?? '?'} failed: ${(error as Error).message}`);
    } finally {
      // Answered, dropped or failed to reply: never back to the queue (the caller gives up at its deadline).
      try {
        channel.ack(message);
      } catch {
        // The channel closed meanwhile: the broker hands the request out again, and its caller discards a
        // second reply.
      }
    }
  }

  /**
   * Direct reply-to, or an exclusive queue of another connection: a passive declare of one fails with
   * 405 RESOURCE_LOCKED, while a shared queue passes and a missing one fails with 404. On a channel of
   * its own, since a failed declare closes the channel.
   */
  private async isCallersOwn(replyTo: string): Promise<boolean> {
    if (replyTo.startsWith(DIRECT_REPLY_TO_PREFIX)) return true;
    const connection = this.amqp.managedConnection.connection;
    if (!connection) return false;
    const probe = await connection.createChannel();
    probe.on('error', () => undefined);
    try {
      await probe.checkQueue(replyTo);
      await probe.close().catch(() => undefined);
      return false;
    } catch (error) {
      return (error as { code?: number }).code === RESOURCE_LOCKED;
    }
  }
}

/** The caller's deadline (epoch ms): the deadline header, else timestamp + expiration when both came. */
function deadlineOf(message: ConsumeMessage, deadlineHeader: string | undefined): number | undefined {
  const header = deadlineHeader ? Number(message.properties.headers?.[deadlineHeader]) : NaN;
  if (Number.isFinite(header) && header > 0) return header;
  const expiration = Number(message.properties.expiration);
  const timestamp = Number(message.properties.timestamp);
  if (Number.isFinite(expiration) && Number.isFinite(timestamp) && timestamp > 0) {
    return timestamp * 1000 + expiration;
  }
  return undefined;
}
