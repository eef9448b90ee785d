/**
 * `npm run logs:tail -- [binding keys...] [--json]`: prints log records live, like the tutorial's
 * receive_logs scripts. Its queue is server-named, exclusive and auto-deleted: it exists only while
 * this process is connected, so Ctrl-C (or a crash) leaves nothing behind on the broker.
 * Reads RABBITMQ_URL (default: the local broker).
 */
import { LOCAL_DEFAULTS, loadConfig, rabbitmqUrlVariable } from '@shop/config';
import amqp, { type ChannelModel } from 'amqplib';
import { formatAsJson, formatForHumans } from './log-tail.format';
import { describeBindings, parseTailArgs, type TailOptions } from './log-tail.options';

const RECONNECT_DELAY_MS = 2_000;

let connection: ChannelModel | undefined;
let stopping = false;

async function main(): Promise<void> {
  const options = parseTailArgs(process.argv.slice(2));
  for (const warning of options.warnings) console.error(`note: ${warning}`);
  const { RABBITMQ_URL } = loadConfig({ RABBITMQ_URL: rabbitmqUrlVariable(LOCAL_DEFAULTS.rabbitmqUrl) });
  // hasColors() honours NO_COLOR, FORCE_COLOR and TERM; a pipe or file gets plain text.
  const colour = process.stdout.isTTY === true && process.stdout.hasColors();

  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));
  // `logs:tail | head` closes stdout: end quietly.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => void stop(error.code === 'EPIPE' ? 0 : 1));

  await tail(RABBITMQ_URL, options, colour);
}

async function tail(url: string, options: TailOptions, colour: boolean): Promise<void> {
  const current = await amqp.connect(url, { clientProperties: { connection_name: 'logs-tail' } });
  connection = current;
  current.on('error', () => undefined); // 'close' follows.

  const channel = await current.createChannel();
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
  for (const { exchange, routingKey } of options.bindings) {
    await channel.bindQueue(queue, exchange, routingKey).catch((error: Error) => {
      throw new Error(
        /NOT_FOUND/.test(error.message)
          ? `exchange "${exchange}" does not exist yet: start any service once (it declares the topology)`
          : error.message,
      );
    });
  }
  await channel.consume(
    queue,
    (message) => {
      if (!message) return;
      const delivery = { routingKey: message.fields.routingKey, content: message.content };
      process.stdout.write(`${options.json ? formatAsJson(delivery) : formatForHumans(delivery, colour)}\n`);
    },
    { noAck: true, exclusive: true },
  );
  // Only a fully set-up connection reconnects when lost; a failure while setting up is the caller's.
  current.on('close', () => {
    if (stopping) return;
    console.error(`connection to RabbitMQ lost; reconnecting every ${RECONNECT_DELAY_MS / 1000} s`);
    void reconnect(url, options, colour);
  });
  console.error(`tailing ${describeBindings(options.bindings)} through queue ${queue}; Ctrl-C to stop`);
}

async function reconnect(url: string, options: TailOptions, colour: boolean): Promise<void> {
  while (!stopping) {
    await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAY_MS));
    if (stopping) return;
    try {
      await tail(url, options, colour);
      return;
    } catch (error) {
      await connection?.close().catch(() => undefined);
      console.error(`still cannot reach RabbitMQ: ${(error as Error).message}`);
    }
  }
}

/** Closing the connection deletes the exclusive queue at once. */
async function stop(code: number): Promise<never> {
  if (stopping) process.exit(code);
  stopping = true;
  await connection?.close().catch(() => undefined);
  process.exit(code);
}

main().catch(async (error: Error) => {
  console.error(`[logs:tail] ${error.message}`);
  await stop(1);
});
