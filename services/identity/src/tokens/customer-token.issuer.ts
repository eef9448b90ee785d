import { Inject, Injectable } from '@nestjs/common';
import { CUSTOMER_TOKEN } from '@shop/contracts';
import { randomUUID } from 'node:crypto';
import { IDENTITY_CONFIG, type IdentityConfig } from '../config/identity.config';
import { loadJose } from './jose';
import { SigningKeyStore } from './signing-key.store';

/** What POST /customers/token answers, and each entry POST /ops/customers/tokens mints. */
export interface CustomerTokenResponse {
  token: string;
  tokenType: 'Bearer';
  /** Seconds the token is valid from now. */
  expiresIn: number;
  customerId: string;
}

/** Signs customer JWTs (ES256, `kid` in the header; claims per CUSTOMER_TOKEN and CustomerTokenClaims). */
@Injectable()
export class CustomerTokenIssuer {
  constructor(
    private readonly keys: SigningKeyStore,
    @Inject(IDENTITY_CONFIG) private readonly config: IdentityConfig,
  ) {}

  get lifetimeSeconds(): number {
    return this.config.CUSTOMER_TOKEN_TTL_SECONDS;
  }

  async issue(customer: { id: string; email: string }): Promise<CustomerTokenResponse> {
    const [jose, key] = await Promise.all([loadJose(), this.keys.current()]);
    const token = await new jose.SignJWT({ email: customer.email })
      .setProtectedHeader({ alg: CUSTOMER_TOKEN.algorithm, kid: key.kid, typ: 'JWT' })
      .setIssuer(CUSTOMER_TOKEN.issuer)
      .setAudience(CUSTOMER_TOKEN.audience)
      .setSubject(customer.id)
      .setIssuedAt()
      .setExpirationTime(`${this.lifetimeSeconds}s`)
      .setJti(randomUUID())
      .sign(key.privateKey);
    return { token, tokenType: 'Bearer', expiresIn: this.lifetimeSeconds, customerId: customer.id };
  }
}
