import 'reflect-metadata';
import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';

/**
 * The baseline for order-api's request rate: Nest on Fastify with one POST route that parses the JSON
 * body and answers 409 with a small JSON error — what a sold-out order costs minus everything of ours
 * (validation, idempotency, sold-out markers, logging, correlation ids). Usage: tsx bare-nest-app.ts PORT
 */
@Controller()
class SoldOutController {
  @Post('orders')
  @HttpCode(409)
  refuse(@Body() body: { items?: { sku?: string }[] }) {
    const sku = body?.items?.[0]?.sku ?? 'unknown';
    return { code: 'OUT_OF_STOCK', message: `Not enough stock for ${sku}.`, skus: [sku] };
  }
}

@Module({ controllers: [SoldOutController] })
class BareModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create<NestFastifyApplication>(BareModule, new FastifyAdapter(), {
    logger: false,
  });
  await app.listen(Number(process.argv[2] ?? 3990), '127.0.0.1');
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
  process.send?.('ready');
  console.log('ready');
}

void main();
