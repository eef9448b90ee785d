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
/**
 * Tokens remembered as verified: a sale's customer sends several requests with one token (a re-send,
 * the payment, a cancel, a ticket's polls), and a signature check costs ~0.19 ms of CPU each time
 * (bench:credentials). Beyond this many, the longest-remembered is forgotten first.
 */
const MAX_REMEMBERED_TOKENS = 10_000;

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
  /**
   * Verified tokens and until when each may be taken as verified: its `exp`, and no longer than the
   * key set is trusted (a retired key stops being accepted as soon as the set is fetched again).
   */
  private readonly remembered = new Map<string, { claims: CustomerTokenClaims; untilMs: number }>();

  constructor(@Inject(ORDER_API_CONFIG) private readonly config: OrderApiConfig) {}

  async verify(token: string): Promise<CustomerTokenClaims | undefined> {
    const known = this.remembered.get(token);
    if (known && known.untilMs > Date.now()) return known.claims;
    if (known) this.remembered.delete(token);
    const { verify, keySet } = await this.keySet();
    try {
      const { payload } = await verify(token, keySet, {
        issuer: CUSTOMER_TOKEN.issuer,
        audience: CUSTOMER_TOKEN.audience,
        algorithms: [CUSTOMER_TOKEN.algorithm],
      });
      const parsed = Claims.safeParse(payload);
      if (!parsed.success) return undefined;
      const claims = { sub: parsed.data.sub, email: parsed.data.email.toLowerCase() };
      this.remember(token, claims, payload.exp);
      return claims;
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

  private remember(token: string, claims: CustomerTokenClaims, expSeconds: number | undefined): void {
    const untilMs = Math.min((expSeconds ?? 0) * 1000, Date.now() + JWKS_MAX_AGE_MS);
    if (untilMs <= Date.now()) return;
    if (this.remembered.size >= MAX_REMEMBERED_TOKENS) {
      this.remembered.delete(this.remembered.keys().next().value as string);
    }
    this.remembered.set(token, { claims, untilMs });
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
