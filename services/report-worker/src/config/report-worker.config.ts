import {
  allowedHostsVariable,
  booleanVariable,
  databaseUrlVariable,
  directoryVariable,
  LOCAL_DEFAULTS,
  loadConfig,
  hostVariable,
  portVariable,
  positiveIntVariable,
  rabbitmqUrlVariable,
  retentionDaysVariable,
  SERVICE_PORTS,
  serviceDatabaseUrl,
} from '@shop/config';
import { z } from 'zod';

export const reportWorkerConfigShape = {
  PORT: portVariable(SERVICE_PORTS['report-worker']),
  /** The interface to listen on: 127.0.0.1 under npm start, 0.0.0.0 inside a container. */
  HOST: hostVariable(),
  /** Host names requests may name (any port); others get 421 HOST_NOT_ALLOWED. */
  ALLOWED_HOSTS: allowedHostsVariable(),
  // Its own role: rights on its own schema only.
  DATABASE_URL: databaseUrlVariable(serviceDatabaseUrl(LOCAL_DEFAULTS.databaseUrl, 'report-worker')),
  RABBITMQ_URL: rabbitmqUrlVariable(LOCAL_DEFAULTS.rabbitmqUrl),
  /** Declare exchanges and queues at start; off where the broker's definitions file owns the topology. */
  RABBITMQ_DECLARE_TOPOLOGY: booleanVariable(true),
  REPORTS_DIR: directoryVariable(LOCAL_DEFAULTS.reportsDir),
  /** Unacked messages this worker holds at once (chosen by measurement: docs/measured.md). */
  PREFETCH: positiveIntVariable(10, 1_000),
  /** report_rpc requests this worker works on at once (each renders or reads one PDF). */
  REPORT_RPC_PREFETCH: positiveIntVariable(4, 1_000),
  /** A TTF/OTF/TTC font covering Latin, Chinese and Korean; unset: a system Noto Sans CJK, else npm's SC + KR. */
  REPORT_FONT_PATH: z.string().min(1).optional(),
  /** PDFs, their rows and parked order_report messages older than this many days are removed daily. */
  RETENTION_DAYS: retentionDaysVariable(),
};

export type ReportWorkerConfig = ReturnType<typeof loadReportWorkerConfig>;

export function loadReportWorkerConfig(env?: Record<string, string | undefined>) {
  return loadConfig(reportWorkerConfigShape, env);
}
