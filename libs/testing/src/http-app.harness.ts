import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Server } from 'node:http';
import { JsonLogger } from '@shop/logging';
import { createServiceApp, type ErrorClassifier } from '@shop/service-kit';

export interface HttpResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the raw text when the body is not JSON. */
  body: any;
}

export interface HttpAppHarness {
  app: NestFastifyApplication;
  baseUrl: string;
  get(path: string, headers?: Record<string, string>): Promise<HttpResponse>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<HttpResponse>;
  close(): Promise<void>;
}

/**
 * Boots a service's root module with the same app factory as its main.ts, on a free loopback port,
 * and gives specs a small fetch-based client. A string body is sent as is (to test malformed JSON).
 */
export async function startHttpApp(
  module: unknown,
  options: {
    service: string;
    errorClassifiers?: ErrorClassifier[];
    /** Defaults to errors only on stdout; pass one with a LogPublisher attached to test logging. */
    logger?: JsonLogger;
  },
): Promise<HttpAppHarness> {
  const app = await createServiceApp(module, {
    logger: options.logger ?? new JsonLogger(options.service, { minLevel: 'error' }),
    errorClassifiers: options.errorClassifiers,
  });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  const baseUrl = `http://127.0.0.1:${port}`;

  const send = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body: parsed };
  };

  return {
    app,
    baseUrl,
    get: (path, headers) => send('GET', path, undefined, headers),
    post: (path, body, headers) => send('POST', path, body, headers),
    close: () => closeLettingRequestsFinish(app),
  };
}

/** How long a spec's app close lets requests still running finish before it cuts their connections. */
const CLOSE_GRACE_MS = 2_000;

/**
 * app.close(), bounded. The spec's own fetch keeps its connections alive, and a close could wait for one
 * until the service's keep-alive timeout (65 s): a log-aggregator spec's afterAll did, 1 run in 4. After
 * the grace period whatever connection is left is closed, as a stopping process's would be.
 */
async function closeLettingRequestsFinish(app: NestFastifyApplication): Promise<void> {
  const server = app.getHttpServer() as Server;
  const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS).unref();
  try {
    await app.close();
  } finally {
    clearTimeout(cut);
  }
}
