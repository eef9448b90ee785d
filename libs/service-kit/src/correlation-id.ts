import { correlationContext } from '@shop/logging';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** The caller's X-Correlation-Id when it is sane, else this request's id: it follows the order's messages. */
export function correlationIdOf(request: FastifyRequest): string {
  const given = request.headers['x-correlation-id'];
  if (typeof given === 'string' && /^[\x21-\x7E]{1,100}$/.test(given)) return given;
  return String(request.id);
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
