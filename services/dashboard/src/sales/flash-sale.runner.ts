import { HttpStatus, Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { FlashSaleOutcome, FlashSaleProgressMessage } from '@shop/contracts';
import { ApiError } from '@shop/service-kit';
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DASHBOARD_CONFIG, type DashboardConfig } from '../config/dashboard.config';
import type { SaleStatus } from '../snapshot/snapshot';
import type { SaleForm } from './sale-form';

/** An hour of the load test's four ticks a second: a longer sale's charts stop there, its verdict does not. */
const MAX_TIMELINE_TICKS = 4 * 3_600;

/** A sale id names its folder under SALES_DIR: `sale-20261203T101500123Z`. */
export const SALE_ID = /^sale-\d{8}T\d{9}Z$/;

/**
 * Runs one flash sale at a time: the load test's own command line (`npm run loadtest:flash-sale`) in a
 * child process with `--ipc`, so its load generator does not share the dashboard's event loop and the
 * sale is exactly what a user would run by hand. Its progress messages become the sale's status, which
 * every snapshot carries; Stop asks it to stop firing (it then drains and checks what was accepted).
 */
@Injectable()
export class FlashSaleRunner implements OnApplicationShutdown {
  private readonly logger = new Logger(FlashSaleRunner.name);
  private sale: SaleStatus | null = null;
  private child: ChildProcess | undefined;
  private readonly salesDir: string;

  constructor(@Inject(DASHBOARD_CONFIG) private readonly config: DashboardConfig) {
    this.salesDir = resolve(config.SALES_DIR);
  }

  /** The sale running now, or the last one (with its verdict); null before the first. */
  status(): SaleStatus | null {
    return this.sale;
  }

  /** A sale is running until its verdict (or its error) is in; the process may take a moment more to exit. */
  private running(): boolean {
    return (
      this.child !== undefined && this.sale !== null && !this.sale.verdict && this.sale.state !== 'error'
    );
  }

  /** The same with only the newest ticks of its timeline: what each snapshot carries. */
  recentStatus(ticks = 8): SaleStatus | null {
    return this.sale && { ...this.sale, timeline: this.sale.timeline.slice(-ticks) };
  }

