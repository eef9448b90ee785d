import { DynamicModule, HttpStatus, INestApplication, LoggerService, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { JsonLogger } from '@shop/logging';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { ApiError, type ApiErrorBody } from './api-error';
import { ApiExceptionFilter, type ErrorClassifier } from './api-exception.filter';
import { requestIdOf, useCorrelationContext } from './correlation-id';
import { DEFAULT_ALLOWED_HOSTS, useAllowedHosts } from './http/allowed-hosts';

export interface ServiceAppOptions {
  logger: LoggerService;
  /** Largest request body accepted; bigger ones get 413 PAYLOAD_TOO_LARGE. */
  bodyLimitBytes?: number;
  /** Extra error mappings (e.g. database unavailable → 503). */
  errorClassifiers?: ErrorClassifier[];
  /** Host names (any port) requests may name; others get 421 HOST_NOT_ALLOWED. Default: loopback only. */
  allowedHosts?: readonly string[];
  /** Longest a request may take to arrive, headers and body; then 408 REQUEST_TIMEOUT and the connection closes. */
  requestTimeoutMs?: number;
  /** A connection with nothing sent either way this long is closed (a response is being written meanwhile). */
  connectionTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this long. */
  keepAliveTimeoutMs?: number;
  /**
   * Addresses or subnets (`10.0.0.0/8`; `loopback`, `uniquelocal`) of proxies whose X-Forwarded-For is
   * believed: `request.ip` is then the client's address, which rate limits count by. Default: loopback only.
   */
  trustProxy?: readonly string[];
}

/** The proxies believed unless TRUST_PROXY says otherwise: HAProxy or a load test on this machine. */
export const DEFAULT_TRUSTED_PROXIES: readonly string[] = ['127.0.0.1', '::1'];

/**
 * The HTTP timeouts (Fastify's and Node's defaults leave the first two at 0: a slow body held a
 * connection forever). Node's requestTimeout covers receiving the request only, so a long response such
 * as the dashboard's event stream is not cut by it. The connection timeout is above the longest a
 * handler may wait (a report over RPC, REPORT_RPC_TIMEOUT_MS at most 120 s); keep-alive is above
 * HAProxy's 60 s, so the proxy, not the service, closes an idle connection first.
 */
export const HTTP_TIMEOUTS = {
  requestTimeoutMs: 30_000,
  connectionTimeoutMs: 150_000,
  keepAliveTimeoutMs: 65_000,
} as const;

/**
 * A Nest application on Fastify (faster than Nest on Express: docs/measured.md) that speaks JSON only:
 * another content type gets 415, a body over the limit 413, unparsable JSON 400 MALFORMED_JSON,
 * and every error the same `{ code, message }` body. Each request runs with its correlation id in
 * the logging context; a JsonLogger is closed (its records flushed to the broker) last on shutdown.
 */
export async function createServiceApp(
  module: unknown,
  options: ServiceAppOptions,
): Promise<NestFastifyApplication> {
  const requestTimeout = options.requestTimeoutMs ?? HTTP_TIMEOUTS.requestTimeoutMs;
  const adapter = new FastifyAdapter({
    bodyLimit: options.bodyLimitBytes ?? 64 * 1024,
    // A caller's sane X-Request-Id or X-Correlation-Id follows the request; otherwise a fresh UUID.
    requestIdHeader: false,
    genReqId: (request: IncomingMessage) => requestIdOf(request.headers),
    requestTimeout,
    connectionTimeout: options.connectionTimeoutMs ?? HTTP_TIMEOUTS.connectionTimeoutMs,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? HTTP_TIMEOUTS.keepAliveTimeoutMs,
    trustProxy: [...(options.trustProxy ?? DEFAULT_TRUSTED_PROXIES)],
    http: {
      // Node looks for requests over their time every 30 s by default: a slow body would get twice its time.
      connectionsCheckingInterval: Math.min(1_000, requestTimeout),
      headersTimeout: Math.min(60_000, requestTimeout),
      // useAllowedHosts answers a missing Host itself, with a code (Node's own 400 has no body).
      requireHostHeader: false,
    },
    logger: false,
    clientErrorHandler: answerClientErrorWithCode,
    // Fastify's own "closing" 503 has no `code`; refuseWhileStopping answers those requests instead.
    return503OnClosing: false,
  });
  // First of all hooks: a refused host gets nothing else, and every answer says nosniff.
  adapter.getInstance().addHook('onRequest', (_request, reply, done) => {
    reply.raw.setHeader('x-content-type-options', 'nosniff');
    done();
  });
  useAllowedHosts(adapter.getInstance(), options.allowedHosts ?? DEFAULT_ALLOWED_HOSTS);
  useJsonOnlyBodyParser(adapter);
  useCorrelationContext(adapter.getInstance());
  const app = await NestFactory.create<NestFastifyApplication>(
    withLoggerClosedLast(module, options.logger),
    adapter,
    {
      bufferLogs: true,
      logger: options.logger,
      bodyParser: false,
      // Throw start-up errors to the caller (main.ts exits non-zero with the message) instead of process.exit.
      abortOnError: false,
    },
  );
  app.useLogger(options.logger);
  app.useGlobalFilters(new ApiExceptionFilter(options.errorClassifiers ?? []));
  refuseWhileStopping(app);
  app.enableShutdownHooks();
  return app;
}

/**
 * From the moment the service starts to stop (SIGTERM/SIGINT or app.close()), a new request gets
 * 503 SERVICE_STOPPING with `Connection: close`, so the client retries elsewhere or after the restart,
 * while requests already running finish. Nest closes its modules (the database client among them)
 * before the HTTP server, so a request let in then could fail halfway.
 */
function refuseWhileStopping(app: NestFastifyApplication): void {
  let stopping = false;
  const markStopping = () => (stopping = true);
  // Registered before Nest's own signal handlers (enableShutdownHooks), so they run first.
  process.prependListener('SIGTERM', markStopping);
  process.prependListener('SIGINT', markStopping);
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', async (_request, reply) => {
      if (!stopping) return;
      const body: ApiErrorBody = {
        code: 'SERVICE_STOPPING',
        message: 'The service is stopping; retry shortly.',
      };
      return reply.code(503).header('connection', 'close').send(body);
    });
  const close = app.close.bind(app);
  app.close = async (...args: Parameters<typeof close>) => {
    markStopping();
    process.removeListener('SIGTERM', markStopping);
    process.removeListener('SIGINT', markStopping);
    return close(...args);
  };
}

