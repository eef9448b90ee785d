import type { RequestOutcome } from './flash-sale.results';
import {
  ARRIVAL_RESOLUTION_MS,
  fairnessOfOutcomes,
  finalOutcomeLatency,
  refusalsByCode,
  ticketFigures,
} from './sale-figures';

const attempt = (overrides: Partial<RequestOutcome>): RequestOutcome => ({
  idempotencyKey: `key-${Math.random()}`,
  resend: false,
  quantity: 1,
  status: 201,
  latencyMs: 5,
  finishedAtMs: 10,
  sentAtMs: 5,
  ...overrides,
});

describe('sale figures', () => {
  const queued = [
    attempt({
      status: 202,
      ticket: 't1',
      ticketStatus: 'placed',
      orderId: 'o1',
      sentAtMs: 0,
      finishedAtMs: 4,
      ticketEndedAtMs: 300,
      createdAt: '2026-12-07T10:00:00.200Z',
    }),
    attempt({
      status: 202,
      ticket: 't1',
      resend: true,
      ticketStatus: 'placed',
      orderId: 'o1',
      sentAtMs: 1,
      ticketEndedAtMs: 310,
    }),
    attempt({
      status: 202,
      ticket: 't2',
      ticketStatus: 'placed',
      orderId: 'o2',
      sentAtMs: 2,
      finishedAtMs: 6,
      ticketEndedAtMs: 280,
      createdAt: '2026-12-07T10:00:00.100Z',
    }),
    attempt({
      status: 202,
      ticket: 't3',
      ticketStatus: 'refused',
      code: 'OUT_OF_STOCK',
      sentAtMs: 3,
      ticketEndedAtMs: 903,
    }),
    attempt({ status: 202, ticket: 't4', ticketStatus: 'lost', sentAtMs: 4 }),
    attempt({ status: 409, code: 'SALE_NOT_OPEN', early: true, sentAtMs: -100, finishedAtMs: -98 }),
    attempt({ status: 503, code: 'WAITING_ROOM_FULL', sentAtMs: 5, finishedAtMs: 7 }),
  ];

  it('counts refusals by their final code, a lost ticket as TICKET_LOST, re-sends left out', () => {
    expect(refusalsByCode(queued)).toEqual({
      OUT_OF_STOCK: 1,
      TICKET_LOST: 1,
      SALE_NOT_OPEN: 1,
      WAITING_ROOM_FULL: 1,
    });
  });

  it('times a ticket until order-api decided it when the run could read that, not until a poll saw it', () => {
    const decided = queued.map((o) => (o.ticket === 't3' ? { ...o, ticketDecidedAtMs: 43 } : o));
    expect(finalOutcomeLatency(decided).max).toBeLessThan(finalOutcomeLatency(queued).max);
    expect(finalOutcomeLatency(decided)).toMatchObject({ count: 5, max: 300 });
  });

  it('times a ticket until the client saw it end, an answer until it arrived', () => {
    expect(finalOutcomeLatency(queued)).toMatchObject({ count: 5, max: 900, p50: 278 });
  });

  it('counts each ticket once', () => {
    expect(ticketFigures(queued)).toEqual({ issued: 4, placed: 2, refused: 1, lost: 1 });
  });

  it('queued: ranks acceptance by the orders createdAt; direct: by the 201s arrival', () => {
    const spaced = queued.map((o) => ({ ...o, sentAtMs: o.sentAtMs! * ARRIVAL_RESOLUTION_MS }));
    expect(fairnessOfOutcomes(spaced, 'queued')).toMatchObject({ orders: 2, inversions: 1, kendallTau: -1 });
    const direct = [
      attempt({ orderId: 'a', sentAtMs: 0, finishedAtMs: 9 }),
      attempt({ orderId: 'b', sentAtMs: 1, finishedAtMs: 8 }),
      attempt({ orderId: 'c', sentAtMs: 2, finishedAtMs: 10 }),
    ];
    expect(fairnessOfOutcomes(direct, 'direct')).toMatchObject({ orders: 3, pairs: 3, inversions: 0 });
    // Sent further apart than ARRIVAL_RESOLUTION_MS, the same answers are an inversion.
    const apart = direct.map((o, i) => ({ ...o, sentAtMs: i * ARRIVAL_RESOLUTION_MS }));
    expect(fairnessOfOutcomes(apart, 'direct')).toMatchObject({ orders: 3, pairs: 3, inversions: 1 });
  });
});
