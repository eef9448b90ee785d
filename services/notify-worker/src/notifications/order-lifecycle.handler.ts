import { Injectable, Logger } from '@nestjs/common';
import { OrderSteps, type OrderLifecycleEventV1 } from '@shop/contracts';
import { logEntry } from '@shop/logging';
import type { Delivery } from '@shop/messaging';
import { Mailer } from './mailer';
import { LIFECYCLE_EMAIL_KIND_OF, renderLifecycleEmail } from './order-lifecycle-email';
import { OrderLifecycleEmailStore } from './order-lifecycle-email.store';

/**
 * order.paid / .expired / .cancelled / .refunded from order_notify (OrderNotifySubscription): one email
 * per (order, event type), acked once the SMTP server accepted it and it was recorded. Unlike the
 * placement email it announces nothing: order.notified is the placement email's step in order-api.
 */
@Injectable()
export class OrderLifecycleNotifyHandler {
  private readonly logger = new Logger(OrderLifecycleNotifyHandler.name);

  constructor(
    private readonly store: OrderLifecycleEmailStore,
    private readonly mailer: Mailer,
    private readonly mailDomain: string,
  ) {}

  async handle(event: OrderLifecycleEventV1, delivery: Delivery): Promise<void> {
    const order = event.data;
    const kind = LIFECYCLE_EMAIL_KIND_OF[event.type];
    const claim = await this.store.claim(order.orderId, kind, delivery.messageId);
    if (claim === 'already-sent') {
      this.logger.log(
        `order ${order.orderId}: ${kind} email already sent; duplicate message ${delivery.messageId} acked`,
      );
      return;
    }
    if (claim === 'in-progress-elsewhere') {
      throw new Error(`order ${order.orderId}: another worker is sending its ${kind} email right now`);
    }

    let smtp: { messageId: string; response: string };
    try {
      smtp = await this.mailer.send(renderLifecycleEmail(kind, order, this.mailDomain));
    } catch (error) {
      await this.store.release(order.orderId, kind).catch(() => undefined);
      throw new Error(`SMTP: ${(error as Error).message}`);
    }
    await this.store.markSent(order.orderId, kind, smtp.messageId);
    this.logger.log(
      logEntry(`order ${order.orderId}: ${kind} email accepted (${smtp.response.slice(0, 60)})`, {
        step: OrderSteps.emailSent,
      }),
    );
  }
}
