import { describeComposeEnvironment } from '@shop/testing';
import { logAggregatorConfigShape } from './log-aggregator.config';

describeComposeEnvironment('log-aggregator', logAggregatorConfigShape, [
  'log-aggregator',
  'log-aggregator-cluster',
]);
