import { Queues } from '@shop/contracts';
import {
  startHttpApp,
  testConfig,
  testRabbitmqUrlAs,
  waitForConsumer,
  type HttpAppHarness,
} from '@shop/testing';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppModule, SERVICE_NAME } from '../app.module';
import { loadReportWorkerConfig } from '../config/report-worker.config';

export interface ReportWorkerHarness {
  worker: HttpAppHarness;
  reportsDir: string;
  close(): Promise<void>;
}

/**
 * The real report-worker in this process, against the test database and vhost, writing to a fresh
 * folder; returns once it consumes order_report (on a fresh vhost it declares the queue first).
 */
export async function startReportWorker(env: Record<string, string> = {}): Promise<ReportWorkerHarness> {
  const reportsDir = env.REPORTS_DIR ?? (await mkdtemp(join(tmpdir(), 'reports-')));
  const config = loadReportWorkerConfig({
    DATABASE_URL: testConfig.databaseUrlOf('report-worker'),
    // Its own RabbitMQ user: order-api accepts order.reported only from report-worker.
    RABBITMQ_URL: testRabbitmqUrlAs('report-worker'),
    REPORTS_DIR: reportsDir,
    ...env,
  });
  const worker = await startHttpApp(AppModule.forRoot(config), { service: SERVICE_NAME });
  await waitForConsumer(Queues.orderReport);
  let closing: Promise<void> | undefined;
  // Idempotent, so a spec may stop the worker itself and afterEach still call close().
  return { worker, reportsDir, close: () => (closing ??= worker.close()) };
}
