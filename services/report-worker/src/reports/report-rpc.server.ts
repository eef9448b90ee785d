import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import {
  MessageTypes,
  Queues,
  REPORT_DEADLINE_HEADER,
  REPORT_ERROR_MESSAGE_MAX,
  ReportErrorCodes,
  ReportRequestV1,
  validateMessage,
  type ReportErrorCode,
} from '@shop/contracts';
import { setLogOrderId } from '@shop/logging';
import { RpcServer, type RpcOutcome, type RpcReply } from '@shop/messaging';
import type { ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { ReportWriter } from './report-writer';

export interface ReportRpcOptions {
  /** Requests this worker works on at once (REPORT_RPC_PREFETCH). */
  prefetch: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * report-worker's answers on `report_rpc` (messaging's RpcServer does the RPC part: reply_to and
 * correlation id, deadlines, never requeued, a channel of its own with REPORT_RPC_PREFETCH):
 *
 * - The stored PDF is returned as it is on disk; an order without one is rendered on demand from the
 *   request's `order` data and recorded exactly like the work queue does (ReportWriter), so a later
 *   `order_report` message for it writes nothing. Without `order` data: ORDER_NOT_FOUND.
 * - A request that fails gets a RENDER_FAILED reply; an invalid one INVALID_REQUEST.
 */
@Injectable()
export class ReportRpcServer implements OnApplicationBootstrap {
  constructor(
    private readonly rpc: RpcServer,
    private readonly writer: ReportWriter,
    private readonly options: ReportRpcOptions,
  ) {}

  onApplicationBootstrap(): void {
    this.rpc.serve(Queues.reportRpc, (request) => this.answer(request), {
      prefetch: this.options.prefetch,
      deadlineHeader: REPORT_DEADLINE_HEADER,
    });
  }

  /** Requests answered / dropped (deadline passed, nowhere to reply) / refused (reply_to not the caller's own) since start. */
  get counts(): Readonly<Record<RpcOutcome, number>> {
    return this.rpc.counts(Queues.reportRpc);
  }

  private async answer(message: ConsumeMessage): Promise<RpcReply> {
    const validation = validateMessage(ReportRequestV1, message.content);
    if (!validation.ok) return errorReply(ReportErrorCodes.invalidRequest, validation.reason);
    const request = validation.message;
    setLogOrderId(request.orderId);
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

function pdfReply(pdf: Buffer): RpcReply {
  return { contentType: 'application/pdf', type: MessageTypes.reportPdfV1, body: pdf };
}

function errorReply(code: ReportErrorCode, message: string): RpcReply {
  return {
    contentType: 'application/json',
    type: MessageTypes.reportErrorV1,
    // Cut to the contract's bound: a render error can quote a whole stack.
    body: Buffer.from(JSON.stringify({ code, message: message.slice(0, REPORT_ERROR_MESSAGE_MAX) })),
  };
}
