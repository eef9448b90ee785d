import { describeServiceStartUp, startHttpApp, testConfig } from '@shop/testing';
import { AppModule, SERVICE_NAME } from '../app.module';
import { loadReportWorkerConfig } from '../config/report-worker.config';

describeServiceStartUp(SERVICE_NAME, ['database', 'broker'], (rabbitmqUrl) =>
  startHttpApp(
    AppModule.forRoot(
      loadReportWorkerConfig({
        DATABASE_URL: testConfig.databaseUrlOf('report-worker'),
        RABBITMQ_URL: rabbitmqUrl,
      }),
    ),
    { service: SERVICE_NAME },
  ),
);
