import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/**
 * CPU time and memory per process from /proc (Linux), for benches and the load test's `--cpu`.
 *
 * Named pids are reported by name. Every `postgres` process is summed as `postgres` (backends,
 * checkpointer, WAL writer, ...), and the postmaster's cutime/cstime adds the backends that exited in
 * the window; `beam.smp` and its children (erl_child_setup, inet_gethost) are `rabbitmq`. Any other
 * process is `other:<command>`. Snapshots are taken every `intervalMs` and at marks, so a window can be
 * picked afterwards, and each snapshot samples resident memory so a window knows its peak.
 */

/** USER_HZ, the unit of /proc/<pid>/stat times (100 on every mainstream Linux build). */
const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();
const PAGE_BYTES = 4096;
const GROUP_OF_COMMAND: Record<string, string> = { postgres: 'postgres', 'beam.smp': 'rabbitmq' };
/** Groups whose exited children are added from the parent's cutime/cstime. */
const GROUPS_WITH_CHILDREN = new Set(['postgres', 'rabbitmq']);

interface ProcessSample {
  command: string;
  parent: number;
  /** Start time in ticks since boot: a reused pid is a different process. */
  startedAt: string;
  /** utime + stime. */
  ticks: number;
  /** cutime + cstime: children that ended and were waited for. */
  childTicks: number;
}

interface Snapshot {
  at: number;
  label?: string;
  processes: Map<number, ProcessSample>;
  /** Main-thread nanoseconds spent runnable but waiting for a core, by named pid (/proc/<pid>/schedstat). */
  waits: Map<number, number>;
  /** Resident bytes per name or group (a group: private pages summed, the largest shared set once). */
  residentBytes: Map<string, number>;
  machine: { busy: number; steal: number; total: number };
  /** CPU microseconds this process spent taking snapshots so far (the meter's own cost). */
  meterMicros: number;
}

export interface CpuWindow {
  /** The snapshots the window runs between (epoch ms). */
  from: number;
  to: number;
  seconds: number;
  /** CPU seconds used per name or group in the window. */
  cpuSeconds: Record<string, number>;
  /** Percent of one core per name or group, busiest first (groups under 0.5% left out). */
  groups: { group: string; percent: number }[];
  /** Percent of the window each named pid's event loop was runnable but waiting for a core. */
  waitingForCore: Record<string, number>;
  /** Highest resident memory per name or group seen in the window's snapshots, in bytes. */
  peakResidentBytes: Record<string, number>;
  /** Percent of all cores busy / stolen by the hypervisor, 100% = one core. */
  machineBusy: number;
  machineSteal: number;
  /** CPU seconds the meter itself cost this process in the window (included in its own figure). */
  meterSeconds: number;
}

export class CpuTimeline {
  private readonly names = new Map<number, string>();
  private readonly snapshots: Snapshot[] = [];
  private timer: NodeJS.Timeout | undefined;
  private meterMicros = 0;

  constructor(named: Record<string, number> = {}) {
    for (const [name, pid] of Object.entries(named)) this.name(name, pid);
  }

  /** Reports `pid` as `name`; two names for one pid (a supervisor hosting the mail catcher) are joined. */
  name(name: string, pid: number): void {
    const existing = this.names.get(pid);
    this.names.set(pid, existing && existing !== name ? `${existing} + ${name}` : name);
  }

  /** The names given so far, in the order given. */
  get namedProcesses(): string[] {
    return [...new Set(this.names.values())];
  }

  start(intervalMs = 200): void {
    this.snapshots.push(this.snapshot());
    this.timer = setInterval(() => this.snapshots.push(this.snapshot()), intervalMs);
    this.timer.unref();
  }

  /** Takes a snapshot now under `label`, for a window between two marks. */
  mark(label: string): void {
    this.snapshots.push({ ...this.snapshot(), label });
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.snapshots.push(this.snapshot());
  }

  /** Between two marks. */
  between(fromLabel: string, toLabel: string): CpuWindow | undefined {
    const first = this.snapshots.find((s) => s.label === fromLabel);
    const last = this.snapshots.find((s) => s.label === toLabel);
    return first && last ? this.windowOf(first, last) : undefined;
  }

  /** Between the first snapshot at or after `from` and the last at or before `to` (epoch ms). */
  window(from = -Infinity, to = Infinity): CpuWindow | undefined {
    const first = this.snapshots.find((s) => s.at >= from);
    const last = [...this.snapshots].reverse().find((s) => s.at <= to);
    if (!first || !last || last.at - first.at < 200) return undefined;
    return this.windowOf(first, last);
  }

