export * from './flash-sale.results';
export * from './invariants';
export * from './run-flash-sale';
export * from './progress';
export * from './summary';
export * from './stats';
export * from './pipeline-probe';
export { renderReportHtml } from './report/report-html';
