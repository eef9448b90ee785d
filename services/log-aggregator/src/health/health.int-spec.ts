import { describeServiceStartUp, startHttpApp } from '@shop/testing';
import { AppModule, SERVICE_NAME } from '../app.module';
import { loadLogAggregatorConfig } from '../config/log-aggregator.config';

describeServiceStartUp(SERVICE_NAME, ['broker'], (rabbitmqUrl) =>
  startHttpApp(AppModule.forRoot(loadLogAggregatorConfig({ RABBITMQ_URL: rabbitmqUrl })), {
    service: SERVICE_NAME,
  }),
);
