import type { LogRecordV1 } from '@shop/contracts';
import { RecentLogsStore } from './recent-logs.store';

const record = (overrides: Partial<LogRecordV1>): LogRecordV1 => ({
  time: '2026-11-23T10:00:00.000Z',
  service: 'order-api',
  level: 'info',
  message: 'm',
  ...overrides,
});

describe('RecentLogsStore', () => {
  it('answers newest first by record time, whatever the arrival order, up to the limit', () => {
    const store = new RecentLogsStore(10);
    store.add(record({ message: 'second', time: '2026-11-23T10:00:02Z' }));
    store.add(record({ message: 'first', time: '2026-11-23T10:00:01Z' }));
    store.add(record({ message: 'third', time: '2026-11-23T12:00:03+02:00' }));
    store.add(record({ message: 'third too (arrived later)', time: '2026-11-23T10:00:03Z' }));
    expect(store.query({ limit: 10 }).map((r) => r.message)).toEqual([
      'third too (arrived later)',
      'third',
      'second',
      'first',
    ]);
    expect(store.query({ limit: 2 }).map((r) => r.message)).toEqual(['third too (arrived later)', 'third']);
  });

  it('filters by service, level, correlation id and since, all together', () => {
    const store = new RecentLogsStore(10);
    store.add(record({ message: 'a', correlationId: 'o1', time: '2026-11-23T10:00:01Z' }));
    store.add(record({ message: 'b', correlationId: 'o1', level: 'error', time: '2026-11-23T10:00:02Z' }));
    store.add(
      record({ message: 'c', correlationId: 'o1', service: 'notify-worker', time: '2026-11-23T10:00:03Z' }),
    );
    store.add(
      record({ message: 'd', correlationId: 'o2', orderId: 'order-2', time: '2026-11-23T10:00:04Z' }),
    );
    const messages = (filter: Parameters<RecentLogsStore['query']>[0]) =>
      store.query(filter).map((r) => r.message);
    expect(messages({ limit: 10, correlationId: 'o1' })).toEqual(['c', 'b', 'a']);
    expect(messages({ limit: 10, service: 'order-api', correlationId: 'o1' })).toEqual(['b', 'a']);
    expect(messages({ limit: 10, level: 'error' })).toEqual(['b']);
    expect(messages({ limit: 10, sinceMs: Date.parse('2026-11-23T10:00:02Z') })).toEqual(['d', 'c', 'b']);
    expect(messages({ limit: 10, service: 'report-worker' })).toEqual([]);
    expect(messages({ limit: 10, orderId: 'order-2' })).toEqual(['d']);
  });

  it('forgets the oldest records beyond its capacity but keeps counting everything', () => {
    const store = new RecentLogsStore(3);
    for (let n = 1; n <= 5; n++) store.add(record({ message: `m${n}`, time: `2026-11-23T10:00:0${n}Z` }));
    store.add(record({ service: 'notify-worker', level: 'error', time: '2026-11-23T09:00:00Z' }));
    expect(store.query({ limit: 10 }).map((r) => r.message)).toEqual(['m5', 'm4', 'm']);
    expect(store.size).toBe(3);
    expect(store.stats()).toMatchObject({
      total: 6,
      byService: { 'order-api': { info: 5 }, 'notify-worker': { error: 1 } },
      byLevel: { info: 5, error: 1 },
      recent: { held: 3, capacity: 3 },
    });
  });
});
