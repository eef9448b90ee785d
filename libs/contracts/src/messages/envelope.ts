import { z } from 'zod';

/** Every message body is an envelope: who/when/which-work metadata around the event's data. */
export const envelopeFields = {
  messageId: z.uuid(),
  occurredAt: z.iso.datetime({ offset: true }),
  correlationId: z.string().min(1).max(100),
};

export function envelopeSchema<Type extends string, Data extends z.ZodType>(
  type: Type,
  version: number,
  data: Data,
) {
  return z.object({
    ...envelopeFields,
    type: z.literal(type),
    version: z.literal(version),
    data,
  });
}

/** Any message body: the envelope's fields around its `data`. */
export interface Envelope<Type extends string = string, Data = unknown> {
  messageId: string;
  type: Type;
  version: number;
  /** ISO 8601, UTC. */
  occurredAt: string;
  correlationId: string;
  data: Data;
}

/** What a message is besides its data: `occurredAt` is when the event happened. */
export interface EnvelopeOrigin {
  messageId: string;
  occurredAt: Date;
  correlationId: string;
}

/**
 * The one way a message body is built, by every publisher, the outbox relay and the fixtures. The
 * version is the one its type names (`order.placed.v1`: 1). `envelopeOf<OrderPlacedV1>(...)` checks the
 * type and data against that message's schema type.
 */
export function envelopeOf<Message extends Envelope = Envelope>(
  message: EnvelopeOrigin & Pick<Message, 'type' | 'data'>,
): Message {
  return {
    messageId: message.messageId,
    type: message.type,
    version: versionOf(message.type),
    occurredAt: message.occurredAt.toISOString(),
    correlationId: message.correlationId,
    data: message.data,
  } as Message;
}

/** The version at the end of a message type (`payment.requested.v1`: 1). */
export function versionOf(type: string): number {
  const version = /\.v(\d+)$/.exec(type)?.[1];
  if (version === undefined) throw new Error(`message type ${type} names no version (.v<N>)`);
  return Number(version);
}
