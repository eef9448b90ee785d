import { HttpException, HttpStatus } from '@nestjs/common';

export interface FieldError {
  /** Dotted path of the offending field, e.g. `items.0.quantity`. */
  field: string;
  code: string;
  message: string;
}

/** The body of every error response: a machine-readable `code` and a sentence for people. */
export interface ApiErrorBody {
  code: string;
  message: string;
  errors?: FieldError[];
  [detail: string]: unknown;
}

/** An HTTP error with a stable string `code` (errors that cross a process carry a code, not a class). */
export class ApiError extends HttpException {
  constructor(
    status: HttpStatus,
    code: string,
    message: string,
    details: Omit<ApiErrorBody, 'code' | 'message'> = {},
  ) {
    super({ code, message, ...details } satisfies ApiErrorBody, status);
  }

  get body(): ApiErrorBody {
    return this.getResponse() as ApiErrorBody;
  }
}
