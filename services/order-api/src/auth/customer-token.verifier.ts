import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { CUSTOMER_TOKEN, type CustomerTokenClaims } from '@shop/contracts';
import { ApiError } from '@shop/service-kit';
import { z } from 'zod';
import { ORDER_API_CONFIG, type OrderApiConfig } from '../config/order-api.config';

/** How long one fetch of identity's JWKS may take before the request that needed it gets 503. */
const JWKS_TIMEOUT_MS = 2_000;
/** A token signed with a key not in the cached set refetches the set at most this often. */
const JWKS_COOLDOWN_MS = 30_000;
/** The set is refetched after this long anyway, so a retired key stops being accepted. */
const JWKS_MAX_AGE_MS = 10 * 60_000;

// jose is an ES module: a dynamic import loads it from this CommonJS build (and types it without a
// type-only import, which CommonJS cannot name).
const loadJose = () => import('jose');
type KeySet = ReturnType<Awaited<ReturnType<typeof loadJose>>['createRemoteJWKSet']>;
type JwtVerify = Awaited<ReturnType<typeof loadJose>>['jwtVerify'];

const Claims = z.object({ sub: z.uuid(), email: z.email().max(254) });

/** A JWT's shape (three base64url parts): anything else is not a customer token and is not verified. */
export const looksLikeJwt = (token: string): boolean =>
  /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);

/**
 * Checks a customer's JWT against identity's keys (JWKS, fetched on first use, then cached): signature
 * (ES256 only), issuer, audience, expiry, and the claims order-api needs. Undefined for a token that
 * fails any check; 503 IDENTITY_UNAVAILABLE when the keys cannot be fetched, since then nothing can be
 * said about the token.
 */
@Injectable()
export class CustomerTokenVerifier {
  private keys?: Promise<{ verify: JwtVerify; keySet: KeySet }>;

  constructor(@Inject(ORDER_API_CONFIG) private readonly config: OrderApiConfig) {}

  async verify(token: string): Promise<CustomerTokenClaims | undefined> {
    const { verify, keySet } = await this.keySet();
    try {
      const { payload } = await verify(token, keySet, {
        issuer: CUSTOMER_TOKEN.issuer,
        audience: CUSTOMER_TOKEN.audience,
        algorithms: [CUSTOMER_TOKEN.algorithm],
      });
      const claims = Claims.safeParse(payload);
      return claims.success ? { sub: claims.data.sub, email: claims.data.email.toLowerCase() } : undefined;
    } catch (error) {
      if (keysUnavailable(error)) {
        throw new ApiError(
          HttpStatus.SERVICE_UNAVAILABLE,
          'IDENTITY_UNAVAILABLE',
          'Customer sign-in cannot be checked right now (identity does not answer); try again shortly.',
        );
      }
      return undefined;
    }
  }

  /** Loaded once, on the first customer token; the key set caches identity's keys itself. */
  private keySet() {
    this.keys ??= loadJose().then((jose) => ({
      verify: jose.jwtVerify,
      keySet: jose.createRemoteJWKSet(new URL(this.config.IDENTITY_JWKS_URL), {
        timeoutDuration: JWKS_TIMEOUT_MS,
        cooldownDuration: JWKS_COOLDOWN_MS,
        cacheMaxAge: JWKS_MAX_AGE_MS,
      }),
    }));
    return this.keys;
  }
}

/** The JWKS could not be fetched or read (timeout, connection refused, not a key set). */
function keysUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JWKS_INVALID') return true;
  // fetch's own failure (connection refused, DNS: a TypeError, by name since it may come from another
  // realm) and a non-200 or unreadable answer reach us as these.
  const { name, message } = error as Error;
  return (
    name === 'TypeError' || (code === 'ERR_JOSE_GENERIC' && /JSON Web Key Set HTTP response/.test(message))
  );
}
