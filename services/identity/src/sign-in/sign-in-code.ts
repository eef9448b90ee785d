import { randomBytes, randomInt, scrypt, timingSafeEqual } from 'node:crypto';

/** Six digits, uniformly drawn from a CSPRNG (leading zeros kept). */
export function newSignInCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

export const newCodeSalt = (): Buffer => randomBytes(16);

/**
 * The code as stored: scrypt with a salt per code. Six digits are a million guesses; at scrypt's cost
 * (N=2^14) trying them all against a stolen row takes far longer than the ten minutes a code lives.
 */
export function hashSignInCode(code: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(code, salt, 32, { N: 16_384, r: 8, p: 1 }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** Compares two hashes in time that does not depend on where they differ. */
export function hashesEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
