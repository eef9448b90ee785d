import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { OrderPlacedV1, Queues, type OrderPlacedV1Data } from '@shop/contracts';
import { OrderStatusPublisher, PermanentFailure, WorkQueueSubscriber, type Delivery } from '@shop/messaging';
import { createHash } from 'node:crypto';
import { renderOrderReport } from './order-report.pdf';
import { reportFileName, writeFileAtomically } from './report-file';
import type { ResolvedReportFont } from './report-font';
import { ReportStore } from './report.store';

export interface ReportOptions {
  reportsDir: string;
  font: ResolvedReportFont;
}

/**
 * report-worker's only subscription: `order_report` (order.placed.v1 on routing key order.report).
 * The message is acked after `writeReport` resolves, i.e. after the PDF is completely on disk and recorded
 * and the broker confirmed `order.reported.v1` (published again for a copy whose PDF was written before).
 * Copies of one order's message handled at the same time may each render, but only one writes the file
 * (ReportStore.recordWhileWriting); the check before rendering spares the CPU for later copies.
 */
@Injectable()
export class OrderPlacedReportHandler implements OnApplicationBootstrap {
  private readonly logger = new Logger(OrderPlacedReportHandler.name);

  constructor(
    private readonly subscriber: WorkQueueSubscriber,
    private readonly store: ReportStore,
    private readonly status: OrderStatusPublisher,
    private readonly options: ReportOptions,
  ) {}

  onApplicationBootstrap(): void {
    this.subscriber.subscribe(Queues.orderReport, OrderPlacedV1, (event, delivery) =>
      this.writeReport(event.data, event.correlationId, delivery),
    );
  }

  private async writeReport(
    order: OrderPlacedV1Data,
    correlationId: string,
    delivery: Delivery,
  ): Promise<void> {
    const state = await this.store.stateOf(order.orderId);
    if (state === 'missing-order') {
      throw new PermanentFailure(`order ${order.orderId} does not exist`, 'ORDER_NOT_FOUND');
    }
    if (state === 'already-reported') {
      await this.announceEarlierReport(order.orderId, correlationId);
      this.logger.log(
        `order ${order.orderId}: report already written; duplicate message ${delivery.messageId} acked`,
      );
      return;
    }
    const pdf = await renderOrderReport(order, this.options.font);
    const fileName = reportFileName(order.orderId);
    const outcome = await this.store.recordWhileWriting(
      {
        orderId: order.orderId,
        messageId: delivery.messageId,
        fileName,
        bytes: pdf.length,
        sha256: createHash('sha256').update(pdf).digest('hex'),
      },
      () => writeFileAtomically(this.options.reportsDir, fileName, pdf),
    );
    if (outcome === 'already-reported') {
      await this.announceEarlierReport(order.orderId, correlationId);
      this.logger.log(
        `order ${order.orderId}: another copy wrote the report while this one rendered; duplicate message ${delivery.messageId} acked`,
      );
      return;
    }
    await this.status.reported(order.orderId, new Date(), correlationId);
    this.logger.log(`order ${order.orderId}: report written (${pdf.length} bytes)`);
  }

  /** At least once: a copy of a message whose PDF was written before announces it again. */
  private async announceEarlierReport(orderId: string, correlationId: string): Promise<void> {
    const reportedAt = await this.store.reportedAt(orderId);
    await this.status.reported(orderId, reportedAt ?? new Date(), correlationId);
  }
}
