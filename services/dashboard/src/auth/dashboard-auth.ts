import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { ApiError, authenticationRequired, bearerTokenOf, forbidden, secretsEqual } from '@shop/service-kit';
import type { FastifyRequest } from 'fastify';
import { DASHBOARD_CONFIG, type DashboardConfig } from '../config/dashboard.config';
import {
  cookieValueOf,
  OperatorSessions,
  SESSION_COOKIE,
  SESSION_TTL_MS,
  type OperatorSession,
} from './operator-session';

/** How an operator proved it: the token itself (tools), or the browser's session cookie. */
export type Operator = { via: 'bearer' } | { via: 'session'; session: OperatorSession };

/** Failed sign-ins allowed per minute (all callers together) before the form answers 429 for the rest of it. */
const SIGN_IN_FAILURES_PER_MINUTE = 20;

/**
 * Who may use the dashboard: an operator with `Authorization: Bearer <OPS_TOKEN>` or the session cookie
 * that signing in with it sets. A cookie is sent by the browser on its own, so a change asked for with
 * one must also carry the session's X-CSRF-Token and come from this page's origin.
 */
@Injectable()
export class DashboardAuth {
  readonly sessions: OperatorSessions;
  private failures = { windowStartMs: 0, count: 0 };

  constructor(@Inject(DASHBOARD_CONFIG) private readonly config: DashboardConfig) {
    this.sessions = new OperatorSessions(config.OPS_TOKEN);
  }

  /** The operator behind a request: 401 AUTHENTICATION_REQUIRED without one, 403 FORBIDDEN for a wrong token. */
  authenticate(request: Pick<FastifyRequest, 'headers'>): Operator {
    const token = bearerTokenOf(request.headers);
    if (token !== undefined) {
      if (!secretsEqual(token, this.config.OPS_TOKEN))
        throw forbidden('Only an operator may use the dashboard.');
      return { via: 'bearer' };
    }
    const cookie = cookieValueOf(request.headers.cookie, SESSION_COOKIE);
    const session = cookie === undefined ? undefined : this.sessions.verify(cookie);
    if (!session) {
      throw authenticationRequired(
        cookie === undefined
          ? 'Sign in with the operator token (POST /session), or send Authorization: Bearer <OPS_TOKEN>.'
          : 'The session has ended: sign in again.',
      );
    }
    return { via: 'session', session };
  }

  /**
   * A change asked for with the session cookie must name the session's CSRF token in X-CSRF-Token (a page
   * on another site can neither read it nor set the header without a CORS preflight this service never
   * grants) and, when the browser says where it comes from, come from this origin.
   */
  checkCsrf(request: Pick<FastifyRequest, 'headers' | 'protocol'>, session: OperatorSession): void {
    const site = request.headers['sec-fetch-site'];
    const origin = request.headers.origin;
    const ownOrigin = `${request.protocol}://${request.headers.host ?? ''}`;
    if ((site !== undefined && site !== 'same-origin') || (origin !== undefined && origin !== ownOrigin)) {
      throw new ApiError(
        HttpStatus.FORBIDDEN,
        'CROSS_SITE_REQUEST',
        'Changes come from the dashboard page only.',
      );
    }
    const given = request.headers['x-csrf-token'];
    if (typeof given !== 'string' || !secretsEqual(given, session.csrfToken)) {
      throw new ApiError(
        HttpStatus.FORBIDDEN,
        'CSRF_TOKEN_INVALID',
        "A change made with the session cookie needs the page's X-CSRF-Token header.",
      );
    }
  }

  /** Signs in with the operator token: a new session, or 403 FORBIDDEN (429 after too many failures). */
  signIn(token: unknown): { cookieValue: string; session: OperatorSession } {
    const now = Date.now();
    if (now - this.failures.windowStartMs >= 60_000) this.failures = { windowStartMs: now, count: 0 };
    if (this.failures.count >= SIGN_IN_FAILURES_PER_MINUTE) {
      throw new ApiError(
        HttpStatus.TOO_MANY_REQUESTS,
        'TOO_MANY_SIGN_IN_ATTEMPTS',
        'Too many wrong tokens: wait a minute.',
      );
    }
    if (typeof token !== 'string' || token.length === 0) {
      throw new ApiError(HttpStatus.BAD_REQUEST, 'VALIDATION_FAILED', 'Send the operator token as `token`.', {
        errors: [{ field: 'token', code: 'REQUIRED', message: 'is required' }],
      });
    }
    if (token.length > 4_096 || !secretsEqual(token, this.config.OPS_TOKEN)) {
      this.failures.count++;
      throw forbidden('That is not the operator token.');
    }
    return this.sessions.create();
  }

  /** Set-Cookie for a new session (or, without one, the cookie's removal). Secure when served over https. */
  sessionCookie(request: Pick<FastifyRequest, 'protocol'>, cookieValue?: string): string {
    const attributes = ['Path=/', 'HttpOnly', 'SameSite=Strict'];
    if (request.protocol === 'https') attributes.push('Secure');
    attributes.push(cookieValue === undefined ? 'Max-Age=0' : `Max-Age=${SESSION_TTL_MS / 1_000}`);
    return [`${SESSION_COOKIE}=${cookieValue ?? ''}`, ...attributes].join('; ');
  }
}
