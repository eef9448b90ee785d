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