  private windowOf(first: Snapshot, last: Snapshot): CpuWindow {
    const seconds = Math.max(1e-3, (last.at - first.at) / 1000);
    const ticks = new Map<string, number>();
    const add = (group: string, delta: number) => ticks.set(group, (ticks.get(group) ?? 0) + delta);
    const groupOf = (pid: number, sample: ProcessSample) =>
      this.names.get(pid) ??
      GROUP_OF_COMMAND[sample.command] ??
      this.groupOfParent(last.processes, sample) ??
      `other:${sample.command.replace(/^kworker\/.*/, 'kworker')}`;
    for (const [pid, now] of last.processes) {
      const group = groupOf(pid, now);
      const before = first.processes.get(pid);
      const same = before !== undefined && before.startedAt === now.startedAt;
      add(group, same ? now.ticks - before.ticks : now.ticks);
      // Children that ended in the window: their whole life lands in the parent's cutime/cstime.
      if (same && GROUPS_WITH_CHILDREN.has(group)) add(group, now.childTicks - before.childTicks);
    }
    for (const [pid, before] of first.processes) {
      const now = last.processes.get(pid);
      if (now && now.startedAt === before.startedAt) continue;
      const group = groupOf(pid, before);
      // Ended in the window: its parent's cutime counted its ticks before the window too.
      if (GROUPS_WITH_CHILDREN.has(group) && this.groupOfParent(first.processes, before) === group)
        add(group, -before.ticks);
    }
    const cpuSeconds = Object.fromEntries(
      [...ticks].map(([group, delta]) => [group, Math.max(0, delta) / TICKS_PER_SECOND] as const),
    );
    const named = new Set(this.names.values());
    const groups = Object.entries(cpuSeconds)
      .map(([group, used]) => ({ group, percent: (used / seconds) * 100 }))
      .filter(({ group, percent }) => percent >= 0.5 || named.has(group))
      .sort((a, b) => b.percent - a.percent);
    const waitingForCore = Object.fromEntries(
      [...last.waits]
        .filter(([pid]) => first.waits.has(pid) && this.names.has(pid))
        .map(([pid, ns]) => [this.names.get(pid)!, ((ns - first.waits.get(pid)!) / 1e9 / seconds) * 100]),
    );
    const peakResidentBytes: Record<string, number> = {};
    for (const snapshot of this.snapshots) {
      if (snapshot.at < first.at || snapshot.at > last.at) continue;
      for (const [group, bytes] of snapshot.residentBytes)
        peakResidentBytes[group] = Math.max(peakResidentBytes[group] ?? 0, bytes);
    }
    const share = (delta: number) =>
      (delta / Math.max(1, last.machine.total - first.machine.total)) * cpus().length * 100;
    return {
      from: first.at,
      to: last.at,
      seconds,
      cpuSeconds,
      groups,
      waitingForCore,
      peakResidentBytes,
      machineBusy: share(last.machine.busy - first.machine.busy),
      machineSteal: share(last.machine.steal - first.machine.steal),
      meterSeconds: (last.meterMicros - first.meterMicros) / 1e6,
    };
  }

  /** `rabbitmq` for erl_child_setup and the inet_gethost processes it starts. */
  private groupOfParent(processes: Map<number, ProcessSample>, sample: ProcessSample): string | undefined {
    for (let parent = processes.get(sample.parent), depth = 0; parent && depth < 3; depth++) {
      const group = GROUP_OF_COMMAND[parent.command];
      if (group) return group;
      parent = processes.get(parent.parent);
    }
    return undefined;
  }

  private snapshot(): Snapshot {
    const started = process.cpuUsage();
    const snapshot = this.read();
    const used = process.cpuUsage(started);
    this.meterMicros += used.user + used.system;
    return { ...snapshot, meterMicros: this.meterMicros };
  }

  private read(): Omit<Snapshot, 'meterMicros'> {
    const processes = new Map<number, ProcessSample>();
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid)) continue;
      const stat = readOptional(`/proc/${entry}/stat`);
      if (!stat) continue;
      // "pid (comm) state ppid ...": comm may hold spaces, so split after the last ')'.
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      processes.set(pid, {
        command: stat.slice(stat.indexOf('(') + 1, close),
        parent: Number(fields[1]),
        startedAt: fields[19],
        ticks: Number(fields[11]) + Number(fields[12]), // utime, stime (fields 14, 15 of the line)
        childTicks: Number(fields[13]) + Number(fields[14]), // cutime, cstime
      });
    }
    const waits = new Map<number, number>();
    const memory = new Map<string, { private: number; largestShared: number }>();
    for (const [pid, sample] of processes) {
      const name =
        this.names.get(pid) ?? GROUP_OF_COMMAND[sample.command] ?? this.groupOfParent(processes, sample);
      if (!name) continue;
      if (this.names.has(pid)) {
        const schedstat = readOptional(`/proc/${pid}/schedstat`)?.split(' ');
        if (schedstat) waits.set(pid, Number(schedstat[1]));
      }
      // statm: size resident shared ... in pages; shared = file-backed and shared memory.
      const statm = readOptional(`/proc/${pid}/statm`)?.split(' ');
      if (!statm) continue;
      const resident = Number(statm[1]) * PAGE_BYTES;
      const shared = Number(statm[2]) * PAGE_BYTES;
      const entry = memory.get(name) ?? { private: 0, largestShared: 0 };
      entry.private += resident - shared;
      entry.largestShared = Math.max(entry.largestShared, shared);
      memory.set(name, entry);
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
      residentBytes: new Map([...memory].map(([name, m]) => [name, m.private + m.largestShared])),
      machine: { busy, steal, total: busy + steal + idle + iowait },
    };
  }
}

/** `worker 96% (waited for a core 8%), postgres 41%, ...; machine 180% of 200% (steal 2%)`. */
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
