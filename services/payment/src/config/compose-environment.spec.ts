import { describeComposeEnvironment } from '@shop/testing';
import { paymentConfigShape } from './payment.config';

describeComposeEnvironment('payment', paymentConfigShape, ['payment', 'payment-cluster']);
