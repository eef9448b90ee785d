import 'reflect-metadata';
import { attachLogPublisher, JsonLogger } from '@shop/logging';
import { createServiceApp } from '@shop/service-kit';
import { AppModule, SERVICE_NAME } from './app.module';
import { loadDashboardConfig } from './config/dashboard.config';

async function bootstrap(): Promise<void> {
  const logger = new JsonLogger(SERVICE_NAME);
  const config = loadDashboardConfig();
  attachLogPublisher(logger, { url: config.RABBITMQ_URL, declareExchange: false });
  const app = await createServiceApp(AppModule.forRoot(config), {
    logger,
    allowedHosts: config.ALLOWED_HOSTS,
  });
  await app.listen(config.PORT, config.HOST);
  logger.log(`dashboard on http://localhost:${config.PORT}/`, 'Bootstrap');
}

bootstrap().catch((error: Error) => {
  console.error(`[${SERVICE_NAME}] failed to start: ${error.message}`);
  process.exit(1);
});
