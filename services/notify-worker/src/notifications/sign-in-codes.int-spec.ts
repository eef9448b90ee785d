import {
  deadLetterQueueOf,
  Exchanges,
  FailureHeaders,
  jsonMessageProperties,
  MessageTypes,
  Queues,
  RoutingKeys,
  type CustomerSignInCodeV1,
} from '@shop/contracts';
import { BrokerProbe, createTestPool, parsePrometheusText, sampleValue, waitFor } from '@shop/testing';
import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { startNotifyWorker, type NotifyWorkerHarness } from '../testing/notify-worker.harness';

describe('notify-worker mails sign-in codes from customer_notify (real RabbitMQ, PostgreSQL, SMTP)', () => {
  let pool: Pool;
  let broker: BrokerProbe;
  let notify: NotifyWorkerHarness;

  beforeAll(async () => {
    pool = createTestPool();
    broker = await BrokerProbe.connect();
    notify = await startNotifyWorker();
  });
  afterAll(async () => {
    await notify.close();
    await broker.close();
    await pool.end();
  });
  beforeEach(async () => {
    notify.smtp.clear();
    await broker.settle(Queues.customerNotify, notify.messagesInHand);
    await pool.query('TRUNCATE notify_worker.sign_in_code_emails');
  });

  const signInCode = (overrides: Partial<CustomerSignInCodeV1['data']> = {}): CustomerSignInCodeV1 => ({
    messageId: randomUUID(),
    occurredAt: new Date().toISOString(),
    correlationId: 'spec-sign-in',
    type: MessageTypes.customerSignInCodeV1,
    version: 1,
    data: {
      codeId: randomUUID(),
      email: 'sato.yui@example.jp',
      code: '042917',
      expiresAt: new Date(Date.now() + 10 * 60_000).toISOString(),
      ...overrides,
    },
  });
  const publish = (
    message: CustomerSignInCodeV1 | Record<string, unknown>,
    messageId: string = randomUUID(),
  ) =>
    broker.publishConfirmed(
      Exchanges.customer,
      RoutingKeys.customerSignInCode,
      Buffer.from(JSON.stringify(message)),
      jsonMessageProperties({
        messageId,
        correlationId: 'spec-sign-in',
        type: MessageTypes.customerSignInCodeV1,
        occurredAt: new Date(),
        appId: 'spec',
      }),
    );
  const statusOf = async (codeId: string) =>
    (await pool.query('SELECT status FROM notify_worker.sign_in_code_emails WHERE code_id = $1', [codeId]))
      .rows[0]?.status;

  it('mails the code once per code id, however often the message comes', async () => {
    const message = signInCode();
    await publish(message, message.messageId);
    const [mail] = await notify.smtp.waitForMessages(1);
    expect(mail.to).toEqual([{ address: 'sato.yui@example.jp', name: '' }]);
    expect(mail.subject).toBe('Your Rabbit Shop sign-in code');
    expect(mail.text).toContain('Your sign-in code is 042917');
    expect(mail.messageId).toBe(`<sign-in-${message.data.codeId}@shop.local>`);
    await waitFor(
      'the email to be recorded as sent',
      async () => (await statusOf(message.data.codeId)) === 'sent',
    );

    // Redelivered (same message) and duplicated (same code, another message id): both acked, no email.
    await publish(message, message.messageId);
    await publish(message);
    await broker.settle(Queues.customerNotify, notify.messagesInHand, { discard: false });
    expect(notify.smtp.messages).toHaveLength(1);
    const { rows } = await pool.query('SELECT * FROM notify_worker.sign_in_code_emails');
    expect(rows).toHaveLength(1);
    // Neither the address nor the code is kept.
    expect(JSON.stringify(rows)).not.toMatch(/sato\.yui|042917/);
  });

  it('parks an invalid message in customer_notify.dlq with its reason, and mails nothing', async () => {
    await publish(signInCode({ code: 'abc' }));
    const [parked] = await broker.waitForMessages(deadLetterQueueOf(Queues.customerNotify), 1);
    expect(parked.properties.headers?.[FailureHeaders.deadLetterReason]).toBe('invalid-message');
    expect(parked.properties.headers?.[FailureHeaders.originalQueue]).toBe(Queues.customerNotify);
    expect(notify.smtp.messages).toHaveLength(0);
  });

  it('drops a code that expired before it could be mailed: acked, counted, never sent', async () => {
    const message = signInCode({ expiresAt: new Date(Date.now() - 1_000).toISOString() });
    await publish(message);
    const metrics = async () => parsePrometheusText((await notify.worker.get('/metrics')).body);
    await waitFor('the expired code to be counted', async () =>
      (sampleValue(await metrics(), 'sign_in_codes_expired_total') ?? 0) >= 1 ? true : undefined,
    );
    await broker.settle(Queues.customerNotify, notify.messagesInHand, { discard: false });
    expect(await broker.messageCount(deadLetterQueueOf(Queues.customerNotify))).toBe(0);
    expect(notify.smtp.messages).toHaveLength(0);
    expect(await statusOf(message.data.codeId)).toBeUndefined();
  });
});
