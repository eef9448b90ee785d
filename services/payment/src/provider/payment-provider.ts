/**
 * What the payment service needs from a payment provider. The one implementation here is the built-in
 * SANDBOX (SandboxPaymentProvider): no money moves. A real integration would implement the same two calls
 * against the provider's API, with the payment id as its idempotency key, and would receive a token the
 * provider's browser library made from the card, never a card number.
 */
export interface PaymentProvider {
  /**
   * Charges `card` once for this payment id. Resolves with the provider's answer; rejects when `signal`
   * aborts (the service stopped waiting), in which case nothing may have been taken.
   */
  charge(request: ChargeRequest, signal: AbortSignal): Promise<ChargeAnswer>;
  /** Gives a succeeded charge back. Idempotent per payment id: a second call refunds nothing more. */
  refund(request: RefundRequest): Promise<RefundAnswer>;
}

export interface ChargeRequest {
  paymentId: string;
  amountCents: number;
  currency: string;
  /** The card token (here a test card's number: see SANDBOX_CARDS). */
  card: string;
}

export interface ChargeAnswer {
  outcome: 'succeeded' | 'declined';
  /** The provider's reference of the charge (or of the declined attempt). */
  reference: string;
}

export interface RefundRequest {
  paymentId: string;
  /** The charge's reference, as the provider gave it. */
  chargeReference: string;
  amountCents: number;
  currency: string;
}

export interface RefundAnswer {
  reference: string;
}

/** The Nest token of the provider the service charges through. */
export const PAYMENT_PROVIDER = Symbol('PAYMENT_PROVIDER');
