/**
 * What identity signs and order-api checks: a customer's JWT (ES256, `kid` in its header, the key in
 * identity's JWKS at `/.well-known/jwks.json`). `sub` is the customer's id (a UUID); `email` is the
 * address they proved they read by entering its sign-in code.
 */
export const CUSTOMER_TOKEN = {
  issuer: 'rabbit-shop/identity',
  audience: 'rabbit-shop/customers',
  algorithm: 'ES256',
  jwksPath: '/.well-known/jwks.json',
} as const;

export interface CustomerTokenClaims {
  /** The customer's id. */
  sub: string;
  email: string;
}
