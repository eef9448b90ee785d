import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Helpers for the order-api benchmarks: latency figures, a plain-text table, CPU sampling, a free port. */

export interface LatencySummary {
  p50: number;
  p99: number;
  count: number;
}

/** The p-th percentile (0-100) of ascending `sorted` values, nearest-rank method. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function summariseLatencies(latenciesMs: number[]): LatencySummary {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), count: sorted.length };
}

/** Counts of anything keyed by a label (HTTP status, SQLSTATE), printed as `409×12, 503×3` or `-`. */
export class Tally {
  private readonly counts = new Map<string, number>();

  add(label: string | number, by = 1): void {
    const key = String(label);
    this.counts.set(key, (this.counts.get(key) ?? 0) + by);
  }

  get(label: string | number): number {
    return this.counts.get(String(label)) ?? 0;
  }

  entries(): [string, number][] {
    return [...this.counts];
  }

  without(label: string | number): Tally {
    const rest = new Tally();
    for (const [key, count] of this.counts) if (key !== String(label)) rest.add(key, count);
    return rest;
  }

  toString(): string {
    const parts = [...this.counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}×${n}`);
    return parts.length ? parts.join(', ') : '-';
  }
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
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns true; false when `timeoutMs` passes first. */
export async function pollUntil(
  probe: () => Promise<boolean>,
  { timeoutMs, intervalMs = 200 }: { timeoutMs: number; intervalMs?: number },
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await sleep(intervalMs);
  }
}

/** `preferred` when nothing listens on it, otherwise a port the kernel picks. */
export async function freePort(preferred: number): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<number | undefined>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(undefined));
      server.listen(port, '0.0.0.0', () => {
        const { port: bound } = server.address() as { port: number };
        server.close(() => resolve(bound));
      });
    });
  return (await tryListen(preferred)) ?? (await tryListen(0)) ?? preferred;
}

export interface CpuReport {
  /** Percent of one core used per process group, busiest first. */
  groups: { group: string; percentOfCore: number }[];
  /** Percent of the time the main thread of each named pid was runnable but waiting for a core. */
  waitingForCore: Record<string, number>;
  /** Percent of the time some task waited for a core (Linux PSI), when the kernel reports it. */
  pressure: number | undefined;
}

/**
 * CPU time per process group from /proc (Linux), to see which process saturates the cores during a
 * run. Groups: the given pids by name, and every other process by its command name (postgres, beam.smp).
 * For the named pids it also reads how long their main thread (Node's event loop) waited for a core.
 */
export class CpuSampler {
  private static readonly TICKS_PER_SECOND = 100; // USER_HZ, 100 on every mainstream Linux build
  private startTicks = new Map<string, number>();
  private startWaits = new Map<string, number>();
  private startPressure: number | undefined;
  private startedAt = 0;

  constructor(private readonly namedPids: Record<string, number>) {}

  begin(): void {
    this.startTicks = this.ticksByGroup();
    this.startWaits = this.runQueueWaits();
    this.startPressure = readPressureMicros();
    this.startedAt = performance.now();
  }

  end(): CpuReport {
    const elapsedMs = performance.now() - this.startedAt;
    const percent = (delta: number, unitsPerMs: number) => (delta / unitsPerMs / elapsedMs) * 100;
    const groups = [...this.ticksByGroup()]
      .map(([group, ticks]) => ({
        group,
        percentOfCore: percent(ticks - (this.startTicks.get(group) ?? 0), CpuSampler.TICKS_PER_SECOND / 1000),
      }))
      .filter((entry) => entry.percentOfCore >= 1)
      .sort((a, b) => b.percentOfCore - a.percentOfCore);
    const waitingForCore = Object.fromEntries(
      [...this.runQueueWaits()].map(([name, ns]) => [
        name,
        percent(ns - (this.startWaits.get(name) ?? ns), 1e6),
      ]),
    );
    const pressureNow = readPressureMicros();
    const pressure =
      pressureNow === undefined || this.startPressure === undefined
        ? undefined
        : percent(pressureNow - this.startPressure, 1000);
    return { groups, waitingForCore, pressure };
  }

  private ticksByGroup(): Map<string, number> {
    const groupOfPid = new Map(Object.entries(this.namedPids).map(([name, pid]) => [String(pid), name]));
    const ticks = new Map<string, number>();
    for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
      const stat = readProcStat(pid);
      if (!stat) continue;
      const group = groupOfPid.get(pid) ?? stat.command;
      ticks.set(group, (ticks.get(group) ?? 0) + stat.ticks);
    }
    return ticks;
  }

  /** Nanoseconds each named pid's main thread spent runnable on a run queue (/proc/<pid>/schedstat). */
  private runQueueWaits(): Map<string, number> {
    const waits = new Map<string, number>();
    for (const [name, pid] of Object.entries(this.namedPids)) {
      const fields = readOptional(`/proc/${pid}/schedstat`)?.trim().split(' ');
      if (fields) waits.set(name, Number(fields[1]));
    }
    return waits;
  }
}

function readProcStat(pid: string): { command: string; ticks: number } | undefined {
  const stat = readOptional(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // "pid (comm) state ..." — comm may hold spaces, so split after the last ')'.
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, 11 and 12 after "pid (comm)".
  return {
    command: stat.slice(stat.indexOf('(') + 1, close),
    ticks: Number(fields[11]) + Number(fields[12]),
  };
}

/** Total microseconds some task waited for a CPU, from /proc/pressure/cpu ("some ... total=N"). */
function readPressureMicros(): number | undefined {
  const total = /^some .*total=(\d+)/m.exec(readOptional('/proc/pressure/cpu') ?? '')?.[1];
  return total === undefined ? undefined : Number(total);
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // the process ended, or the kernel does not offer the file
  }
}
