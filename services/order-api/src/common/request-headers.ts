import { HttpStatus } from '@nestjs/common';
import { ApiError } from '@shop/service-kit';
import type { FastifyRequest } from 'fastify';

/** Fastify would parse text/plain too; this API speaks JSON only, so anything else is 415. */
export function requireJsonContentType(request: FastifyRequest): void {
  const type = request.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new ApiError(
      HttpStatus.UNSUPPORTED_MEDIA_TYPE,
      'UNSUPPORTED_MEDIA_TYPE',
      `Send the body as application/json (got ${type ? JSON.stringify(type) : 'no Content-Type'}).`,
    );
  }
}

/** The caller's X-Correlation-Id when it is sane, else this request's id: it follows the order's messages. */
export function correlationIdOf(request: FastifyRequest): string {
  const given = request.headers['x-correlation-id'];
  if (typeof given === 'string' && /^[\x21-\x7E]{1,100}$/.test(given)) return given;
  return String(request.id);
}
