import { Exchanges } from '@shop/contracts';
import { parseArgs } from 'node:util';

export const TAIL_USAGE = `usage: npm run logs:tail -- [binding keys...] [--json]

  no keys          every record (queue bound to the fanout exchange "${Exchanges.logsBroadcast}")
  "*.error"        one key word is <service>.<level>; * is exactly one word
  "order-api.*"    every level of one service
  "#"              zero or more words: everything, through the topic exchange "${Exchanges.logs}"
  --json           print the raw records, one JSON object per line

Quote patterns so the shell does not expand them. Reads RABBITMQ_URL (default: the local broker).`;

export interface TailBinding {
  exchange: string;
  routingKey: string;
}

export interface TailOptions {
  bindings: TailBinding[];
  json: boolean;
  /** Notes for the user about keys that probably do not do what they expect. */
  warnings: string[];
}

/** Reads the command line; throws with the usage text on anything it does not understand. */
export function parseTailArgs(argv: string[]): TailOptions {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n\n${TAIL_USAGE}`);
  }
  if (parsed.values.help) throw new Error(TAIL_USAGE);
  const keys = [...new Set(parsed.positionals)];
  const warnings: string[] = [];
  for (const key of keys) {
    if (key === '' || Buffer.byteLength(key) > 255) {
      throw new Error(`binding key "${key}" must be 1 to 255 bytes long\n\n${TAIL_USAGE}`);
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

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
  });
}

export function describeBindings(bindings: TailBinding[]): string {
  return bindings
    .map(({ exchange, routingKey }) => (routingKey === '' ? exchange : `${exchange} "${routingKey}"`))
    .join(', ');
}