  start(form: SaleForm): SaleStatus {
    if (this.running()) {
      throw new ApiError(
        HttpStatus.CONFLICT,
        'SALE_RUNNING',
        `Flash sale ${this.sale?.id} is still running; stop it or wait for its verdict.`,
        {
          sale: this.sale,
        },
      );
    }
    const cli = resolve(this.config.LOADTEST_CLI);
    if (!existsSync(cli)) {
      throw new ApiError(
        HttpStatus.SERVICE_UNAVAILABLE,
        'LOADTEST_NOT_BUILT',
        `The load test is not built (${cli} is missing): run npm run build.`,
      );
    }
    const startedAt = new Date();
    const id = `sale-${startedAt.toISOString().replace(/[-:.]/g, '')}`;
    const outDir = join(this.salesDir, id);
    mkdirSync(outDir, { recursive: true });
    const log = openSync(join(outDir, 'loadtest.log'), 'a');
    const child = fork(cli, loadTestArgs(form, this.config, outDir), {
      stdio: ['ignore', log, log, 'ipc'],
      execArgv: [],
    });
    closeSync(log); // the child holds its own copy
    this.child = child;
    const sale: SaleStatus = {
      id,
      state: 'starting',
      options: { ...form },
      startedAt: startedAt.toISOString(),
      stopRequested: false,
      timeline: [],
    };
    this.sale = sale;
    child.on('message', (message: FlashSaleProgressMessage) => this.onProgress(sale, message));
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (sale.verdict || sale.state === 'error') return;
      sale.state = 'error';
      sale.finishedAt = new Date().toISOString();
      sale.error ??= `the load test ended (${signal ?? `exit code ${code}`}) without results: ${lastLines(join(outDir, 'loadtest.log'))}`;
    });
    this.logger.log(
      `flash sale ${id} (${form.admission}): ${form.requests} orders from ${form.connections} connections for ${form.stock} units`,
    );
    return sale;
  }

  stop(): SaleStatus {
    if (!this.running() || !this.child || !this.sale)
      throw new ApiError(HttpStatus.CONFLICT, 'NO_SALE_RUNNING', 'No flash sale is running.');
    this.sale.stopRequested = true;
    if (this.child.connected) this.child.send({ kind: 'stop' });
    return this.sale;
  }

  /** The report.html of a finished sale, or undefined. */
  reportPath(id: string): string | undefined {
    if (!SALE_ID.test(id)) return undefined;
    const path = join(this.salesDir, id, 'report.html');
    return existsSync(path) ? path : undefined;
  }

  async onApplicationShutdown(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
    // Nobody is left to show its verdict to: end the load generator now rather than let it drain.
    child.kill('SIGKILL');
    await exited;
  }

  private onProgress(sale: SaleStatus, message: FlashSaleProgressMessage): void {
    switch (message.kind) {
      case 'step':
        sale.step = message.message;
        break;
      case 'phase':
        sale.state = message.phase;
        break;
      case 'firing': {
        const p = message.progress;
        sale.state = 'firing';
        sale.firing = {
          done: p.done,
          total: p.total,
          accepted: p.accepted,
          soldOut: p.soldOut,
          errors: p.errors,
          requestsPerSecond: p.currentRate,
          acceptedPerSecond: p.acceptedRate,
          latencyP50Ms: finiteOrNull(p.latencyP50Ms),
          latencyP99Ms: finiteOrNull(p.latencyP99Ms),
          outcomeP50Ms: finiteOrNull(p.outcomeP50Ms),
          outcomeP99Ms: finiteOrNull(p.outcomeP99Ms),
          answersByCode: { ...p.answersByCode },
        };
        if (sale.timeline.length < MAX_TIMELINE_TICKS) {
          const { requestsPerSecond, acceptedPerSecond, latencyP50Ms, latencyP99Ms } = sale.firing;
          const atMs = Date.now() - Date.parse(sale.startedAt);
          sale.timeline.push({ atMs, requestsPerSecond, acceptedPerSecond, latencyP50Ms, latencyP99Ms });
        }
        break;
      }
      case 'draining':
        sale.state = 'draining';
        sale.draining = {
          accepted: message.progress.accepted,
          emails: message.progress.emails,
          pdfs: message.progress.pdfs,
          queueDepths: message.progress.queueDepths,
        };
        break;
      case 'error':
        sale.state = 'error';
        sale.error = message.message;
        sale.finishedAt = new Date().toISOString();
        break;
      case 'finished':
        this.finish(sale, message.outcome);
        break;
    }
  }

  private finish(sale: SaleStatus, outcome: FlashSaleOutcome): void {
    const passed = outcome.violations.length === 0;
    sale.state = passed ? 'passed' : 'failed';
    sale.finishedAt = outcome.finishedAt;
    sale.verdict = {
      passed,
      violations: outcome.violations,
      summary: outcome.summary.map(([label, value]) => ({ label, value })),
      reportUrl: `/sales/${sale.id}/report.html`,
    };
    this.logger.log(
      `flash sale ${sale.id}: ${passed ? 'PASS' : `FAIL (${outcome.violations.map((v) => v.code).join(', ')})`}`,
    );
  }
}

/**
 * The load test's command line for a sale from the form: its own options, the sale's rules (PUT /sales
 * with this admission, limit, opening delay and window), the customers' shares, and where the system is:
 * identity signs the sale's customers in.
 */
export function loadTestArgs(form: SaleForm, config: DashboardConfig, outDir: string): string[] {
  const ms = (seconds: number | undefined) =>
    seconds === undefined ? undefined : Math.round(seconds * 1000);
  // Each flag and its value; one left undefined is not passed (the load test's own default).
  const flags: Record<string, number | string | undefined> = {
    stock: form.stock,
    requests: form.requests,
    connections: form.connections,
    'retry-share': form.retryShare,
    admission: form.admission,
    'limit-per-customer': form.limitPerCustomer,
    'opens-in-ms': ms(form.opensInSeconds),
    'payment-window-ms': ms(form.paymentWindowSeconds),
    'pay-share': form.payShare,
    'late-pay-share': form.latePayShare,
    'cancel-share': form.cancelShare,
    'second-attempt-share': form.secondAttemptShare,
    api: config.ORDER_API_URL,
    identity: config.IDENTITY_URL,
    'mail-api': config.MAIL_API_URL,
    'mailbox-capacity': config.MAILBOX_CAPACITY,
    database: config.SALES_DATABASE_URL,
    amqp: config.RABBITMQ_URL,
    out: outDir,
  };
  return [
    '--ipc',
    ...Object.entries(flags).flatMap(([name, value]) =>
      value === undefined ? [] : [`--${name}`, String(value)],
    ),
  ];
}

/** A percentile as the snapshot carries it: NaN (no answer in the tick) or absent (an older load test) is null. */
const finiteOrNull = (value: number | undefined): number | null =>
  value !== undefined && Number.isFinite(value) ? value : null;

/** The end of the load test's output, for an error that has nothing better to say. */
function lastLines(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' / ') || '(no output)';
  } catch {
    return '(no output)';
  }
}
