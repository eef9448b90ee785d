import { describeComposeEnvironment } from '@shop/testing';
import { identityConfigShape } from './identity.config';

describeComposeEnvironment('identity', identityConfigShape, ['identity', 'identity-cluster']);
