import { describeComposeEnvironment } from '@shop/testing';
import { orderApiConfigShape } from './order-api.config';

describeComposeEnvironment('order-api', orderApiConfigShape, ['order-api', 'order-api-cluster']);
