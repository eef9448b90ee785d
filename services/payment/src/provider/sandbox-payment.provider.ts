import { Logger } from '@nestjs/common';
import { SANDBOX_CARDS, SANDBOX_LATE_SUCCESS_MS } from '@shop/contracts';
import { randomBytes } from 'node:crypto';
import type {
  ChargeAnswer,
  ChargeRequest,
  PaymentProvider,
  RefundAnswer,
  RefundRequest,
} from './payment-provider';

/** How the sandbox answers a card: at once, after a while, or never. */
export type SandboxBehaviour =
  { answer: 'succeeded' | 'declined'; afterMs: number } | { answer: 'never'; afterMs?: undefined };

/** The sandbox's card table (SANDBOX_CARDS); any other card number succeeds at once. */
export function sandboxBehaviourOf(card: string): SandboxBehaviour {
  switch (card) {
    case SANDBOX_CARDS.declined:
      return { answer: 'declined', afterMs: 0 };
    case SANDBOX_CARDS.timesOut:
      return { answer: 'never' };
    case SANDBOX_CARDS.succeedsLate:
      return { answer: 'succeeded', afterMs: SANDBOX_LATE_SUCCESS_MS };
    default:
      return { answer: 'succeeded', afterMs: 0 };
  }
}

/** One charge the sandbox was asked for, as it answered it (`abandoned`: the caller stopped waiting). */
export interface SandboxChargeRecord {
  paymentId: string;
  amountCents: number;
  currency: string;
  cardLast4: string;
  outcome: 'succeeded' | 'declined' | 'abandoned';
  /** Money the sandbox pretends to hold for it: the amount of a success, 0 otherwise. */
  chargedCents: number;
  /** The answer's reference, once answered. */
  reference?: string;
  /** Answered with an earlier answer for the same payment id (its idempotency key), charging nothing. */
  replayed: boolean;
}

/**
 * THE SANDBOX payment provider: no money moves and no one is called. It stands for a real provider
 * integration, answering the documented test cards (SANDBOX_CARDS) as a provider's test mode would:
 * success, a decline, no answer at all, or success after SANDBOX_LATE_SUCCESS_MS. It receives the card
 * number only because the sandbox's test cards are numbers; a real integration receives a token from
 * the browser. A charge the caller gave up on is recorded as abandoned, with nothing charged. Like a real
 * provider it takes the payment id as the idempotency key: asked again for a payment id it answered, it
 * gives the same answer and charges nothing more.
 */
export class SandboxPaymentProvider implements PaymentProvider {
  private readonly logger = new Logger('SandboxPaymentProvider');
  /** The charges asked for, by payment id (what a provider's dashboard would list), the newest kept. */
  private readonly charges = new Map<string, SandboxChargeRecord[]>();
  /** Refund references by payment id: a provider refunds a payment once, whatever the retries. */
  private readonly refunds = new Map<string, string>();

  charge(request: ChargeRequest, signal: AbortSignal): Promise<ChargeAnswer> {
    const earlier = this.chargesOf(request.paymentId).find((charge) => charge.reference !== undefined);
    const record: SandboxChargeRecord = {
      paymentId: request.paymentId,
      amountCents: request.amountCents,
      currency: request.currency,
      cardLast4: request.card.slice(-4),
      outcome: 'abandoned',
      chargedCents: 0,
      replayed: earlier !== undefined,
    };
    remember(this.charges, request.paymentId, [...this.chargesOf(request.paymentId), record]);
    if (earlier?.reference !== undefined && earlier.outcome !== 'abandoned') {
      record.outcome = earlier.outcome;
      record.reference = earlier.reference;
      return Promise.resolve({ outcome: earlier.outcome, reference: earlier.reference });
    }
    const behaviour = sandboxBehaviourOf(request.card);
    return new Promise<ChargeAnswer>((resolve, reject) => {
      const answer = () => {
        signal.removeEventListener('abort', abandon);
        if (behaviour.answer === 'never') return;
        record.outcome = behaviour.answer;
        record.chargedCents = behaviour.answer === 'succeeded' ? request.amountCents : 0;
        record.reference = sandboxReference('ch');
        resolve({ outcome: behaviour.answer, reference: record.reference });
      };
      const timer = behaviour.answer === 'never' ? undefined : setTimeout(answer, behaviour.afterMs);
      const abandon = () => {
        if (timer) clearTimeout(timer);
        this.logger.warn(
          `sandbox: charge of payment ${request.paymentId} abandoned by the caller; nothing charged`,
        );
        reject(new Error(`sandbox: charge of payment ${request.paymentId} abandoned`));
      };
      if (signal.aborted) abandon();
      else signal.addEventListener('abort', abandon, { once: true });
    });
  }

  async refund(request: RefundRequest): Promise<RefundAnswer> {
    const known = this.refunds.get(request.paymentId);
    if (known) return { reference: known };
    const reference = sandboxReference('re');
    remember(this.refunds, request.paymentId, reference);
    return { reference };
  }

  /** The charges asked for under one payment id (specs: "charged once"). */
  chargesOf(paymentId: string): SandboxChargeRecord[] {
    return this.charges.get(paymentId) ?? [];
  }

  /** How many refunds the sandbox made for one payment id: 0 or 1. */
  refundsOf(paymentId: string): number {
    return this.refunds.has(paymentId) ? 1 : 0;
  }
}

/** Payment ids the sandbox remembers: a long load test must not grow its memory without bound. */
const REMEMBERED_PAYMENTS = 10_000;

/** Sets `key` as the newest entry, forgetting the oldest beyond REMEMBERED_PAYMENTS. */
function remember<Value>(entries: Map<string, Value>, key: string, value: Value): void {
  entries.delete(key);
  entries.set(key, value);
  if (entries.size > REMEMBERED_PAYMENTS) entries.delete(entries.keys().next().value!);
}

/** `sandbox_ch_…` / `sandbox_re_…`: plainly not a real provider's reference. */
const sandboxReference = (kind: 'ch' | 're') => `sandbox_${kind}_${randomBytes(12).toString('hex')}`;
