import { formatCostTable, systemMsPerUnit, type CostColumn, type CostRow } from './cpu-cost-table';

const rows: CostRow[] = [
  { key: 'order-api', system: true },
  { key: 'postgres', system: true },
  { key: 'load generator: firing', system: false },
];
const column: CostColumn = {
  title: 'sale',
  unit: 'request',
  units: 1_000,
  cpuMs: { 'order-api': 500, postgres: 250, 'load generator: firing': 120 },
  peakBytes: { 'order-api': 150 * 2 ** 20 },
};

describe('the CPU cost table', () => {
  it('sums only the system rows per unit of work', () => {
    expect(systemMsPerUnit(column, rows)).toBeCloseTo(0.75);
  });

  it('prints ms per unit and peak MB per process, then the system sum', () => {
    const table = formatCostTable([column], rows);
    expect(table).toMatch(/order-api\s+0\.500\s+150/);
    expect(table).toMatch(/postgres\s+0\.250\s+-/);
    expect(table).toMatch(/load generator: firing\s+0\.120/);
    expect(table).toMatch(/system \(without the load generator\)\s+0\.750/);
    expect(table).toContain('sale: 1,000 requests');
  });
});
