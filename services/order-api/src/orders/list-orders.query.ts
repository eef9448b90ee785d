import { HttpStatus } from '@nestjs/common';
import { ApiError } from '@shop/service-kit';
import { z } from 'zod';
import { MAX_PAGE_SIZE } from './orders.service';

/** The query string of GET /orders. Unknown parameters are refused, so a typo never passes silently. */
export const ListOrdersQuery = z
  .object({
    limit: z.coerce
      .number({ message: 'must be a number' })
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(MAX_PAGE_SIZE, `must be at most ${MAX_PAGE_SIZE}`)
      .default(20),
    /** `nextCursor` of the page before, as it was answered. */
    cursor: z.string().min(1).max(200).optional(),
    /** Operators only: one customer's orders. */
    customerId: z.uuid({ message: 'must be a UUID' }).optional(),
  })
  .strict();

export type ListOrdersQuery = z.infer<typeof ListOrdersQuery>;

const CursorContent = z.object({ t: z.iso.datetime(), id: z.uuid() }).strict();

/** A page's position, opaque to clients: base64url of the last order's creation time and id. */
export function encodeCursor(position: { createdAt: Date; id: string }): string {
  return Buffer.from(JSON.stringify({ t: position.createdAt.toISOString(), id: position.id })).toString(
    'base64url',
  );
}

export function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  let content: unknown;
  try {
    content = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    content = undefined;
  }
  const parsed = CursorContent.safeParse(content);
  if (!parsed.success) {
    throw new ApiError(
      HttpStatus.BAD_REQUEST,
      'INVALID_CURSOR',
      'The cursor is not one this API gave out: pass nextCursor from the previous page as it was.',
    );
  }
  return { createdAt: new Date(parsed.data.t), id: parsed.data.id };
}
