import { createHash, createHmac, randomBytes } from 'node:crypto';
import { secretsEqual } from '@shop/service-kit';

/** The cookie a signed-in browser carries: a session, never the operator token itself. */
export const SESSION_COOKIE = 'shop_dashboard_session';

/** How long a sign-in lasts. */
export const SESSION_TTL_MS = 12 * 3_600_000;

export interface OperatorSession {
  /** Random, names the session (and its CSRF token). */
  nonce: string;
  expiresAtMs: number;
  /** What the page sends back as X-CSRF-Token on every change it asks for. */
  csrfToken: string;
}

/**
 * Sessions that need no store: the cookie is `<nonce>.<expiry>.<HMAC>`, signed with a key derived from
 * OPS_TOKEN, so it survives a restart of the dashboard, never reveals the token, and a new OPS_TOKEN
 * ends every session. Signing out revokes the nonce until it would have expired anyway.
 */
export class OperatorSessions {
  private readonly key: Buffer;
  private readonly revoked = new Map<string, number>();

  constructor(
    opsToken: string,
    private readonly now: () => number = Date.now,
  ) {
    this.key = createHash('sha256').update('dashboard-session\0').update(opsToken).digest();
  }

  create(): { cookieValue: string; session: OperatorSession } {
    const nonce = randomBytes(24).toString('base64url');
    const expiresAtMs = this.now() + SESSION_TTL_MS;
    const payload = `${nonce}.${expiresAtMs}`;
    return {
      cookieValue: `${payload}.${this.sign(payload)}`,
      session: { nonce, expiresAtMs, csrfToken: this.sign(`csrf:${nonce}`) },
    };
  }

  /** The session a cookie value names, or undefined when it is forged, expired or signed out. */
  verify(cookieValue: string): OperatorSession | undefined {
    const match = /^([A-Za-z0-9_-]{32})\.(\d{13})\.([A-Za-z0-9_-]{43})$/.exec(cookieValue);
    if (!match) return undefined;
    const [, nonce, expiry, signature] = match;
    if (!secretsEqual(signature, this.sign(`${nonce}.${expiry}`))) return undefined;
    const expiresAtMs = Number(expiry);
    if (expiresAtMs <= this.now() || this.revoked.has(nonce)) return undefined;
    return { nonce, expiresAtMs, csrfToken: this.sign(`csrf:${nonce}`) };
  }

  revoke(session: OperatorSession): void {
    const now = this.now();
    for (const [nonce, expiresAtMs] of this.revoked) if (expiresAtMs <= now) this.revoked.delete(nonce);
    this.revoked.set(session.nonce, session.expiresAtMs);
  }

  private sign(value: string): string {
    return createHmac('sha256', this.key).update(value).digest('base64url');
  }
}

/** The value of cookie `name` in a Cookie header, or undefined (the one cookie this service reads). */
export function cookieValueOf(header: string | string[] | undefined, name: string): string | undefined {
  if (typeof header !== 'string') return undefined;
  for (const pair of header.split(';')) {
    const index = pair.indexOf('=');
    if (index > 0 && pair.slice(0, index).trim() === name) return pair.slice(index + 1).trim();
  }
  return undefined;
}
