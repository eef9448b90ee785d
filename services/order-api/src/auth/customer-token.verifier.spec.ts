import { loadOrderApiConfig } from '../config/order-api.config';
import { startTestIdentity, type TestIdentity } from '../testing/test-identity';
import { CustomerTokenVerifier } from './customer-token.verifier';

const ALICE = { sub: '0b8f3a52-6c1d-4e7a-9f20-3d5c8e1b7a41', email: 'Alice@Example.com' };

describe('CustomerTokenVerifier', () => {
  let identity: TestIdentity;
  let verifier: CustomerTokenVerifier;

  beforeAll(async () => {
    identity = await startTestIdentity();
  });
  afterAll(() => identity.close());
  beforeEach(() => {
    verifier = new CustomerTokenVerifier(
      loadOrderApiConfig({
        IDENTITY_JWKS_URL: identity.jwksUrl,
        OPS_TOKEN: 'o'.repeat(32),
        ORDER_TOKEN_SECRET: 's'.repeat(32),
      }),
    );
  });
  afterEach(() => jest.useRealTimers());

  it('verifies a token, remembers it, and still refuses it once its exp has passed', async () => {
    const token = await identity.sign(ALICE, { expiresIn: '60s' });
    const claims = { sub: ALICE.sub, email: 'alice@example.com' };
    expect(await verifier.verify(token)).toEqual(claims);
    expect(await verifier.verify(token)).toEqual(claims);
    // Only Date moves: the JWKS fetch and jose's promises run on real timers.
    jest.useFakeTimers({
      doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'setInterval', 'queueMicrotask'],
    });
    jest.setSystemTime(Date.now() + 61_000);
    expect(await verifier.verify(token)).toBeUndefined();
  });

  it('never remembers a token that failed: another issuer, a foreign key', async () => {
    for (const bad of [
      await identity.sign(ALICE, { issuer: 'https://elsewhere.example' }),
      await identity.sign(ALICE, { foreignKey: true }),
    ]) {
      expect(await verifier.verify(bad)).toBeUndefined();
      expect(await verifier.verify(bad)).toBeUndefined();
    }
  });
});
