import {
  Exchanges,
  followBindingOf,
  LogHeaders,
  LogRecordV1,
  MessageTypes,
  OrderSteps,
  validateMessage,
} from '@shop/contracts';
import { BrokerProbe, TcpProxy, testConfig, waitFor } from '@shop/testing';
import type { ConsumeMessage } from 'amqplib';
import { randomBytes, randomUUID } from 'node:crypto';
import { runWithCorrelationId, runWithLogContext, setLogOrderId } from './correlation-context';
import { JsonLogger, logEntry } from './json-logger';
import { attachLogPublisher, type LogPublisher, type LogPublisherOptions } from './log-publisher';

/** Everything published to `logs` (bound with `#`), read from an exclusive queue. */
class LogTap {
  readonly messages: ConsumeMessage[] = [];

  private constructor(readonly probe: BrokerProbe) {}

  static async open(): Promise<LogTap> {
    const probe = await BrokerProbe.connect();
    const tap = new LogTap(probe);
    await probe.channel.assertExchange(Exchanges.logs, 'topic', { durable: true });
    const { queue } = await probe.channel.assertQueue('', { exclusive: true, autoDelete: true });
    await probe.channel.bindQueue(queue, Exchanges.logs, '#');
    await probe.channel.consume(queue, (message) => message && tap.messages.push(message), { noAck: true });
    return tap;
  }

  /** Messages from one service (other specs share the vhost), once at least `count` arrived. */
  async from(service: string, count: number, timeoutMs = 15_000): Promise<ConsumeMessage[]> {
    const of = () => this.messages.filter((m) => m.properties.appId === service);
    await waitFor(`${count} log records from ${service}`, () => of().length >= count, { timeoutMs });
    return of();
  }

  close(): Promise<void> {
    return this.probe.close();
  }
}

const bodyOf = (message: ConsumeMessage) => JSON.parse(message.content.toString()) as LogRecordV1;

