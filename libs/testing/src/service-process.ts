import { SERVICE_NODE_FLAGS, yieldCpuAsConfigured } from '@shop/config';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { testRabbitmqUrlAs } from './broker-admin';
import { freePort } from './free-port';
import { testConfig, testSecrets } from './test-config';
import { waitFor } from './wait-for';

const ROOT = join(__dirname, '../../..');

export type ServiceName =
  'order-api' | 'notify-worker' | 'report-worker' | 'log-aggregator' | 'dashboard' | 'identity' | 'payment';

export interface ServiceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServiceProcess {
  name: string;
  pid: number;
  baseUrl: string;
  /** Resolves once, with how the process ended, whoever ended it (code and signal null: it never started). */
  exited: Promise<ServiceExit>;
  /** Everything the process printed so far (JSON log lines), unless its lines went to `onLines`. */
  output(): string;
  isRunning(): boolean;
  /**
   * Sends `signal` and resolves with the exit code or signal once the process is gone; with `graceMs`,
   * SIGKILL when it is still there after that long.
   */
  stop(signal?: NodeJS.Signals, options?: { graceMs?: number }): Promise<ServiceExit & { ms: number }>;
}

export interface LaunchOptions {
  /** The service whose build runs: services/<service>/dist/main.js. */
  service: ServiceName;
  /** What messages call it (`notify-worker-2`); the service's name by default. */
  name?: string;
  /** Its PORT (/health). */
  port: number;
  /** The whole environment of the process, PORT aside: nothing else is passed on. */
  env: NodeJS.ProcessEnv;
  /**
   * Where the process writes its output, instead of a pipe this process reads: benches measure the
   * CPU of the process that drives the load, which must not spend it on the services' log lines.
   */
  logFile?: string;
  /** Takes the output line by line as it comes (npm start prints it), instead of keeping it. */
  onLines?: (lines: string[]) => void;
  /** Run at the priority SERVICE_NICENESS gives the service (npm start, benches); specs do not. */
  yieldCpu?: boolean;
  /**
   * A process group of its own, so a terminal's Ctrl-C reaches only the launcher, which then stops the
   * services in order and can tell a deliberate stop from a crash (npm start).
   */
  ownProcessGroup?: boolean;
}

/**
 * The one launcher of built services, for specs that need real process behaviour (several workers on
 * one queue, a crash, a signal, a dropped connection), the benches and drills, and `npm start`: runs
 * `services/<name>/dist/main.js` with the services' V8 flags and returns at once; `startServiceProcess`
 * also waits for its /health.
 */
export function launchServiceProcess(options: LaunchOptions): ServiceProcess {
  const { service, name = service, port, logFile, onLines } = options;
  // SERVICE_CPU_PROFILE_DIR=<folder>: every service writes a V8 CPU profile there when it exits (benches).
  const profileDir = process.env.SERVICE_CPU_PROFILE_DIR;
  const nodeArgs = [
    ...SERVICE_NODE_FLAGS,
    ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
  ];
  const fd = logFile === undefined ? undefined : openSync(logFile, 'a');
  const child = spawn(process.execPath, [...nodeArgs, join(ROOT, 'services', service, 'dist', 'main.js')], {
    cwd: ROOT,
    env: { ...options.env, PORT: String(port) },
    stdio: fd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', fd, fd],
    detached: options.ownProcessGroup ?? false,
  });
  if (fd !== undefined) closeSync(fd); // the child holds its own copy
  if (options.yieldCpu) yieldCpuAsConfigured(service, child.pid);

  let buffered = '';
  const take = onLines ?? ((lines: string[]) => (buffered += `${lines.join('\n')}\n`));
  for (const stream of [child.stdout, child.stderr]) if (stream) forEachLine(stream, take);
  const output = () => (logFile === undefined ? buffered : readFileSync(logFile, 'utf8'));

  let exit: ServiceExit | undefined;
  const exited = new Promise<ServiceExit>((resolve) => {
    const end = (how: ServiceExit) => {
      if (exit) return;
      exit = how;
      resolve(how);
    };
    child.once('exit', (code, signal) => end({ code, signal }));
    // spawn itself failed (no such file, say): reported like an exit.
    child.once('error', (error) => {
      take([`cannot start: ${error.message}`]);
      end({ code: null, signal: null });
    });
  });
  const isRunning = () => exit === undefined && child.pid !== undefined;
  const signal = (which: NodeJS.Signals) => {
    if (!isRunning()) return;
    try {
      process.kill(child.pid!, which);
    } catch {
      // already gone between the check and the kill
    }
  };

  return {
    name,
    pid: child.pid ?? -1,
    baseUrl: `http://127.0.0.1:${port}`,
    exited,
    output,
    isRunning,
    async stop(which = 'SIGTERM', { graceMs } = {}) {
      const started = Date.now();
      signal(which);
      const killer = graceMs === undefined ? undefined : setTimeout(() => signal('SIGKILL'), graceMs);
      try {
        return { ...(await exited), ms: Date.now() - started };
      } finally {
        clearTimeout(killer);
      }
    },
  };
}

