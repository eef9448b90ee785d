import {
  brokerVariables,
  directoryVariable,
  httpServerVariables,
  loadConfig,
  LOCAL_DEFAULTS,
  ownDatabaseVariables,
  positiveIntVariable,
  retentionDaysVariable,
} from '@shop/config';
import { z } from 'zod';

export const reportWorkerConfigShape = {
  ...httpServerVariables('report-worker'),
  ...ownDatabaseVariables('report-worker'),
  ...brokerVariables(),
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
