import { loadConfig, positiveIntVariable } from '@shop/config';
import {
  contentLengthMismatch,
  describeRawRequest,
  hostileAuthorization,
  hostileContentType,
  hostileHeaderValue,
  hostileHost,
  mismatchedLength,
  optionalHeader,
  problemWithRawAnswer,
  sendRawHttp,
  startHttpApp,
  testConfig,
  testSecrets,
  type HttpAppHarness,
  type RawAnswer,
  type RawRequest,
} from '@shop/testing';
import fc from 'fast-check';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppModule, SERVICE_NAME } from '../app.module';
import { loadDashboardConfig } from '../config/dashboard.config';
import { OperatorSessions, SESSION_COOKIE } from './operator-session';

const RUNS = 300;
/** Fixed, so CI is repeatable; set FUZZ_SEED to explore other inputs or replay a failure. */
const { FUZZ_SEED: seed } = loadConfig({ FUZZ_SEED: positiveIntVariable(20_261_207, 0x7fff_ffff) });

/** A real session of this OPS_TOKEN, so the fuzz also reaches the CSRF check behind the cookie. */
const real = new OperatorSessions(testSecrets.OPS_TOKEN).create();
const [nonce, expiry, signature] = real.cookieValue.split('.');

const cookie = fc.oneof(
  hostileHeaderValue,
  hostileHeaderValue.map((value) => `${SESSION_COOKIE}=${value}`),
  fc.constantFrom(
    `${SESSION_COOKIE}=${real.cookieValue}`,
    `a=1; ${SESSION_COOKIE}=${real.cookieValue}; b=2`,
    `${SESSION_COOKIE}=${nonce}.${Number(expiry) + 1}.${signature}`,
    `${SESSION_COOKIE}=${nonce}.${expiry}.${'A'.repeat(43)}`,
    `${SESSION_COOKIE}=${nonce}.1.${signature}`,
    `${SESSION_COOKIE}=`,
    `${SESSION_COOKIE}=${testSecrets.OPS_TOKEN}`,
  ),
);
const csrfToken = fc.oneof(hostileHeaderValue, fc.constant(real.session.csrfToken));
const origin = fc.oneof(
  hostileHeaderValue,
  fc.constantFrom('null', 'https://evil.example', 'http://localhost'),
);

const rawRequest: fc.Arbitrary<RawRequest> = fc
  .record({
    target: fc.constantFrom(
      { method: 'GET' as const, path: '/', body: '' },
      { method: 'GET' as const, path: '/api/topology', body: '' },
      { method: 'GET' as const, path: '/sales/current', body: '' },
      // Invalid options: a sale that got through would still be refused by its validation.
      { method: 'POST' as const, path: '/sales', body: '{"requests":0}' },
      { method: 'POST' as const, path: '/sales/current/stop', body: '{}' },
      { method: 'POST' as const, path: '/session', body: '{"token":"not-the-token"}' },
      { method: 'DELETE' as const, path: '/session', body: '' },
      { method: 'GET' as const, path: '/health', body: '' },
    ),
    host: fc.option(hostileHost, { nil: undefined }),
    cookie: optionalHeader('Cookie', cookie),
    authorization: optionalHeader('Authorization', hostileAuthorization(testSecrets.OPS_TOKEN)),
    csrf: optionalHeader('X-CSRF-Token', csrfToken),
    origin: optionalHeader('Origin', origin),
    contentType: optionalHeader('Content-Type', hostileContentType),
    requestId: optionalHeader('X-Request-Id', hostileHeaderValue),
    lengthDelta: contentLengthMismatch,
  })
  .map(({ target, host, lengthDelta, ...headers }) => {
    const length = mismatchedLength(target.body, lengthDelta);
    return {
      method: target.method,
      path: target.path,
      headers: [
        ...(host === undefined ? [] : [['Host', host] as [string, string]]),
        ...Object.values(headers).filter((header): header is [string, string] => header !== undefined),
      ],
      body: target.body,
      ...(length === undefined ? {} : { contentLength: length }),
    };
  });

/** The page answers a stranger with the sign-in form (HTML), not JSON: that is a proper refusal too. */
function problemWith(request: RawRequest, answer: RawAnswer): string | undefined {
  const signInForm =
    request.path === '/' &&
    (answer.status === 401 || answer.status === 403) &&
    /content-type: text\/html/i.test(answer.headers) &&
    answer.body.includes('action="/session"');
  return signInForm ? undefined : problemWithRawAnswer(answer);
}

describe('dashboard under hostile headers (fuzz): Cookie, Authorization, X-CSRF-Token, Origin, Host…', () => {
  let dashboard: HttpAppHarness;
  let salesDir: string;

  beforeAll(async () => {
    salesDir = await mkdtemp(join(tmpdir(), 'dashboard-fuzz-'));
    const config = loadDashboardConfig({
      RABBITMQ_URL: testConfig.rabbitmqUrl,
      OPS_TOKEN: testSecrets.OPS_TOKEN,
      DASHBOARD_TARGETS: 'order-api=http://127.0.0.1:9',
      SALES_DIR: salesDir,
      LOADTEST_CLI: join(salesDir, 'no-load-test.js'),
    });
    dashboard = await startHttpApp(AppModule.forRoot(config), { service: SERVICE_NAME });
  });
  afterAll(async () => {
    await dashboard?.close();
    await rm(salesDir, { recursive: true, force: true });
  });

  it(`${RUNS} requests: the sign-in form, a 2xx or a 4xx with a code, never a 5xx; no sale started`, async () => {
    const port = Number(new URL(dashboard.baseUrl).port);
    const property = fc.asyncProperty(rawRequest, async (request) => {
      const answer = await sendRawHttp(port, request);
      const problem = problemWith(request, answer);
      if (problem) throw new Error(`${problem}\n${describeRawRequest(request)}`);
    });
    const result = await fc.check(property, { seed, numRuns: RUNS });
    if (result.failed) {
      throw new Error(
        [
          `FUZZ_SEED=${seed}: after ${result.numRuns} requests (shrunk ${result.numShrinks} times):`,
          result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance),
        ].join('\n\n'),
      );
    }
    expect(result.numRuns).toBe(RUNS);
    const current = await fetch(`${dashboard.baseUrl}/sales/current`, {
      headers: { authorization: `Bearer ${testSecrets.OPS_TOKEN}` },
    });
    expect(current.status).toBe(204);
    expect((await fetch(`${dashboard.baseUrl}/health`)).status).toBeLessThan(500);
  });
});
