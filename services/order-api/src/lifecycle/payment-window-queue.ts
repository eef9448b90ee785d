import { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { paymentDueQueue } from '@shop/contracts';
import type { Channel } from 'amqplib';
import { ORDER_API_CONFIG, type OrderApiConfig } from '../config/order-api.config';

/**
 * Declares the delay queue of this instance's payment window (`order_payment_due.<window>`) on every
 * (re)connect. A window other than the default one's is in no definitions file, and a deadline published
 * before the queue exists would come back unroutable (the outbox keeps it and tries again). Declaring is
 * idempotent: the arguments are the contract's, the same on one node and on a cluster.
 */
@Injectable()
export class PaymentWindowQueue implements OnModuleInit {
  private readonly logger = new Logger(PaymentWindowQueue.name);

  constructor(
    private readonly amqp: AmqpConnection,
    @Inject(ORDER_API_CONFIG) private readonly config: OrderApiConfig,
  ) {}

  onModuleInit(): void {
    const queue = paymentDueQueue(this.config.PAYMENT_WINDOW_MS);
    void this.amqp.managedChannel.addSetup(async (channel: Channel) => {
      await channel.assertQueue(queue.name, { durable: queue.durable, arguments: queue.arguments });
      this.logger.log(`reservations wait for their deadline in ${queue.name}`);
    });
  }
}
