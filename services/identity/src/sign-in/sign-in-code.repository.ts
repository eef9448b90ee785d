import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL, queryKeepingConnection } from '@shop/db';
import type { Pool } from 'pg';
import { z } from 'zod';

export interface NewSignInCode {
  email: string;
  codeId: string;
  codeHash: Buffer;
  salt: Buffer;
  ttlMs: number;
  maxTries: number;
}

export interface PerEmailLimit {
  codes: number;
  windowSeconds: number;
}

export type IssueOutcome = { issued: true; expiresAt: Date } | { issued: false; retryAfterSeconds: number };

const IssuedRow = z.object({ expires_at: z.date() });
const RetryAfterRow = z.object({ retry_after: z.number().int() });
const LiveCodeRow = z.object({
  code_id: z.string(),
  salt: z.instanceof(Buffer),
  code_hash: z.instanceof(Buffer),
});
const AttemptRow = z.object({ counted: z.number().int(), customer_id: z.string().nullable() });

export interface LiveSignInCode {
  codeId: string;
  salt: Buffer;
  codeHash: Buffer;
}

export type AttemptOutcome = { signedIn: true; customerId: string } | { signedIn: false };

/**
 * The one live sign-in code per email (identity.sign_in_codes), stored hashed. Every decision that
 * replicas must agree on is one conditional statement: the per-email limit where the code is issued,
 * and a try counted in the same UPDATE that checks the code is still live.
 */
@Injectable()
export class SignInCodeRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * Replaces the email's code with a new one, unless the email had `limit.codes` codes within the
   * window already; then nothing changes and the answer says when the window ends.
   */
  async issue(code: NewSignInCode, limit: PerEmailLimit): Promise<IssueOutcome> {
    const { rows } = await queryKeepingConnection(this.pool, {
      name: 'issue-sign-in-code-v1',
      text: `INSERT INTO sign_in_codes AS c
               (email, code_id, code_hash, salt, expires_at, tries_left, window_started_at, codes_in_window)
             VALUES ($1, $2::uuid, $3, $4, now() + make_interval(secs => $5::double precision / 1000), $6, now(), 1)
             ON CONFLICT (email) DO UPDATE
                SET code_id = EXCLUDED.code_id, code_hash = EXCLUDED.code_hash, salt = EXCLUDED.salt,
                    expires_at = EXCLUDED.expires_at, tries_left = EXCLUDED.tries_left, issued_at = now(),
                    window_started_at = CASE WHEN c.window_started_at <= now() - make_interval(secs => $8::int)
                                             THEN now() ELSE c.window_started_at END,
                    codes_in_window = CASE WHEN c.window_started_at <= now() - make_interval(secs => $8::int)
                                           THEN 1 ELSE c.codes_in_window + 1 END
              WHERE c.window_started_at <= now() - make_interval(secs => $8::int) OR c.codes_in_window < $7
             RETURNING expires_at`,
      values: [
        code.email,
        code.codeId,
        code.codeHash,
        code.salt,
        code.ttlMs,
        code.maxTries,
        limit.codes,
        limit.windowSeconds,
      ],
    });
    if (rows.length === 1) return { issued: true, expiresAt: IssuedRow.parse(rows[0]).expires_at };
    const waited = await queryKeepingConnection(this.pool, {
      text: `SELECT greatest(1, ceil(extract(epoch FROM window_started_at + make_interval(secs => $2::int) - now())))::int
                    AS retry_after
               FROM sign_in_codes WHERE email = $1`,
      values: [code.email, limit.windowSeconds],
    });
    return { issued: false, retryAfterSeconds: RetryAfterRow.parse(waited.rows[0]).retry_after };
  }

  /** A code that could not be sent is spent and not counted against the email's limit. */
  async withdraw(codeId: string): Promise<void> {
    await queryKeepingConnection(this.pool, {
      text: `UPDATE sign_in_codes SET tries_left = 0, codes_in_window = greatest(codes_in_window - 1, 0)
              WHERE code_id = $1::uuid`,
      values: [codeId],
    });
  }

  /** The email's code while it may still be tried: not expired, not spent. */
  async findLive(email: string): Promise<LiveSignInCode | undefined> {
    const { rows } = await queryKeepingConnection(this.pool, {
      name: 'find-live-sign-in-code-v1',
      text: `SELECT code_id::text, salt, code_hash FROM sign_in_codes
              WHERE email = $1 AND tries_left > 0 AND expires_at > now()`,
      values: [email],
    });
    if (rows.length === 0) return undefined;
    const row = LiveCodeRow.parse(rows[0]);
    return { codeId: row.code_id, salt: row.salt, codeHash: row.code_hash };
  }

  /**
   * Counts one try of code `codeId`, if it is still the email's code and live: a wrong one uses up a
   * try, the right one spends the code and signs the customer in (made on their first sign-in). The
   * check and the count are one UPDATE, so concurrent tries can never exceed the code's tries.
   */
  async attempt(email: string, codeId: string, matched: boolean): Promise<AttemptOutcome> {
    const { rows } = await queryKeepingConnection(this.pool, {
      name: 'attempt-sign-in-code-v1',
      text: `WITH attempt AS (
               UPDATE sign_in_codes
                  SET tries_left = CASE WHEN $3::boolean THEN 0 ELSE tries_left - 1 END
                WHERE email = $1 AND code_id = $2::uuid AND tries_left > 0 AND expires_at > now()
               RETURNING email
             ), customer AS (
               INSERT INTO customers (email) SELECT email FROM attempt WHERE $3::boolean
               ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email
               RETURNING id::text AS id
             )
             SELECT (SELECT count(*) FROM attempt)::int AS counted, (SELECT id FROM customer) AS customer_id`,
      values: [email, codeId, matched],
    });
    const row = AttemptRow.parse(rows[0]);
    return row.counted === 1 && row.customer_id
      ? { signedIn: true, customerId: row.customer_id }
      : { signedIn: false };
  }
}
