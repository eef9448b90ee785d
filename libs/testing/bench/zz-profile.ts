// TEMPORARY (not part of the change): profiles one worker on a pre-loaded queue.
import { Queues, RoutingKeys } from '@shop/contracts';
import { freePort, SmtpSink, startServiceProcess } from '@shop/testing';
import { mkdtempSync } from 'node:fs';
import { BenchBroker, emptyTables, insertOrders, prepareBenchDatabase, queuesOf } from './bench-environment';
import { pollUntil } from './worker-throughput.phase';
const db = 'postgresql://postgres@127.0.0.1:5432/orders_bench';
const mq = 'amqp://guest:guest@127.0.0.1:5672/shop_bench';
(async () => {
  const which = process.argv[2] as 'notify-worker' | 'report-worker';
  const n = Number(process.argv[3] ?? 2000);
  const prefetch = process.argv[4] ?? '50';
  const pool = await prepareBenchDatabase(db, () => undefined);
  const broker = await BenchBroker.connect(mq);
  const sink = new SmtpSink({ maxMessages: 10000 }); await sink.start();
  const queue = which === 'notify-worker' ? Queues.orderNotify : Queues.orderReport;
  await broker.purge(queuesOf(queue)); await emptyTables(pool);
  const events = await insertOrders(pool, n);
  await broker.publishOrderPlaced(which === 'notify-worker' ? RoutingKeys.orderNotify : RoutingKeys.orderReport, events);
  const s = await startServiceProcess(which, { DATABASE_URL: db, RABBITMQ_URL: mq, PREFETCH: prefetch, SMTP_URL: sink.url, REPORTS_DIR: mkdtempSync('/tmp/wbprof/r-'), NODE_OPTIONS: '--require /tmp/wbprof/preload.js', PROFILE_OUT: `/tmp/wbprof/${which}.cpuprofile` }, { port: await freePort() });
  const sql = which === 'notify-worker' ? "SELECT count(*)::int n FROM order_notifications WHERE status='sent'" : 'SELECT count(*)::int n FROM order_reports';
  const t0 = Date.now();
  await pollUntil('done', async () => (await pool.query(sql)).rows[0].n >= n, 120000);
  console.log(`done in ${(Date.now() - t0) / 1000} s`);
  await s.stop('SIGTERM');
  await broker.purge(queuesOf(queue)); await emptyTables(pool); await sink.stop(); await broker.close(); await pool.end();
})();
