import { SERVICE_NODE_FLAGS, yieldCpuAsConfigured } from '@shop/config';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { testRabbitmqUrlAs } from './broker-admin';
import { freePort } from './free-port';
import { testConfig, testSecrets } from './test-config';
import { waitFor } from './wait-for';

const ROOT = join(__dirname, '../../..');

export interface ServiceProcess {
  name: string;
  pid: number;
  baseUrl: string;
  /** Everything the process printed so far (JSON log lines). */
  output(): string;
  isRunning(): boolean;
  /** Sends `signal` and resolves with the exit code or signal once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

export interface ServiceProcessOptions {
  port: number;
  healthTimeoutMs?: number;
  /**
   * Where the process writes its output, instead of a pipe this process reads: benches measure the
   * CPU of the process that drives the load, which must not spend it on the services' log lines.
   */
  logFile?: string;
  /** Run at the priority SERVICE_NICENESS gives the service, as npm start does (benches); specs do not. */
  yieldCpu?: boolean;
}

/**
 * Runs a built service (`services/<name>/dist/main.js`) as its own process, for specs that need real
 * process behaviour (several workers on one queue, a crash, a signal, a dropped connection) and for the
 * benches and drills. The integration global set-up builds the services first. Resolves once GET
 * /health answers 200.
 */
export async function startServiceProcess(
  name:
    'order-api' | 'notify-worker' | 'report-worker' | 'log-aggregator' | 'dashboard' | 'identity' | 'payment',
  env: Record<string, string>,
  { port, healthTimeoutMs = 20_000, logFile, yieldCpu = false }: ServiceProcessOptions,
): Promise<ServiceProcess> {
  let buffered = '';
  const fd = logFile === undefined ? undefined : openSync(logFile, 'a');
  // SERVICE_CPU_PROFILE_DIR=<folder>: every service writes a V8 CPU profile there when it exits (benches).
  const profileDir = process.env.SERVICE_CPU_PROFILE_DIR;
  const nodeArgs = [
    ...SERVICE_NODE_FLAGS,
    ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
  ];
  const child: ChildProcess = spawn(
    process.execPath,
    [...nodeArgs, join(ROOT, 'services', name, 'dist', 'main.js')],
    {
      cwd: ROOT,
      // The test secrets unless the caller gives its own: services refuse to start without OPS_TOKEN.
      env: { PATH: process.env.PATH ?? '', ...testSecrets, ...env, PORT: String(port) },
      stdio: fd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', fd, fd],
    },
  );
  if (fd !== undefined) closeSync(fd); // the child holds its own copy
  if (yieldCpu) yieldCpuAsConfigured(name, child.pid);
  child.stdout?.on('data', (chunk: Buffer) => (buffered += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (buffered += chunk.toString()));
  const output = () => (logFile === undefined ? buffered : readFileSync(logFile, 'utf8'));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let running = true;
  void exited.then(() => (running = false));

  const baseUrl = `http://127.0.0.1:${port}`;
  const service: ServiceProcess = {
    name,
    pid: child.pid ?? -1,
    baseUrl,
    output,
    isRunning: () => running,
    stop: async (signal = 'SIGTERM') => {
      const started = Date.now();
      if (running) child.kill(signal);
      const result = await exited;
      return { ...result, ms: Date.now() - started };
    },
  };
  try {
    await waitFor(
      `${name} (pid ${child.pid}) to answer GET /health 200`,
      async () => {
        if (!running) throw new Error(`${name} exited:\n${output().slice(-2_000)}`);
        const response = await fetch(`${baseUrl}/health`).catch(() => undefined);
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
