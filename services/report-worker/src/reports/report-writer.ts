import { Injectable } from '@nestjs/common';
import type { OrderPlacedV1Data } from '@shop/contracts';
import { OrderStatusPublisher } from '@shop/messaging';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderOrderReport } from './order-report.pdf';
import { reportFileName, writeFileAtomically } from './report-file';
import type { ResolvedReportFont } from './report-font';
import { ReportStore } from './report.store';

export interface ReportOptions {
  reportsDir: string;
  font: ResolvedReportFont;
}

export type WriteOutcome =
  | { outcome: 'written'; pdf: Buffer }
  /** Another delivery (or an RPC call) wrote it first: the file on disk is the report. */
  | { outcome: 'already-reported' };

/**
 * Renders an order's PDF, writes it once (ReportStore.recordWhileWriting) and announces
 * order.reported.v1, for both ways a report is asked for: the `order_report` work queue and `report_rpc`.
 * The same order data gives the same bytes either way.
 */
@Injectable()
export class ReportWriter {
  constructor(
    private readonly store: ReportStore,
    private readonly status: OrderStatusPublisher,
    private readonly options: ReportOptions,
  ) {}

  async write(order: OrderPlacedV1Data, messageId: string, correlationId: string): Promise<WriteOutcome> {
    const pdf = await renderOrderReport(order, this.options.font);
    const fileName = reportFileName(order.orderId);
    const outcome = await this.store.recordWhileWriting(
      {
        orderId: order.orderId,
        messageId,
        fileName,
        bytes: pdf.length,
        sha256: createHash('sha256').update(pdf).digest('hex'),
      },
      () => writeFileAtomically(this.options.reportsDir, fileName, pdf),
    );
    if (outcome === 'already-reported') {
      await this.announceEarlierReport(order.orderId, correlationId);
      return { outcome };
    }
    await this.status.reported(order.orderId, new Date(), correlationId);
    return { outcome, pdf };
  }

  /** At least once: a copy of a message whose PDF was written before announces it again. */
  async announceEarlierReport(orderId: string, correlationId: string): Promise<void> {
    const reportedAt = await this.store.reportedAt(orderId);
    await this.status.reported(orderId, reportedAt ?? new Date(), correlationId);
  }

  /** The recorded PDF's bytes, or undefined while the order has none. */
  async storedReport(orderId: string): Promise<Buffer | undefined> {
    if ((await this.store.reportedAt(orderId)) === null) return undefined;
    return readFile(join(this.options.reportsDir, reportFileName(orderId)));
  }
}
