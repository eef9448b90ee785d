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
  throw validationFailed(what, errors);
}

/** 400 VALIDATION_FAILED with one entry per bad field. */
export function validationFailed(what: string, errors: FieldError[]): ApiError {
  return new ApiError(
    HttpStatus.BAD_REQUEST,
    'VALIDATION_FAILED',
    `The ${what} is invalid: ${errors.length} problem(s).`,
    { errors },
  );
}

/**
 * Text PostgreSQL can store as sent: a NUL makes the write fail (a 500), and an unpaired surrogate has
 * no UTF-8 form, so the driver would silently store U+FFFD instead. Both are refused as invalid input.
 */
export function storableText(schema: z.ZodString): z.ZodString {
  return schema.refine((text) => !/[\0\p{Cs}]/u.test(text), 'must not contain NUL or unpaired surrogates');
}
