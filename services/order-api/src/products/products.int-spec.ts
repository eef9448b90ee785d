import { createTestPool, resetDatabase } from '@shop/testing';
import type { Pool } from 'pg';
import { asOperator, bearer, startOrderApi, type OrderApiHarness } from '../testing/order-api.harness';
import { startTestIdentity, type TestIdentity } from '../testing/test-identity';

describe('products API', () => {
  let api: OrderApiHarness;
  let pool: Pool;
  let identity: TestIdentity;

  beforeAll(async () => {
    pool = createTestPool();
    identity = await startTestIdentity();
    api = await startOrderApi({ IDENTITY_JWKS_URL: identity.jwksUrl });
  });
  afterAll(async () => {
    await api.close();
    await identity.close();
    await pool.end();
  });
  beforeEach(() => resetDatabase(pool));

  const send = (
    method: 'PUT' | 'POST',
    path: string,
    body: unknown,
    auth: Record<string, string> = asOperator,
  ) =>
    fetch(`${api.baseUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

  it('lets only the operator write products: 401 without a token, 403 with any other, reads stay public', async () => {
    const customerJwt = await identity.sign({
      sub: '6f1c2a8e-0b7d-4c1e-9d43-5b7a0f3e2c11',
      email: 'kim@example.kr',
    });
    const product = { name: '한국 김', priceCents: 480, stock: 10 };
    for (const [method, path, body] of [
      ['PUT', '/products/KIM-7', product],
      ['POST', '/products/KIM-7/restock', { quantity: 7 }],
    ] as const) {
      const none = await send(method, path, body, {});
      expect([none.status, none.body.code]).toEqual([401, 'AUTHENTICATION_REQUIRED']);
      const wrong = await send(method, path, body, bearer('not-the-operator-token-0123456789abcdefghij'));
      expect([wrong.status, wrong.body.code]).toEqual([403, 'FORBIDDEN']);
      const customer = await send(method, path, body, bearer(customerJwt));
      expect([customer.status, customer.body.code]).toEqual([403, 'FORBIDDEN']);
      const malformed = await send(method, path, body, { authorization: 'Basic b3BzOnRva2Vu' });
      expect([malformed.status, malformed.body.code]).toEqual([401, 'AUTHENTICATION_REQUIRED']);
    }
    expect(Number((await pool.query('SELECT count(*) AS n FROM products')).rows[0].n)).toBe(0);

    expect((await send('PUT', '/products/KIM-7', product)).status).toBe(201);
    expect((await send('POST', '/products/KIM-7/restock', { quantity: 7 })).status).toBe(200);
    // Reading needs nothing.
    expect((await api.get('/products')).status).toBe(200);
    expect((await api.get('/products/KIM-7')).body).toMatchObject({ sku: 'KIM-7', stock: 17 });
    expect((await api.get('/products/KIM-7/sales')).status).toBe(200);
  });

  it('creates, replaces, restocks and lists products', async () => {
    const created = await send('PUT', '/products/KIM-7', { name: '한국 김', priceCents: 480, stock: 10 });
    expect(created).toEqual({
      status: 201,
      body: { sku: 'KIM-7', name: '한국 김', priceCents: 480, stock: 10 },
    });

    const replaced = await send('PUT', '/products/KIM-7', {
      name: '한국 김 (large)',
      priceCents: 900,
      stock: 3,
    });
    expect(replaced.status).toBe(200);

    const restocked = await send('POST', '/products/KIM-7/restock', { quantity: 7 });
    expect(restocked).toEqual({
      status: 200,
      body: { sku: 'KIM-7', name: '한국 김 (large)', priceCents: 900, stock: 10 },
    });

    const { rows } = await pool.query('SELECT name, price_cents, stock FROM products WHERE sku = $1', [
      'KIM-7',
    ]);
    expect(rows).toEqual([{ name: '한국 김 (large)', price_cents: 900, stock: 10 }]);
    expect((await api.get('/products')).body).toEqual([restocked.body]);
    expect((await api.get('/products/KIM-7')).body).toEqual(restocked.body);
  });

  it("counts a product's orders, units and pipeline progress", async () => {
    await send('PUT', '/products/FLASH-9', { name: '秒杀 item', priceCents: 100, stock: 10 });
    await send('PUT', '/products/OTHER-1', { name: 'Other', priceCents: 100, stock: 10 });
    const customer = { email: 'lee@example.kr', name: '이서연' };
    const placed = [];
    for (const items of [
      [{ sku: 'FLASH-9', quantity: 2 }],
      [
        { sku: 'FLASH-9', quantity: 1 },
        { sku: 'OTHER-1', quantity: 4 },
      ],
      [{ sku: 'OTHER-1', quantity: 1 }],
    ]) {
      placed.push((await send('POST', '/orders', { customer, items })).body.id as string);
    }
    await pool.query('UPDATE orders SET notified_at = now() WHERE id = $1', [placed[0]]);

    expect((await api.get('/products/FLASH-9/sales')).body).toEqual({
      sku: 'FLASH-9',
      stock: 7,
      orders: 2,
      unitsSold: 3,
      unitsHeld: 3,
      unitsReturned: 0,
      notified: 1,
      reported: 0,
      byStatus: { placed: 2, paid: 0, completed: 0, cancelled: 0, expired: 0, refunded: 0 },
    });
    expect((await api.get('/products/NOPE-1/sales')).status).toBe(404);
  });

  it('refuses bad input with codes', async () => {
    const invalid = await send('PUT', '/products/KIM-7', { name: '', priceCents: -1, stock: 1.5 });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'name',
      'priceCents',
      'stock',
    ]);

    expect((await send('PUT', '/products/bad%20sku', { name: 'x', priceCents: 1, stock: 1 })).body.code).toBe(
      'VALIDATION_FAILED',
    );
    const missing = await send('POST', '/products/NOPE/restock', { quantity: 1 });
    expect([missing.status, missing.body.code]).toEqual([404, 'UNKNOWN_SKU']);
    expect((await api.get('/products/NOPE')).status).toBe(404);
    expect((await send('POST', '/products/NOPE/restock', { quantity: 0 })).status).toBe(400);
  });

  it('serves OpenAPI docs', async () => {
    const { SwaggerModule, DocumentBuilder } = await import('@nestjs/swagger');
    const document = SwaggerModule.createDocument(api.app, new DocumentBuilder().build());
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/orders',
        '/orders/{id}',
        '/products',
        '/products/{sku}',
        '/products/{sku}/restock',
        '/health',
      ]),
    );
    const placeOrder = document.paths['/orders'].post;
    expect(JSON.stringify(placeOrder?.requestBody)).toContain('quantity');
    expect(document.paths['/products/{sku}'].put?.security).toEqual([{ operator: [] }]);
    expect(document.paths['/products/{sku}'].put?.responses).toHaveProperty('401');
    expect(document.paths['/products/{sku}'].put?.responses).toHaveProperty('403');
    expect(document.paths['/products/{sku}'].get?.security).toBeUndefined();
    expect(document.paths['/orders/{id}'].get?.security).toEqual(
      expect.arrayContaining([{ 'order-access-token': [] }, { customer: [] }, { operator: [] }]),
    );
    expect(document.paths['/orders/{id}'].get?.responses).toHaveProperty('401');
    expect(document.paths['/orders'].get?.responses).toHaveProperty('401');
  });
});
