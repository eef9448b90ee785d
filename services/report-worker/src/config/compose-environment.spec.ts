import { describeComposeEnvironment } from '@shop/testing';
import { reportWorkerConfigShape } from './report-worker.config';

describeComposeEnvironment('report-worker', reportWorkerConfigShape, [
  'report-worker',
  'report-worker-cluster',
]);
