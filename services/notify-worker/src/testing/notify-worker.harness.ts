import { SmtpSink, startHttpApp, testConfig, type HttpAppHarness } from '@shop/testing';
import { AppModule, SERVICE_NAME } from '../app.module';
import { loadNotifyWorkerConfig } from '../config/notify-worker.config';

export interface NotifyWorkerHarness {
  worker: HttpAppHarness;
  smtp: SmtpSink;
  close(): Promise<void>;
}

/** The real notify-worker in this process, against the test database and vhost and an in-process SMTP sink. */
export async function startNotifyWorker(env: Record<string, string> = {}): Promise<NotifyWorkerHarness> {
  const smtp = new SmtpSink();
  await smtp.start();
  const config = loadNotifyWorkerConfig({
    DATABASE_URL: testConfig.databaseUrl,
    RABBITMQ_URL: testConfig.rabbitmqUrl,
    SMTP_URL: smtp.url,
    ...env,
  });
  const worker = await startHttpApp(AppModule.forRoot(config), { service: SERVICE_NAME });
  return {
    worker,
    smtp,
    close: async () => {
      await worker.close();
      await smtp.stop();
    },
  };
}
