import { Queues } from '@shop/contracts';
import {
  BrokerProbe,
  createTestPool,
  extractPdfText,
  freePort,
  insertProduct,
  resetDatabase,
  startServiceProcess,
  testConfig,
  testSecrets,
  type HttpResponse,
  type ServiceProcess,
} from '@shop/testing';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { asOperator, bearer, startOrderApi, type OrderApiHarness } from '../testing/order-api.harness';
import { startTestIdentity, type TestIdentity } from '../testing/test-identity';

const ALICE = { sub: '0b8f3a52-6c1d-4e7a-9f20-3d5c8e1b7a41', email: 'alice@example.com' };
const BORIS = { sub: '7d2e9c14-3a6b-4f85-8e01-6b9d4c2f5e73', email: 'boris@example.com' };
const GUEST = { email: 'guest@example.com', name: 'Guest' };
const MISSING_ID = '2b1f6ad9-9b5e-4a57-8c57-0e7a2f1c9d11';

const orderBody = (email: string, name = 'Buyer', quantity = 1) => ({
  customer: { email, name },
  items: [{ sku: 'TEA-001', quantity }],
});

/**
 * Who may read and list orders, against the real order-api, PostgreSQL, RabbitMQ and report-worker; the
 * customer JWTs are signed here and their keys served over HTTP by a stand-in for identity's JWKS.
 */
