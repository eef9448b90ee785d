import 'reflect-metadata';
import { attachLogPublisher, JsonLogger } from '@shop/logging';
import { createServiceApp } from '@shop/service-kit';
import { AppModule, SERVICE_NAME } from './app.module';
import { loadPaymentConfig } from './config/payment.config';

async function bootstrap(): Promise<void> {
  const logger = new JsonLogger(SERVICE_NAME);
  const config = loadPaymentConfig();
  // Every record also goes to the logs exchange; createServiceApp flushes it on shutdown.
  attachLogPublisher(logger, { url: config.RABBITMQ_URL, declareExchange: config.RABBITMQ_DECLARE_TOPOLOGY });
  const app = await createServiceApp(AppModule.forRoot(config), {
    logger,
    allowedHosts: config.ALLOWED_HOSTS,
  });
  await app.listen(config.PORT, config.HOST);
  logger.log(
    `health on http://localhost:${config.PORT}/health; charging through the SANDBOX provider (no money moves)`,
    'Bootstrap',
  );
}

bootstrap().catch((error: Error) => {
  console.error(`[${SERVICE_NAME}] failed to start: ${error.message}`);
  process.exit(1);
});
