import { loadConfig, positiveIntVariable } from '@shop/config';
import {
  contentLengthMismatch,
  createTestPool,
  describeRawRequest,
  hostileAuthorization,
  hostileContentType,
  hostileHeaderValue as hostile,
  hostileHost,
  insertProduct,
  mismatchedLength,
  optionalHeader,
  problemWithRawAnswer,
  resetDatabase,
  sendRawHttp,
  testSecrets,
  waitFor,
  type RawRequest,
} from '@shop/testing';
import fc from 'fast-check';
import type { Pool } from 'pg';
import { startOrderApi, type OrderApiHarness } from '../testing/order-api.harness';
import { SEED_PRODUCTS } from './malformed-requests';

const RUNS = 400;
/** Fixed, so CI is repeatable; set FUZZ_SEED to explore other inputs or replay a failure. */
const { FUZZ_SEED: seed } = loadConfig({ FUZZ_SEED: positiveIntVariable(20_261_207, 0x7fff_ffff) });

const validOrder = JSON.stringify({
  customer: { email: 'fuzz@example.com', name: 'Fuzz Header' },
  items: [{ sku: SEED_PRODUCTS.tea.sku, quantity: 1 }],
});

const rawRequest: fc.Arbitrary<RawRequest> = fc
  .record({
    target: fc.constantFrom(
      { method: 'POST' as const, path: '/orders', body: validOrder },
      { method: 'GET' as const, path: '/orders/00000000-0000-4000-8000-000000000000', body: '' },
      { method: 'GET' as const, path: `/products/${SEED_PRODUCTS.kim.sku}`, body: '' },
      { method: 'POST' as const, path: `/products/${SEED_PRODUCTS.kim.sku}/restock`, body: '{"quantity":1}' },
      { method: 'GET' as const, path: '/health', body: '' },
    ),
    requestId: optionalHeader('X-Request-Id', hostile),
    correlationId: optionalHeader('X-Correlation-Id', hostile),
    idempotencyKey: optionalHeader('Idempotency-Key', hostile),
    authorization: optionalHeader('Authorization', hostileAuthorization(testSecrets.OPS_TOKEN)),
    host: fc.option(hostileHost, { nil: undefined }),
    contentType: optionalHeader('Content-Type', hostileContentType),
    cookie: optionalHeader('Cookie', hostile),
    lengthDelta: contentLengthMismatch,
  })
  .map(({ target, host: hostValue, lengthDelta, ...headers }) => {
    const body = target.body;
    const length = mismatchedLength(body, lengthDelta);
    return {
      method: target.method,
      path: target.path,
      // Without a Host an HTTP/1.1 request is refused (400) before the service sees it: mostly send one.
      headers: [
        ...(hostValue === undefined ? [] : [['Host', hostValue] as [string, string]]),
        ...Object.values(headers).filter((header): header is [string, string] => header !== undefined),
      ],
      body,
      ...(length === undefined ? {} : { contentLength: length }),
    };
  });

/** Row counts of every business table and a checksum of the products. */
async function tableState(pool: Pool) {
  const { rows } = await pool.query(`
    SELECT (SELECT count(*) FROM products)::int AS products,
           (SELECT count(*) FROM orders)::int AS orders,
           (SELECT count(*) FROM order_items)::int AS "orderItems",
           (SELECT count(*) FROM outbox_messages)::int AS "outboxMessages",
           (SELECT md5(string_agg(sku || ':' || stock || ':' || price_cents, ',' ORDER BY sku)) FROM products) AS products_sum`);
  return rows[0] as Record<string, unknown>;
}

describe('order-api under hostile headers (fuzz)', () => {
  let api: OrderApiHarness;
  let pool: Pool;
  let port: number;

  beforeAll(async () => {
    pool = createTestPool();
    await resetDatabase(pool);
    for (const product of Object.values(SEED_PRODUCTS)) await insertProduct(pool, product);
    api = await startOrderApi();
    port = Number(new URL(api.baseUrl).port);
    await waitFor('order-api health', async () => (await api.get('/health')).status === 200);
  });
  afterAll(async () => {
    await api?.close();
    await pool?.end();
  });

  it(`${RUNS} requests with random X-Request-Id, X-Correlation-Id, Idempotency-Key, Authorization, Host, Content-Type, Cookie and Content-Length: a 2xx or a 4xx with a code, nothing written when refused`, async () => {
    const property = fc.asyncProperty(rawRequest, async (request) => {
      const before = await tableState(pool);
      const answer = await sendRawHttp(port, request);
      const problem = problemWithRawAnswer(answer);
      if (problem) throw new Error(`${problem}\n${describeRawRequest(request)}`);
      if (answer.status >= 400) {
        const after = await tableState(pool);
        if (JSON.stringify(after) !== JSON.stringify(before)) {
          throw new Error(
            `refused with ${answer.status} but wrote: ${JSON.stringify(before)} → ${JSON.stringify(after)}\n${describeRawRequest(request)}`,
          );
        }
      }
    });
    const result = await fc.check(property, { seed, numRuns: RUNS });
    if (result.failed) {
      throw new Error(
        [
          `FUZZ_SEED=${seed}: after ${result.numRuns} requests (shrunk ${result.numShrinks} times):`,
          `Replay: FUZZ_SEED=${seed} npx jest --selectProjects integration services/order-api/src/fuzz/header-fuzz`,
          result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance),
        ].join('\n\n'),
      );
    }
    expect(result.numRuns).toBe(RUNS);
    expect((await api.get('/health')).status).toBe(200);
  });

  it('takes a 150-character X-Request-Id (longer than a correlation id may be) and places the order: 201', async () => {
    const placed = await api.post('/orders', JSON.parse(validOrder), { 'x-request-id': 'r'.repeat(150) });
    expect(placed.status).toBe(201);
    const { rows } = await pool.query<{ correlation_id: string }>(
      'SELECT correlation_id FROM orders WHERE id = $1',
      [placed.body.id],
    );
    expect(rows[0].correlation_id).toMatch(/^[0-9a-f-]{36}$/);
    const kept = await api.post('/orders', JSON.parse(validOrder), { 'x-request-id': 'req-kept-1' });
    expect(kept.status).toBe(201);
    const keptRow = await pool.query<{ correlation_id: string }>(
      'SELECT correlation_id FROM orders WHERE id = $1',
      [kept.body.id],
    );
    expect(keptRow.rows[0].correlation_id).toBe('req-kept-1');
  });

  it('refuses a Host it does not answer to with 421 HOST_NOT_ALLOWED, and writes nothing', async () => {
    const before = await tableState(pool);
    const answer = await sendRawHttp(port, {
      method: 'POST',
      path: '/orders',
      headers: [
        ['Host', 'rebound.example:3000'],
        ['Content-Type', 'application/json'],
      ],
      body: validOrder,
    });
    expect(answer.status).toBe(421);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'HOST_NOT_ALLOWED' });
    expect(await tableState(pool)).toEqual(before);
  });
});
