import type { ServiceProcess } from '@shop/testing';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** Small helpers of the workers benchmark: latency figures, plain-text tables, CPU per process, stopping. */

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** The p-th percentile (0-100) of ascending `sorted` values, nearest-rank method. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function percentiles(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : Number.NaN,
  };
}

export const formatNumber = (value: number, digits = 0): string =>
  Number.isFinite(value)
    ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : 'n/a';

/** A plain-text table: left-aligned first column, right-aligned others. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Counts by label, printed as `409×12, 503×3` or `-`. */
export class Tally {
  private readonly counts = new Map<string, number>();

  add(label: string | number, by = 1): void {
    this.counts.set(String(label), (this.counts.get(String(label)) ?? 0) + by);
  }

  toString(): string {
    const parts = [...this.counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}×${n}`);
    return parts.length ? parts.join(', ') : '-';
  }
}

/**
 * Every service process the bench started, so a failure or Ctrl-C stops them all. Stopping is by pid:
 * SIGTERM (the service drains and closes its connections), SIGKILL if it is still there after the grace.
 */
export class StartedProcesses {
  private readonly running = new Set<ServiceProcess>();

  add(service: ServiceProcess): ServiceProcess {
    this.running.add(service);
    return service;
  }

  async stop(service: ServiceProcess, graceMs = 15_000): Promise<void> {
    this.running.delete(service);
    if (!service.isRunning()) return;
    const killer = setTimeout(() => void service.stop('SIGKILL'), graceMs);
    try {
      await service.stop('SIGTERM');
    } finally {
      clearTimeout(killer);
    }
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.running].map((service) => this.stop(service)));
  }
}

// ---------------------------------------------------------------------------------------------
// CPU per process, from /proc (Linux)

interface CpuSnapshot {
  at: number;
  /** utime + stime in clock ticks, by pid, with the command name and start time (which tells a reused pid). */
  processes: Map<number, { command: string; startedAt: string; ticks: number }>;
  /** Main-thread nanoseconds spent runnable but waiting for a core, by pid (/proc/<pid>/schedstat). */
  waits: Map<number, number>;
  machine: { busy: number; steal: number; total: number };
}

export interface CpuWindow {
  /** The snapshots the window runs between (epoch ms), inside the range asked for. */
  from: number;
  to: number;
  seconds: number;
  /** Percent of one core per group (named pids, postgres, rabbitmq, `other:<command>`), busiest first. */
  groups: { group: string; percent: number }[];
  /** CPU seconds each named group used in the window. */
  cpuSeconds: Record<string, number>;
  /** Percent of the time each named pid's main thread (its event loop) was runnable but had no core. */
  waitingForCore: Record<string, number>;
  /** The machine: busy and stolen (hypervisor) percent, 100% = one core. */
  machineBusy: number;
  machineSteal: number;
}

const TICKS_PER_SECOND = 100; // USER_HZ, 100 on every mainstream Linux build
const GROUP_OF_COMMAND: Record<string, string> = { postgres: 'postgres', 'beam.smp': 'rabbitmq' };

/**
 * Samples CPU time of every process every `intervalMs`, so a window picked afterwards (from database
 * timestamps, say) can be read back. Named pids are reported by name, everything else by group.
 */
export class CpuTimeline {
  private readonly names = new Map<number, string>();
  private readonly snapshots: CpuSnapshot[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(named: Record<string, number> = {}) {
    for (const [name, pid] of Object.entries(named)) this.names.set(pid, name);
  }

  name(name: string, pid: number): void {
    this.names.set(pid, name);
  }

  start(intervalMs = 100): void {
    this.snapshots.push(this.snapshot());
    this.timer = setInterval(() => this.snapshots.push(this.snapshot()), intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.snapshots.push(this.snapshot());
  }

  /** CPU between the first snapshot at or after `from` and the last at or before `to` (epoch ms). */
  window(from = -Infinity, to = Infinity): CpuWindow | undefined {
    const first = this.snapshots.find((s) => s.at >= from);
    const last = [...this.snapshots].reverse().find((s) => s.at <= to);
    if (!first || !last || last.at - first.at < 200) return undefined;
    const seconds = (last.at - first.at) / 1000;
    const ticks = new Map<string, number>();
    for (const [pid, { command, startedAt, ticks: now }] of last.processes) {
      const group =
        this.names.get(pid) ??
        GROUP_OF_COMMAND[command] ??
        `other:${command.replace(/^kworker\/.*/, 'kworker')}`;
      const before = first.processes.get(pid);
      // A kernel worker renames itself as it picks up work, so a pid is the same process while its start time is.
      const delta = before && before.startedAt === startedAt ? now - before.ticks : now;
      ticks.set(group, (ticks.get(group) ?? 0) + delta);
    }
    const cpuSeconds = Object.fromEntries(
      [...ticks].map(([group, delta]) => [group, delta / TICKS_PER_SECOND] as const),
    );
    const groups = Object.entries(cpuSeconds)
      .map(([group, used]) => ({ group, percent: (used / seconds) * 100 }))
      .filter(({ group, percent }) => percent >= 0.5 || [...this.names.values()].includes(group))
      .sort((a, b) => b.percent - a.percent);
    const waitingForCore = Object.fromEntries(
      [...last.waits]
        .filter(([pid]) => first.waits.has(pid) && this.names.has(pid))
        .map(([pid, ns]) => [this.names.get(pid)!, ((ns - first.waits.get(pid)!) / 1e9 / seconds) * 100]),
    );
    const cores = cpus().length;
    const share = (delta: number) =>
      (delta / Math.max(1, last.machine.total - first.machine.total)) * cores * 100;
    return {
      from: first.at,
      to: last.at,
      seconds,
      groups,
      cpuSeconds,
      waitingForCore,
      machineBusy: share(last.machine.busy - first.machine.busy),
      machineSteal: share(last.machine.steal - first.machine.steal),
    };
  }

  private snapshot(): CpuSnapshot {
    const processes = new Map<number, { command: string; startedAt: string; ticks: number }>();
    // Every process, not only the named ones: a pid may be named after the window's first snapshot.
    const waits = new Map<number, number>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = readOptional(`/proc/${entry}/stat`);
      if (!stat) continue;
      // "pid (comm) state ...": comm may hold spaces, so split after the last ')'.
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      const schedstat = readOptional(`/proc/${entry}/schedstat`)?.trim().split(' ');
      if (schedstat) waits.set(Number(entry), Number(schedstat[1]));
      processes.set(Number(entry), {
        command: stat.slice(stat.indexOf('(') + 1, close),
        startedAt: fields[19],
        ticks: Number(fields[11]) + Number(fields[12]), // utime, stime
      });
    }
    // cpu  user nice system idle iowait irq softirq steal ...
    const [user, nice, system, idle, iowait, irq, softirq, steal] = (readOptional('/proc/stat') ?? '')
      .split('\n')[0]
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const busy = user + nice + system + irq + softirq;
    return {
      at: Date.now(),
      processes,
      waits,
      machine: { busy, steal, total: busy + steal + idle + iowait },
    };
  }
}

/** `worker 96% (event loop waited for a core 8%), postgres 41%, ...; machine 180% of 200% (steal 2%)`. */
export function describeCpu(window: CpuWindow | undefined): string {
  if (!window) return 'n/a (window too short)';
  // The three busiest processes outside the set-up by name, the rest summed.
  const folded = window.groups.filter(({ group }) => group.startsWith('other:')).slice(3);
  const rest = folded.reduce((sum, { percent }) => sum + percent, 0);
  const groups = [
    ...window.groups.filter((entry) => !folded.includes(entry)),
    ...(rest >= 0.5 ? [{ group: 'other:rest', percent: rest }] : []),
  ].map(({ group, percent }) => {
    const waited = window.waitingForCore[group];
    return `${group} ${percent.toFixed(0)}%${waited === undefined ? '' : ` (waited for a core ${waited.toFixed(0)}%)`}`;
  });
  const steal = window.machineSteal >= 0.5 ? `, steal ${window.machineSteal.toFixed(0)}%` : '';
  return `${groups.join(', ')}; machine ${window.machineBusy.toFixed(0)}% of ${cpus().length * 100}%${steal}`;
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // the process ended, or the kernel does not offer the file
  }
}
