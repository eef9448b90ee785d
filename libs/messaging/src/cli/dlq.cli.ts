/**
 * `npm run dlq -- list <queue> [--json] [--limit N]`: show parked messages and why they were parked.
 * `npm run dlq -- replay <queue> [--limit N] [--message-id ID]`: send them back for another try.
 * <queue> is a work queue (order_notify, order_report ...), the waiting room (order_requests), or its
 * dead-letter queue (order_notify.dlq ...).
 * Reads RABBITMQ_URL (default: the local broker's vhost `shop`, where `npm start` runs the services).
 */
import { brokerUserOf, connectToolToBroker } from '@shop/broker';
import { LOCAL_DEFAULTS, loadConfig, rabbitmqUrlVariable } from '@shop/config';
import { deadLetterQueueOf, RABBITMQ_VHOST } from '@shop/contracts';
import { parseArgs } from 'node:util';
import {
  listParked,
  replayParked,
  resolveParkingSource,
  type ParkedMessage,
} from '../dead-letters/dead-letter-queue';

const USAGE = 'usage: npm run dlq -- list|replay <queue> [--json] [--limit N] [--message-id ID]';

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      limit: { type: 'string' },
      'message-id': { type: 'string' },
    },
  });
  const [command, queueName] = positionals;
  if (!['list', 'replay'].includes(command ?? '') || !queueName) throw new Error(USAGE);
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0))
    throw new Error('--limit takes a whole number above 0');
  const source = resolveParkingSource(queueName);

  const { RABBITMQ_URL } = loadConfig({
    RABBITMQ_URL: rabbitmqUrlVariable(`${LOCAL_DEFAULTS.rabbitmqUrl}/${RABBITMQ_VHOST}`),
  });
  const broker = await connectToolToBroker(RABBITMQ_URL, 'dlq-cli');
  const { connection } = broker;
  try {
    if (command === 'list') {
      const parked = await listParked(await connection.createChannel(), source, limit);
      if (values.json) console.log(JSON.stringify(parked, null, 2));
      else printTable(deadLetterQueueOf(source), parked);
    } else {
      const result = await replayParked(await connection.createConfirmChannel(), source, {
        limit,
        messageId: values['message-id'],
        userId: brokerUserOf(RABBITMQ_URL),
      });
      console.log(
        `replayed ${result.replayed.length} message(s) from ${deadLetterQueueOf(source)} to ${source}`,
      );
      for (const id of result.replayed) console.log(`  ${id}`);
    }
  } finally {
    await broker.close();
  }
}

function printTable(queue: string, parked: ParkedMessage[]): void {
  console.log(`${queue}: ${parked.length} parked message(s)`);
  for (const message of parked) {
    console.log(
      [
        '',
        `  ${message.messageId}  ${message.type}  correlation ${message.correlationId || '-'}`,
        `    reason    ${message.reason}${message.attempts !== undefined ? ` after ${message.attempts} attempt(s)` : ''}`,
        message.lastError ? `    error     ${message.lastError}` : '',
        message.failedAt ? `    failed at ${message.failedAt}` : '',
        `    body      ${message.body.length > 160 ? `${message.body.slice(0, 157)}...` : message.body}`,
      ]
        .filter(Boolean)
        .join('\n'),
    );
  }
}

main().catch((error: Error) => {
  console.error(`[dlq] ${error.message}`);
  process.exit(1);
});
