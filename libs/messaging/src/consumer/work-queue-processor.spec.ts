import { ConsoleLogger, Logger } from '@nestjs/common';
import { FailureHeaders, MessageTypes, PublisherHeaders, Queues } from '@shop/contracts';
import type { ConsumeMessage } from 'amqplib';
import { z } from 'zod';
import type { ConfirmedPublisher } from '../confirmed-publisher';
import { PermanentFailure } from './permanent-failure';
import { WorkQueueProcessor, type Delivery } from './work-queue-processor';

/** What the processor asked the publisher to forward: where, and the headers it added. */
interface Forwarded {
  exchange: string;
  routingKey: string;
  messageId: unknown;
  headers: Record<string, string | number>;
}

/** Records forwards instead of publishing (the broker path is the integration specs' business). */
function recordingPublisher(): { publisher: ConfirmedPublisher; forwarded: Forwarded[] } {
  const forwarded: Forwarded[] = [];
  const publisher = {
    userId: 'order-api',
    forward: async (
      exchange: string,
      routingKey: string,
      original: ConsumeMessage,
      headers: Record<string, string | number>,
    ) => {
      forwarded.push({ exchange, routingKey, messageId: original.properties.messageId, headers });
    },
  } as unknown as ConfirmedPublisher;
  return { publisher, forwarded };
}

const Greeting = z.object({ name: z.string().min(1) }).strict();

/** A delivery as amqplib hands it over, with `retryCount` retries behind it. */
function message(body: unknown, retryCount?: number, redelivered = false): ConsumeMessage {
  return {
    content: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    fields: { redelivered, deliveryTag: 1, exchange: 'order', routingKey: 'order.notify', consumerTag: 'c' },
    properties: {
      messageId: 'message-1',
      correlationId: 'correlation-1',
      headers: retryCount === undefined ? {} : { [FailureHeaders.retryCount]: retryCount },
    },
  } as unknown as ConsumeMessage;
}

