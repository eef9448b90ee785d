import { correlationContext } from '@shop/logging';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** What a caller's id may be: printable ASCII, no spaces, at most 100 characters (orders.correlation_id). */
const SANE_ID = /^[\x21-\x7E]{1,100}$/;

function saneHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' && SANE_ID.test(value) ? value : undefined;
}

/**
 * A request's id: the caller's X-Request-Id, else its X-Correlation-Id, when sane; otherwise a fresh
 * UUID. Anything longer or stranger is ignored rather than refused, so a hostile id never fails a request.
 */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  return saneHeader(headers, 'x-request-id') ?? saneHeader(headers, 'x-correlation-id') ?? randomUUID();
}

/** The caller's X-Correlation-Id when it is sane, else this request's id: it follows the order's messages. */
export function correlationIdOf(request: FastifyRequest): string {
  return saneHeader(request.headers, 'x-correlation-id') ?? String(request.id);
}

/**
 * Runs each request, from its first hook to the handler's last await, with its correlation id in
 * `correlationContext`, so every record logged on its behalf carries it. Fastify calls a hook's `done`
 * synchronously into the next step, so `enterWith` there reaches the handler (correlation-id.spec.ts
 * checks it with concurrent requests); it is entered again before the handler so that holds even if
 * body parsing ever resumes in another async context.
 */
export function useCorrelationContext(fastify: FastifyInstance): void {
  const enter = (request: FastifyRequest, _reply: unknown, done: () => void) => {
    correlationContext.enterWith({ correlationId: correlationIdOf(request) });
    done();
  };
  fastify.addHook('onRequest', enter);
  fastify.addHook('preHandler', enter);
}
