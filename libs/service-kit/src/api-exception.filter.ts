import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiError, type ApiErrorBody } from './api-error';

/** Turns an unknown error into an ApiError when it recognises it (e.g. "database unavailable"). */
export type ErrorClassifier = (error: unknown) => ApiError | undefined;

const CODE_BY_STATUS: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_ENTITY',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
};

/** Maps every error to a JSON body `{ code, message, ... }` with the right status. */
export function toApiErrorResponse(
  error: unknown,
  classifiers: ErrorClassifier[] = [],
): { status: number; body: ApiErrorBody } {
  if (error instanceof ApiError) return { status: error.getStatus(), body: error.body };
  for (const classify of classifiers) {
    const classified = classify(error);
    if (classified) return { status: classified.getStatus(), body: classified.body };
  }
  // Includes Fastify's own request errors (415, 413 ...), which Nest hands over as HttpExceptions.
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const response = error.getResponse();
    const message =
      typeof response === 'string'
        ? response
        : String((response as { message?: unknown }).message ?? error.message);
    return { status, body: { code: CODE_BY_STATUS[status] ?? `HTTP_${status}`, message } };
  }
  const statusCode = (error as { statusCode?: unknown })?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return {
      status: statusCode,
      body: { code: CODE_BY_STATUS[statusCode] ?? `HTTP_${statusCode}`, message: (error as Error).message },
    };
  }
  return { status: 500, body: { code: 'INTERNAL_ERROR', message: 'Something went wrong on our side.' } };
}

@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  constructor(private readonly classifiers: ErrorClassifier[] = []) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const { status, body } = toApiErrorResponse(error, this.classifiers);
    if (status === 500) {
      this.logger.error(
        `${body.code}: ${(error as Error)?.message ?? String(error)}`,
        (error as Error)?.stack,
      );
    } else if (status > 500) {
      // Expected outages (database down): one line, no stack.
      this.logger.warn(`${body.code}: ${String((error as Error)?.message ?? error).split('\n')[0]}`);
    }
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    // An answer that says when to come back (429, a sale not open yet, 503) says it in the header too.
    if (typeof body.retryAfterSeconds === 'number')
      void reply.header('retry-after', String(body.retryAfterSeconds));
    void reply.status(status).header('content-type', 'application/json; charset=utf-8').send(body);
  }
}
