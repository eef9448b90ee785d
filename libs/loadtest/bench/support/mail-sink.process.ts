import { createMailpitApiHandler, SmtpSink } from '@shop/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { REPO_ROOT } from './tool-environment';

/**
 * The benches' mail sink as its own process, so its CPU and memory show in the table apart from the
 * load generator's: an SmtpSink that behaves as a mailbox (Mailpit's MP_IGNORE_DUPLICATE_IDS) and the
 * Mailpit API the load test counts emails with. Run as a script, it prints one JSON line when ready.
 */
export interface MailSinkProcess {
  pid: number;
  smtpUrl: string;
  apiUrl: string;
  stop(): Promise<void>;
}

export async function startMailSinkProcess(): Promise<MailSinkProcess> {
  // node --import tsx, not the tsx binary: that would put a wrapper process in between.
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', __filename], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = await new Promise<{ smtpUrl: string; apiUrl: string }>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const line = text.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line) as { smtpUrl: string; apiUrl: string });
    });
    child.once('exit', (code) => reject(new Error(`the mail sink exited with ${code}`)));
  });
  return {
    pid: child.pid!,
    ...ready,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function main(): Promise<void> {
  const sink = new SmtpSink({ maxMessages: 1_000_000, ignoreDuplicateMessageIds: true });
  await sink.start();
  const api = createMailpitApiHandler(sink);
  const server = createServer((request, response) => {
    if (!api(request, response)) response.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ smtpUrl: sink.url, apiUrl: `http://127.0.0.1:${port}` })}\n`);
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close();
    void sink.stop().then(() => process.exit(0));
  });
}

if (require.main === module) void main();
