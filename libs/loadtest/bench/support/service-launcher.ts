import { freePort, startServiceProcess, type ServiceProcess } from '@shop/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServiceName } from './tool-environment';

export interface LaunchOptions {
  /** A port for PORT (/health); default: a free one. */
  port?: number;
  healthTimeoutMs?: number;
}

/**
 * The one launcher of the benches and drills: starts built services as their own processes (their
 * output to a file, so the launching process spends no CPU on their log lines), remembers them, and
 * stops them by pid: SIGTERM (the service drains and closes its connections), SIGKILL after the grace.
 */
export class ServiceLauncher {
  private readonly running = new Set<ServiceProcess>();
  private readonly starting = new Set<Promise<unknown>>();
  private readonly logDir = mkdtempSync(join(tmpdir(), 'loadtest-service-logs-'));
  private started = 0;

  async start(
    name: ServiceName,
    env: Record<string, string>,
    { port, healthTimeoutMs = 30_000 }: LaunchOptions = {},
  ): Promise<ServiceProcess> {
    const logFile = join(this.logDir, `${name}-${++this.started}.log`);
    const starting = freePort().then((free) =>
      // At npm start's priorities: the background services yield the CPU to order-api.
      startServiceProcess(name, env, { port: port ?? free, healthTimeoutMs, logFile, yieldCpu: true }),
    );
    this.starting.add(starting);
    try {
      const service = await starting;
      this.running.add(service);
      return service;
    } finally {
      this.starting.delete(starting);
    }
  }

  async stop(service: ServiceProcess, { graceMs = 15_000, signal = 'SIGTERM' as NodeJS.Signals } = {}) {
    this.running.delete(service);
    if (!service.isRunning()) return { code: null, signal: null, ms: 0 };
    return service.stop(signal, { graceMs });
  }

  /** Stops every service still running (after the ones still starting) and removes their log files. */
  async stopAll(): Promise<void> {
    await Promise.allSettled([...this.starting]);
    await Promise.all([...this.running].map((service) => this.stop(service)));
    rmSync(this.logDir, { recursive: true, force: true });
  }
}

/** Lines of `output` at warn level or above, counted by level: `error×2, warn×5` or `-`. */
export function problemsIn(output: string): string {
  const counts = new Map<string, number>();
  for (const match of output.matchAll(/"level":"(warn|error|fatal)"/g))
    counts.set(match[1], (counts.get(match[1]) ?? 0) + 1);
  return [...counts].map(([level, n]) => `${level}×${n}`).join(', ') || '-';
}
