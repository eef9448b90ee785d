import { describeComposeEnvironment } from '@shop/testing';
import { notifyWorkerConfigShape } from './notify-worker.config';

describeComposeEnvironment('notify-worker', notifyWorkerConfigShape, [
  'notify-worker',
  'notify-worker-cluster',
]);
