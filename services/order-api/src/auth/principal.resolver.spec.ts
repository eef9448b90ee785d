import { testSecrets } from '@shop/testing';
import { loadOrderApiConfig } from '../config/order-api.config';
import type { CustomerTokenVerifier } from './customer-token.verifier';
import { orderAccessTokenOf } from './order-access-token';
import { PrincipalResolver } from './principal.resolver';

const ALICE = { sub: '0b8f3a52-6c1d-4e7a-9f20-3d5c8e1b7a41', email: 'alice@example.com' };
const ORDER_ID = '2b1f6ad9-9b5e-4a57-8c57-0e7a2f1c9d11';
const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';

describe('PrincipalResolver', () => {
  const verified: string[] = [];
  const verifier = {
    verify: async (token: string) => {
      verified.push(token);
      return token === JWT ? ALICE : undefined;
    },
  } as unknown as CustomerTokenVerifier;
  const resolver = new PrincipalResolver(loadOrderApiConfig({ ...testSecrets }), verifier);
  const request = (authorization?: string) => ({ headers: authorization ? { authorization } : {} });

  beforeEach(() => (verified.length = 0));

  it('tells the operator, a customer, an opaque token, a bad JWT and no credential apart', async () => {
    expect(await resolver.resolve(request(`Bearer ${testSecrets.OPS_TOKEN}`))).toEqual({ kind: 'operator' });
    expect(await resolver.resolve(request(`Bearer ${JWT}`))).toEqual({ kind: 'customer', ...ALICE });
    expect(await resolver.resolve(request('Bearer a.b.c'))).toEqual({ kind: 'invalid' });
    expect(await resolver.resolve(request('Bearer opaque-token'))).toEqual({
      kind: 'token',
      token: 'opaque-token',
    });
    expect(await resolver.resolve(request())).toEqual({ kind: 'none' });
    expect(await resolver.resolve(request('Basic dXNlcjpwYXNz'))).toEqual({ kind: 'none' });
    // Only bearer tokens that look like JWTs are sent for verification.
    expect(verified).toEqual([JWT, 'a.b.c']);
  });

  it("verifies a request's customer JWT once, however often the request is resolved", async () => {
    const first = request(`Bearer ${JWT}`);
    const second = request(`Bearer ${JWT}`);
    for (const each of [first, first, second, first]) {
      expect(await resolver.resolve(each)).toEqual({ kind: 'customer', ...ALICE });
    }
    expect(verified).toEqual([JWT, JWT]);
  });

  it('reads ?accessToken= only where asked, never as a customer JWT or the operator; a header wins over it', async () => {
    expect(await resolver.resolve(request(), 'from-query')).toEqual({ kind: 'token', token: 'from-query' });
    expect(await resolver.resolve(request(), '')).toEqual({ kind: 'none' });
    expect(await resolver.resolve(request(), JWT)).toEqual({ kind: 'token', token: JWT });
    // The operator token is not the operator in a URL: it is only ever an (unknown) access token there.
    expect(await resolver.resolve(request(), testSecrets.OPS_TOKEN)).toEqual({
      kind: 'token',
      token: testSecrets.OPS_TOKEN,
    });
    expect(await resolver.resolve(request('Bearer header'), 'query')).toEqual({
      kind: 'token',
      token: 'header',
    });
    expect(verified).toEqual([]);
  });

  it('opens an order for the operator, its customer and its access token only', () => {
    const guestOrder = { id: ORDER_ID, customerId: null };
    const alicesOrder = { id: ORDER_ID, customerId: ALICE.sub };
    const accessToken = orderAccessTokenOf(testSecrets.ORDER_TOKEN_SECRET, ORDER_ID);
    expect(resolver.accessTokenOf(ORDER_ID)).toBe(accessToken);

    expect(resolver.grantsOrder({ kind: 'operator' }, guestOrder)).toBe(true);
    expect(resolver.grantsOrder({ kind: 'token', token: accessToken }, guestOrder)).toBe(true);
    expect(resolver.grantsOrder({ kind: 'token', token: accessToken }, alicesOrder)).toBe(true);
    expect(resolver.grantsOrder({ kind: 'customer', ...ALICE }, alicesOrder)).toBe(true);

    expect(resolver.grantsOrder({ kind: 'customer', ...ALICE }, guestOrder)).toBe(false);
    expect(resolver.grantsOrder({ kind: 'customer', sub: ORDER_ID, email: ALICE.email }, alicesOrder)).toBe(
      false,
    );
    expect(resolver.grantsOrder({ kind: 'token', token: `${accessToken}x` }, guestOrder)).toBe(false);
    expect(
      resolver.grantsOrder(
        { kind: 'token', token: orderAccessTokenOf('another-secret-0123456789abcdefghijklmnop', ORDER_ID) },
        guestOrder,
      ),
    ).toBe(false);
    expect(resolver.grantsOrder({ kind: 'invalid' }, guestOrder)).toBe(false);
    expect(resolver.grantsOrder({ kind: 'none' }, guestOrder)).toBe(false);
  });
});
