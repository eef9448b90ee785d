import { TOPOLOGY } from '@shop/contracts';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrokerReader, BrokerReading } from './broker-reader';
import { ManagementBrokerReader } from './management-reader';

/** Answers the two management API paths the reader asks, in the API's own JSON shapes. */
function fakeManagementApi(seen: IncomingMessage[], healthy: { value: boolean }): Server {
  return createServer((request, response) => {
    seen.push(request);
    if (!healthy.value) return void response.writeHead(503).end();
    const url = new URL(request.url ?? '/', 'http://localhost');
    const json = (body: unknown) =>
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (url.pathname === '/api/queues/shop') {
      return json([
        {
          name: 'order_notify',
          messages_ready: 120,
          messages_unacknowledged: 10,
          consumers: 2,
          message_stats: {
            publish_details: { rate: 55.5 },
            deliver_get_details: { rate: 50 },
            ack_details: { rate: 49.5 },
          },
        },
        // A queue not in the topology (someone's experiment) is not shown; one without stats has rates 0.
        { name: 'scratch', messages_ready: 1, messages_unacknowledged: 0, consumers: 0 },
        { name: 'order_notify.dlq', messages_ready: 2, messages_unacknowledged: 0, consumers: 0 },
        // A delay queue of a payment window the topology does not name: every window's is shown.
        { name: 'order_payment_due.2s', messages_ready: 40, messages_unacknowledged: 0, consumers: 0 },
      ]);
    }
    if (url.pathname === '/api/nodes') {
      return json([
        { name: 'rabbit@rabbitmq-1', running: true },
        { name: 'rabbit@rabbitmq-2', running: false },
      ]);
    }
    response.writeHead(404).end();
  });
}

const overAmqp: BrokerReading = {
  source: 'amqp',
  nodes: [{ name: 'rabbitmq:5672', up: true }],
  queues: [{ name: 'order_notify', ready: 1, consumers: 1 }],
  parked: { 'order_notify.dlq': [{ messageId: 'm1', reason: 'invalid-message', lastError: 'not JSON' }] },
};

describe('ManagementBrokerReader', () => {
  const seen: IncomingMessage[] = [];
  const healthy = { value: true };
  const server = fakeManagementApi(seen, healthy);
  let reader: ManagementBrokerReader;

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const amqp: BrokerReader = { read: async () => overAmqp, close: async () => undefined };
    reader = new ManagementBrokerReader(
      `http://dash%40board:s3cret@127.0.0.1:${port}/`,
      'shop',
      TOPOLOGY,
      amqp,
    );
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('takes queue figures and rates and the nodes from the API, parked messages over AMQP', async () => {
    const reading = await reader.read();
    expect(reading.source).toBe('management');
    expect(reading.queues).toEqual([
      {
        name: 'order_notify',
        ready: 120,
        unacked: 10,
        consumers: 2,
        rates: { publish: 55.5, deliver: 50, ack: 49.5 },
      },
      {
        name: 'order_notify.dlq',
        ready: 2,
        unacked: 0,
        consumers: 0,
        rates: { publish: 0, deliver: 0, ack: 0 },
      },
      {
        name: 'order_payment_due.2s',
        ready: 40,
        unacked: 0,
        consumers: 0,
        rates: { publish: 0, deliver: 0, ack: 0 },
      },
    ]);
    expect(reading.nodes).toEqual([
      { name: 'rabbit@rabbitmq-1', up: true },
      { name: 'rabbit@rabbitmq-2', up: false, detail: 'not running' },
    ]);
    expect(reading.parked).toEqual(overAmqp.parked);
    // Basic auth from the URL's user and password (decoded), never the password in the path.
    const expected = `Basic ${Buffer.from('dash@board:s3cret').toString('base64')}`;
    expect(seen.every((request) => request.headers.authorization === expected)).toBe(true);
    expect(seen.map((request) => new URL(request.url!, 'http://x').pathname).sort()).toEqual([
      '/api/nodes',
      '/api/queues/shop',
    ]);
  });

  it('falls back to what AMQP says when the API does not answer', async () => {
    healthy.value = false;
    expect(await reader.read()).toEqual(overAmqp);
    healthy.value = true;
  });
});
