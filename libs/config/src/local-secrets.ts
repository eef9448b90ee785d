import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The secrets every deployment needs, by variable name, with the file `npm start` keeps each in
 * (under var/secrets/, mode 0600). Compose reads the same variables from `.env` (`npm run secrets`)
 * and refuses to start without them.
 */
export const LOCAL_SECRET_FILES = {
  /** The operators' bearer token: product writes, logs, the dashboard, minting customer tokens. */
  OPS_TOKEN: 'ops-token',
  /** Signs each guest order's access token (an HMAC of the order id), so a replay returns the same one. */
  ORDER_TOKEN_SECRET: 'order-token-secret',
} as const;

export type LocalSecretName = keyof typeof LOCAL_SECRET_FILES;

/** 32 random bytes, base64url: 43 printable characters, safe in a header, a URL and a .env line. */
export const randomSecret = (): string => randomBytes(32).toString('base64url');

/**
 * Reads each secret from `dir`, creating the ones missing with a random value (first run). The folder
 * is 0700 and each file 0600: only the user running `npm start` can read them.
 */
export function ensureLocalSecrets(
  dir: string,
): Record<LocalSecretName, string> & { created: LocalSecretName[] } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const created: LocalSecretName[] = [];
  const values = {} as Record<LocalSecretName, string>;
  for (const [name, file] of Object.entries(LOCAL_SECRET_FILES) as [LocalSecretName, string][]) {
    const secret = ensureLocalSecretFile(dir, file);
    if (secret.created) created.push(name);
    values[name] = secret.value;
  }
  return { ...values, created };
}

/** One secret file under `dir` (0700), created 0600 with a random value when missing. */
export function ensureLocalSecretFile(dir: string, file: string): { value: string; created: boolean } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const path = join(dir, file);
  let created = false;
  if (!existsSync(path)) {
    try {
      // 'wx': never overwrite a secret another process wrote meanwhile.
      writeFileSync(path, `${randomSecret()}\n`, { mode: 0o600, flag: 'wx' });
      created = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  chmodSync(path, 0o600);
  return { value: readFileSync(path, 'utf8').trim(), created };
}
