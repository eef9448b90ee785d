import type { Sale } from './sale';
import { saleStateAt } from './sale';
import { refusalFromMemory } from './sale-rules';

const sale = (overrides: Partial<Sale> = {}): Sale => ({
  id: 'spring',
  sku: 'KETTLE-1',
  opensAt: new Date('2026-12-24T10:00:00Z'),
  closesAt: new Date('2026-12-24T12:00:00Z'),
  limitPerCustomer: 1,
  paymentWindowMs: 300_000,
  admission: 'direct',
  ...overrides,
});
const at = (iso: string) => Date.parse(iso);
const customer = { signedIn: true, mayBeReplay: false };

describe('refusalFromMemory', () => {
  it('refuses before the opening with when it opens and the seconds to wait, rounded up', () => {
    const refusal = refusalFromMemory([sale()], customer, at('2026-12-24T09:59:58.500Z'));
    expect(refusal?.getStatus()).toBe(409);
    expect(refusal?.body).toMatchObject({
      code: 'SALE_NOT_OPEN',
      opensAt: '2026-12-24T10:00:00.000Z',
      retryAfterSeconds: 2,
      saleId: 'spring',
    });
  });

  it('opens at opensAt exactly and closes at closesAt exactly', () => {
    expect(refusalFromMemory([sale()], customer, at('2026-12-24T10:00:00Z'))).toBeUndefined();
    expect(refusalFromMemory([sale()], customer, at('2026-12-24T11:59:59.999Z'))).toBeUndefined();
    expect(refusalFromMemory([sale()], customer, at('2026-12-24T12:00:00Z'))?.body.code).toBe('SALE_CLOSED');
  });

  it('leaves a closed sale to the database when the request may be the retry of an order placed in it', () => {
    expect(
      refusalFromMemory([sale()], { signedIn: true, mayBeReplay: true }, at('2026-12-24T13:00:00Z')),
    ).toBeUndefined();
  });

  it('refuses a guest during the sale with 401 SIGN_IN_REQUIRED, and the window first', () => {
    const guest = { signedIn: false, mayBeReplay: false };
    expect(refusalFromMemory([sale()], guest, at('2026-12-24T11:00:00Z'))?.getStatus()).toBe(401);
    expect(refusalFromMemory([sale()], guest, at('2026-12-24T09:00:00Z'))?.body.code).toBe('SALE_NOT_OPEN');
  });

  it('answers for the first sale of an order naming several that refuses it', () => {
    const open = sale({ id: 'open-one', sku: 'A' });
    const later = sale({ id: 'later-one', sku: 'B', opensAt: new Date('2026-12-24T11:30:00Z') });
    expect(refusalFromMemory([open, later], customer, at('2026-12-24T11:00:00Z'))?.body.saleId).toBe(
      'later-one',
    );
    expect(refusalFromMemory([], customer, at('2026-12-24T11:00:00Z'))).toBeUndefined();
  });
});

describe('saleStateAt', () => {
  it('is scheduled, open, then closed', () => {
    expect(saleStateAt(sale(), at('2026-12-24T09:00:00Z'))).toBe('scheduled');
    expect(saleStateAt(sale(), at('2026-12-24T10:00:00Z'))).toBe('open');
    expect(saleStateAt(sale(), at('2026-12-24T12:00:00Z'))).toBe('closed');
  });
});
