import { hashesEqual, hashSignInCode, newCodeSalt, newSignInCode } from './sign-in-code';

describe('sign-in codes', () => {
  it('are six digits, leading zeros included', () => {
    const codes = Array.from({ length: 2_000 }, newSignInCode);
    expect(codes.every((code) => /^[0-9]{6}$/.test(code))).toBe(true);
    expect(new Set(codes).size).toBeGreaterThan(1_990);
  });

  it('hash to the same bytes with the same salt only', async () => {
    const salt = newCodeSalt();
    const hash = await hashSignInCode('012345', salt);
    expect(hashesEqual(hash, await hashSignInCode('012345', salt))).toBe(true);
    expect(hashesEqual(hash, await hashSignInCode('012346', salt))).toBe(false);
    expect(hashesEqual(hash, await hashSignInCode('012345', newCodeSalt()))).toBe(false);
    expect(hash.toString('utf8')).not.toContain('012345');
  });
});
