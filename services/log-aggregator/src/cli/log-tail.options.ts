import { Exchanges, followBindingOf, LOG_FIELD_LIMITS, LOG_RECORD_LIMITS, LogHeaders } from '@shop/contracts';
import { parseArgs } from 'node:util';

export const TAIL_USAGE = `usage: npm run logs:tail -- [binding keys...] [--json]
       npm run logs:tail -- --order <order id> [--json]
       npm run logs:tail -- --correlation <correlation id> [--json]

  no keys          every record (queue bound to the fanout exchange "${Exchanges.logsBroadcast}")
  "*.error"        one key word is <service>.<level>; * is exactly one word
  "order-api.*"    every level of one service
  "#"              zero or more words: everything, through the topic exchange "${Exchanges.logs}"
  --order <id>     one order's records from every service, as they happen, and nothing else (queue
                   bound to the headers exchange "${Exchanges.logsFollow}" with x-match all on ${LogHeaders.orderId})
  --correlation <id>  the same for one correlation id (header ${LogHeaders.correlationId}), e.g. the
                   X-Correlation-Id sent with POST /orders, to follow an order from before it exists
  --json           print the raw records, one JSON object per line

Quote patterns so the shell does not expand them. Reads RABBITMQ_URL (default: the local broker's
vhost "shop", where npm start runs the services).`;

export interface TailBinding {
  exchange: string;
  routingKey: string;
  /** A headers exchange's binding arguments (`x-match` and the headers to match). */
  arguments?: Record<string, string>;
}

export interface TailOptions {
  bindings: TailBinding[];
  json: boolean;
  /** Notes for the user about keys that probably do not do what they expect. */
  warnings: string[];
}

const usageError = (message: string) => new Error(`${message}\n\n${TAIL_USAGE}`);

/** Reads the command line; throws with the usage text on anything it does not understand. */
export function parseTailArgs(argv: string[]): TailOptions {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw usageError((error as Error).message);
  }
  if (parsed.values.help) throw new Error(TAIL_USAGE);
  const keys = [...new Set(parsed.positionals)];
  const follow = followOf(parsed.values.order, parsed.values.correlation);
  if (follow) {
    if (keys.length > 0) throw usageError('--order and --correlation take no binding keys');
    return { bindings: [follow], json: parsed.values.json, warnings: [] };
  }
  const warnings: string[] = [];
  for (const key of keys) {
    if (key === '' || Buffer.byteLength(key) > 255) {
      throw usageError(`binding key "${key}" must be 1 to 255 bytes long`);
    }
    const partial = key.split('.').find((word) => word.length > 1 && /[*#]/.test(word));
    if (partial) {
      warnings.push(
        `"${key}": * and # are wildcards only as a whole word; "${partial}" matches that literal text`,
      );
    }
  }
  const bindings =
    keys.length === 0
      ? [{ exchange: Exchanges.logsBroadcast, routingKey: '' }]
      : keys.map((routingKey) => ({ exchange: Exchanges.logs, routingKey }));
  return { bindings, json: parsed.values.json, warnings };
}

/** The `logs.follow` binding of `--order` or `--correlation`, or undefined without either. */
function followOf(order: string | undefined, correlation: string | undefined): TailBinding | undefined {
  if (order !== undefined && correlation !== undefined) {
    throw usageError('give --order or --correlation, not both');
  }
  const [header, value, most] =
    order !== undefined
      ? [LogHeaders.orderId, order, LOG_FIELD_LIMITS.orderId]
      : [LogHeaders.correlationId, correlation, LOG_RECORD_LIMITS.correlationId];
  if (value === undefined) return undefined;
  // A record never carries a longer one (nor an empty one), so such a follow would show nothing.
  if (value.trim() === '' || value.length > most) {
    throw usageError(`--${order !== undefined ? 'order' : 'correlation'} must be 1 to ${most} characters`);
  }
  return { exchange: Exchanges.logsFollow, routingKey: '', arguments: followBindingOf(header, value) };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
      order: { type: 'string' },
      correlation: { type: 'string' },
    },
  });
}

export function describeBindings(bindings: TailBinding[]): string {
  return bindings
    .map(({ exchange, routingKey, arguments: args }) => {
      const matched = Object.entries(args ?? {}).filter(([name]) => name !== 'x-match');
      if (matched.length > 0)
        return `${exchange} ${matched.map(([name, value]) => `${name}=${value}`).join(' ')}`;
      return routingKey === '' ? exchange : `${exchange} "${routingKey}"`;
    })
    .join(', ');
}
