import { formatNumber, formatTable } from '../summary';
import type { CpuWindow } from './cpu-timeline';

/** One scenario's column pair in the cost table: CPU per unit of work and peak resident memory. */
export interface CostColumn {
  /** e.g. `all accepted`. */
  title: string;
  /** The unit of work, singular: `order`, `refusal`, `request`. */
  unit: string;
  /** How many units the window did. */
  units: number;
  /** CPU milliseconds per process name or group, in the window. */
  cpuMs: Record<string, number>;
  /** Peak resident bytes per process name or group, in the window. */
  peakBytes: Record<string, number>;
}

export interface CostRow {
  /** The key in `cpuMs` / `peakBytes`, e.g. `order-api`, `postgres`, `rabbitmq`. */
  key: string;
  /** What the table prints (default: the key). */
  label?: string;
  /** Counted in the `system` sum row (everything but the load generator). */
  system: boolean;
}

/** CPU milliseconds and peaks of a CpuTimeline window, as a CostColumn wants them. */
export function costOf(window: CpuWindow): Pick<CostColumn, 'cpuMs' | 'peakBytes'> {
  return {
    cpuMs: Object.fromEntries(Object.entries(window.cpuSeconds).map(([key, s]) => [key, s * 1000])),
    peakBytes: window.peakResidentBytes,
  };
}

/** The sum of the `system` rows' CPU per unit of one column. */
export function systemMsPerUnit(column: CostColumn, rows: readonly CostRow[]): number {
  const total = rows.filter((row) => row.system).reduce((sum, row) => sum + (column.cpuMs[row.key] ?? 0), 0);
  return total / Math.max(1, column.units);
}

/**
 * `process | <scenario> ms/<unit> | MB | ...`, one row per process, then the system's sum (without
 * the load generator). Memory of a group (postgres, rabbitmq) counts shared pages once.
 */
export function formatCostTable(columns: readonly CostColumn[], rows: readonly CostRow[]): string {
  const header = ['process', ...columns.flatMap((c) => [`${c.title}: ms/${c.unit}`, 'peak MB'])];
  const ms = (column: CostColumn, key: string) =>
    key in column.cpuMs ? formatNumber(column.cpuMs[key] / Math.max(1, column.units), 3) : '-';
  const mb = (column: CostColumn, key: string) =>
    key in column.peakBytes ? formatNumber(column.peakBytes[key] / 2 ** 20) : '-';
  const body = rows.map((row) => [
    row.label ?? row.key,
    ...columns.flatMap((c) => [ms(c, row.key), mb(c, row.key)]),
  ]);
  body.push([
    'system (without the load generator)',
    ...columns.flatMap((c) => [formatNumber(systemMsPerUnit(c, rows), 3), '']),
  ]);
  const units = columns.map((c) => `${c.title}: ${formatNumber(c.units)} ${c.unit}s`).join('; ');
  return `${formatTable(header, body)}\n(${units})`;
}
