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
