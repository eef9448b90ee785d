import { z } from 'zod';
import { MessageTypes } from '../../names';
import { envelopeSchema } from '../envelope';

/** How long a sign-in code is valid; the message carrying it expires with it (AMQP `expiration`). */
export const SIGN_IN_CODE_TTL_MS = 10 * 60 * 1000;

/** Wrong codes allowed before a code is spent and a new one must be asked for. */
export const SIGN_IN_CODE_MAX_TRIES = 5;

/**
 * Published by identity to `customer.sign-in-code` when a customer asks to sign in; notify-worker
 * mails the code. The code is in the message only: identity stores its hash.
 */
export const CustomerSignInCodeV1Data = z.object({
  /** One id per code issued: notify-worker sends one email per id. */
  codeId: z.uuid(),
  email: z.email().max(254),
  code: z.string().regex(/^[0-9]{6}$/),
  expiresAt: z.iso.datetime({ offset: true }),
});
export const CustomerSignInCodeV1 = envelopeSchema(
  MessageTypes.customerSignInCodeV1,
  1,
  CustomerSignInCodeV1Data,
);
export type CustomerSignInCodeV1 = z.infer<typeof CustomerSignInCodeV1>;
export type CustomerSignInCodeV1Data = z.infer<typeof CustomerSignInCodeV1Data>;
