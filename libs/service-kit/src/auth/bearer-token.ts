import { HttpStatus } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from '../api-error';

/** The token of an `Authorization: Bearer <token>` header; undefined when there is none. */
export function bearerTokenOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const header = headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer[ ]+([\x21-\x7E]{1,4096})[ ]*$/i.exec(header);
  return match?.[1];
}

/**
 * Compares two secrets in time that does not depend on where they differ. Both are hashed first so
 * their lengths are equal too (timingSafeEqual refuses unequal lengths, which would leak the length).
 */
export function secretsEqual(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

export const authenticationRequired = (message = 'Sign in first: send Authorization: Bearer <token>.') =>
  new ApiError(HttpStatus.UNAUTHORIZED, 'AUTHENTICATION_REQUIRED', message);

export const forbidden = (message = 'This token may not do that.') =>
  new ApiError(HttpStatus.FORBIDDEN, 'FORBIDDEN', message);
