import { describeComposeEnvironment } from '@shop/testing';
import { dashboardConfigShape } from './dashboard.config';

describeComposeEnvironment('dashboard', dashboardConfigShape, ['dashboard']);