describe('order ownership and access (real PostgreSQL, RabbitMQ, JWKS over HTTP)', () => {
  let pool: Pool;
  let broker: BrokerProbe;
  let identity: TestIdentity;
  let api: OrderApiHarness;
  let worker: ServiceProcess;
  let aliceJwt: string;
  let borisJwt: string;

  beforeAll(async () => {
    pool = createTestPool();
    broker = await BrokerProbe.connect();
    identity = await startTestIdentity();
    api = await startOrderApi({ IDENTITY_JWKS_URL: identity.jwksUrl });
    worker = await startServiceProcess(
      'report-worker',
      {
        DATABASE_URL: testConfig.databaseUrlOf('report-worker'),
        RABBITMQ_URL: testConfig.rabbitmqUrl,
        REPORTS_DIR: await mkdtemp(join(tmpdir(), 'order-access-reports-')),
      },
      { port: await freePort() },
    );
    aliceJwt = await identity.sign(ALICE);
    borisJwt = await identity.sign(BORIS);
  });

  afterAll(async () => {
    await worker?.stop();
    await api?.close();
    await identity?.close();
    await broker?.close();
    await pool?.end();
  });

  beforeEach(async () => {
    await resetDatabase(pool);
    await broker.purge(Queues.orderNotify, Queues.orderReport, Queues.reportRpc);
    await insertProduct(pool, { sku: 'TEA-001', name: '龙井茶 Longjing tea', priceCents: 1250, stock: 100 });
  });

  const countOrders = async () => Number((await pool.query('SELECT count(*) AS n FROM orders')).rows[0].n);
  const place = async (body: unknown, headers: Record<string, string> = {}) => {
    const response = await api.post('/orders', body, headers);
    expect(response.status).toBe(201);
    return response.body as { id: string; accessToken: string; customerId?: string; createdAt: string };
  };
  const expectStatus = (response: HttpResponse, status: number, code?: string) =>
    expect([response.status, response.body?.code]).toEqual([status, code]);
  const notFoundBody = (id: string) => ({ code: 'ORDER_NOT_FOUND', message: `No order has id ${id}.` });

  describe('a guest order', () => {
    it('answers its access token: an HMAC of its id under ORDER_TOKEN_SECRET, the same on a replay', async () => {
      const key = { 'idempotency-key': 'guest-checkout-1' };
      const placed = await api.post('/orders', orderBody(GUEST.email, GUEST.name), key);
      const replayed = await api.post('/orders', orderBody(GUEST.email, GUEST.name), key);
      expect([placed.status, replayed.status]).toEqual([201, 200]);
      const expected = createHmac('sha256', testSecrets.ORDER_TOKEN_SECRET)
        .update(`order-access/v1/${placed.body.id}`)
        .digest('base64url');
      expect(placed.body.accessToken).toBe(expected);
      expect(replayed.body.accessToken).toBe(expected);
      expect(placed.body).not.toHaveProperty('customerId');
    });

    it('GET /orders/:id: 401 with no credential, 404 with a wrong one (as for no order), 200 with its token', async () => {
      const mine = await place(orderBody(GUEST.email, GUEST.name));
      const other = await place(orderBody('other@example.com'));
      const path = `/orders/${mine.id}`;

      expectStatus(await api.get(path), 401, 'AUTHENTICATION_REQUIRED');
      expectStatus(await api.get(`${path}?accessToken=`), 401, 'AUTHENTICATION_REQUIRED');
      for (const wrong of [
        bearer(other.accessToken),
        bearer(mine.accessToken.slice(0, -1) + (mine.accessToken.endsWith('A') ? 'B' : 'A')),
        bearer('x'),
        bearer(borisJwt),
        bearer(await identity.sign(ALICE, { foreignKey: true })),
      ]) {
        const response = await api.get(path, wrong);
        expect([response.status, response.body]).toEqual([404, notFoundBody(mine.id)]);
      }
      const byQuery = await api.get(`${path}?accessToken=${other.accessToken}`);
      expect([byQuery.status, byQuery.body]).toEqual([404, notFoundBody(mine.id)]);
      // A missing order answers exactly as a wrong token does: the token learns nothing.
      const missing = await api.get(`/orders/${MISSING_ID}`, bearer(mine.accessToken));
      expect([missing.status, missing.body]).toEqual([404, notFoundBody(MISSING_ID)]);

      const withHeader = await api.get(path, bearer(mine.accessToken));
      expect(withHeader.status).toBe(200);
      expect(withHeader.body).toMatchObject({ id: mine.id, customer: { email: GUEST.email } });
      expect(withHeader.headers.get('cache-control')).toContain('no-store');
      expect((await api.get(`${path}?accessToken=${mine.accessToken}`)).status).toBe(200);
      expect((await api.get(path, asOperator)).status).toBe(200);
    });

    it('GET /orders/:id/report: 401 with no credential, 404 with a wrong one, the PDF with ?accessToken=', async () => {
      const mine = await place(orderBody(GUEST.email, '王芳'));
      const other = await place(orderBody('other@example.com'));
      const path = `/orders/${mine.id}/report`;

      expectStatus(await api.get(path), 401, 'AUTHENTICATION_REQUIRED');
      const wrong = await api.get(path, bearer(other.accessToken));
      expect([wrong.status, wrong.body]).toEqual([404, notFoundBody(mine.id)]);
      const wrongQuery = await api.get(`${path}?accessToken=${other.accessToken}`);
      expect([wrongQuery.status, wrongQuery.body]).toEqual([404, notFoundBody(mine.id)]);
      expectStatus(await api.get(path, bearer(aliceJwt)), 404, 'ORDER_NOT_FOUND');

      // As a browser opens the link: no header, the token in the query string.
      const pdf = await fetch(`${api.baseUrl}${path}?accessToken=${mine.accessToken}`);
      expect([pdf.status, pdf.headers.get('content-type')]).toEqual([200, 'application/pdf']);
      expect(await extractPdfText(new Uint8Array(await pdf.arrayBuffer()))).toContain('王芳');
      expect((await api.get(path, asOperator)).status).toBe(200);
    });
  });

  describe("a signed-in customer's order", () => {
    it("belongs to the token's sub, goes to the token's email, and opens with the owner's JWT", async () => {
      // The email is compared case-insensitively (stored lower-cased).
      const placed = await place(orderBody('Alice@Example.com', 'Alice'), bearer(aliceJwt));
      expect(placed.customerId).toBe(ALICE.sub);
      const { rows } = await pool.query('SELECT customer_id, customer_email FROM orders WHERE id = $1', [
        placed.id,
      ]);
      expect(rows).toEqual([{ customer_id: ALICE.sub, customer_email: ALICE.email }]);

      expect((await api.get(`/orders/${placed.id}`, bearer(aliceJwt))).status).toBe(200);
      expect((await api.get(`/orders/${placed.id}`, bearer(placed.accessToken))).status).toBe(200);
      expectStatus(await api.get(`/orders/${placed.id}`, bearer(borisJwt)), 404, 'ORDER_NOT_FOUND');
      expectStatus(await api.get(`/orders/${placed.id}/report`, bearer(borisJwt)), 404, 'ORDER_NOT_FOUND');
      expectStatus(await api.get(`/orders/${placed.id}`), 401, 'AUTHENTICATION_REQUIRED');
    });

    it("refuses an order for another email than the token's with 422 CUSTOMER_EMAIL_MISMATCH", async () => {
      const response = await api.post('/orders', orderBody('someone.else@example.com'), bearer(aliceJwt));
      expectStatus(response, 422, 'CUSTOMER_EMAIL_MISMATCH');
      expect(await countOrders()).toBe(0);
    });

    it('refuses a bearer token that is not a valid customer JWT with 401, never placing a guest order instead', async () => {
      const guestToken = (await place(orderBody(GUEST.email))).accessToken;
      const refused = [
        guestToken,
        await identity.sign(ALICE, { foreignKey: true }),
        await identity.sign(ALICE, { issuer: 'someone-else' }),
        await identity.sign(ALICE, { audience: 'rabbit-shop/operators' }),
        await identity.sign(ALICE, { expiresIn: Math.floor(Date.now() / 1000) - 60 }),
      ];
      for (const token of refused) {
        expectStatus(
          await api.post('/orders', orderBody(ALICE.email), bearer(token)),
          401,
          'AUTHENTICATION_REQUIRED',
        );
      }
      expect(await countOrders()).toBe(1);
      // The keys were fetched once and cached, not once per token.
      expect(identity.fetches()).toBe(1);
    });

    it('scopes Idempotency-Keys to the customer: the same key from another customer or a guest is another order', async () => {
      const key = { 'idempotency-key': 'cart-42' };
      const alice = await place(orderBody(ALICE.email), { ...key, ...bearer(aliceJwt) });
      const boris = await place(orderBody(BORIS.email), { ...key, ...bearer(borisJwt) });
      // The same email as Alice's, but as a guest: not Alice's scope either.
      const guest = await place(orderBody(ALICE.email), key);
      expect(new Set([alice.id, boris.id, guest.id]).size).toBe(3);

      const again = await api.post('/orders', orderBody(ALICE.email), { ...key, ...bearer(aliceJwt) });
      expect([again.status, again.body.id, again.body.accessToken]).toEqual([
        200,
        alice.id,
        alice.accessToken,
      ]);
      const reused = await api.post('/orders', orderBody(ALICE.email, 'Buyer', 2), {
        ...key,
        ...bearer(aliceJwt),
      });
      expectStatus(reused, 422, 'IDEMPOTENCY_KEY_REUSED');
      expect(reused.body).not.toHaveProperty('orderId');
      expect(await countOrders()).toBe(3);
    });
  });

  describe('GET /orders', () => {
    it("lists a customer's own orders only, newest first, a page at a time", async () => {
      const alices: string[] = [];
      for (let i = 0; i < 5; i++) alices.push((await place(orderBody(ALICE.email), bearer(aliceJwt))).id);
      const boris = await place(orderBody(BORIS.email), bearer(borisJwt));
      await place(orderBody(GUEST.email));
      // Two orders in the same millisecond are told apart by id: make two of Alice's share one.
      await pool.query(
        'UPDATE orders SET created_at = (SELECT created_at FROM orders WHERE id = $1) WHERE id = $2',
        [alices[3], alices[4]],
      );
      const { rows } = await pool.query<{ id: string }>(
        'SELECT id::text FROM orders WHERE customer_id = $1 ORDER BY created_at DESC, id DESC',
        [ALICE.sub],
      );
      const newestFirst = rows.map((row) => row.id);

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: HttpResponse = await api.get(
          `/orders?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          bearer(aliceJwt),
        );
        expect(page.status).toBe(200);
        expect(page.body.orders.length).toBeLessThanOrEqual(2);
        for (const order of page.body.orders) {
          expect(order).toMatchObject({ customerId: ALICE.sub, customer: { email: ALICE.email } });
          expect(order.accessToken).toEqual(expect.any(String));
          seen.push(order.id);
        }
        cursor = page.body.nextCursor;
        pages++;
      } while (cursor !== null && pages < 10);
      expect(seen).toEqual(newestFirst);
      expect(pages).toBe(3);

      const borisPage = await api.get('/orders', bearer(borisJwt));
      expect(borisPage.body).toEqual({
        orders: [expect.objectContaining({ id: boris.id })],
        nextCursor: null,
      });
      expectStatus(await api.get(`/orders?customerId=${BORIS.sub}`, bearer(aliceJwt)), 403, 'FORBIDDEN');
      expect((await api.get(`/orders?customerId=${ALICE.sub}`, bearer(aliceJwt))).body.orders).toHaveLength(
        5,
      );

      // The operator sees everyone's, guests' included, or one customer's.
      expect((await api.get('/orders', asOperator)).body.orders).toHaveLength(7);
      const borisAsOperator = await api.get(`/orders?customerId=${BORIS.sub}`, asOperator);
      expect(borisAsOperator.body.orders.map((order: { id: string }) => order.id)).toEqual([boris.id]);
    });

    it('401 without a customer or operator token; 400 with a code for bad parameters', async () => {
      const guest = await place(orderBody(GUEST.email));
      expectStatus(await api.get('/orders'), 401, 'AUTHENTICATION_REQUIRED');
      expectStatus(await api.get('/orders', bearer(guest.accessToken)), 401, 'AUTHENTICATION_REQUIRED');
      expectStatus(
        await api.get('/orders', bearer(await identity.sign(ALICE, { foreignKey: true }))),
        401,
        'AUTHENTICATION_REQUIRED',
      );
      expectStatus(
        await api.get('/orders', bearer('not-the-operator-token-0123456789abcdef')),
        401,
        'AUTHENTICATION_REQUIRED',
      );

      for (const query of [
        'limit=0',
        'limit=101',
        'limit=2.5',
        'limit=many',
        'customerId=nope',
        'colour=red',
      ]) {
        const response = await api.get(`/orders?${query}`, bearer(aliceJwt));
        expectStatus(response, 400, 'VALIDATION_FAILED');
      }
      const forged = Buffer.from(JSON.stringify({ t: 'yesterday', id: randomUUID() })).toString('base64url');
      for (const cursor of ['garbage!', forged]) {
        expectStatus(await api.get(`/orders?cursor=${cursor}`, bearer(aliceJwt)), 400, 'INVALID_CURSOR');
      }
      expect((await api.get('/orders?limit=100', bearer(aliceJwt))).body).toEqual({
        orders: [],
        nextCursor: null,
      });
    });
  });

  it('answers 503 IDENTITY_UNAVAILABLE when a customer JWT cannot be checked (no JWKS), and serves guests meanwhile', async () => {
    // Its own process: an order-api whose IDENTITY_JWKS_URL nothing answers.
    const cut = await startServiceProcess(
      'order-api',
      {
        DATABASE_URL: testConfig.databaseUrlOf('order-api'),
        RABBITMQ_URL: testConfig.rabbitmqUrl,
        IDENTITY_JWKS_URL: `http://127.0.0.1:${await freePort()}/.well-known/jwks.json`,
      },
      { port: await freePort() },
    );
    const send = async (
      method: 'GET' | 'POST',
      path: string,
      headers: Record<string, string>,
      body?: unknown,
    ) => {
      const response = await fetch(`${cut.baseUrl}${path}`, {
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as { code?: string } };
    };
    try {
      const signedIn = await send('POST', '/orders', bearer(aliceJwt), orderBody(ALICE.email));
      expect([signedIn.status, signedIn.body.code]).toEqual([503, 'IDENTITY_UNAVAILABLE']);
      const listed = await send('GET', '/orders', bearer(aliceJwt));
      expect([listed.status, listed.body.code]).toEqual([503, 'IDENTITY_UNAVAILABLE']);
      expect((await send('POST', '/orders', {}, orderBody(GUEST.email))).status).toBe(201);
      expect((await send('GET', '/orders', asOperator)).status).toBe(200);
    } finally {
      await cut.stop();
    }
  });
});
