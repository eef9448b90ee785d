import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { OrderPlacedV1, OrderSteps, Queues, type OrderPlacedV1Data } from '@shop/contracts';
import { logEntry } from '@shop/logging';
import { WorkQueueSubscriber, type Delivery } from '@shop/messaging';
import { ReportStore } from './report.store';
import { ReportWriter } from './report-writer';

/**
 * report-worker's work-queue subscription: `order_report` (order.placed.v1 on routing key order.report).
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
    private readonly writer: ReportWriter,
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
    // Everything the PDF needs is in the message: report-worker cannot see order-api's tables.
    const state = await this.store.stateOf(order.orderId);
    if (state === 'already-reported') {
      await this.writer.announceEarlierReport(order.orderId, correlationId);
      this.logger.log(
        `order ${order.orderId}: report already written; duplicate message ${delivery.messageId} acked`,
      );
      return;
    }
    const written = await this.writer.write(order, delivery.messageId, correlationId);
    if (written.outcome === 'already-reported') {
      this.logger.log(
        `order ${order.orderId}: another copy wrote the report while this one rendered; duplicate message ${delivery.messageId} acked`,
      );
      return;
    }
    this.logger.log(
      logEntry(`order ${order.orderId}: report written (${written.pdf.length} bytes)`, {
        step: OrderSteps.pdfWritten,
      }),
    );
  }
}