@Module({})
class ServiceRootModule {}

@Module({})
class LoggerShutdownModule {}

/**
 * Wraps the service's module so the logger's sinks close after every other shutdown hook: Nest runs
 * global modules' hooks last, in reverse order of import, and this one is imported first.
 */
function withLoggerClosedLast(module: unknown, logger: LoggerService): DynamicModule {
  if (!(logger instanceof JsonLogger)) return module as DynamicModule;
  const closesLogger: DynamicModule = {
    module: LoggerShutdownModule,
    global: true,
    providers: [{ provide: 'LOGGER_SHUTDOWN', useValue: { onApplicationShutdown: () => logger.close() } }],
  };
  return { module: ServiceRootModule, imports: [closesLogger, module as DynamicModule] };
}

/**
 * Replaces Fastify's parsers (JSON and text/plain) with one JSON parser whose errors carry a code.
 * Nest would otherwise turn Fastify's parse error into a bare 400 without one.
 */
function useJsonOnlyBodyParser(adapter: FastifyAdapter): void {
  const fastify = adapter.getInstance();
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeAllContentTypeParsers();
  // Read as bytes and decode strictly: a string parser would turn bytes that are not UTF-8 into U+FFFD
  // and store the mangled text (a chunked body has no Content-Length check to catch it).
  const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, bytes, done) => {
    const malformed = (message: string) =>
      done(new ApiError(HttpStatus.BAD_REQUEST, 'MALFORMED_JSON', message), undefined);
    let body: string;
    try {
      body = utf8.decode(bytes as Buffer);
    } catch {
      return malformed('The body is not valid UTF-8.');
    }
    parseJson(request, body, (error, value) => {
      if (!error) return done(null, value);
      malformed(
        body.length === 0 ? 'The body is empty but Content-Type says JSON.' : 'The body is not valid JSON.',
      );
    });
  });
}

/**
 * Node refuses a request it cannot parse (request line and headers over 16 KB, a raw non-ASCII byte in
 * the path) before Fastify or Nest see it, and Fastify's default answer has no `code`; this one does.
 */
function answerClientErrorWithCode(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message]: [number, string, string] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'HEADERS_TOO_LARGE', 'The request line and headers are over 16 KB.']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'REQUEST_TIMEOUT', 'The request took too long to arrive.']
        : [400, 'BAD_REQUEST', 'The request is not valid HTTP.'];
  const body = JSON.stringify({ code, message } satisfies ApiErrorBody);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nX-Content-Type-Options: nosniff\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

export type { INestApplication };
