import { Injectable } from '@nestjs/common';
import { PrismaService } from '@shop/db';

export type ReportState = 'missing-order' | 'already-reported' | 'to-do';

/** The order_reports row that makes reporting idempotent, and the order's status. */
@Injectable()
export class ReportStore {
  constructor(private readonly prisma: PrismaService) {}

  /** One round trip: does the order exist, and does it have its report already? */
  async stateOf(orderId: string): Promise<ReportState> {
    const [row] = await this.prisma.$queryRaw<{ reported: boolean }[]>`
      SELECT r.order_id IS NOT NULL AS reported
        FROM orders o LEFT JOIN order_reports r ON r.order_id = o.id
       WHERE o.id = ${orderId}::uuid`;
    if (!row) return 'missing-order';
    return row.reported ? 'already-reported' : 'to-do';
  }

  /** Records the file and moves the order's status on, in one statement; a duplicate changes nothing. */
  async markReported(report: {
    orderId: string;
    messageId: string;
    fileName: string;
    bytes: number;
    sha256: string;
  }) {
    await this.prisma.$executeRaw`
      WITH recorded AS (
        INSERT INTO order_reports (order_id, message_id, file_name, bytes, sha256)
        VALUES (${report.orderId}::uuid, ${report.messageId}::uuid, ${report.fileName}, ${report.bytes}, ${report.sha256})
        ON CONFLICT (order_id) DO NOTHING
        RETURNING order_id
      )
      UPDATE orders o
         SET reported_at = now(), updated_at = now(),
             status = CASE WHEN o.notified_at IS NOT NULL THEN 'completed' ELSE 'reported' END::order_status
        FROM recorded
       WHERE o.id = recorded.order_id`;
  }
}
