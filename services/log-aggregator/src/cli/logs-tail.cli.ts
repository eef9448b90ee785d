/**
 * `npm run logs:tail -- [binding keys...] [--json]`: prints log records live, like the tutorial's
 * receive_logs scripts; `--order <id>` (or `--correlation <id>`) binds to the headers exchange
 * `logs.follow` instead and prints one order's records from every service. Its queue is server-named, exclusive and auto-deleted: it exists only while
 * this process is connected, so Ctrl-C (or a crash) leaves nothing behind on the broker.
 * Reads RABBITMQ_URL (default: the local broker's vhost `shop`, where `npm start` runs the services).
 */
import { connectToBroker, redactedNodes } from '@shop/broker';
import { LOCAL_DEFAULTS, loadConfig, rabbitmqUrlVariable } from '@shop/config';
import { RABBITMQ_VHOST } from '@shop/contracts';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Channel } from 'amqplib';
import { formatAsJson, formatForHumans } from './log-tail.format';
import { describeBindings, parseTailArgs, type TailOptions } from './log-tail.options';

let manager: AmqpConnectionManager | undefined;
let stopping = false;

async function main(): Promise<void> {
  const options = parseTailArgs(process.argv.slice(2));
  for (const warning of options.warnings) console.error(`note: ${warning}`);
  const { RABBITMQ_URL } = loadConfig({
    RABBITMQ_URL: rabbitmqUrlVariable(`${LOCAL_DEFAULTS.rabbitmqUrl}/${RABBITMQ_VHOST}`),
  });
  // hasColors() honours NO_COLOR, FORCE_COLOR and TERM; a pipe or file gets plain text.
  const colour = process.stdout.isTTY === true && process.stdout.hasColors();

  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));
  // `logs:tail | head` closes stdout: end quietly.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => void stop(error.code === 'EPIPE' ? 0 : 1));

  await tail(RABBITMQ_URL, options, colour);
}

/**
 * The connection fails over between the nodes and reconnects by itself (@shop/broker); the channel's
 * set-up, which declares the queue, binds it and consumes, runs again on every new connection.
 */
async function tail(url: string, options: TailOptions, colour: boolean): Promise<void> {
  manager = connectToBroker(url, 'logs-tail', { reconnectTimeInSeconds: 2 });
  let queue = '';
  let started = false;
  const channel = manager.createChannel({
    confirm: false,
    setup: async (raw: Channel) => {
      ({ queue } = await raw.assertQueue('', { exclusive: true, autoDelete: true, durable: false }));
      for (const { exchange, routingKey, arguments: args } of options.bindings) {
        await raw.bindQueue(queue, exchange, routingKey, args).catch((error: Error) => {
          throw new Error(
            /NOT_FOUND/.test(error.message)
              ? `exchange "${exchange}" does not exist yet: start any service once (it declares the topology)`
              : error.message,
          );
        });
      }
      await raw.consume(
        queue,
        (message) => {
          if (!message) return;
          const delivery = { routingKey: message.fields.routingKey, content: message.content };
          process.stdout.write(
            `${options.json ? formatAsJson(delivery) : formatForHumans(delivery, colour)}\n`,
          );
        },
        { noAck: true, exclusive: true },
      );
    },
  });
  const settingUp = new Promise<void>((resolve, reject) => {
    channel.once('connect', resolve);
    channel.once('error', reject);
  });
  channel.on('connect', () => {
    if (started) console.error(`reconnected; tailing through queue ${queue}`);
  });
  // After the first set-up, a failed one (on a later connection) is reported; the next connection tries again.
  channel.on('error', (error: Error) => {
    if (started) console.error(`could not set up the tail again: ${error.message}`);
  });
  manager.on('disconnect', () => {
    if (!stopping) console.error('connection to RabbitMQ lost; reconnecting every 2 s, node after node');
  });
  try {
    await manager.connect({ timeout: 10_000 });
  } catch (error) {
    throw new Error(`cannot reach RabbitMQ at ${redactedNodes(url)}: ${(error as Error).message}`);
  }
  // A failure while setting up the first time is the caller's (a missing exchange, no rights).
  await settingUp;
  started = true;
  console.error(`tailing ${describeBindings(options.bindings)} through queue ${queue}; Ctrl-C to stop`);
}

/** Closing the connection deletes the exclusive queue at once. */
async function stop(code: number): Promise<never> {
  if (stopping) process.exit(code);
  stopping = true;
  await manager?.close().catch(() => undefined);
  process.exit(code);
}

main().catch(async (error: Error) => {
  console.error(`[logs:tail] ${error.message}`);
  await stop(1);
});