describe('WorkQueueProcessor (its decisions, without a broker)', () => {
  const queue = Queues.orderNotify;
  // Its warnings and errors are expected here; the decisions are what is checked.
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(new ConsoleLogger()));

  it('hands a valid message to the handler with its attempt, and forwards nothing', async () => {
    const { publisher, forwarded } = recordingPublisher();
    const seen: [unknown, Delivery][] = [];
    const outcome = await new WorkQueueProcessor(publisher).process(
      queue,
      Greeting,
      message({ name: '王芳' }, 2, true),
      async (body, delivery) => void seen.push([body, delivery]),
    );
    expect(outcome).toBe('handled');
    expect(seen).toEqual([[{ name: '王芳' }, { messageId: 'message-1', attempt: 3, redelivered: true }]]);
    expect(forwarded).toEqual([]);
  });

  it.each([
    ['not JSON', '{"name": '],
    ['not the contract', { name: '' }],
    ['an unknown field', { name: 'x', admin: true }],
  ])(
    'parks a message that is %s at once with reason invalid-message, never calling the handler',
    async (_, body) => {
      const { publisher, forwarded } = recordingPublisher();
      const handler = jest.fn();
      expect(await new WorkQueueProcessor(publisher).process(queue, Greeting, message(body), handler)).toBe(
        'parked',
      );
      expect(handler).not.toHaveBeenCalled();
      expect(forwarded).toEqual([
        {
          exchange: 'order.dlx',
          routingKey: queue,
          messageId: 'message-1',
          headers: expect.objectContaining({
            [FailureHeaders.deadLetterReason]: 'invalid-message',
            [FailureHeaders.attempts]: 1,
            [FailureHeaders.originalQueue]: queue,
            [FailureHeaders.lastError]: expect.any(String),
            [FailureHeaders.failedAt]: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          }),
        },
      ]);
    },
  );

  it('sends a transient failure to the next retry delay: 1 s, then 5 s, then 30 s', async () => {
    const failing = async () => {
      throw new Error('SMTP 451 try again later');
    };
    const routes: [string, string, unknown][] = [];
    for (const retryCount of [undefined, 1, 2]) {
      const { publisher, forwarded } = recordingPublisher();
      const outcome = await new WorkQueueProcessor(publisher).process(
        queue,
        Greeting,
        message({ name: 'x' }, retryCount),
        failing,
      );
      expect(outcome).toBe('retrying');
      const [{ exchange, routingKey, headers }] = forwarded;
      routes.push([exchange, routingKey, headers[FailureHeaders.retryCount]]);
      expect(headers[FailureHeaders.lastError]).toBe('SMTP 451 try again later');
    }
    expect(routes).toEqual([
      ['order_notify.retry', '1s', 1],
      ['order_notify.retry', '5s', 2],
      ['order_notify.retry', '30s', 3],
    ]);
  });

  it('parks with retries-exhausted and the attempt count once the delays are used up', async () => {
    const { publisher, forwarded } = recordingPublisher();
    const outcome = await new WorkQueueProcessor(publisher).process(
      queue,
      Greeting,
      message({ name: 'x' }, 3),
      async () => {
        throw new Error('still down');
      },
    );
    expect(outcome).toBe('parked');
    expect(forwarded).toEqual([
      expect.objectContaining({
        exchange: 'order.dlx',
        routingKey: queue,
        headers: expect.objectContaining({
          [FailureHeaders.deadLetterReason]: 'retries-exhausted',
          [FailureHeaders.attempts]: 4,
          [FailureHeaders.lastError]: 'still down',
        }),
      }),
    ]);
  });

  it('parks a PermanentFailure at once with its code, whatever the attempt', async () => {
    const { publisher, forwarded } = recordingPublisher();
    const outcome = await new WorkQueueProcessor(publisher).process(
      queue,
      Greeting,
      message({ name: 'x' }),
      async () => {
        throw new PermanentFailure('order 7 does not exist', 'ORDER_NOT_FOUND');
      },
    );
    expect(outcome).toBe('parked');
    expect(forwarded[0].headers).toMatchObject({
      [FailureHeaders.deadLetterReason]: 'permanent-failure',
      [FailureHeaders.lastError]: 'ORDER_NOT_FOUND: order 7 does not exist',
      [FailureHeaders.attempts]: 1,
    });
  });

  it('keeps the last error to 1,000 characters, and a bad retry count counts as the first attempt', async () => {
    const { publisher, forwarded } = recordingPublisher();
    await new WorkQueueProcessor(publisher).process(
      queue,
      Greeting,
      message({ name: 'x' }, 'lots' as never),
      async () => {
        throw new Error('e'.repeat(5_000));
      },
    );
    const lastError = String(forwarded[0].headers[FailureHeaders.lastError]);
    expect(lastError).toHaveLength(1_000);
    expect(lastError.endsWith('...')).toBe(true);
    expect(forwarded[0].routingKey).toBe('1s');
  });

  it('masks email addresses in the last error, as the logs do, whether it retries or parks', async () => {
    const smtpError = async () => {
      throw new Error('550 5.1.1 <wang.fang@example.cn>: Recipient address rejected');
    };
    const lastErrors: unknown[] = [];
    for (const retryCount of [0, 3]) {
      const { publisher, forwarded } = recordingPublisher();
      await new WorkQueueProcessor(publisher).process(
        queue,
        Greeting,
        message({ name: 'x' }, retryCount),
        smtpError,
      );
      lastErrors.push(forwarded[0].headers[FailureHeaders.lastError]);
    }
    expect(lastErrors).toEqual([
      '550 5.1.1 <w***@example.cn>: Recipient address rejected',
      '550 5.1.1 <w***@example.cn>: Recipient address rejected',
    ]);
  });

  it('propagates a failed forward: the original is then not acked, so the broker keeps it', async () => {
    const publisher = {
      forward: async () => {
        throw new Error('publish of message-1 was not confirmed');
      },
    } as unknown as ConfirmedPublisher;
    await expect(
      new WorkQueueProcessor(publisher).process(queue, Greeting, message('{oops'), async () => undefined),
    ).rejects.toThrow('not confirmed');
  });

  describe('status events: accepted only from the user EVENT_PUBLISHERS names', () => {
    const Event = z.object({ type: z.string(), orderId: z.string() });
    const event = (type: string, properties: Record<string, unknown>): ConsumeMessage =>
      ({
        content: Buffer.from(JSON.stringify({ type, orderId: 'o-1' })),
        fields: { redelivered: false, deliveryTag: 1, exchange: 'order', routingKey: 'x', consumerTag: 'c' },
        properties: { messageId: 'message-1', headers: {}, ...properties },
      }) as unknown as ConsumeMessage;
    const run = async (message: ConsumeMessage) => {
      const { publisher, forwarded } = recordingPublisher();
      const handled: unknown[] = [];
      const outcome = await new WorkQueueProcessor(publisher).process(
        Queues.orderStatus,
        Event,
        message,
        async (body) => void handled.push(body),
      );
      return { outcome, forwarded, handled };
    };

    it('handles order.reported.v1 from report-worker, also when order-api retried it', async () => {
      expect((await run(event(MessageTypes.orderReportedV1, { userId: 'report-worker' }))).outcome).toBe(
        'handled',
      );
      const retried = event(MessageTypes.orderReportedV1, {
        userId: 'order-api',
        headers: { [PublisherHeaders.originalUserId]: 'report-worker', [FailureHeaders.retryCount]: 1 },
      });
      expect((await run(retried)).outcome).toBe('handled');
    });

    it.each([
      ['notify-worker forging order.reported', MessageTypes.orderReportedV1, { userId: 'notify-worker' }],
      ['no user_id at all', MessageTypes.orderNotifiedV1, {}],
      [
        'a header claiming report-worker from another user',
        MessageTypes.orderReportedV1,
        { userId: 'notify-worker', headers: { [PublisherHeaders.originalUserId]: 'report-worker' } },
      ],
      [
        'an AMQP type that is a status event the user may not send',
        'anything',
        { userId: 'report-worker', type: MessageTypes.orderNotifiedV1 },
      ],
    ])('parks %s with FORBIDDEN_PUBLISHER, unhandled', async (_, type, properties) => {
      const { outcome, forwarded, handled } = await run(event(type, properties));
      expect(outcome).toBe('parked');
      expect(handled).toEqual([]);
      expect(forwarded).toEqual([
        expect.objectContaining({
          exchange: 'order.dlx',
          headers: expect.objectContaining({
            [FailureHeaders.deadLetterReason]: 'permanent-failure',
            [FailureHeaders.lastError]: expect.stringMatching(/^FORBIDDEN_PUBLISHER: /),
          }),
        }),
      ]);
    });
  });
});
