import { CUSTOMER_TOKEN, type CustomerTokenClaims } from '@shop/contracts';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestIdentity {
  /** Where order-api fetches the keys (IDENTITY_JWKS_URL). */
  jwksUrl: string;
  /** A customer JWT as identity signs it; `overrides` make a bad one (another issuer, expired, ...). */
  sign(
    claims: CustomerTokenClaims,
    overrides?: { issuer?: string; audience?: string; expiresIn?: string | number; foreignKey?: boolean },
  ): Promise<string>;
  /** How often the JWKS was fetched: order-api caches it. */
  fetches(): number;
  close(): Promise<void>;
}

/**
 * Stands in for identity in order-api's specs: an ES256 key pair, its JWKS served over real HTTP on a
 * loopback port, and tokens signed as identity signs them (the cross-service sign-in is identity's spec).
 */
export async function startTestIdentity(): Promise<TestIdentity> {
  const jose = await import('jose');
  const alg = CUSTOMER_TOKEN.algorithm;
  const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
  const foreign = await jose.generateKeyPair(alg, { extractable: true });
  const kid = 'spec-key-1';
  const jwks = { keys: [{ ...(await jose.exportJWK(publicKey)), kid, alg, use: 'sig' }] };
  let fetches = 0;
  const server = createServer((request, response) => {
    if (request.url !== CUSTOMER_TOKEN.jwksPath) {
      response.writeHead(404).end();
      return;
    }
    fetches++;
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    jwksUrl: `http://127.0.0.1:${port}${CUSTOMER_TOKEN.jwksPath}`,
    sign: (claims, overrides = {}) =>
      new jose.SignJWT({ email: claims.email })
        .setProtectedHeader({ alg, kid })
        .setSubject(claims.sub)
        .setIssuer(overrides.issuer ?? CUSTOMER_TOKEN.issuer)
        .setAudience(overrides.audience ?? CUSTOMER_TOKEN.audience)
        .setIssuedAt()
        .setExpirationTime(overrides.expiresIn ?? '15m')
        .sign(overrides.foreignKey ? foreign.privateKey : privateKey),
    fetches: () => fetches,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // order-api's keep-alive connection would hold the server open.
        server.closeAllConnections();
      }),
  };
}
