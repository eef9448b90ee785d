import type { FastifyInstance } from 'fastify';
import type { ApiErrorBody } from '../api-error';

/** The names a service answers to unless ALLOWED_HOSTS says otherwise: this machine's loopback names. */
export const DEFAULT_ALLOWED_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/**
 * The host name of a Host header, lower-cased, without its port or a trailing dot (`[::1]:3000` →
 * `[::1]`, `Shop.Local.:80` → `shop.local`); undefined when it is not a host[:port] at all.
 */
export function hostNameOf(hostHeader: string): string | undefined {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[0-9A-Za-z._-]+)(?::(\d{1,5}))?$/.exec(hostHeader);
  if (!match) return undefined;
  return match[1].toLowerCase().replace(/\.$/, '');
}

/**
 * Refuses a request whose Host names none of `allowedHosts` (any port) with 421 HOST_NOT_ALLOWED, before
 * anything else runs: a web page whose DNS name was rebound to 127.0.0.1 still sends its own name as
 * Host, so it cannot reach a local service. `*` allows any host. An HTTP/1.0 request without Host (as
 * HAProxy's health checks send) is let through: a browser always sends one; HTTP/1.1 requires it (400
 * HOST_REQUIRED, with a code, where Node's own refusal had none).
 */
export function useAllowedHosts(fastify: FastifyInstance, allowedHosts: readonly string[]): void {
  const allowed = new Set(allowedHosts.map((host) => host.toLowerCase().replace(/\.$/, '')));
  const anyHost = allowed.has('*');
  fastify.addHook('onRequest', async (request, reply) => {
    const host = request.headers.host;
    if (host === undefined) {
      if (request.raw.httpVersionMajor === 1 && request.raw.httpVersionMinor === 0) return;
      const body: ApiErrorBody = { code: 'HOST_REQUIRED', message: 'An HTTP/1.1 request must send Host.' };
      return reply.code(400).header('connection', 'close').send(body);
    }
    if (anyHost) return;
    const name = hostNameOf(host);
    if (name !== undefined && allowed.has(name)) return;
    const body: ApiErrorBody = {
      code: 'HOST_NOT_ALLOWED',
      message: 'This service does not answer to that host name (ALLOWED_HOSTS).',
    };
    return reply.code(421).header('connection', 'close').send(body);
  });
}
