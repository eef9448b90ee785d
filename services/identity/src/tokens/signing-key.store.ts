import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { CUSTOMER_TOKEN } from '@shop/contracts';
import { PG_POOL, queryKeepingConnection } from '@shop/db';
import type { Pool } from 'pg';
import { z } from 'zod';
import { loadJose, type Jose } from './jose';

/** A public key as the JWKS lists it. */
const PublicJwk = z.looseObject({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: z.string(),
  y: z.string(),
});
const PrivateJwk = PublicJwk.extend({ d: z.string() });
const SigningKeyRow = z.object({ kid: z.string(), private_jwk: PrivateJwk, public_jwk: PublicJwk });

export interface SigningKey {
  kid: string;
  privateKey: Awaited<ReturnType<Jose['importJWK']>>;
  /** The public half as a JWK with kid, alg and use: what /.well-known/jwks.json serves. */
  publicJwk: Record<string, unknown>;
}

/** Keys live in slots; `current` signs every token. */
const CURRENT_SLOT = 'current';

/**
 * The ES256 key pair customer tokens are signed with. The first instance to start makes it and every
 * other instance takes that one: each proposes a fresh pair with INSERT ... ON CONFLICT DO NOTHING and
 * then reads whichever pair the slot holds, so two instances starting together agree.
 */
@Injectable()
export class SigningKeyStore implements OnApplicationBootstrap {
  private readonly logger = new Logger(SigningKeyStore.name);
  private key: Promise<SigningKey> | undefined;

  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  onApplicationBootstrap(): void {
    // Loaded at start when the database answers; a request waits for it (or retries it) otherwise.
    this.current().catch((error: Error) =>
      this.logger.warn(`signing key not loaded yet (${error.message}); the first request tries again`),
    );
  }

  current(): Promise<SigningKey> {
    this.key ??= this.load().catch((error: unknown) => {
      this.key = undefined;
      throw error;
    });
    return this.key;
  }

  private async load(): Promise<SigningKey> {
    const jose = await loadJose();
    const pair = await jose.generateKeyPair(CUSTOMER_TOKEN.algorithm, { extractable: true });
    const publicJwk = await jose.exportJWK(pair.publicKey);
    const privateJwk = await jose.exportJWK(pair.privateKey);
    const kid = await jose.calculateJwkThumbprint(publicJwk);
    const inserted = await queryKeepingConnection(this.pool, {
      text: `INSERT INTO signing_keys (slot, kid, algorithm, private_jwk, public_jwk)
               VALUES ($1, $2, $3, $4::jsonb, $5::jsonb) ON CONFLICT (slot) DO NOTHING`,
      values: [
        CURRENT_SLOT,
        kid,
        CUSTOMER_TOKEN.algorithm,
        JSON.stringify(privateJwk),
        JSON.stringify(publicJwk),
      ],
    });
    if (inserted.rowCount === 1) this.logger.log(`made the signing key ${kid}`);
    // A statement of its own: it sees the pair another instance committed while this one waited.
    const { rows } = await queryKeepingConnection(this.pool, {
      text: 'SELECT kid, private_jwk, public_jwk FROM signing_keys WHERE slot = $1',
      values: [CURRENT_SLOT],
    });
    const row = SigningKeyRow.parse(rows[0]);
    const privateKey = await jose.importJWK(row.private_jwk, CUSTOMER_TOKEN.algorithm);
    const { kty, crv, x, y } = row.public_jwk;
    return {
      kid: row.kid,
      privateKey,
      publicJwk: { kty, crv, x, y, kid: row.kid, alg: CUSTOMER_TOKEN.algorithm, use: 'sig' },
    };
  }
}
