import type { MessageErrorHandler } from '@golevelup/nestjs-rabbitmq';
import { Logger } from '@nestjs/common';
import { runWithCorrelationId } from '@shop/logging';

const logger = new Logger('MessageErrorHandler');

/**
 * golevelup's last resort when a handler (or its ack) throws: reject without requeue, so the queue's
 * dead-letter exchange parks the message instead of looping on it (golevelup's default requeues
 * forever). When the channel is already gone (the connection dropped mid-handler) the reject throws;
 * swallowing that is right, because the broker redelivers every unacked message of a dead channel,
 * and letting it escape would be an unhandled rejection that kills the process.
 */
export const survivingErrorHandler: MessageErrorHandler = (channel, message, error) => {
  const messages = Array.isArray(message) ? message : [message];
  for (const m of messages) {
    // Logged under the message's correlation id, so the failure shows up when its order is traced.
    runWithCorrelationId(String(m.properties.correlationId ?? m.properties.messageId ?? ''), () => {
      try {
        channel.nack(m, false, false);
        logger.error(
          `message ${m.properties.messageId ?? '?'} rejected to the dead-letter queue: ${(error as Error)?.message ?? error}`,
        );
      } catch (nackError) {
        logger.warn(
          `message ${m.properties.messageId ?? '?'} will be redelivered: its channel closed (${(nackError as Error).message})`,
        );
      }
    });
  }
};