describe('LogPublisher (real RabbitMQ)', () => {
  let tap: LogTap;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    tap = await LogTap.open();
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  afterAll(async () => {
    await tap?.close();
  });

  /** A logger for a service name of its own, publishing to `url`, with its stdout captured. */
  function startLogger(
    url: string,
    options: Partial<LogPublisherOptions> & { minLevel?: 'debug' | 'info' } = {},
  ): { logger: JsonLogger; publisher: LogPublisher; stdout: string[]; service: string } {
    const service = `log-spec-${randomBytes(4).toString('hex')}`;
    const stdout: string[] = [];
    const logger = new JsonLogger(service, {
      minLevel: options.minLevel,
      write: (line) => stdout.push(line),
    });
    const publisher = attachLogPublisher(logger, { declareExchange: true, ...options, url });
    cleanups.push(() => publisher.close(500));
    return { logger, publisher, stdout, service };
  }

  async function stoppedProxy(): Promise<TcpProxy> {
    const proxy = await TcpProxy.create(testConfig.rabbitmqUrl);
    cleanups.push(() => proxy.stop());
    return proxy;
  }

  it('publishes each record to logs with key <service>.<level>, full properties and the stdout line as body', async () => {
    const { logger, stdout, service } = startLogger(testConfig.rabbitmqUrl, { minLevel: 'debug' });
    runWithCorrelationId('corr-int-1', () => {
      logger.debug('debug line');
      logger.log('info line', 'Spec');
      logger.warn('mail to wang.xiaoming@example.cn bounced');
      logger.error('error line', 'Error: error line\n    at spec', 'Spec');
      logger.fatal('fatal line');
    });
    logger.log('outside any request');

    const messages = await tap.from(service, 6);
    expect(messages.map((m) => m.fields.routingKey)).toEqual(
      ['debug', 'info', 'warn', 'error', 'fatal', 'info'].map((level) => `${service}.${level}`),
    );
    expect(messages.map((m) => m.content.toString())).toEqual(stdout);
    for (const message of messages) {
      expect(message.fields.exchange).toBe(Exchanges.logs);
      expect(message.properties).toMatchObject({
        deliveryMode: 2,
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        type: MessageTypes.logRecordV1,
        appId: service,
        messageId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
      expect(Math.abs(message.properties.timestamp - Date.now() / 1000)).toBeLessThan(30);
      expect(validateMessage(LogRecordV1, message.content)).toMatchObject({ ok: true });
    }
    expect(messages.map((m) => m.properties.correlationId)).toEqual([
      ...Array(5).fill('corr-int-1'),
      undefined,
    ]);
    expect(bodyOf(messages[2]).message).toBe('mail to w***@example.cn bounced');
    expect(bodyOf(messages[3])).toMatchObject({ context: 'Spec', stack: 'Error: error line\n    at spec' });
  });

  it('publishes a record about an order with the headers order-id, correlation-id, service and level, which logs.follow routes on', async () => {
    // What every service declares: the headers exchange, fed by `logs` with `#`.
    await tap.probe.channel.assertExchange(Exchanges.logsFollow, 'headers', { durable: true });
    await tap.probe.channel.bindExchange(Exchanges.logsFollow, Exchanges.logs, '#');
    const orderId = randomUUID();
    const followed: ConsumeMessage[] = [];
    const { queue } = await tap.probe.channel.assertQueue('', { exclusive: true, autoDelete: true });
    await tap.probe.channel.bindQueue(
      queue,
      Exchanges.logsFollow,
      '',
      followBindingOf(LogHeaders.orderId, orderId),
    );
    await tap.probe.channel.consume(queue, (message) => message && followed.push(message), { noAck: true });

    const { logger, service } = startLogger(testConfig.rabbitmqUrl);
    runWithLogContext({ correlationId: 'corr-follow-1', exchange: 'order', queue: 'order_notify' }, () => {
      logger.log('before the order is known');
      setLogOrderId(orderId);
      logger.warn(logEntry(`order ${orderId}: email accepted`, { step: OrderSteps.emailSent }));
    });
    logger.log(logEntry('another order', { orderId: randomUUID() }));

    const messages = await tap.from(service, 3);
    expect(messages.map((m) => m.properties.headers)).toEqual([
      {
        [LogHeaders.service]: service,
        [LogHeaders.level]: 'info',
        [LogHeaders.correlationId]: 'corr-follow-1',
      },
      {
        [LogHeaders.service]: service,
        [LogHeaders.level]: 'warn',
        [LogHeaders.correlationId]: 'corr-follow-1',
        [LogHeaders.orderId]: orderId,
      },
      { [LogHeaders.service]: service, [LogHeaders.level]: 'info', [LogHeaders.orderId]: expect.any(String) },
    ]);
    expect(bodyOf(messages[1])).toMatchObject({
      orderId,
      step: 'email-sent',
      exchange: 'order',
      queue: 'order_notify',
      correlationId: 'corr-follow-1',
    });
    // The follower got that one record, through the headers exchange, and no other.
    await waitFor('the followed record', () => followed.length >= 1);
    expect(followed.map((m) => bodyOf(m).message)).toEqual([`order ${orderId}: email accepted`]);
    // A delivery names the exchange it was published to, not the ones it went through on the way.
    expect(followed[0].fields).toMatchObject({ exchange: Exchanges.logs, routingKey: `${service}.warn` });
  });

  it('returns at once while the broker is unreachable and publishes the buffered records once it is back', async () => {
    const proxy = await stoppedProxy();
    const { logger, publisher, stdout, service } = startLogger(proxy.urlFor(testConfig.rabbitmqUrl), {
      reconnectDelayMs: 200,
    });

    const started = performance.now();
    for (let i = 0; i < 200; i++) logger.log(`buffered ${i}`);
    expect(performance.now() - started).toBeLessThan(200);
    await waitFor('the outage warning on stdout', () =>
      stdout.some((line) => line.includes('broker unreachable for log records')),
    );
    expect(publisher.stats).toMatchObject({ connected: false, waiting: 201, dropped: 0 });

    await proxy.start();
    const messages = await tap.from(service, 201);
    const texts = messages.map((m) => bodyOf(m).message);
    expect(texts.filter((text) => text.startsWith('buffered '))).toEqual(
      Array.from({ length: 200 }, (_, i) => `buffered ${i}`),
    );
    expect(texts.some((text) => text.includes('records were dropped'))).toBe(false);

    // Now the connection drops mid-way: records logged meanwhile arrive after it is restored.
    await proxy.stop();
    await waitFor('the publisher to notice', () => !publisher.stats.connected);
    for (let i = 0; i < 50; i++) logger.log(`during outage ${i}`);
    await proxy.start();
    await waitFor('the records logged during the outage', () => {
      const arrived = new Set(
        tap.messages.filter((m) => m.properties.appId === service).map((m) => bodyOf(m).message),
      );
      return Array.from({ length: 50 }, (_, i) => `during outage ${i}`).every((text) => arrived.has(text));
    });
  });

  it('replaces a channel the broker has nacked everything on for 2 s, and goes on publishing on the new one', async () => {
    const { logger, publisher, stdout, service } = startLogger(testConfig.rabbitmqUrl);
    // A queue that refuses every record of this service (full at 0 with reject-publish): each is nacked.
    const refuser = `log-spec-refuser-${randomBytes(4).toString('hex')}`;
    await tap.probe.channel.assertQueue(refuser, {
      autoDelete: true,
      arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' },
    });
    await tap.probe.channel.bindQueue(refuser, Exchanges.logs, `${service}.*`);
    cleanups.push(async () => void (await tap.probe.channel.deleteQueue(refuser).catch(() => undefined)));

    let logged = 0;
    await waitFor(
      'the channel replaced',
      () => {
        for (let i = 0; i < 5; i++) logger.log(`refused ${logged++}`);
        return publisher.stats.channelRenewals >= 1;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    expect(publisher.stats.refused).toBeGreaterThanOrEqual(20);
    await waitFor('the warning on stdout', () =>
      stdout.some((line) => line.includes('publishing on a new channel')),
    );

    await tap.probe.channel.deleteQueue(refuser);
    const before = publisher.stats.published;
    logger.log('accepted again');
    await waitFor('the record confirmed on the new channel', () => publisher.stats.published > before);
    expect(
      tap.messages.some((m) => m.properties.appId === service && bodyOf(m).message === 'accepted again'),
    ).toBe(true);
  });

  it('drops and counts what overflows the buffer, then reports the count after the buffered records', async () => {
    const proxy = await stoppedProxy();
    const { logger, publisher, stdout, service } = startLogger(proxy.urlFor(testConfig.rabbitmqUrl), {
      bufferSize: 20,
      reconnectDelayMs: 200,
    });
    await waitFor('the outage warning on stdout', () =>
      stdout.some((line) => line.includes('broker unreachable for log records')),
    );

    const started = performance.now();
    for (let i = 0; i < 50; i++) logger.log(`overflow ${i}`);
    expect(performance.now() - started).toBeLessThan(100);
    // The outage warning holds one place; 19 of the 50 fit.
    expect(publisher.stats).toMatchObject({ waiting: 20, dropped: 31 });

    await proxy.start();
    const messages = await tap.from(service, 21);
    const records = messages.map(bodyOf);
    expect(records.map((r) => r.message)).toEqual([
      expect.stringContaining('broker unreachable for log records'),
      ...Array.from({ length: 19 }, (_, i) => `overflow ${i}`),
      '31 log records were dropped while the broker was unreachable',
    ]);
    expect(messages[20].fields.routingKey).toBe(`${service}.warn`);
    expect(records[20]).toMatchObject({ level: 'warn', context: 'LogPublisher' });
    expect(stdout).toContain(messages[20].content.toString());
    // A record reaches the tap before its confirm reaches the publisher, which then empties its buffer.
    await waitFor('the last confirms', () => publisher.stats.waiting === 0);
    expect(publisher.stats).toMatchObject({ connected: true, waiting: 0, dropped: 0 });
  });

  it('close() publishes what is still queued', async () => {
    const { logger, publisher, service } = startLogger(testConfig.rabbitmqUrl);
    for (let i = 0; i < 1_000; i++) logger.log(`before close ${i}`);
    await publisher.close();
    const messages = await tap.from(service, 1_000);
    expect(new Set(messages.map((m) => bodyOf(m).message)).size).toBe(1_000);
    expect(() => logger.log('after close')).not.toThrow();
    expect(publisher.stats.waiting).toBe(0);
  });

  it('close() gives up in bounded time while the broker is unreachable', async () => {
    const proxy = await stoppedProxy();
    const { logger, publisher } = startLogger(proxy.urlFor(testConfig.rabbitmqUrl));
    for (let i = 0; i < 5; i++) logger.log(`never published ${i}`);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const started = Date.now();
      await publisher.close(300);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(stderr).toHaveBeenCalledWith(expect.stringMatching(/closed with \d+ record\(s\) unpublished/));
    } finally {
      stderr.mockRestore();
    }
  });
});
