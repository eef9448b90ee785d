import { fairnessOf, type Fairness } from './fairness';
import type { LatencySummary, RequestOutcome, SaleAdmission } from './flash-sale.results';
import { summarise } from './stats';

/** An order was made for this attempt: a 201, or a ticket that ended placed. */
export const isAccepted = (o: RequestOutcome): boolean => o.status === 201 || o.ticketStatus === 'placed';

/** When the attempt's outcome was final: its answer, or when its ticket was decided (else seen to end). */
export function finalAtMs(o: RequestOutcome): number | undefined {
  if (o.status !== 202) return o.finishedAtMs;
  if (o.ticketStatus !== 'placed' && o.ticketStatus !== 'refused') return undefined;
  return o.ticketDecidedAtMs ?? o.ticketEndedAtMs;
}

/** The code an attempt was finally refused with, or undefined when it was not refused (re-sends left out). */
export function refusalOf(o: RequestOutcome): string | undefined {
  if (o.resend || isAccepted(o) || o.status === 200) return undefined;
  if (o.status === 202) return o.ticketStatus === 'refused' ? (o.code ?? 'UNKNOWN') : 'TICKET_LOST';
  return o.code ?? `HTTP_${o.status}`;
}

export function refusalsByCode(outcomes: readonly RequestOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) {
    const code = refusalOf(outcome);
    if (code) counts[code] = (counts[code] ?? 0) + 1;
  }
  return counts;
}

/** Time from sending to the final outcome of every attempt that has one (re-sends left out). */
export function finalOutcomeLatency(outcomes: readonly RequestOutcome[]): LatencySummary {
  return summarise(
    outcomes.flatMap((o) => {
      const at = finalAtMs(o);
      return o.resend || at === undefined || o.sentAtMs === undefined ? [] : [at - o.sentAtMs];
    }),
  );
}

/**
 * Requests sent within this many milliseconds of each other count as arriving together (a tie, never an
 * inversion): the spike's 200 connections send their first requests within a few milliseconds, while
 * their TCP connections are still being set up, so which of those reaches the server first is the
 * network's doing, not the server's; counted strictly, that first burst alone made 8.55 % of a sale's
 * pairs look inverted in one run and 0.06 % in another.
 */
export const ARRIVAL_RESOLUTION_MS = 10;

/**
 * Arrival (when the request was sent, to ARRIVAL_RESOLUTION_MS) against acceptance among the accepted
 * orders, each order once: direct, when its 201 arrived; queued, the order's createdAt, ties ranked by
 * when the client saw `placed` (the client's clock when a placed order lacks createdAt).
 */
export function fairnessOfOutcomes(
  outcomes: readonly RequestOutcome[],
  admission: SaleAdmission | undefined,
): Fairness {
  const seen = new Set<string>();
  const accepted = outcomes.filter((o) => {
    if (!isAccepted(o) || !o.orderId || o.sentAtMs === undefined || seen.has(o.orderId)) return false;
    seen.add(o.orderId);
    return true;
  });
  const byCreation = admission === 'queued' && accepted.every((o) => o.createdAt);
  return fairnessOf(
    accepted.map((o) => ({
      arrivedAtMs: Math.floor(o.sentAtMs! / ARRIVAL_RESOLUTION_MS),
      acceptedAtMs: byCreation && o.createdAt ? Date.parse(o.createdAt) : (finalAtMs(o) ?? o.finishedAtMs),
      acceptedTieBreak: finalAtMs(o),
    })),
  );
}

/** Distinct tickets issued and where they ended (a ticket two outcomes share counts once). */
export function ticketFigures(outcomes: readonly RequestOutcome[]): {
  issued: number;
  placed: number;
  refused: number;
  lost: number;
} {
  const ended = new Map<string, RequestOutcome['ticketStatus']>();
  for (const o of outcomes) if (o.ticket && !ended.has(o.ticket)) ended.set(o.ticket, o.ticketStatus);
  const count = (status: RequestOutcome['ticketStatus']) =>
    [...ended.values()].filter((s) => (s ?? 'lost') === status).length;
  return { issued: ended.size, placed: count('placed'), refused: count('refused'), lost: count('lost') };
}
