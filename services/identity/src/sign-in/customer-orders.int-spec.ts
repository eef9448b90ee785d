import { CUSTOMER_TOKEN, Queues, queuesOf } from '@shop/contracts';
import {
  createTestPool,
  freePort,
  insertProduct,
  purgeQueues,
  SmtpSink,
  startServiceProcess,
  testConfig,
  testRabbitmqUrlAs,
  testSecrets,
  waitFor,
  type HttpAppHarness,
  type ServiceProcess,
} from '@shop/testing';
import type { Pool } from 'pg';
import { startIdentity } from '../testing/identity.harness';

/**
 * The whole way a customer goes: identity mails a code through RabbitMQ, notify-worker delivers it to
 * the SMTP sink, identity exchanges it for a token, and order-api, checking that token against
 * identity's JWKS, files the customer's order under them and lists only their orders.
 */
describe('sign in end to end: code mail at the SMTP sink, a token, GET /orders showing only that customer', () => {
  const SKU = 'SIGN-IN-TEA-1';
  let pool: Pool;
  let smtp: SmtpSink;
  let identity: HttpAppHarness;
  let notifyWorker: ServiceProcess;
  let orderApi: ServiceProcess;

  beforeAll(async () => {
    pool = createTestPool();
    await purgeQueues(testConfig.rabbitmqUrl, [
      ...queuesOf(Queues.customerNotify),
      ...queuesOf(Queues.orderNotify),
    ]);
    smtp = new SmtpSink();
    await smtp.start();
    identity = await startIdentity({ SIGN_IN_PER_CLIENT_LIMIT: '10000', TOKEN_PER_CLIENT_LIMIT: '10000' });
    [notifyWorker, orderApi] = await Promise.all([
      startServiceProcess(
        'notify-worker',
        {
          RABBITMQ_URL: testRabbitmqUrlAs('notify-worker'),
          DATABASE_URL: testConfig.databaseUrlOf('notify-worker'),
          SMTP_URL: smtp.url,
        },
        { port: await freePort() },
      ),
      startServiceProcess(
        'order-api',
        {
          RABBITMQ_URL: testRabbitmqUrlAs('order-api'),
          DATABASE_URL: testConfig.databaseUrlOf('order-api'),
          IDENTITY_JWKS_URL: `${identity.baseUrl}${CUSTOMER_TOKEN.jwksPath}`,
        },
        { port: await freePort() },
      ),
    ]);
    await insertProduct(pool, { sku: SKU, name: 'Longjing tea 龙井', priceCents: 1250, stock: 100 });
  });
  afterAll(async () => {
    await orderApi?.stop();
    await notifyWorker?.stop();
    await identity?.close();
    await smtp?.stop();
    await pool?.end();
  });

  const json = async (url: string, init: { method?: string; token?: string; body?: unknown } = {}) => {
    const response = await fetch(url, {
      method: init.method ?? 'GET',
      headers: {
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  const placeOrder = (email: string, token?: string) =>
    json(`${orderApi.baseUrl}/orders`, {
      method: 'POST',
      token,
      body: { customer: { email, name: 'Customer' }, items: [{ sku: SKU, quantity: 1 }] },
    });

  it('signs a customer in by email and shows them their orders and nobody else’s', async () => {
    const email = 'liu.mei@example.cn';
    expect((await identity.post('/customers/sign-in', { email })).status).toBe(202);
    const mail = await waitFor('the sign-in code email', () =>
      smtp.messages.find(
        (message) =>
          message.messageId?.startsWith('<sign-in-') && message.to.some((to) => to.address === email),
      ),
    );
    const code = /sign-in code is ([0-9]{6})/.exec(mail.text)![1];
    const signedIn = await identity.post('/customers/token', { email, code });
    expect(signedIn.status).toBe(200);
    const { token, customerId } = signedIn.body;

    // Another customer (minted by an operator) and a guest order alongside.
    const minted = await identity.post(
      '/ops/customers/tokens',
      { emails: ['park.minji@example.kr'] },
      { authorization: `Bearer ${testSecrets.OPS_TOKEN}` },
    );
    const other = minted.body.tokens[0];

    const mine = [await placeOrder(email, token), await placeOrder(email, token)];
    const theirs = await placeOrder(other.email, other.token);
    const guest = await placeOrder('guest@example.com');
    for (const placed of [...mine, theirs, guest]) expect(placed.status).toBe(201);

    const listed = await json(`${orderApi.baseUrl}/orders`, { token });
    expect(listed.status).toBe(200);
    expect(listed.body.orders.map((order: { id: string }) => order.id).sort()).toEqual(
      mine.map((placed) => placed.body.id).sort(),
    );
    const { rows } = await pool.query(
      'SELECT DISTINCT customer_id::text AS id FROM orders WHERE id = ANY($1)',
      [mine.map((placed) => placed.body.id)],
    );
    expect(rows).toEqual([{ id: customerId }]);

    // Without a token, or with a forged one, there is no list.
    expect((await json(`${orderApi.baseUrl}/orders`)).status).toBe(401);
    expect((await json(`${orderApi.baseUrl}/orders`, { token: `${token.slice(0, -4)}AAAA` })).status).toBe(
      401,
    );
  });
});
