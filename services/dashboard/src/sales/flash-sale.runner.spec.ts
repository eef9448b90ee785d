import type { FlashSaleProgressMessage } from '@shop/contracts';
import { waitFor } from '@shop/testing';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDashboardConfig } from '../config/dashboard.config';
import { FlashSaleRunner, loadTestArgs } from './flash-sale.runner';
import { parseSaleForm } from './sale-form';

const required = { OPS_TOKEN: 'an-operator-token-of-enough-length-0123456789' };

/** The value after each `--flag` of a command line. */
const flagsOf = (args: string[]) =>
  Object.fromEntries(args.flatMap((arg, i) => (arg.startsWith('--') ? [[arg, args[i + 1]]] : [])));

describe('FlashSaleRunner', () => {
  it('passes the sale’s rules, the customers’ shares and identity to the load test as flags', () => {
    const config = loadDashboardConfig({ ...required, IDENTITY_URL: 'http://identity:3005/' });
    const form = parseSaleForm({
      stock: 50,
      admission: 'queued',
      limitPerCustomer: 2,
      opensInSeconds: 2.5,
      paymentWindowSeconds: 90,
      payShare: 0.6,
      secondAttemptShare: 0.1,
    });
    const flags = flagsOf(loadTestArgs(form, config, '/tmp/sale'));
    expect(flags).toMatchObject({
      '--stock': '50',
      '--admission': 'queued',
      '--limit-per-customer': '2',
      '--opens-in-ms': '2500',
      '--payment-window-ms': '90000',
      '--pay-share': '0.6',
      '--late-pay-share': '0.1',
      '--cancel-share': '0.1',
      '--second-attempt-share': '0.1',
      '--identity': 'http://identity:3005',
      '--out': '/tmp/sale',
    });
    // Unset: the sale takes order-api's PAYMENT_WINDOW_MS; identity under npm start on its own port.
    const defaults = loadTestArgs(parseSaleForm({}), loadDashboardConfig(required), '/tmp/sale');
    expect(defaults).not.toContain('--payment-window-ms');
    expect(flagsOf(defaults)).toMatchObject({
      '--admission': 'direct',
      '--limit-per-customer': '1',
      '--opens-in-ms': '1500',
      '--identity': 'http://127.0.0.1:3005',
    });
  });

  describe('with a stand-in load test that reports what the real one does over IPC', () => {
    let dir: string;
    let runner: FlashSaleRunner;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'flash-sale-runner-'));
      const firing: FlashSaleProgressMessage = {
        kind: 'firing',
        progress: {
          done: 40,
          total: 100,
          accepted: 0,
          soldOut: 0,
          errors: 3,
          currentRate: 160,
          acceptedRate: 0,
          latencyP50Ms: 4,
          latencyP99Ms: Number.NaN,
          answersByCode: { '202': 37, '409 SALE_NOT_OPEN': 2, '503 WAITING_ROOM_FULL': 1 },
          outcomeP50Ms: 250,
          outcomeP99Ms: 900,
        },
      };
      const finished: FlashSaleProgressMessage = {
        kind: 'finished',
        outcome: {
          outDir: dir,
          finishedAt: '2026-12-07T10:00:00.000Z',
          violations: [],
          summary: [
            ['refusals by code', 'OUT_OF_STOCK ×60'],
            ['fairness (arrival vs acceptance)', '0.00 % of 780 pairs inverted'],
          ],
        },
      };
      // Its command line goes to args.json; it then reports one tick while firing and its outcome.
      await writeFile(
        join(dir, 'fake-cli.js'),
        `require('node:fs').writeFileSync(${JSON.stringify(join(dir, 'args.json'))}, JSON.stringify(process.argv.slice(2)));
process.send(${JSON.stringify(firing).replace('null', 'NaN')});
process.once('message', () => process.send(${JSON.stringify(finished)}, () => process.disconnect()));`,
      );
      runner = new FlashSaleRunner(
        loadDashboardConfig({ ...required, LOADTEST_CLI: join(dir, 'fake-cli.js'), SALES_DIR: dir }),
      );
    });
    afterAll(async () => {
      await runner.onApplicationShutdown();
      await rm(dir, { recursive: true, force: true });
    });

    it('shows the answers by code and the time to the outcome while firing, then the summary’s new rows', async () => {
      runner.start(parseSaleForm({ admission: 'queued', stock: 60, requests: 100 }));
      const firing = await waitFor('the firing tick', () => runner.status()?.firing);
      expect(firing).toEqual({
        done: 40,
        total: 100,
        accepted: 0,
        soldOut: 0,
        errors: 3,
        requestsPerSecond: 160,
        acceptedPerSecond: 0,
        latencyP50Ms: 4,
        latencyP99Ms: null,
        outcomeP50Ms: 250,
        outcomeP99Ms: 900,
        answersByCode: { '202': 37, '409 SALE_NOT_OPEN': 2, '503 WAITING_ROOM_FULL': 1 },
      });
      expect(runner.status()?.options).toMatchObject({ admission: 'queued', stock: 60 });
      const args = JSON.parse(await readFile(join(dir, 'args.json'), 'utf8')) as string[];
      expect(flagsOf(args)).toMatchObject({ '--admission': 'queued', '--identity': 'http://127.0.0.1:3005' });

      runner.stop();
      const verdict = await waitFor('the verdict', () => runner.status()?.verdict);
      expect(verdict.summary).toEqual([
        { label: 'refusals by code', value: 'OUT_OF_STOCK ×60' },
        { label: 'fairness (arrival vs acceptance)', value: '0.00 % of 780 pairs inverted' },
      ]);
      expect(runner.status()?.state).toBe('passed');
    });
  });
});
