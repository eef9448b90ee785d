import { Inject, Injectable } from '@nestjs/common';
import { REFUND_REASONS, type RefundReason } from '@shop/contracts';
import {
  eachAloneIfBatchFails,
  GroupCommit,
  isStatementError,
  type ItemResult,
  PG_POOL,
  queryKeepingConnection,
} from '@shop/db';
import type { Pool } from 'pg';
import { z } from 'zod';

export const PAYMENT_STATUSES = [
  'charging',
  'succeeded',
  'declined',
  'timed_out',
  'already_paid',
  'refunded',
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/** How a charge attempt ended, as recorded. */
export type ChargeSettlement = 'succeeded' | 'declined' | 'timed_out';

const PaymentRow = z.object({
  payment_id: z.string(),
  order_id: z.string(),
  amount_cents: z.number().int(),
  currency: z.string().length(3),
  card_last4: z.string().length(4),
  status: z.enum(PAYMENT_STATUSES),
  provider_reference: z.string().nullable(),
  created_at: z.date(),
  settled_at: z.date().nullable(),
  refunded_at: z.date().nullable(),
  refund_reason: z.enum(REFUND_REASONS).nullable(),
});

/** One payment id's record: what was asked, how the provider answered, its refund. */
export interface Payment {
  paymentId: string;
  orderId: string;
  amountCents: number;
  currency: string;
  cardLast4: string;
  status: PaymentStatus;
  providerReference: string | null;
  createdAt: Date;
  settledAt: Date | null;
  refundedAt: Date | null;
  refundReason: RefundReason | null;
}

export interface NewCharge {
  paymentId: string;
  orderId: string;
  amountCents: number;
  currency: string;
  cardLast4: string;
}

/**
 * What a charge request finds:
 * - `claimed`: this handler charges now (a new payment id, or one whose earlier claim ran out);
 * - `settled`: the payment id was answered before: its recorded result stands;
 * - `busy`: the payment id, or another one of the same order, is being charged right now;
 * - `refused`: the order was charged under another payment id: this one is recorded as already_paid
 *   (`recordedNow` unless an earlier delivery recorded it).
 */
export type ChargeClaim =
  | { kind: 'claimed'; payment: Payment }
  | { kind: 'settled'; payment: Payment }
  | { kind: 'busy'; reason: string }
  | { kind: 'refused'; payment: Payment; recordedNow: boolean };

/** Most claims, and most settlements, one statement takes. */
const MAX_PER_STATEMENT = 100;

interface Settlement {
  paymentId: string;
  status: ChargeSettlement;
  providerReference: string | null;
}

const COLUMNS = `payment_id::text, order_id::text, amount_cents, currency, card_last4, status,
  provider_reference, created_at, settled_at, refunded_at, refund_reason`;

/** COLUMNS of the updated row where the unnested settlements have columns of the same names. */
const SETTLED_COLUMNS = `p.payment_id::text AS payment_id, p.order_id::text AS order_id, p.amount_cents,
  p.currency, p.card_last4, p.status, p.provider_reference, p.created_at, p.settled_at, p.refunded_at,
  p.refund_reason`;

/**
 * The payments table (payment.payments), each decision one conditional statement. An order has at most
 * one row charging or succeeded (a partial unique index): two payment ids of one order can never both
 * be charged, whatever the replicas and redeliveries.
 */
@Injectable()
export class PaymentRepository {
  /**
   * The common cases share one statement among the charges in hand (GroupCommit), as order-api's stores
   * do: a new payment id's claim, and a claimed charge's settlement. Two commits per charge, each alone,
   * were most of what a payment cost PostgreSQL. Anything else (a redelivery, a taken-over claim, a paid
   * order) goes on one statement at a time.
   */
  private readonly newClaims = new GroupCommit<{ charge: NewCharge; leaseMs: number }, Payment | undefined>(
    eachAloneIfBatchFails((batch) => this.claimNewBatch(batch), isStatementError),
    // No waiting bound: the consumer's prefetch bounds how many charges can wait.
    { maxBatchSize: MAX_PER_STATEMENT, maxWaiting: Number.POSITIVE_INFINITY },
  );

  private readonly settlements = new GroupCommit<Settlement, Payment | undefined>(
    eachAloneIfBatchFails((batch) => this.settleBatch(batch), isStatementError),
    { maxBatchSize: MAX_PER_STATEMENT, maxWaiting: Number.POSITIVE_INFINITY },
  );

  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Claims the charge of `charge.paymentId` for `leaseMs`, unless something recorded says otherwise. */
  async claimCharge(charge: NewCharge, leaseMs: number): Promise<ChargeClaim> {
    const inserted = await this.newClaims.submit({ charge, leaseMs });
    if (inserted) return { kind: 'claimed', payment: inserted };

    // A claim whose handler died (a crash mid-charge): taken over once its lease ran out.
    const retaken = await this.rows({
      name: 'retake-expired-charge-v1',
      text: `UPDATE payments SET claimed_until = now() + make_interval(secs => $2::double precision / 1000)
              WHERE payment_id = $1::uuid AND status = 'charging' AND claimed_until < now()
             RETURNING ${COLUMNS}`,
      values: [charge.paymentId, leaseMs],
    });
    if (retaken[0]) return { kind: 'claimed', payment: retaken[0] };

    const own = await this.find(charge.paymentId);
    if (own?.status === 'charging')
      return { kind: 'busy', reason: `payment ${charge.paymentId} is being charged` };
    if (own) return { kind: 'settled', payment: own };

    // No row for this payment id: the order's other charge (charging or succeeded) is in the way.
    const refused = await this.rows({
      name: 'refuse-paid-order-charge-v1',
      text: `INSERT INTO payments (payment_id, order_id, amount_cents, currency, card_last4, status, settled_at)
             SELECT $1::uuid, $2::uuid, $3, $4, $5, 'already_paid', now()
              WHERE EXISTS (SELECT 1 FROM payments WHERE order_id = $2::uuid AND status = 'succeeded')
             ON CONFLICT DO NOTHING
             RETURNING ${COLUMNS}`,
      values: [charge.paymentId, charge.orderId, charge.amountCents, charge.currency, charge.cardLast4],
    });
    if (refused[0]) return { kind: 'refused', payment: refused[0], recordedNow: true };
    const recorded = await this.find(charge.paymentId);
    if (recorded?.status === 'already_paid')
      return { kind: 'refused', payment: recorded, recordedNow: false };
    if (recorded && recorded.status !== 'charging') return { kind: 'settled', payment: recorded };
    return { kind: 'busy', reason: `another payment of order ${charge.orderId} is being charged` };
  }

  /**
   * Records how the claimed charge ended. When another handler settled it meanwhile (its claim had
   * run out), that record stands and is returned instead.
   */
  async settleCharge(
    paymentId: string,
    status: ChargeSettlement,
    providerReference: string | null,
  ): Promise<Payment> {
    const settled = await this.settlements.submit({ paymentId, status, providerReference });
    return settled ?? (await this.get(paymentId));
  }

  /** New payment ids inserted as charging; undefined for one whose id (or order's charge) is there already. */
  private async claimNewBatch(
    batch: { charge: NewCharge; leaseMs: number }[],
  ): Promise<ItemResult<Payment | undefined>[]> {
    const rows = await this.rows({
      name: 'claim-new-charges-v2',
      text: `INSERT INTO payments (payment_id, order_id, amount_cents, currency, card_last4, status, claimed_until)
             SELECT c.payment_id, c.order_id, c.amount_cents, c.currency, c.card_last4, 'charging',
                    now() + make_interval(secs => c.lease_ms / 1000)
               FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::text[], $5::text[], $6::double precision[])
                    WITH ORDINALITY AS c(payment_id, order_id, amount_cents, currency, card_last4, lease_ms, ord)
              ORDER BY c.ord
             ON CONFLICT DO NOTHING
             RETURNING ${COLUMNS}`,
      values: [
        batch.map(({ charge }) => charge.paymentId),
        batch.map(({ charge }) => charge.orderId),
        batch.map(({ charge }) => charge.amountCents),
        batch.map(({ charge }) => charge.currency),
        batch.map(({ charge }) => charge.cardLast4),
        batch.map(({ leaseMs }) => leaseMs),
      ],
    });
    // The same payment id twice in one batch (a redelivery beside the first): the first is the claim.
    const claimed = new Map(rows.map((payment) => [payment.paymentId.toLowerCase(), payment]));
    return batch.map(({ charge }) => {
      const key = charge.paymentId.toLowerCase();
      const payment = claimed.get(key);
      claimed.delete(key);
      return { ok: true, value: payment };
    });
  }

  /** Claimed charges recorded as their provider answered; undefined for one settled by another handler. */
  private async settleBatch(batch: Settlement[]): Promise<ItemResult<Payment | undefined>[]> {
    const rows = await this.rows({
      name: 'settle-charges-v2',
      text: `UPDATE payments p
                SET status = s.status, provider_reference = s.provider_reference, settled_at = now(),
                    claimed_until = NULL
               FROM unnest($1::uuid[], $2::text[], $3::text[]) AS s(payment_id, status, provider_reference)
              WHERE p.payment_id = s.payment_id AND p.status = 'charging'
             RETURNING ${SETTLED_COLUMNS}`,
      values: [
        batch.map((settlement) => settlement.paymentId),
        batch.map((settlement) => settlement.status),
        batch.map((settlement) => settlement.providerReference),
      ],
    });
    const settled = new Map(rows.map((payment) => [payment.paymentId.toLowerCase(), payment]));
    return batch.map((settlement) => {
      const key = settlement.paymentId.toLowerCase();
      const payment = settled.get(key);
      settled.delete(key);
      return { ok: true, value: payment };
    });
  }

  /** Ends a claim early (the provider call failed before it answered), so a retry may claim again at once. */
  async releaseClaim(paymentId: string): Promise<void> {
    await this.rows({
      text: `UPDATE payments SET claimed_until = now() WHERE payment_id = $1::uuid AND status = 'charging'`,
      values: [paymentId],
    });
  }

  /**
   * Marks a succeeded payment refunded, once: `refundedNow` is false when it was refunded before (the
   * first refund's time and reason stand) or is not a succeeded charge.
   */
  async markRefunded(
    paymentId: string,
    reason: RefundReason,
  ): Promise<{ refundedNow: boolean; payment: Payment }> {
    const refunded = await this.rows({
      name: 'mark-refunded-v1',
      text: `UPDATE payments SET status = 'refunded', refunded_at = now(), refund_reason = $2
              WHERE payment_id = $1::uuid AND status = 'succeeded'
             RETURNING ${COLUMNS}`,
      values: [paymentId, reason],
    });
    if (refunded[0]) return { refundedNow: true, payment: refunded[0] };
    return { refundedNow: false, payment: await this.get(paymentId) };
  }

  async find(paymentId: string): Promise<Payment | undefined> {
    const rows = await this.rows({
      name: 'find-payment-v1',
      text: `SELECT ${COLUMNS} FROM payments WHERE payment_id = $1::uuid`,
      values: [paymentId],
    });
    return rows[0];
  }

  private async get(paymentId: string): Promise<Payment> {
    const payment = await this.find(paymentId);
    if (!payment) throw new Error(`payment ${paymentId} vanished while it was being handled`);
    return payment;
  }

  private async rows(query: { name?: string; text: string; values: unknown[] }): Promise<Payment[]> {
    const { rows } = await queryKeepingConnection(this.pool, query);
    return rows.map((row) => toPayment(PaymentRow.parse(row)));
  }
}

function toPayment(row: z.infer<typeof PaymentRow>): Payment {
  return {
    paymentId: row.payment_id,
    orderId: row.order_id,
    amountCents: row.amount_cents,
    currency: row.currency,
    cardLast4: row.card_last4,
    status: row.status,
    providerReference: row.provider_reference,
    createdAt: row.created_at,
    settledAt: row.settled_at,
    refundedAt: row.refunded_at,
    refundReason: row.refund_reason,
  };
}
