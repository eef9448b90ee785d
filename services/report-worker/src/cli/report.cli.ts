/**
 * `npm run report -- <order-id> [--out FILE] [--timeout MS]`: asks report-worker for an order's PDF over
 * report_rpc the way the seeds' rpc_client.py does: its own exclusive reply queue, `reply_to` +
 * `correlation_id`, the request published to the default exchange with `expiration` = the timeout.
 * Prints the correlation id, the time taken and where it wrote the PDF (default ./order-<id>.pdf).
 * It sends no order data, so it gets only a report already written (else ORDER_NOT_FOUND); GET
 * /orders/:id/report on order-api renders one on demand. Reads RABBITMQ_URL (default: the local broker's
 * vhost `shop`, where `npm start` runs the services).
 */
import { brokerUserOf, connectToolToBroker } from '@shop/broker';
import { LOCAL_DEFAULTS, loadConfig, rabbitmqUrlVariable } from '@shop/config';
import { MessageTypes, Queues, RABBITMQ_VHOST, REPORT_DEADLINE_HEADER, ReportErrorV1 } from '@shop/contracts';
import type { ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const USAGE = 'usage: npm run report -- <order-id> [--out FILE] [--timeout MS]';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { out: { type: 'string' }, timeout: { type: 'string', default: '5000' } },
  });
  const [orderId] = positionals;
  if (!orderId || positionals.length > 1) throw new Error(USAGE);
  if (!UUID.test(orderId)) throw new Error(`${orderId} is not an order id (a UUID). ${USAGE}`);
  const timeoutMs = Number(values.timeout);
  if (!(Number.isInteger(timeoutMs) && timeoutMs > 0))
    throw new Error('--timeout takes milliseconds above 0');
  const out = resolve(values.out ?? `order-${orderId}.pdf`);

  const { RABBITMQ_URL } = loadConfig({
    RABBITMQ_URL: rabbitmqUrlVariable(`${LOCAL_DEFAULTS.rabbitmqUrl}/${RABBITMQ_VHOST}`),
  });
  const broker = await connectToolToBroker(RABBITMQ_URL, 'report-cli');
  const { connection } = broker;
  try {
    const channel = await connection.createChannel();
    const { queue: replyQueue } = await channel.assertQueue('', { exclusive: true });
    const correlationId = randomUUID();
    const started = performance.now();
    const reply = new Promise<ConsumeMessage | undefined>((settle) => {
      const timer = setTimeout(() => settle(undefined), timeoutMs);
      void channel.consume(
        replyQueue,
        (message) => {
          // Anything else on the queue (a reply to an earlier run cannot reach this new queue) is ignored.
          if (message?.properties.correlationId !== correlationId) return;
          clearTimeout(timer);
          settle(message);
        },
        { noAck: true },
      );
    });
    channel.sendToQueue(Queues.reportRpc, Buffer.from(JSON.stringify({ orderId })), {
      replyTo: replyQueue,
      correlationId,
      type: MessageTypes.reportRequestV1,
      contentType: 'application/json',
      userId: brokerUserOf(RABBITMQ_URL),
      expiration: String(timeoutMs),
      headers: { [REPORT_DEADLINE_HEADER]: Date.now() + timeoutMs },
    });
    console.log(`asked report_rpc for order ${orderId} (correlation id ${correlationId})`);
    const answer = await reply;
    const ms = Math.round(performance.now() - started);
    if (!answer) {
      console.error(`no reply within ${timeoutMs} ms: is report-worker running?`);
      return 2;
    }
    if (answer.properties.type === MessageTypes.reportPdfV1) {
      await writeFile(out, answer.content);
      console.log(`reply in ${ms} ms: ${answer.content.length} bytes written to ${out}`);
      return 0;
    }
    const error = ReportErrorV1.safeParse(JSON.parse(answer.content.toString('utf8')));
    console.error(
      error.success
        ? `reply in ${ms} ms: ${error.data.code}: ${error.data.message}`
        : `reply in ${ms} ms: not a report`,
    );
    return 1;
  } finally {
    await broker.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(error.message);
    process.exit(2);
  },
);
