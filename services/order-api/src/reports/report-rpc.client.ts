import { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import {
  assertMessageSize,
  jsonMessageProperties,
  MessageTypes,
  Queues,
  REPORT_DEADLINE_HEADER,
  ReportErrorV1,
  type OrderPlacedV1Data,
  type ReportErrorCode,
} from '@shop/contracts';
import { type HealthCheck, ServiceMetrics } from '@shop/service-kit';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';

/** RabbitMQ's direct reply-to pseudo-queue: replies come straight to the channel that asked. */
const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';
/** How many timed-out correlation ids are remembered, to tell a late reply from an unknown one. */
const REMEMBERED_TIMEOUTS = 1_000;

export type ReportRpcResult =
  | { kind: 'pdf'; pdf: Buffer }
  | { kind: 'error'; code: ReportErrorCode; message: string }
  /** No reply within the deadline (report-worker stopped, hung or overloaded). */
  | { kind: 'timeout' }
  /** The call could not be made or its channel went away mid-call; the next call may work. */
  | { kind: 'failed'; message: string };

interface PendingCall {
  settle: (result: ReportRpcResult) => void;
}

type ChannelWrapper = ReturnType<AmqpConnection['managedConnection']['createChannel']>;

/**
 * The RPC client for report-worker's `report_rpc`: each call publishes a report.request.v1 through the
 * default exchange with `reply_to` = direct reply-to, a fresh `correlation_id` and `expiration` = the
 * deadline, then waits for the reply with that correlation id, or gives up at the deadline.
 *
 * Replies whose correlation id is not waited for (late: the call had timed out; unknown: never asked,
 * or a duplicate) are discarded, logged at warn and counted; the counts show in GET /health. If the
 * channel closes mid-call, every call in flight fails at once (its reply would go to a channel that
 * no longer exists); amqp-connection-manager opens a new one for the next call.
 */
@Injectable()
export class ReportRpcClient implements OnModuleInit, OnApplicationShutdown, HealthCheck {
  readonly name = 'reportRpc';
  private readonly logger = new Logger(ReportRpcClient.name);
  private channel: ChannelWrapper | undefined;
  private readonly pending = new Map<string, PendingCall>();
  private readonly timedOut = new Set<string>();
  readonly counts = { calls: 0, timeouts: 0, failed: 0, lateReplies: 0, unknownReplies: 0 };

  private readonly metrics;

  constructor(
    private readonly amqp: AmqpConnection,
    /** appId and `user_id` (the connection's RabbitMQ user) of every request. */
    private readonly publisher: { appId: string; userId: string },
    metrics?: ServiceMetrics,
  ) {
    this.metrics = metrics && {
      calls: metrics.counter(
        'report_rpc_calls_total',
        'Calls to report_rpc by outcome: pdf, error (a coded error reply), timeout, failed',
        ['outcome'],
      ),
      seconds: metrics.histogram(
        'report_rpc_call_seconds',
        'From request published to reply (or giving up)',
        ['outcome'],
      ),
      discarded: metrics.counter(
        'report_rpc_replies_discarded_total',
        'Replies that found no caller: late (after its timeout) or unknown',
        ['why'],
      ),
    };
  }

  onModuleInit(): void {
    this.channel = this.amqp.managedConnection.createChannel({
      name: 'report-rpc-client',
      setup: async (channel: ConfirmChannel) => {
        channel.once('close', () => this.failAll('the channel to the broker closed mid-call'));
        await channel.consume(DIRECT_REPLY_TO, (message) => message && this.onReply(message), {
          noAck: true,
        });
      },
    });
    this.channel.on('error', (error: Error) =>
      this.logger.warn(`report_rpc client channel: ${error.message}`),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    this.failAll('order-api is stopping');
    await this.channel?.close().catch(() => undefined);
  }

  /** Always up: order-api serves orders without report-worker. The counts are what is worth seeing. */
  async check(): Promise<void> {}

  details(): Record<string, number> {
    return { ...this.counts, inFlight: this.pending.size };
  }

  /** Asks report-worker for the order's PDF; `order` lets it render one it has not seen yet. */
  async fetchReport(order: OrderPlacedV1Data, timeoutMs: number): Promise<ReportRpcResult> {
    const stopTimer = this.metrics?.seconds.startTimer();
    const result = await this.call(order, timeoutMs);
    stopTimer?.({ outcome: result.kind });
    this.metrics?.calls.inc({ outcome: result.kind });
    return result;
  }

  private async call(order: OrderPlacedV1Data, timeoutMs: number): Promise<ReportRpcResult> {
    this.counts.calls++;
    const correlationId = randomUUID();
    const deadlineAt = Date.now() + timeoutMs;
    const result = new Promise<ReportRpcResult>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        this.remember(correlationId);
        this.counts.timeouts++;
        resolve({ kind: 'timeout' });
      }, timeoutMs);
      this.pending.set(correlationId, {
        settle: (outcome) => {
          clearTimeout(timer);
          this.pending.delete(correlationId);
          resolve(outcome);
        },
      });
    });
    const channel = this.channel;
    if (!channel) return this.fail(correlationId, 'the RPC channel is not open');
    const body = Buffer.from(JSON.stringify({ orderId: order.orderId, order }));
    try {
      assertMessageSize(body, 'the report request');
    } catch (error) {
      return this.fail(correlationId, (error as Error).message);
    }
    channel
      .publish('', Queues.reportRpc, body, {
        ...jsonMessageProperties({
          messageId: randomUUID(),
          correlationId,
          type: MessageTypes.reportRequestV1,
          occurredAt: new Date(),
          appId: this.publisher.appId,
          userId: this.publisher.userId,
          headers: { [REPORT_DEADLINE_HEADER]: deadlineAt },
          // Worthless after its deadline: no disk write for it.
          persistent: false,
        }),
        replyTo: DIRECT_REPLY_TO,
        expiration: String(timeoutMs),
      })
      // A nack is report_rpc at its length limit (shop-limit-rpc): the caller answers 502 REPORT_FAILED.
      .catch(
        (error: Error) => void this.fail(correlationId, `the request was not published: ${error.message}`),
      );
    return result;
  }

  private onReply(message: ConsumeMessage): void {
    const correlationId = String(message.properties.correlationId ?? '');
    const call = this.pending.get(correlationId);
    if (!call) {
      const late = this.timedOut.has(correlationId);
      if (late) this.counts.lateReplies++;
      else this.counts.unknownReplies++;
      this.metrics?.discarded.inc({ why: late ? 'late' : 'unknown' });
      this.logger.warn(
        `report_rpc: ${late ? 'late' : 'unknown'} reply ${correlationId || '(no correlation id)'} discarded`,
      );
      return;
    }
    if (message.properties.type === MessageTypes.reportPdfV1) {
      call.settle({ kind: 'pdf', pdf: message.content });
      return;
    }
    const error = ReportErrorV1.safeParse(safeJson(message.content));
    call.settle(
      error.success
        ? { kind: 'error', code: error.data.code, message: error.data.message }
        : { kind: 'failed', message: `a reply of type ${message.properties.type ?? '?'} that is no report` },
    );
  }

  private fail(correlationId: string, message: string): Promise<ReportRpcResult> {
    const call = this.pending.get(correlationId);
    this.counts.failed++;
    call?.settle({ kind: 'failed', message });
    return Promise.resolve({ kind: 'failed', message });
  }

  private failAll(message: string): void {
    for (const [correlationId] of [...this.pending]) void this.fail(correlationId, message);
  }

  private remember(correlationId: string): void {
    this.timedOut.add(correlationId);
    if (this.timedOut.size > REMEMBERED_TIMEOUTS) this.timedOut.delete(this.timedOut.values().next().value!);
  }
}

function safeJson(content: Buffer): unknown {
  try {
    return JSON.parse(content.toString('utf8'));
  } catch {
    return undefined;
  }
}