export interface ServiceProcessOptions {
  port: number;
  healthTimeoutMs?: number;
  logFile?: string;
  yieldCpu?: boolean;
}

/**
 * `launchServiceProcess` with the test secrets (unless `env` gives its own: services refuse to start
 * without OPS_TOKEN) and only PATH of this environment, resolved once GET /health answers 200. The
 * integration global set-up builds the services first.
 */
export async function startServiceProcess(
  name: ServiceName,
  env: Record<string, string>,
  { port, healthTimeoutMs = 20_000, logFile, yieldCpu = false }: ServiceProcessOptions,
): Promise<ServiceProcess> {
  const service = launchServiceProcess({
    service: name,
    port,
    env: { PATH: process.env.PATH ?? '', ...testSecrets, ...env },
    logFile,
    yieldCpu,
  });
  try {
    await waitFor(
      `${name} (pid ${service.pid}) to answer GET /health 200`,
      async () => {
        if (!service.isRunning()) throw new Error(`${name} exited:\n${service.output().slice(-2_000)}`);
        const response = await fetch(`${service.baseUrl}/health`).catch(() => undefined);
        return response?.status === 200;
      },
      { timeoutMs: healthTimeoutMs, intervalMs: 100, failFast: true },
    );
  } catch (error) {
    await service.stop('SIGKILL');
    throw error;
  }
  return service;
}

/** `code 1`, `signal SIGKILL`: how a process ended, for messages. */
export function describeExit({ code, signal }: ServiceExit): string {
  if (signal) return `signal ${signal}`;
  return code === null ? 'failed to start' : `code ${code}`;
}

/**
 * Calls `onLines` with the complete lines of each chunk read (a last line without its newline comes
 * at the end), so a chunk of many lines is handled at once. `\r\n` counts as one line end.
 */
function forEachLine(stream: Readable, onLines: (lines: string[]) => void): void {
  // A UTF-8 character never holds the byte 0x0a, so splitting bytes there never cuts one in two.
  let partial: Buffer | undefined;
  const lineOf = (bytes: Buffer): string => {
    const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
    return bytes.toString('utf8', 0, end);
  };
  stream.on('data', (chunk: Buffer) => {
    const data = partial ? Buffer.concat([partial, chunk]) : chunk;
    partial = undefined;
    const lines: string[] = [];
    let start = 0;
    for (let end = data.indexOf(0x0a); end !== -1; end = data.indexOf(0x0a, start)) {
      lines.push(lineOf(data.subarray(start, end)));
      start = end + 1;
    }
    if (start < data.length) partial = Buffer.from(data.subarray(start));
    if (lines.length > 0) onLines(lines);
  });
  stream.on('end', () => {
    if (partial) onLines([lineOf(partial)]);
    partial = undefined;
  });
}

/**
 * notify-worker and report-worker as their own processes on the test database and vhost, each logging
 * in as its database role: what most end-to-end specs need besides order-api. `env` goes to both.
 */
export async function startWorkerProcesses({
  smtpUrl,
  reportsDir,
  env = {},
}: {
  smtpUrl: string;
  reportsDir: string;
  env?: Record<string, string>;
}): Promise<[notifyWorker: ServiceProcess, reportWorker: ServiceProcess]> {
  // Each as its own RabbitMQ user: order-api accepts a status event only from the worker that owns it.
  const [notify, report] = await Promise.all([
    startServiceProcess(
      'notify-worker',
      {
        RABBITMQ_URL: testRabbitmqUrlAs('notify-worker'),
        ...env,
        DATABASE_URL: testConfig.databaseUrlOf('notify-worker'),
        SMTP_URL: smtpUrl,
      },
      { port: await freePort() },
    ),
    startServiceProcess(
      'report-worker',
      {
        RABBITMQ_URL: testRabbitmqUrlAs('report-worker'),
        ...env,
        DATABASE_URL: testConfig.databaseUrlOf('report-worker'),
        REPORTS_DIR: reportsDir,
      },
      { port: await freePort() },
    ),
  ]);
  return [notify, report];
}
