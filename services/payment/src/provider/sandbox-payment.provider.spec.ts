import { ConsoleLogger, Logger } from '@nestjs/common';
import { SANDBOX_CARDS, SANDBOX_LATE_SUCCESS_MS } from '@shop/contracts';
import { sandboxBehaviourOf, SandboxPaymentProvider } from './sandbox-payment.provider';

describe('the sandbox payment provider', () => {
  // Its warning for an abandoned charge is expected here.
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(new ConsoleLogger()));
  afterEach(() => jest.useRealTimers());

  it.each([
    ['succeeds', SANDBOX_CARDS.succeeds, { answer: 'succeeded', afterMs: 0 }],
    ['is declined', SANDBOX_CARDS.declined, { answer: 'declined', afterMs: 0 }],
    ['never answers', SANDBOX_CARDS.timesOut, { answer: 'never' }],
    ['succeeds late', SANDBOX_CARDS.succeedsLate, { answer: 'succeeded', afterMs: SANDBOX_LATE_SUCCESS_MS }],
    ['succeeds (any other 12-digit number)', '123456789012', { answer: 'succeeded', afterMs: 0 }],
    ['succeeds (any other 19-digit number)', '5555555555554444123', { answer: 'succeeded', afterMs: 0 }],
  ])('card %s: %s', (_, card, behaviour) => {
    expect(sandboxBehaviourOf(card)).toEqual(behaviour);
  });

  const charge = (provider: SandboxPaymentProvider, card: string, signal = new AbortController().signal) =>
    provider.charge({ paymentId: `p-${card}`, amountCents: 1_250, currency: 'EUR', card }, signal);

  it('charges the success card at once and records the money, the last four digits only', async () => {
    const provider = new SandboxPaymentProvider();
    const answer = await charge(provider, SANDBOX_CARDS.succeeds);
    expect(answer).toEqual({ outcome: 'succeeded', reference: expect.stringMatching(/^sandbox_ch_/) });
    expect(provider.chargesOf(`p-${SANDBOX_CARDS.succeeds}`)).toEqual([
      {
        paymentId: `p-${SANDBOX_CARDS.succeeds}`,
        amountCents: 1_250,
        currency: 'EUR',
        cardLast4: '4242',
        outcome: 'succeeded',
        chargedCents: 1_250,
        reference: answer.reference,
        replayed: false,
      },
    ]);
  });

  it('answers a payment id it answered before with the same answer, charging nothing more (idempotency key)', async () => {
    const provider = new SandboxPaymentProvider();
    const first = await charge(provider, SANDBOX_CARDS.succeeds);
    expect(await charge(provider, SANDBOX_CARDS.succeeds)).toEqual(first);
    const charges = provider.chargesOf(`p-${SANDBOX_CARDS.succeeds}`);
    expect(charges.map(({ replayed, chargedCents }) => ({ replayed, chargedCents }))).toEqual([
      { replayed: false, chargedCents: 1_250 },
      { replayed: true, chargedCents: 0 },
    ]);
  });

  it('declines the declined card and charges nothing', async () => {
    const provider = new SandboxPaymentProvider();
    expect((await charge(provider, SANDBOX_CARDS.declined)).outcome).toBe('declined');
    expect(provider.chargesOf(`p-${SANDBOX_CARDS.declined}`)[0]).toMatchObject({ chargedCents: 0 });
  });

  it('answers the late card after SANDBOX_LATE_SUCCESS_MS, not before', async () => {
    jest.useFakeTimers();
    const provider = new SandboxPaymentProvider();
    let answered = false;
    const answer = charge(provider, SANDBOX_CARDS.succeedsLate).then((a) => ((answered = true), a));
    await jest.advanceTimersByTimeAsync(SANDBOX_LATE_SUCCESS_MS - 1);
    expect(answered).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect((await answer).outcome).toBe('succeeded');
  });

  it('never answers the time-out card; abandoned by its caller, it rejects and has charged nothing', async () => {
    const provider = new SandboxPaymentProvider();
    const caller = new AbortController();
    const answer = charge(provider, SANDBOX_CARDS.timesOut, caller.signal);
    caller.abort();
    await expect(answer).rejects.toThrow('abandoned');
    expect(provider.chargesOf(`p-${SANDBOX_CARDS.timesOut}`)).toEqual([
      expect.objectContaining({ outcome: 'abandoned', chargedCents: 0 }),
    ]);
  });

  it('refunds a payment id once: a repeated refund gets the first one back', async () => {
    const provider = new SandboxPaymentProvider();
    const refund = { paymentId: 'p-1', chargeReference: 'sandbox_ch_1', amountCents: 1_250, currency: 'EUR' };
    const first = await provider.refund(refund);
    expect(await provider.refund(refund)).toEqual(first);
    expect(provider.refundsOf('p-1')).toBe(1);
  });
});
