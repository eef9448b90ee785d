import { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import {
  assertMessageSize,
  jsonMessageProperties,
  MessageTypes,
  Queues,
  REPORT_DEADLINE_HEADER,
  REPORT_ERROR_MESSAGE_MAX,
  ReportErrorCodes,
  ReportRequestV1,
  TOPOLOGY,
  validateMessage,
  type ReportErrorCode,
} from '@shop/contracts';
import { runWithCorrelationId } from '@shop/logging';
import type { ServiceMetrics } from '@shop/service-kit';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { ReportWriter } from './report-writer';

export interface ReportRpcOptions {
  /** Requests this worker works on at once (REPORT_RPC_PREFETCH). */
  prefetch: number;
  /** Declare report_rpc before consuming (a service that declares the topology does). */
  declareQueue: boolean;
  appId: string;
  /** The connection's RabbitMQ user: the `user_id` of every reply. */
  userId: string;
}

/** RabbitMQ's direct reply-to: a reply to `amq.rabbitmq.reply-to.<token>` reaches the asking channel only. */
const DIRECT_REPLY_TO_PREFIX = 'amq.rabbitmq.reply-to.';
/** The broker's answer to a passive declare of an exclusive queue another connection owns. */
const RESOURCE_LOCKED = 405;

type ChannelWrapper = ReturnType<AmqpConnection['managedConnection']['createChannel']>;

interface Reply {
  contentType: string;
  type: string;
  body: Buffer;
}

/** The wait before consuming report_rpc again after its consumer was cancelled or refused. */
const RESUBSCRIBE_DELAY_MS = 1_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The RPC server of `report_rpc`, the seeds' RPC pattern: a request names its `reply_to` queue and
 * `correlation_id`; the reply goes to that queue through the default exchange with the correlation id
 * copied, so any AMQP client (its own exclusive reply queue, or direct reply-to) can call it.
 *
 * - It replies only to direct reply-to or to an exclusive queue (its caller's own). The default
 *   exchange reaches any queue, so a `reply_to` naming a work queue would otherwise make this worker
 *   post PDFs into it; such a request is dropped, logged and counted (`refused`).
 *
 * - The stored PDF is returned as it is on disk; an order without one is rendered on demand from the
 *   request's `order` data and recorded exactly like the work queue does (ReportWriter), so a later
 *   `order_report` message for it writes nothing. Without `order` data: ORDER_NOT_FOUND.
 * - A request whose deadline passed is dropped unanswered, and no reply is sent after the deadline:
 *   the caller has given up. Every request is acked once answered or dropped, never requeued (a
 *   request that fails gets a RENDER_FAILED reply instead), so none can loop.
 * - It runs on a channel of its own, with its own prefetch, so PDFs asked for by people are not
 *   queued behind the work queue's backlog; several report-workers share the queue.
 */
@Injectable()
export class ReportRpcServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ReportRpcServer.name);
  private channel: ChannelWrapper | undefined;
  /**
   * The channel the consumer runs on now. The consumer is set up on the raw channel (not the wrapper's
   * consume()) so each request is acked on the channel it came from: after a reconnect the wrapper's
   * new channel would refuse a delivery tag of the old one. Shutdown cancels the consumer here.
   */
  private consuming: ConfirmChannel | undefined;
  private readonly consumerTag = `report-rpc.${randomUUID().slice(0, 8)}`;
  private stopping = false;
  private resubscribing: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  /** Requests answered / dropped (deadline passed, nowhere to reply) / refused (reply_to not the caller's own) since start. */
  readonly counts = { answered: 0, dropped: 0, refused: 0 };

  private readonly requests;

  constructor(
    private readonly amqp: AmqpConnection,
    private readonly writer: ReportWriter,
    private readonly options: ReportRpcOptions,
    metrics?: ServiceMetrics,
  ) {
    this.requests = metrics?.counter(
      'report_rpc_requests_total',
      'report_rpc requests settled: answered, dropped (deadline passed, nowhere to reply) or refused (reply_to is not direct reply-to nor an exclusive queue)',
      ['outcome'],
    );
  }

  onApplicationBootstrap(): void {
    this.subscribe();
  }

  /**
   * A channel of its own consuming report_rpc, set up again by the wrapper after every reconnect. When
   * the queue goes away (deleted, or a classic queue whose node went down) the broker cancels the
   * consumer (a null delivery) or refuses the consume (404, which closes the channel; the wrapper would
   * only make a new one after a reconnect, which never comes while the connection itself is fine).
   * Either way this channel is dropped and a new one tries again a second later.
   */
  private subscribe(): void {
    if (this.stopping) return;
    const queue = TOPOLOGY.queues.find((candidate) => candidate.name === Queues.reportRpc)!;
    const wrapper: ChannelWrapper = this.amqp.managedConnection.createChannel({
      name: 'report-rpc',
      setup: async (channel: ConfirmChannel) => {
        if (this.options.declareQueue) {
          await channel.assertQueue(queue.name, { durable: queue.durable, arguments: queue.arguments });
        }
        await channel.prefetch(this.options.prefetch);
        this.consuming = channel;
        await channel.consume(
          queue.name,
          (message) => {
            if (message) this.track(this.serve(channel, message));
            else this.resubscribe(wrapper, 'the broker cancelled the consumer (its queue went away)');
          },
          { consumerTag: this.consumerTag },
        );
        this.logger.log(`serving ${queue.name} (prefetch ${this.options.prefetch})`);
      },
    });
    wrapper.on('error', (error: Error) => this.resubscribe(wrapper, error.message));
    this.channel = wrapper;
  }

  private resubscribe(wrapper: ChannelWrapper, why: string): void {
    if (this.stopping || this.channel !== wrapper) return; // once per channel
    this.logger.warn(`report_rpc: ${why}; consuming again in ${RESUBSCRIBE_DELAY_MS} ms`);
    this.channel = undefined;
    this.consuming = undefined;
    void wrapper.close().catch(() => undefined);
    this.resubscribing = setTimeout(() => this.subscribe(), RESUBSCRIBE_DELAY_MS);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.resubscribing);
    // Stop new requests first (they stay queued for another worker), then finish those in hand.
    await this.consuming?.cancel(this.consumerTag).catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
    await this.channel?.close().catch(() => undefined);
  }

  private countDropped(): void {
    this.counts.dropped++;
    this.requests?.inc({ outcome: 'dropped' });
  }

  private track(serving: Promise<void>): void {
    this.inFlight.add(serving);
    void serving.finally(() => this.inFlight.delete(serving));
  }

  private async serve(channel: ConfirmChannel, message: ConsumeMessage): Promise<void> {
    const { replyTo, correlationId } = message.properties;
    const deadline = deadlineOf(message);
    try {
      if (!replyTo || !correlationId) {
        this.logger.warn(`report_rpc: a request without reply_to or correlation_id dropped`);
        this.countDropped();
        return;
      }
      if (deadline !== undefined && Date.now() >= deadline) {
        this.logger.warn(`report_rpc: request ${correlationId} dropped unanswered: its deadline had passed`);
        this.countDropped();
        return;
      }
      if (!(await this.isCallersOwn(String(replyTo)))) {
        this.logger.warn(
          `report_rpc: request ${correlationId} dropped unanswered: reply_to ${String(replyTo).slice(0, 200)} is neither direct reply-to nor an exclusive queue`,
        );
        this.counts.refused++;
        this.requests?.inc({ outcome: 'refused' });
        return;
      }
      const reply = await runWithCorrelationId(String(correlationId), () => this.answer(message));
      if (deadline !== undefined && Date.now() >= deadline) {
        this.logger.warn(`report_rpc: request ${correlationId} answered after its deadline; reply not sent`);
        this.countDropped();
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
            userId: this.options.userId,
            // A reply lives as long as its caller waits: no disk write for it.
            persistent: false,
          }),
          (error) => (error ? reject(error) : resolve()),
        ),
      );
      this.counts.answered++;
      this.requests?.inc({ outcome: 'answered' });
    } catch (error) {
      this.logger.warn(`report_rpc: request ${correlationId ?? '?'} failed: ${(error as Error).message}`);
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

  private async answer(message: ConsumeMessage): Promise<Reply> {
    const validation = validateMessage(ReportRequestV1, message.content);
    if (!validation.ok) return errorReply(ReportErrorCodes.invalidRequest, validation.reason);
    const request = validation.message;
    if (request.order && request.order.orderId.toLowerCase() !== request.orderId.toLowerCase()) {
      return errorReply(ReportErrorCodes.invalidRequest, 'order.orderId differs from orderId');
    }
    try {
      const stored = await this.writer.storedReport(request.orderId);
      if (stored) return pdfReply(stored);
      if (!request.order) {
        return errorReply(
          ReportErrorCodes.orderNotFound,
          `no report for order ${request.orderId}, and no order data to render one`,
        );
      }
      const messageId = String(message.properties.messageId ?? '');
      const correlationId = String(message.properties.correlationId);
      const written = await this.writer.write(
        request.order,
        UUID.test(messageId) ? messageId : randomUUID(),
        correlationId,
      );
      if (written.outcome === 'written') return pdfReply(written.pdf);
      // Written by a work-queue delivery while this rendered: the same bytes, from disk.
      const raced = await this.writer.storedReport(request.orderId);
      return raced ? pdfReply(raced) : errorReply(ReportErrorCodes.renderFailed, 'the report vanished');
    } catch (error) {
      return errorReply(ReportErrorCodes.renderFailed, (error as Error).message);
    }
  }
}

function pdfReply(pdf: Buffer): Reply {
  return { contentType: 'application/pdf', type: MessageTypes.reportPdfV1, body: pdf };
}

function errorReply(code: ReportErrorCode, message: string): Reply {
  return {
    contentType: 'application/json',
    type: MessageTypes.reportErrorV1,
    // Cut to the contract's bound: a render error can quote a whole stack.
    body: Buffer.from(JSON.stringify({ code, message: message.slice(0, REPORT_ERROR_MESSAGE_MAX) })),
  };
}

/** The caller's deadline (epoch ms): the x-deadline-at header, else timestamp + expiration when both came. */
function deadlineOf(message: ConsumeMessage): number | undefined {
  const header = Number(message.properties.headers?.[REPORT_DEADLINE_HEADER]);
  if (Number.isFinite(header) && header > 0) return header;
  const expiration = Number(message.properties.expiration);
  const timestamp = Number(message.properties.timestamp);
  if (Number.isFinite(expiration) && Number.isFinite(timestamp) && timestamp > 0) {
    return timestamp * 1000 + expiration;
  }
  return undefined;
}
