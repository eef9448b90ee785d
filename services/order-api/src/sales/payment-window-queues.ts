import { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { paymentDueQueue } from '@shop/contracts';
import type { Channel } from 'amqplib';
import { ORDER_API_CONFIG, type OrderApiConfig } from '../config/order-api.config';

/**
 * Declares the delay queue of each payment window this instance uses (`order_payment_due.<window>`):
 * its default window's at start-up, a sale's when the sale is saved or loaded, and all of them again on
 * every reconnect. A window other than the default one's is in no definitions file, and a deadline
 * published before its queue exists would come back unroutable (the outbox keeps it and tries again).
 * Declaring is idempotent: the arguments are the contract's, the same on one node and on a cluster.
 */
@Injectable()
export class PaymentWindowQueues implements OnModuleInit {
  private readonly logger = new Logger(PaymentWindowQueues.name);
  private readonly declared = new Map<number, Promise<void>>();

  constructor(
    private readonly amqp: AmqpConnection,
    @Inject(ORDER_API_CONFIG) private readonly config: OrderApiConfig,
  ) {}

  onModuleInit(): void {
    void this.ensure(this.config.PAYMENT_WINDOW_MS);
  }

  /** Resolves once the window's queue exists (now, and again after every reconnect). */
  ensure(windowMs: number): Promise<void> {
    let declared = this.declared.get(windowMs);
    if (!declared) {
      const queue = paymentDueQueue(windowMs);
      declared = this.amqp.managedChannel.addSetup(async (channel: Channel) => {
        await channel.assertQueue(queue.name, { durable: queue.durable, arguments: queue.arguments });
        this.logger.log(
          `reservations of ${queue.name.split('.').pop()} wait for their deadline in ${queue.name}`,
        );
      });
      this.declared.set(windowMs, declared);
      // A failed declaration is tried again by the next caller.
      declared.catch(() => this.declared.delete(windowMs));
    }
    return declared;
  }
}
