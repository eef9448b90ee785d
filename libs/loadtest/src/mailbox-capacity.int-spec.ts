import { startMailpitSink, testConfig, testSecrets, type MailpitSink } from '@shop/testing';
import { fork } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FlashSaleProgressMessage } from '@shop/contracts';
import type { FlashSaleOptions } from './flash-sale.results';
import { runFlashSale } from './run-flash-sale';

const REPO_ROOT = join(__dirname, '../../..');

/** An HTTP server that records every request and answers each with `answer`. */
async function recordingServer(
  answer: (path: string) => { status: number; body: unknown },
): Promise<{ url: string; requests: string[]; server: Server }> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    const { status, body } = answer(request.url ?? '/');
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

/**
 * The load test refuses, before it sends anything, a sale that may send more emails than the mailbox
 * keeps: the order API here only records what reaches it, so "nothing fired" is what it saw.
 */
describe('flash-sale load test: a sale bigger than the mailbox', () => {
  let mail: MailpitSink;
  let orderApi: Awaited<ReturnType<typeof recordingServer>>;
  let mailpit: Awaited<ReturnType<typeof recordingServer>>;
  let options: FlashSaleOptions;

  beforeAll(async () => {
    mail = await startMailpitSink({ maxMessages: 5 });
    orderApi = await recordingServer(() => ({ status: 500, body: { code: 'NOT_HERE' } }));
    // Mailpit's own /api/v1/info: no MaxMessages (its MP_MAX_MESSAGES is not reported).
    mailpit = await recordingServer((path) =>
      path === '/api/v1/info'
        ? { status: 200, body: { Version: 'v1.27.11', Messages: 3, RuntimeStats: { SMTPIgnored: 0 } } }
        : { status: 404, body: {} },
    );
    options = {
      stock: 6,
      requests: 1_000,
      connections: 10,
      retryShare: 0.05,
      apiUrl: orderApi.url,
      mailApiUrl: mail.apiUrl,
      amqpUrl: 'amqp://127.0.0.1:1',
      requestTimeoutMs: 1_000,
      drainTimeoutMs: 1_000,
      opsToken: testSecrets.OPS_TOKEN,
      auditDatabaseUrl: testConfig.databaseUrl,
      payShare: 0.5,
      latePayShare: 0.1,
      cancelShare: 0.1,
      resell: false,
    };
  });

  beforeEach(() => {
    orderApi.requests.length = 0;
  });

  afterAll(async () => {
    await mail?.stop();
    await Promise.all(
      [orderApi, mailpit].map((stub) => stub && new Promise((resolve) => stub.server.close(resolve))),
    );
  });

  it('is refused at the start, naming the setting, with no request sent', async () => {
    const steps: string[] = [];
    await expect(runFlashSale(options, { onStep: (step) => steps.push(step) })).rejects.toMatchObject({
      code: 'MAILBOX_TOO_SMALL',
      message: expect.stringMatching(
        /^the mailbox keeps at most 5 messages \(MAIL_CATCHER_MAX_MESSAGES; Mailpit: MP_MAX_MESSAGES\) but this sale may send 18 emails \(up to 3 per order/,
      ),
    });
    expect(orderApi.requests).toEqual([]);
    expect(steps).toEqual([]);
    expect(mail.smtp.receivedCount).toBe(0);
  });

  it('is refused the same way from the command line the dashboard forks with --ipc, exit code 2', async () => {
    const child = fork(
      join(REPO_ROOT, 'libs/loadtest/src/cli/flash-sale.cli.ts'),
      ['--ipc', '--stock', '1000000', '--requests', '6', '--connections', '2'].concat([
        '--api',
        orderApi.url,
        '--mail-api',
        mail.apiUrl,
        '--amqp',
        options.amqpUrl,
      ]),
      {
        cwd: REPO_ROOT,
        // The dashboard's own OPS_TOKEN reaches the load test it forks through the environment.
        env: { ...process.env, OPS_TOKEN: testSecrets.OPS_TOKEN },
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      },
    );
    const messages: FlashSaleProgressMessage[] = [];
    child.on('message', (message: FlashSaleProgressMessage) => messages.push(message));
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));

    expect(code).toBe(2);
    expect(messages).toEqual([
      {
        kind: 'error',
        message: expect.stringMatching(
          /^the mailbox keeps at most 5 messages \(MAIL_CATCHER_MAX_MESSAGES; Mailpit: MP_MAX_MESSAGES\) but this sale may send 36 emails \(up to 3 per order, at most 2 × min/,
        ),
      },
    ]);
    expect(stderr).toContain('flash sale could not run: the mailbox keeps at most 5 messages');
    expect(orderApi.requests).toEqual([]);
  });

  it('takes a mailbox that does not report its bound (Mailpit) to keep 500, or what --mailbox-capacity says', async () => {
    await expect(runFlashSale({ ...options, stock: 501, mailApiUrl: mailpit.url })).rejects.toThrow(
      /keeps at most 500 messages \(Mailpit's default MP_MAX_MESSAGES, assumed .* pass --mailbox-capacity/,
    );
    await expect(
      runFlashSale({
        ...options,
        stock: 1_001,
        requests: 5_000,
        mailApiUrl: mailpit.url,
        mailboxCapacity: 1_000,
      }),
    ).rejects.toThrow(/keeps at most 1000 messages \(--mailbox-capacity; Mailpit: MP_MAX_MESSAGES\)/);
    expect(orderApi.requests).toEqual([]);

    // Room enough: past the check, the sale's first request is the product it creates.
    await expect(
      runFlashSale({ ...options, stock: 333, mailApiUrl: mailpit.url, mailboxCapacity: 1_000 }),
    ).rejects.toThrow(/^PUT \/products\/FLASH-\w+ answered 500/);
    expect(orderApi.requests).toEqual([expect.stringMatching(/^PUT \/products\/FLASH-/)]);
  });

  it('is refused when the mailbox does not answer: its emails could not be counted', async () => {
    const gone = await recordingServer(() => ({ status: 200, body: {} }));
    await new Promise((resolve) => gone.server.close(resolve));
    await expect(runFlashSale({ ...options, mailApiUrl: gone.url })).rejects.toThrow(
      /the mail API at http:\/\/127\.0\.0\.1:\d+ does not answer/,
    );
    expect(orderApi.requests).toEqual([]);
  });
});
