import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { createMailpitApiHandler } from './mailpit-api';
import { SmtpSink, type SmtpSinkOptions } from './smtp-sink';

export interface MailpitSinkOptions extends SmtpSinkOptions {
  /** The SMTP port; 0 (the default) picks a free one. */
  smtpPort?: number;
  /** The port of the Mailpit API (and `page`); 0 (the default) picks a free one. */
  httpPort?: number;
  /**
   * A web page served at `/` beside the API (`npm start`'s mail catcher's). It may run its own inline
   * script and style and fetch the API; it loads nothing else.
   */
  page?: string;
}

/**
 * The one way a mail sink starts, in this process: an SmtpSink with the Mailpit-compatible API in
 * front of it. `npm start`'s mail catcher, the specs and the benches all start theirs here.
 */
export interface MailpitSink {
  smtp: SmtpSink;
  /** `smtp://<host>:<port>`, ready for SMTP_URL. */
  smtpUrl: string;
  /** The API's base URL (and the page's), as the load test's --mail-api takes it. */
  apiUrl: string;
  stop(): Promise<void>;
}

/** A port the sink should listen on is taken (EADDRINUSE). */
export class MailSinkPortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly role: 'SMTP' | 'HTTP',
  ) {
    super(`port ${port} (mail sink ${role}) is already in use`);
    this.name = 'MailSinkPortInUseError';
  }
}

export async function startMailpitSink(options: MailpitSinkOptions = {}): Promise<MailpitSink> {
  const { smtpPort = 0, httpPort = 0, page, ...sinkOptions } = options;
  const host = sinkOptions.host ?? '127.0.0.1';
  const smtp = new SmtpSink(sinkOptions);
  await smtp.start(smtpPort).catch((error: Error) => {
    throw portError(error, smtpPort, 'SMTP');
  });
  const server = createServer(answerWith(createMailpitApiHandler(smtp), page));
  try {
    await listen(server, httpPort, host);
  } catch (error) {
    await smtp.stop();
    throw portError(error as Error, httpPort, 'HTTP');
  }
  return {
    smtp,
    smtpUrl: smtp.url,
    apiUrl: `http://${host}:${(server.address() as { port: number }).port}`,
    async stop() {
      server.closeAllConnections();
      await Promise.all([new Promise((resolve) => server.close(resolve)), smtp.stop()]);
    },
  };
}

function answerWith(
  api: ReturnType<typeof createMailpitApiHandler>,
  page: string | undefined,
): Parameters<typeof createServer>[1] {
  const pageBytes = page === undefined ? undefined : Buffer.from(page, 'utf8');
  return (request, response) => {
    if (api(request, response)) return;
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const isPage = path === '/' || path === '/index.html';
    if (pageBytes && isPage && (request.method === 'GET' || request.method === 'HEAD')) {
      response.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': pageBytes.length,
        'cache-control': 'no-store',
        // The page's own inline script and style only; message HTML renders in a sandboxed frame.
        'content-security-policy':
          "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-src 'self' about:; img-src * data:",
      });
      response.end(pageBytes);
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found');
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function portError(error: Error, port: number, role: 'SMTP' | 'HTTP'): Error {
  return (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
    ? new MailSinkPortInUseError(port, role)
    : error;
}

/** What a sink in a child process is told: everything but the error callback, which cannot cross. */
export type MailpitSinkProcessOptions = Omit<MailpitSinkOptions, 'onError'>;

export interface MailpitSinkProcess {
  pid: number;
  smtpUrl: string;
  apiUrl: string;
  /** SIGTERM, and resolves once the process is gone. */
  stop(): Promise<void>;
}

/**
 * `startMailpitSink` in a process of its own, for callers that measure their own CPU and memory and
 * must not count the sink's (the benches). The child ends when stopped, or when this process ends.
 */
export async function startMailpitSinkProcess(
  options: MailpitSinkProcessOptions = {},
): Promise<MailpitSinkProcess> {
  const entry = join(__dirname, `mailpit-sink.process${__filename.endsWith('.ts') ? '.ts' : '.js'}`);
  // node itself (with tsx's loader when running from source), not a wrapper: the pid is the sink's own.
  const child = spawn(
    process.execPath,
    [...(entry.endsWith('.ts') ? ['--import', 'tsx'] : []), entry, encodeOptions(options)],
    { cwd: __dirname, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<{ smtpUrl: string; apiUrl: string }>((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const line = text.split('\n').find((l) => l.startsWith('{') && l.endsWith('}'));
      if (line) resolve(JSON.parse(line) as { smtpUrl: string; apiUrl: string });
    });
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      reject(new Error(`the mail sink process exited (${signal ?? code})`)),
    );
  });
  return {
    pid: child.pid!,
    ...ready,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Options as one argument; Infinity (no bound) survives the trip, which plain JSON turns into null. */
export function encodeOptions(options: MailpitSinkProcessOptions): string {
  return JSON.stringify(options, (_key, value: unknown) => (value === Infinity ? 'Infinity' : value));
}

export function decodeOptions(text: string): MailpitSinkProcessOptions {
  return JSON.parse(text, (_key, value: unknown) => (value === 'Infinity' ? Infinity : value));
}
