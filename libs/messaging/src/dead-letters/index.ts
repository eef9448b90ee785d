// `@shop/messaging/dead-letters`: reading, replaying and expiring parked messages on a plain amqplib
// channel, for tools (the load test, the dashboard, `npm run dlq`) that must not load Nest.
export * from './dead-letter-queue';
export * from './parked-retention';
