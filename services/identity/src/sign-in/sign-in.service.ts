import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { SIGN_IN_CODE_MAX_TRIES, SIGN_IN_CODE_TTL_MS } from '@shop/contracts';
import { ApiError } from '@shop/service-kit';
import { randomUUID } from 'node:crypto';
import { IDENTITY_CONFIG, type IdentityConfig } from '../config/identity.config';
import { CustomerTokenIssuer, type CustomerTokenResponse } from '../tokens/customer-token.issuer';
import { hashesEqual, hashSignInCode, newCodeSalt, newSignInCode } from './sign-in-code';
import { SignInCodePublisher } from './sign-in-code.publisher';
import { SignInCodeRepository } from './sign-in-code.repository';

export type CodeRequestOutcome = { sent: true } | { sent: false; retryAfterSeconds: number };

/** The same answer for a wrong, expired or spent code, and for an email identity never saw. */
const invalidSignInCode = () =>
  new ApiError(
    HttpStatus.UNAUTHORIZED,
    'INVALID_SIGN_IN_CODE',
    'That code is wrong, expired or used up; ask for a new one at POST /customers/sign-in.',
  );

/**
 * Passwordless sign-in: a six-digit code by email (stored only as a salted hash, valid
 * SIGN_IN_CODE_TTL_MS, SIGN_IN_CODE_MAX_TRIES tries), exchanged for a customer token.
 */
@Injectable()
export class SignInService {
  private readonly logger = new Logger(SignInService.name);

  constructor(
    private readonly codes: SignInCodeRepository,
    private readonly publisher: SignInCodePublisher,
    private readonly tokens: CustomerTokenIssuer,
    @Inject(IDENTITY_CONFIG) private readonly config: IdentityConfig,
  ) {}

  /**
   * Replaces the email's code with a new one and has it mailed. Whether the email belongs to a customer
   * changes nothing. Throws 503 SIGN_IN_UNAVAILABLE when the broker does not confirm the message: the
   * code is then withdrawn, so the caller is never told a code is on its way when it is not.
   */
  async requestCode(email: string): Promise<CodeRequestOutcome> {
    const code = newSignInCode();
    const salt = newCodeSalt();
    const codeId = randomUUID();
    const issued = await this.codes.issue(
      {
        email,
        codeId,
        codeHash: await hashSignInCode(code, salt),
        salt,
        ttlMs: SIGN_IN_CODE_TTL_MS,
        maxTries: SIGN_IN_CODE_MAX_TRIES,
      },
      {
        codes: this.config.SIGN_IN_PER_EMAIL_LIMIT,
        windowSeconds: this.config.SIGN_IN_PER_EMAIL_WINDOW_SECONDS,
      },
    );
    if (!issued.issued) return { sent: false, retryAfterSeconds: issued.retryAfterSeconds };
    try {
      await this.publisher.publish({ codeId, email, code, expiresAt: issued.expiresAt.toISOString() });
    } catch (error) {
      await this.codes.withdraw(codeId).catch(() => undefined);
      this.logger.warn(`sign-in code ${codeId} could not be sent: ${(error as Error).message}`);
      throw new ApiError(
        HttpStatus.SERVICE_UNAVAILABLE,
        'SIGN_IN_UNAVAILABLE',
        'The sign-in code could not be sent right now; try again in a moment.',
      );
    }
    this.logger.log(`sign-in code ${codeId} sent for mailing`);
    return { sent: true };
  }

  /** A token for the email's customer (made on their first sign-in) when `code` is its live code. */
  async exchange(email: string, code: string): Promise<CustomerTokenResponse> {
    const live = await this.codes.findLive(email);
    // The same hashing work with or without a code, so the time taken says nothing about the email.
    const hash = await hashSignInCode(code, live?.salt ?? newCodeSalt());
    if (!live) throw invalidSignInCode();
    const attempt = await this.codes.attempt(email, live.codeId, hashesEqual(hash, live.codeHash));
    if (!attempt.signedIn) throw invalidSignInCode();
    return this.tokens.issue({ id: attempt.customerId, email });
  }
}
