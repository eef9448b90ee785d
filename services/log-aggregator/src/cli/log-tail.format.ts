import { LogRecordV1, validateMessage, type LogLevel } from '@shop/contracts';

const RESET = '\x1b[0m';
const DIM = '\x1b[2m';
const LEVEL_COLOURS: Record<LogLevel, string> = {
  debug: '\x1b[90m', // grey
  info: '\x1b[32m', // green
  warn: '\x1b[33m', // yellow
  error: '\x1b[31m', // red
  fatal: '\x1b[1;97;41m', // bold white on red
};

export interface TailedMessage {
  routingKey: string;
  content: Buffer;
}

/**
 * Human-readable lines for one delivery: time, level, service, [context], message, <step>, (via the
 * exchange, key and queue of the message it is about), correlation, stack.
 */
export function formatForHumans(message: TailedMessage, colour: boolean): string {
  const paint = (code: string, text: string) => (colour ? `${code}${text}${RESET}` : text);
  const result = validateMessage(LogRecordV1, message.content);
  if (!result.ok) {
    const body = message.content.toString('utf8').replace(/\s+/g, ' ');
    return paint(
      DIM,
      `?? ${message.routingKey}: not a log record (${result.reason}): ${body.length > 200 ? `${body.slice(0, 200)}...` : body}`,
    );
  }
  const record = result.message;
  const time = new Date(record.time).toISOString().slice(11, 23);
  const parts = [
    paint(DIM, time),
    paint(LEVEL_COLOURS[record.level], record.level.toUpperCase().padEnd(5)),
    record.service,
    ...(record.context ? [paint(DIM, `[${record.context}]`)] : []),
    record.message,
    ...(record.step ? [paint(DIM, `<${record.step}>`)] : []),
    ...(crossed(record) ? [paint(DIM, `(via ${crossed(record)})`)] : []),
    ...(record.correlationId ? [paint(DIM, `(correlation ${record.correlationId})`)] : []),
  ];
  const stack = record.stack ? `\n${paint(DIM, record.stack.replace(/^/gm, '    '))}` : '';
  return `${parts.join(' ')}${stack}`;
}

/** Where the message a record is about went: `order order.notify → order_notify` (what it has of that). */
function crossed({ exchange, routingKey, queue }: LogRecordV1): string {
  const through = exchange === undefined ? [] : [exchange === '' ? '(default exchange)' : exchange];
  return [...through, ...(routingKey ? [routingKey] : []), ...(queue ? [`→ ${queue}`] : [])].join(' ');
}

/** `--json`: the record as it was published, on one line (compacted when it is JSON). */
export function formatAsJson(message: TailedMessage): string {
  const text = message.content.toString('utf8');
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text.replace(/\n/g, '\\n');
  }
}
