import {
  CUSTOMER_TOKEN,
  Exchanges,
  Queues,
  queuesOf,
  RoutingKeys,
  SIGN_IN_CODE_MAX_TRIES,
} from '@shop/contracts';
import {
  BrokerProbe,
  createTestPool,
  freePort,
  purgeQueues,
  SmtpSink,
  startServiceProcess,
  testConfig,
  testRabbitmqUrlAs,
  testSecrets,
  waitFor,
  type HttpAppHarness,
  type ReceivedMail,
  type ServiceProcess,
} from '@shop/testing';
import type { Pool } from 'pg';
import { startIdentity } from '../testing/identity.harness';

/** The six digits of a sign-in code email. */
const codeIn = (mail: ReceivedMail): string => /sign-in code is ([0-9]{6})/.exec(mail.text)![1];

describe('customers sign in with a code mailed through RabbitMQ (identity, notify-worker, SMTP sink)', () => {
  let pool: Pool;
  let broker: BrokerProbe;
  let smtp: SmtpSink;
  let notifyWorker: ServiceProcess;
  let identity: HttpAppHarness;

  beforeAll(async () => {
    pool = createTestPool();
    broker = await BrokerProbe.connect();
    await purgeQueues(testConfig.rabbitmqUrl, queuesOf(Queues.customerNotify));
    smtp = new SmtpSink();
    await smtp.start();
    // Per-client limits out of the way here; they have their own spec below.
    identity = await startIdentity({ SIGN_IN_PER_CLIENT_LIMIT: '10000', TOKEN_PER_CLIENT_LIMIT: '10000' });
    notifyWorker = await startServiceProcess(
      'notify-worker',
      {
        RABBITMQ_URL: testRabbitmqUrlAs('notify-worker'),
        DATABASE_URL: testConfig.databaseUrlOf('notify-worker'),
        SMTP_URL: smtp.url,
      },
      { port: await freePort() },
    );
  });
  afterAll(async () => {
    await notifyWorker?.stop();
    await identity?.close();
    await smtp?.stop();
    await broker?.close();
    await pool?.end();
  });
  beforeEach(async () => {
    smtp.clear();
    await pool.query(
      'TRUNCATE identity.customers, identity.sign_in_codes, notify_worker.sign_in_code_emails',
    );
  });

  const signIn = (email: string) => identity.post('/customers/sign-in', { email });
  const exchange = (email: string, code: string) => identity.post('/customers/token', { email, code });
  // Sign-in code emails only (their Message-ID says so): notify-worker also sends whatever order emails
  // earlier specs left in order_notify, some of them to the same addresses.
  const mailTo = async (address: string, count = 1): Promise<ReceivedMail> => {
    const mails = await waitFor(`${count} sign-in email(s) to ${address}`, () => {
      const found = smtp.messages.filter(
        (mail) => mail.messageId?.startsWith('<sign-in-') && mail.to.some((to) => to.address === address),
      );
      return found.length >= count && found;
    });
    return mails[count - 1];
  };
  const verify = async (token: string) => {
    const jose = await import('jose');
    const jwks = jose.createRemoteJWKSet(new URL(`${identity.baseUrl}${CUSTOMER_TOKEN.jwksPath}`));
    return jose.jwtVerify(token, jwks, {
      issuer: CUSTOMER_TOKEN.issuer,
      audience: CUSTOMER_TOKEN.audience,
      algorithms: [CUSTOMER_TOKEN.algorithm],
    });
  };

  it('mails a code, stores only its hash, and exchanges it once for a token the JWKS verifies', async () => {
    const accepted = await signIn('Li.Na@Example.cn');
    expect(accepted.status).toBe(202);
    expect(accepted.body).toEqual({ message: expect.any(String), expiresIn: 600 });

    const mail = await mailTo('li.na@example.cn');
    const code = codeIn(mail);
    expect(mail.subject).toBe('Your Rabbit Shop sign-in code');

    const { rows } = await pool.query('SELECT * FROM identity.sign_in_codes');
    expect(rows).toHaveLength(1);
    expect(rows[0].email).toBe('li.na@example.cn');
    expect(rows[0].tries_left).toBe(SIGN_IN_CODE_MAX_TRIES);
    expect(JSON.stringify(rows[0])).not.toContain(code);
    expect(rows[0].code_hash.toString('latin1')).not.toContain(code);

    const signedIn = await exchange('LI.NA@example.cn', code);
    expect(signedIn.status).toBe(200);
    expect(signedIn.body).toEqual({
      token: expect.any(String),
      tokenType: 'Bearer',
      expiresIn: 86_400,
      customerId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    const { payload, protectedHeader } = await verify(signedIn.body.token);
    expect(payload).toMatchObject({
      sub: signedIn.body.customerId,
      email: 'li.na@example.cn',
      iss: CUSTOMER_TOKEN.issuer,
      aud: CUSTOMER_TOKEN.audience,
    });
    expect(payload.exp! - payload.iat!).toBe(86_400);

    const jwks = await identity.get(CUSTOMER_TOKEN.jwksPath);
    expect(jwks.status).toBe(200);
    expect(jwks.headers.get('cache-control')).toBe('public, max-age=300');
    expect(jwks.body.keys).toEqual([
      {
        kty: 'EC',
        crv: 'P-256',
        x: expect.any(String),
        y: expect.any(String),
        kid: protectedHeader.kid,
        alg: 'ES256',
        use: 'sig',
      },
    ]);

    // Spent: the same code never works twice.
    const again = await exchange('li.na@example.cn', code);
    expect(again.status).toBe(401);
    expect(again.body.code).toBe('INVALID_SIGN_IN_CODE');

    // The next sign-in finds the same customer.
    expect((await signIn('li.na@example.cn')).status).toBe(202);
    const next = await exchange('li.na@example.cn', codeIn(await mailTo('li.na@example.cn', 2)));
    expect(next.body.customerId).toBe(signedIn.body.customerId);
  });

  it('spends a code after five wrong tries, and answers an unknown email the same way', async () => {
    expect((await signIn('park.jiwoo@example.kr')).status).toBe(202);
    const code = codeIn(await mailTo('park.jiwoo@example.kr'));
    const wrong = code === '000000' ? '000001' : '000000';
    const answers = [];
    for (let i = 0; i < SIGN_IN_CODE_MAX_TRIES; i++)
      answers.push(await exchange('park.jiwoo@example.kr', wrong));
    expect(answers.map((answer) => answer.status)).toEqual(Array(SIGN_IN_CODE_MAX_TRIES).fill(401));

    const right = await exchange('park.jiwoo@example.kr', code);
    expect(right.status).toBe(401);
    const unknown = await exchange('nobody@example.com', code);
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual(right.body);
    expect(right.body.code).toBe('INVALID_SIGN_IN_CODE');
  });

  it('counts concurrent tries in the statement that checks them: never more than five', async () => {
    expect((await signIn('zhao.lei@example.cn')).status).toBe(202);
    const code = codeIn(await mailTo('zhao.lei@example.cn'));
    const wrong = code === '999999' ? '999998' : '999999';
    await Promise.all(Array.from({ length: 12 }, () => exchange('zhao.lei@example.cn', wrong)));
    const { rows } = await pool.query('SELECT tries_left FROM identity.sign_in_codes');
    expect(rows).toEqual([{ tries_left: 0 }]);
    expect((await exchange('zhao.lei@example.cn', code)).status).toBe(401);
  });

  it('refuses an expired code, and a code replaced by a newer sign-in', async () => {
    expect((await signIn('chen.jie@example.cn')).status).toBe(202);
    const first = codeIn(await mailTo('chen.jie@example.cn'));
    expect((await signIn('chen.jie@example.cn')).status).toBe(202);
    const second = codeIn(await mailTo('chen.jie@example.cn', 2));
    if (first !== second) expect((await exchange('chen.jie@example.cn', first)).status).toBe(401);

    await pool.query(`UPDATE identity.sign_in_codes SET expires_at = now() - interval '1 second'`);
    const expired = await exchange('chen.jie@example.cn', second);
    expect(expired.status).toBe(401);
    expect(expired.body.code).toBe('INVALID_SIGN_IN_CODE');
  });

  it('answers 400 with a code for a malformed body', async () => {
    for (const [path, body] of [
      ['/customers/sign-in', { email: 'not an address' }],
      ['/customers/sign-in', {}],
      ['/customers/sign-in', { email: 'a@example.com', extra: true }],
      ['/customers/token', { email: 'a@example.com', code: '12345' }],
      ['/customers/token', { email: 'a@example.com' }],
    ] as const) {
      const answer = await identity.post(path, body);
      expect({ path, status: answer.status, code: answer.body.code }).toEqual({
        path,
        status: 400,
        code: 'VALIDATION_FAILED',
      });
    }
    expect((await identity.post('/customers/sign-in', '{oops')).body.code).toBe('MALFORMED_JSON');
  });

  it('answers 503 rather than 202 when the broker cannot route the code, and withdraws it', async () => {
    await broker.channel.unbindQueue(
      Queues.customerNotify,
      Exchanges.customer,
      RoutingKeys.customerSignInCode,
    );
    try {
      const refused = await signIn('wu.hao@example.cn');
      expect(refused.status).toBe(503);
      expect(refused.body.code).toBe('SIGN_IN_UNAVAILABLE');
    } finally {
      await broker.channel.bindQueue(
        Queues.customerNotify,
        Exchanges.customer,
        RoutingKeys.customerSignInCode,
      );
    }
    const { rows } = await pool.query('SELECT tries_left, codes_in_window FROM identity.sign_in_codes');
    expect(rows).toEqual([{ tries_left: 0, codes_in_window: 0 }]);
    expect((await signIn('wu.hao@example.cn')).status).toBe(202);
    expect(codeIn(await mailTo('wu.hao@example.cn'))).toMatch(/^[0-9]{6}$/);
  });

  describe('POST /ops/customers/tokens', () => {
    const mint = (body: unknown, token?: string) =>
      identity.post('/ops/customers/tokens', body, token ? { authorization: `Bearer ${token}` } : {});

    it('needs the operator token: 401 without one, 403 with another', async () => {
      const without = await mint({ emails: ['a@example.com'] });
      expect(without.status).toBe(401);
      expect(without.body.code).toBe('AUTHENTICATION_REQUIRED');
      const wrong = await mint({ emails: ['a@example.com'] }, `${testSecrets.OPS_TOKEN}x`);
      expect(wrong.status).toBe(403);
      expect(wrong.body.code).toBe('FORBIDDEN');
    });

    it('mints one token per email, making the customers missing, the same customers next time', async () => {
      const first = await mint(
        { emails: ['Buyer1@example.com', 'buyer2@example.com', 'buyer1@example.com'] },
        testSecrets.OPS_TOKEN,
      );
      expect(first.status).toBe(200);
      expect(first.body.tokens.map((t: { email: string }) => t.email)).toEqual([
        'buyer1@example.com',
        'buyer2@example.com',
      ]);
      for (const minted of first.body.tokens) {
        const { payload } = await verify(minted.token);
        expect(payload).toMatchObject({ sub: minted.customerId, email: minted.email });
      }
      const second = await mint(
        { emails: ['buyer2@example.com', 'buyer3@example.com'] },
        testSecrets.OPS_TOKEN,
      );
      expect(second.body.tokens[0].customerId).toBe(first.body.tokens[1].customerId);
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM identity.customers');
      expect(rows[0].n).toBe(3);
    });

    it('takes 1 to 1000 valid emails', async () => {
      const many = Array.from({ length: 1001 }, (_, i) => `load-${i}@example.com`);
      for (const emails of [[], many, ['not an address']]) {
        const answer = await mint({ emails }, testSecrets.OPS_TOKEN);
        expect(answer.status).toBe(400);
        expect(answer.body.code).toBe('VALIDATION_FAILED');
      }
      const thousand = await mint({ emails: many.slice(0, 1000) }, testSecrets.OPS_TOKEN);
      expect(thousand.status).toBe(200);
      expect(thousand.body.tokens).toHaveLength(1000);
    });
  });

  it('shares its key and its codes with a second instance: a code asked of one signs in at the other', async () => {
    // Its own process: two Nest apps with golevelup in one process leave a broker connection open.
    const second = await startServiceProcess(
      'identity',
      { RABBITMQ_URL: testRabbitmqUrlAs('identity'), DATABASE_URL: testConfig.databaseUrlOf('identity') },
      { port: await freePort() },
    );
    try {
      const keys = await fetch(`${second.baseUrl}${CUSTOMER_TOKEN.jwksPath}`);
      expect(await keys.json()).toEqual((await identity.get(CUSTOMER_TOKEN.jwksPath)).body);
      const asked = await fetch(`${second.baseUrl}/customers/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'ma.lin@example.cn' }),
      });
      expect(asked.status).toBe(202);
      const signedIn = await exchange('ma.lin@example.cn', codeIn(await mailTo('ma.lin@example.cn')));
      expect(signedIn.status).toBe(200);
      expect((await verify(signedIn.body.token)).payload.sub).toBe(signedIn.body.customerId);
    } finally {
      await second.stop();
    }
  });
});

describe('identity rate limits', () => {
  let pool: Pool;
  let identity: HttpAppHarness | undefined;

  beforeAll(async () => {
    pool = createTestPool();
    await purgeQueues(testConfig.rabbitmqUrl, queuesOf(Queues.customerNotify));
  });
  afterAll(async () => {
    // The codes these specs asked for, which no worker here mails.
    await purgeQueues(testConfig.rabbitmqUrl, queuesOf(Queues.customerNotify));
    await pool?.end();
  });
  beforeEach(() => pool.query('TRUNCATE identity.customers, identity.sign_in_codes'));
  afterEach(async () => {
    await identity?.close();
    identity = undefined;
  });
  const limited = async (env: Record<string, string>) => (identity = await startIdentity(env));

  it('limits each client: 429 RATE_LIMITED with Retry-After once over the limit', async () => {
    const service = await limited({ SIGN_IN_PER_CLIENT_LIMIT: '2', TOKEN_PER_CLIENT_LIMIT: '2' });
    const signIns = [];
    for (let i = 0; i < 3; i++)
      signIns.push(await service.post('/customers/sign-in', { email: `c${i}@example.com` }));
    expect(signIns.map((answer) => answer.status)).toEqual([202, 202, 429]);
    expect(signIns[2].body).toEqual({
      code: 'RATE_LIMITED',
      message: expect.any(String),
      retryAfterSeconds: expect.any(Number),
    });
    expect(Number(signIns[2].headers.get('retry-after'))).toBeGreaterThan(0);

    const tokens = [];
    for (let i = 0; i < 3; i++)
      tokens.push(await service.post('/customers/token', { email: 'c0@example.com', code: '123456' }));
    expect(tokens.map((answer) => answer.status)).toEqual([401, 401, 429]);
    expect(tokens[2].body.code).toBe('RATE_LIMITED');
  });

  it('limits the codes per email, decided in the database', async () => {
    const service = await limited({ SIGN_IN_PER_EMAIL_LIMIT: '2', SIGN_IN_PER_CLIENT_LIMIT: '100' });
    const answers = [];
    for (let i = 0; i < 3; i++)
      answers.push(await service.post('/customers/sign-in', { email: 'Same@example.com' }));
    expect(answers.map((answer) => answer.status)).toEqual([202, 202, 429]);
    expect(answers[2].body.code).toBe('RATE_LIMITED');
    const retryAfter = Number(answers[2].headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(800);
    expect(retryAfter).toBeLessThanOrEqual(900);
    // Another address is not held up; neither is this one once its window is over.
    expect((await service.post('/customers/sign-in', { email: 'other@example.com' })).status).toBe(202);
    await pool.query(`UPDATE identity.sign_in_codes SET window_started_at = now() - interval '901 seconds'`);
    expect((await service.post('/customers/sign-in', { email: 'same@example.com' })).status).toBe(202);
  });
});
