import {
  Exchanges,
  jsonMessageProperties,
  MessageTypes,
  TOPOLOGY,
  logRoutingKeyOf,
  type LogRecordV1,
} from '@shop/contracts';
import {
  BrokerProbe,
  declareTopology,
  startHttpApp,
  testConfig,
  testSecrets,
  vhostOf,
  type HttpAppHarness,
} from '@shop/testing';
import type { Channel, Options } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { AppModule, SERVICE_NAME } from '../app.module';
import { loadLogAggregatorConfig } from '../config/log-aggregator.config';

/** The real log-aggregator in this process, on the test vhost, archiving into `logDir`. */
export async function startLogAggregator(
  logDir: string,
  env: Record<string, string> = {},
): Promise<HttpAppHarness> {
  const config = loadLogAggregatorConfig({
    RABBITMQ_URL: testConfig.rabbitmqUrl,
    LOG_DIR: logDir,
    OPS_TOKEN: testSecrets.OPS_TOKEN,
    ...env,
  });
  const harness = await startHttpApp(AppModule.forRoot(config), { service: SERVICE_NAME });
  // GET /logs needs the operator token: the specs read it as an operator unless they say otherwise.
  return { ...harness, get: (path, headers) => harness.get(path, { ...operatorHeaders, ...headers }) };
}

/** `Authorization: Bearer <OPS_TOKEN>` of the test configuration. */
export const operatorHeaders = { authorization: `Bearer ${testSecrets.OPS_TOKEN}` };

const LOG_NAMES = new Set<string>([
  Exchanges.logs,
  Exchanges.logsBroadcast,
  Exchanges.logsFollow,
  ...TOPOLOGY.queues.filter((q) => q.name.startsWith('log_')).map((q) => q.name),
]);

/** Declares the contract's log exchanges, queues and bindings, so a spec needs no running service. */
export async function declareLogTopology(channel: Channel): Promise<void> {
  await declareTopology(channel, {
    exchanges: TOPOLOGY.exchanges.filter((e) => LOG_NAMES.has(e.name)),
    queues: TOPOLOGY.queues.filter((q) => LOG_NAMES.has(q.name)),
    bindings: TOPOLOGY.bindings.filter((b) => LOG_NAMES.has(b.source)),
  });
}

/** A valid log.record.v1 (time now unless given). */
export function logRecord(
  record: Partial<LogRecordV1> & Pick<LogRecordV1, 'service' | 'level'>,
): LogRecordV1 {
  return { time: new Date().toISOString(), message: `${record.level} from ${record.service}`, ...record };
}

/**
 * Publishes to `logs` as libs/logging does: key `<service>.<level>`, persistent JSON, type
 * log.record.v1, with a confirm. `routingKey`, `body` and `properties` override for odd cases.
 */
export async function publishLogRecord(
  broker: BrokerProbe,
  record: LogRecordV1,
  overrides: { exchange?: string; routingKey?: string; body?: Buffer; properties?: Options.Publish } = {},
): Promise<void> {
  await broker.publishConfirmed(
    overrides.exchange ?? Exchanges.logs,
    overrides.routingKey ?? logRoutingKeyOf(record.service, record.level),
    overrides.body ?? Buffer.from(JSON.stringify(record)),
    {
      ...jsonMessageProperties({
        messageId: randomUUID(),
        correlationId: record.correlationId,
        type: MessageTypes.logRecordV1,
        occurredAt: new Date(record.time),
        appId: record.service,
      }),
      ...overrides.properties,
    },
  );
}

/** The parsed lines of a JSON-lines file ([] while it does not exist); a line that is not JSON throws. */
export async function readJsonLines(path: string, { skipInvalid = false } = {}): Promise<any[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .flatMap((line) => {
      try {
        return [JSON.parse(line)];
      } catch (error) {
        if (skipInvalid) return [];
        throw new Error(`${path}: a line is not JSON (${(error as Error).message}): ${line.slice(0, 200)}`);
      }
    });
}

/**
 * Closes, on the broker's side, the test vhost's connections named `connectionName` (as a network
 * blip would), leaving other specs' connections alone. Resolves with how many were closed.
 */
export async function closeConnectionsNamed(connectionName: string): Promise<number> {
  const run = promisify(execFile);
  const vhost = vhostOf(testConfig.rabbitmqUrl);
  // Tab-separated rows: pid, vhost, client properties as Erlang terms.
  const { stdout } = await run(
    'rabbitmqctl',
    ['-q', '--no-table-headers', 'list_connections', 'pid', 'vhost', 'client_properties'],
    { timeout: 60_000 },
  );
  const pids = stdout
    .split('\n')
    .map((row) => row.split('\t'))
    .filter(
      ([, rowVhost, properties]) =>
        rowVhost === vhost && properties?.includes(`{"connection_name","${connectionName}"}`),
    )
    .map(([pid]) => pid);
  for (const pid of pids) {
    await run('rabbitmqctl', ['-q', 'close_connection', pid, 'test: connection dropped'], {
      timeout: 60_000,
    });
  }
  return pids.length;
}
