import { HttpStatus } from '@nestjs/common';
import { ApiError, type FieldError } from '@shop/service-kit';
import { z } from 'zod';

/** Parses `input` with `schema`, or throws 400 VALIDATION_FAILED with one entry per bad field. */
export function parseOrReject<Schema extends z.ZodType>(
  schema: Schema,
  input: unknown,
  what = 'request body',
): z.infer<Schema> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const errors: FieldError[] = result.error.issues.map((issue) => ({
    field: issue.path.map(String).join('.') || '(root)',
    code: issue.code,
    message: issue.message,
  }));
  throw new ApiError(
    HttpStatus.BAD_REQUEST,
    'VALIDATION_FAILED',
    `The ${what} is invalid: ${errors.length} problem(s).`,
    {
      errors,
    },
  );
}
