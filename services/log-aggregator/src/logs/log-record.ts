import { LogRecordV1, MessageTypes, validateMessage, type ValidationResult } from '@shop/contracts';
import type { ConsumeMessage } from 'amqplib';
import { join } from 'node:path';

/** The files under `LOG_DIR/<yyyy-mm-dd>/` (UTC date of the record's time). */
export const LogFiles = {
  /** Every record (from `log_archive`, fed by the fanout). */
  all: 'all.jsonl',
  /** Records at level error or fatal (from `log_alerts`). */
  errors: 'errors.jsonl',
  /** Deliveries that are not a valid log.record.v1, with the reason (dated by arrival). */
  rejected: 'rejected.jsonl',
} as const;

export type LogFileName = (typeof LogFiles)[keyof typeof LogFiles];

/** `yyyy-mm-dd` of an instant in UTC: the folder its records are filed under. */
export function utcDateOf(time: string | Date): string {
  return (typeof time === 'string' ? new Date(time) : time).toISOString().slice(0, 10);
}

export function logFilePath(logDir: string, date: string, file: LogFileName): string {
  return join(logDir, date, file);
}

/**
 * Reads one delivery as a log.record.v1. A message that announces another type is refused too, so
 * a future v2 lands in rejected.jsonl instead of being misread.
 */
export function parseLogDelivery(message: ConsumeMessage): ValidationResult<LogRecordV1> {
  const type = message.properties.type as string | undefined;
  if (type !== undefined && type !== MessageTypes.logRecordV1) {
    return { ok: false, reason: `unsupported message type "${type}" (expected ${MessageTypes.logRecordV1})` };
  }
  return validateMessage(LogRecordV1, message.content);
}

/** The line kept in rejected.jsonl: why, where from, and the body as received (cut at 10 kB). */
export function rejectedLine(queue: string, message: ConsumeMessage, reason: string, receivedAt: Date) {
  const body = message.content.toString('utf8');
  return {
    receivedAt: receivedAt.toISOString(),
    queue,
    exchange: message.fields.exchange,
    routingKey: message.fields.routingKey,
    messageId: message.properties.messageId as string | undefined,
    type: message.properties.type as string | undefined,
    appId: message.properties.appId as string | undefined,
    reason,
    body: body.length > 10_000 ? `${body.slice(0, 10_000)}...` : body,
  };
}
