import { describeServiceStartUp, startHttpApp, testConfig } from '@shop/testing';
import { AppModule, SERVICE_NAME } from '../app.module';
import { loadNotifyWorkerConfig } from '../config/notify-worker.config';

describeServiceStartUp(SERVICE_NAME, ['database', 'broker'], (rabbitmqUrl) =>
  startHttpApp(
    AppModule.forRoot(
      loadNotifyWorkerConfig({
        DATABASE_URL: testConfig.databaseUrlOf('notify-worker'),
        RABBITMQ_URL: rabbitmqUrl,
      }),
    ),
    { service: SERVICE_NAME },
  ),
);
