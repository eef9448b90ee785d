import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureLocalSecretFile, ensureLocalSecrets } from './local-secrets';

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe('ensureLocalSecrets', () => {
  it('creates each secret once, readable by its owner only, in a folder only its owner may enter', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'secrets-')), 'var/secrets');
    const first = ensureLocalSecrets(dir);
    expect(first.created).toEqual(['OPS_TOKEN', 'ORDER_TOKEN_SECRET']);
    expect(first.OPS_TOKEN).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first.OPS_TOKEN).not.toBe(first.ORDER_TOKEN_SECRET);
    expect(modeOf(dir)).toBe(0o700);
    expect(modeOf(join(dir, 'ops-token'))).toBe(0o600);
    expect(modeOf(join(dir, 'order-token-secret'))).toBe(0o600);

    const second = ensureLocalSecrets(dir);
    expect(second).toEqual({ ...first, created: [] });
  });

  it('keeps a secret already there and tightens its mode', () => {
    const dir = mkdtempSync(join(tmpdir(), 'secrets-'));
    writeFileSync(join(dir, 'rabbitmq-password'), 'chosen-by-hand\n', { mode: 0o644 });
    expect(ensureLocalSecretFile(dir, 'rabbitmq-password')).toEqual({
      value: 'chosen-by-hand',
      created: false,
    });
    expect(modeOf(join(dir, 'rabbitmq-password'))).toBe(0o600);
    expect(readFileSync(join(dir, 'rabbitmq-password'), 'utf8')).toBe('chosen-by-hand\n');
  });
});
