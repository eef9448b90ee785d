import type { LogRecordV1 } from '@shop/contracts';
import type { RecentError } from '../snapshot/snapshot';

const SHOWN = 10;

/**
 * The newest error and fatal records from the log-aggregator's GET /logs (it keeps the recent ones in
 * memory), newest first. Empty when it cannot be reached: its own health says so on the page.
 */
export async function readRecentErrors(
  logAggregatorUrl: string | undefined,
  opsToken: string,
): Promise<RecentError[]> {
  if (!logAggregatorUrl) return [];
  const byLevel = await Promise.all(
    ['error', 'fatal'].map(async (level) => {
      try {
        const response = await fetch(`${logAggregatorUrl}/logs?level=${level}&limit=${SHOWN}`, {
          // GET /logs is for operators only.
          headers: { authorization: `Bearer ${opsToken}` },
          signal: AbortSignal.timeout(800),
        });
        if (!response.ok) return [];
        const { records } = (await response.json()) as { records: LogRecordV1[] };
        return records;
      } catch {
        return [];
      }
    }),
  );
  return byLevel
    .flat()
    .sort((a, b) => b.time.localeCompare(a.time))
    .slice(0, SHOWN)
    .map((record) => ({
      at: record.time,
      service: record.service,
      level: record.level,
      message: record.message,
      ...(record.correlationId ? { correlationId: record.correlationId } : {}),
      ...(record.orderId ? { orderId: record.orderId } : {}),
    }));
}
