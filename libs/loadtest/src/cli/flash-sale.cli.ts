import { LOCAL_DEFAULTS, SERVICE_PORTS } from '@shop/config';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { FlashSaleOptions } from '../flash-sale.results';
import { ProgressLine } from '../progress';
import { renderReportHtml } from '../report/report-html';
import { runFlashSale } from '../run-flash-sale';
import { formatSummary } from '../summary';

const USAGE = `npm run loadtest:flash-sale -- [options]

  --stock N           units of the fresh flash-sale product      (default 500)
  --requests N        new orders to fire                         (default 20000)
  --connections N     clients firing at once                     (default 200)
  --retry-share F     share of orders re-sent with the same key  (default 0.05)
  --api URL           order-api                                  (default http://localhost:${SERVICE_PORTS['order-api']})
  --mail-api URL      Mailpit-compatible API                     (default http://localhost:8025)
  --amqp URL          broker, only to read queue depths          (default $RABBITMQ_URL or ${LOCAL_DEFAULTS.rabbitmqUrl})
  --timeout MS        per-request timeout                        (default 10000)
  --drain-timeout MS  wait for emails and PDFs                   (default 120000)
  --out DIR           results.json and report.html               (default var/loadtest/<timestamp>)

Exits 0 when every invariant held, 1 on any violation, 2 on bad options or an unreachable system.`;

/** Parses the command line; throws with a readable message on a bad value. */
export function parseFlashSaleArgs(argv: string[]): { options: FlashSaleOptions; outDir?: string } | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      stock: { type: 'string' },
      requests: { type: 'string' },
      connections: { type: 'string' },
      'retry-share': { type: 'string' },
      api: { type: 'string' },
      'mail-api': { type: 'string' },
      amqp: { type: 'string' },
      timeout: { type: 'string' },
      'drain-timeout': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const int = (name: keyof typeof values, fallback: number, min: number, max: number) => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`--${name} must be a whole number from ${min} to ${max} (got ${String(raw)})`);
    }
    return value;
  };
  const url = (name: keyof typeof values, fallback: string) => {
    const raw = (values[name] as string | undefined) ?? fallback;
    try {
      return new URL(raw).toString().replace(/\/$/, '');
    } catch {
      throw new Error(`--${name} must be a URL (got ${raw})`);
    }
  };
  const retryShare = values['retry-share'] === undefined ? 0.05 : Number(values['retry-share']);
  if (!(retryShare >= 0 && retryShare <= 1))
    throw new Error(`--retry-share must be between 0 and 1 (got ${values['retry-share']})`);
  return {
    options: {
      stock: int('stock', 500, 0, 1_000_000),
      requests: int('requests', 20_000, 1, 10_000_000),
      connections: int('connections', 200, 1, 10_000),
      retryShare,
      apiUrl: url('api', `http://localhost:${SERVICE_PORTS['order-api']}`),
      mailApiUrl: url('mail-api', 'http://localhost:8025'),
      amqpUrl: url('amqp', process.env.RABBITMQ_URL || LOCAL_DEFAULTS.rabbitmqUrl),
      requestTimeoutMs: int('timeout', 10_000, 100, 600_000),
      drainTimeoutMs: int('drain-timeout', 120_000, 1_000, 3_600_000),
    },
    outDir: values.out,
  };
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parseFlashSaleArgs>;
  try {
    parsed = parseFlashSaleArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed === 'help') {
    console.log(USAGE);
    return 0;
  }
  const { options } = parsed;
  const progress = new ProgressLine();
  let phase: 'firing' | 'draining' | undefined;
  const results = await runFlashSale(options, {
    onStep: (message) => {
      if (phase) progress.done();
      phase = undefined;
      console.error(`» ${message}`);
    },
    onFiring: (p) => {
      phase = 'firing';
      progress.firing(p);
    },
    onDraining: (p) => {
      phase = 'draining';
      progress.draining(p);
    },
  }).catch((error: Error) => {
    progress.done();
    console.error(`flash sale could not run: ${error.message}`);
    return undefined;
  });
  if (!results) return 2;
  progress.done();

  const outDir = resolve(parsed.outDir ?? join('var', 'loadtest', results.startedAt.replace(/[:.]/g, '-')));
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(outDir, 'report.html'), renderReportHtml(results));
  console.log(
    `\n${formatSummary(results)}\n\nresults: ${join(outDir, 'results.json')}\nreport:  ${join(outDir, 'report.html')}`,
  );
  return results.violations.length === 0 ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: Error) => {
      console.error(error);
      process.exit(2);
    },
  );
}
