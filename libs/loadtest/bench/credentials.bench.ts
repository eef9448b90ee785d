/**
 * `npm run bench:credentials`: the CPU each kind of credential costs order-api per request, measured
 * with the same calls it makes: the operator token and an order's access token compared in constant
 * time (an HMAC-SHA256 of the order id first), and a customer's ES256 JWT verified by jose against a key
 * set already fetched (identity's JWKS is fetched once and cached). The operator check is the baseline
 * the others are given as a multiple of, in the same run.
 * Knobs: BENCH_CREDENTIAL_CHECKS (5000 per kind).
 *
 * Needs no database, broker or built service.
 */
import { CUSTOMER_TOKEN } from '@shop/contracts';
import { secretsEqual } from '@shop/service-kit';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { formatTable } from '../src/summary';

const CHECKS = Number(process.env.BENCH_CREDENTIAL_CHECKS ?? 5_000);
const log = (line: string) => console.error(`[bench] ${line}`);

/** CPU microseconds per call of `check`, after a warm-up of a tenth as many calls. */
async function cpuMicrosPerCheck(check: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < CHECKS / 10; i++) await check(i);
  const start = process.cpuUsage();
  for (let i = 0; i < CHECKS; i++) await check(i);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / CHECKS;
}

async function main(): Promise<void> {
  // jose ships ES modules only: a dynamic import loads it from this CommonJS file, as order-api does.
  const { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } = await import('jose');
  const opsToken = randomBytes(32).toString('base64url');
  const orderTokenSecret = randomBytes(32).toString('base64url');
  const orderIds = Array.from({ length: 64 }, () => randomUUID());
  const accessTokenOf = (orderId: string) =>
    createHmac('sha256', orderTokenSecret).update(`order-access/v1/${orderId}`).digest('base64url');
  const accessTokens = orderIds.map(accessTokenOf);

  const { publicKey, privateKey } = await generateKeyPair(CUSTOMER_TOKEN.algorithm);
  const keySet = createLocalJWKSet({
    keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: CUSTOMER_TOKEN.algorithm }],
  });
  const customerToken = await new SignJWT({ email: 'wang.fang@example.cn' })
    .setProtectedHeader({ alg: CUSTOMER_TOKEN.algorithm, kid: 'bench' })
    .setIssuer(CUSTOMER_TOKEN.issuer)
    .setAudience(CUSTOMER_TOKEN.audience)
    .setSubject(randomUUID())
    .setExpirationTime('1h')
    .sign(privateKey);

  log(`${CHECKS} checks of each kind…`);
  const operator = await cpuMicrosPerCheck(() => secretsEqual(opsToken, opsToken));
  const accessToken = await cpuMicrosPerCheck((i) =>
    secretsEqual(accessTokens[i % 64], accessTokenOf(orderIds[i % 64])),
  );
  const customer = await cpuMicrosPerCheck(() =>
    jwtVerify(customerToken, keySet, {
      issuer: CUSTOMER_TOKEN.issuer,
      audience: CUSTOMER_TOKEN.audience,
      algorithms: [CUSTOMER_TOKEN.algorithm],
    }),
  );

  const row = (what: string, micros: number) => [
    what,
    micros.toFixed(1),
    `${(micros / operator).toFixed(1)}×`,
  ];
  console.log(
    formatTable(
      ['credential (order-api, per request)', 'CPU µs', 'vs operator token'],
      [
        row('operator token (SHA-256 both, timingSafeEqual)', operator),
        row("an order's access token (HMAC-SHA256 + the same compare)", accessToken),
        row("a customer's ES256 JWT (jose, key set cached)", customer),
      ],
    ),
  );
}

main().catch((error: Error) => {
  console.error(`[bench] failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
