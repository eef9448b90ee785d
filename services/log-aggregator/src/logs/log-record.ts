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
  // A UTC time (what every logger writes) already starts with its date.
  if (typeof time === 'string' && time.endsWith('Z') && time[10] === 'T') return time.slice(0, 10);
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

const FIELDS = new Set(Object.keys(LogRecordV1.shape));

/**
 * A delivery read as a log.record.v1, with the line to archive it as: the body itself when it is
 * already one line holding only the contract's fields (as the logger publishes it), so it is not
 * serialised again; otherwise the validated record re-serialised. Refusals are parseLogDelivery's.
 */
export function readLogDelivery(
  message: ConsumeMessage,
): { ok: true; record: LogRecordV1; line: string } | { ok: false; reason: string } {
  const type = message.properties.type as string | undefined;
  if (type === undefined || type === MessageTypes.logRecordV1) {
    const text = message.content.toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const result = body === undefined ? undefined : LogRecordV1.safeParse(body);
    if (result?.success) {
      const asIs =
        !text.includes('\n') &&
        !text.includes('\r') &&
        Object.keys(body as object).every((key) => FIELDS.has(key));
      return { ok: true, record: result.data, line: asIs ? `${text}\n` : `${JSON.stringify(result.data)}\n` };
    }
  }
  const parsed = parseLogDelivery(message);
  // Not reached for a valid record (handled above); kept so the types stay honest.
  if (parsed.ok) return { ok: true, record: parsed.message, line: `${JSON.stringify(parsed.message)}\n` };
  return parsed;
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
