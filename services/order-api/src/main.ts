import 'reflect-metadata';
import { attachLogPublisher, JsonLogger } from '@shop/logging';
import { createServiceApp } from '@shop/service-kit';
import { AppModule, SERVICE_NAME } from './app.module';
import { databaseUnavailableClassifier } from './common/database-unavailable.classifier';
import { loadOrderApiConfig } from './config/order-api.config';
import { setUpApiDocs } from './docs';

async function bootstrap(): Promise<void> {
  const logger = new JsonLogger(SERVICE_NAME);
  const config = loadOrderApiConfig();
  // Every record also goes to the logs exchange; createServiceApp flushes it on shutdown.
  attachLogPublisher(logger, { url: config.RABBITMQ_URL, declareExchange: config.RABBITMQ_DECLARE_TOPOLOGY });
  const app = await createServiceApp(AppModule.forRoot(config), {
    logger,
    allowedHosts: config.ALLOWED_HOSTS,
    trustProxy: config.TRUST_PROXY,
    errorClassifiers: [databaseUnavailableClassifier],
  });
  setUpApiDocs(app);
  await app.listen(config.PORT, config.HOST);
  logger.log(`listening on http://localhost:${config.PORT} (docs at /docs)`, 'Bootstrap');
}

bootstrap().catch((error: Error) => {
  console.error(`[${SERVICE_NAME}] failed to start: ${error.message}`);
  process.exit(1);
});
