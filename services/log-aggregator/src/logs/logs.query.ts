import { HttpStatus } from '@nestjs/common';
import { LogLevels, LogRecordV1 } from '@shop/contracts';
import { ApiError, type FieldError } from '@shop/service-kit';
import { z } from 'zod';
import type { RecentLogsFilter } from './recent-logs.store';

export const LOGS_QUERY_MAX_LIMIT = 1_000;
export const LOGS_QUERY_DEFAULT_LIMIT = 100;

/** GET /logs query: every parameter optional; an empty one (`?service=`) counts as absent. */
export const LogsQuery = z
  .object({
    service: LogRecordV1.shape.service.optional(),
    level: z.enum(LogLevels).optional(),
    correlationId: z.string().min(1).max(200).optional(),
    orderId: LogRecordV1.shape.orderId,
    since: z.iso
      .datetime({ offset: true, message: 'must be an ISO 8601 time, e.g. 2026-11-23T10:00:00Z' })
      .optional(),
    limit: z.coerce
      .number({ message: 'must be a number' })
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(LOGS_QUERY_MAX_LIMIT, `must be at most ${LOGS_QUERY_MAX_LIMIT}`)
      .default(LOGS_QUERY_DEFAULT_LIMIT),
  })
  .strict();

/** Parses the query string, or throws 400 VALIDATION_FAILED with one entry per bad parameter. */
export function parseLogsQuery(query: Record<string, unknown>): RecentLogsFilter {
  const present = Object.fromEntries(Object.entries(query ?? {}).filter(([, value]) => value !== ''));
  const result = LogsQuery.safeParse(present);
  if (!result.success) {
    const errors = result.error.issues.flatMap((issue): FieldError[] =>
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => ({ field: key, code: issue.code, message: 'is not a known parameter' }))
        : [{ field: issue.path.map(String).join('.') || '(root)', code: issue.code, message: issue.message }],
    );
    throw new ApiError(
      HttpStatus.BAD_REQUEST,
      'VALIDATION_FAILED',
      `The query is invalid: ${errors.map((e) => `${e.field} ${e.message}`).join('; ')}.`,
      { errors },
    );
  }
  const { since, ...filter } = result.data;
  return { ...filter, ...(since !== undefined && { sinceMs: Date.parse(since) }) };
}
