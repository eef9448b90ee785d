/** How `npm start` prints: one prefix per source, colours only on a terminal, JSON log lines shortened. */

const CODES = {
  reset: '\x1b[0m',
  bold: '\x1b[1m',
  dim: '\x1b[2m',
  red: '\x1b[31m',
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  blue: '\x1b[34m',
  magenta: '\x1b[35m',
  cyan: '\x1b[36m',
  gray: '\x1b[90m',
} as const;

export type Colour = Exclude<keyof typeof CODES, 'reset'>;

// hasColors() exists only on a TTY stream and honours NO_COLOR / FORCE_COLOR itself.
const useColour = typeof process.stdout.hasColors === 'function' && process.stdout.hasColors();

export function paint(text: string, ...colours: Colour[]): string {
  if (!useColour || colours.length === 0) return text;
  return `${colours.map((c) => CODES[c]).join('')}${text}${CODES.reset}`;
}

const PREFIX_WIDTH = 'log-aggregator'.length;

/** `order-api      │ ` in the source's colour, so interleaved lines stay readable. */
export function prefix(source: string, colour: Colour): string {
  return `${paint(source.padEnd(PREFIX_WIDTH), colour, 'bold')} ${paint('│', 'gray')} `;
}

/**
 * Output for stdout gathered for a few milliseconds and written with one call: the services' lines
 * arrive a few at a time, and a write per arrival would cost more than formatting them.
 */
let held = '';
let flushTimer: NodeJS.Timeout | undefined;

/** Queues `text` (whole lines, newline included) for stdout. */
export function writeOut(text: string): void {
  held += text;
  if (held.length >= 64 * 1024) return flushOut();
  flushTimer ??= setTimeout(flushOut, 20);
}

/** Writes what writeOut holds now (say() does, so that its lines keep their place). */
export function flushOut(): void {
  clearTimeout(flushTimer);
  flushTimer = undefined;
  if (held === '') return;
  const text = held;
  held = '';
  process.stdout.write(text);
}

/** Lines of `npm start` itself: at once, after whatever the services printed before them. */
export const say = (line: string): void => {
  flushOut();
  process.stdout.write(`${prefix('start', 'gray')}${line}\n`);
};
export const ok = (line: string): void => say(`${paint('✔', 'green')} ${line}`);
export const fail = (line: string): void => say(`${paint('✖', 'red')} ${paint(line, 'red')}`);

interface LogRecordShape {
  time?: unknown;
  level?: unknown;
  context?: unknown;
  message?: unknown;
  correlationId?: unknown;
  stack?: unknown;
}

const LEVEL_COLOUR: Record<string, Colour[]> = {
  debug: ['gray'],
  info: ['green'],
  warn: ['yellow'],
  error: ['red', 'bold'],
  fatal: ['red', 'bold'],
};

/**
 * A service's JSON log line (libs/logging) as `12:01:02.345 info  [Context] message  corr=...`,
 * with a stack on the following lines; anything that is not such a record comes back unchanged.
 */
export function compactLogLine(line: string): string[] {
  if (line.charCodeAt(0) !== 0x7b) return [line];
  let record: LogRecordShape;
  try {
    record = JSON.parse(line) as LogRecordShape;
  } catch {
    return [line];
  }
  if (typeof record.level !== 'string' || typeof record.message !== 'string') return [line];
  const date = typeof record.time === 'string' ? new Date(record.time) : undefined;
  const time = date && !Number.isNaN(date.getTime()) ? clock(date) : '';
  const level = paint(record.level.padEnd(5), ...(LEVEL_COLOUR[record.level] ?? []));
  const context = typeof record.context === 'string' ? `${paint(`[${record.context}]`, 'dim')} ` : '';
  const correlation =
    typeof record.correlationId === 'string' ? `  ${paint(`corr=${record.correlationId}`, 'gray')}` : '';
  const message =
    record.level === 'error' || record.level === 'fatal' ? paint(record.message, 'red') : record.message;
  const lines = [`${paint(time, 'gray')} ${level} ${context}${message}${correlation}`];
  if (typeof record.stack === 'string') {
    lines.push(
      ...record.stack
        .split('\n')
        .slice(1)
        .map((frame) => paint(`      ${frame.trim()}`, 'gray')),
    );
  }
  return lines;
}

function clock(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}
