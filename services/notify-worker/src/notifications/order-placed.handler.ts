import { Injectable, Logger } from '@nestjs/common';
import { OrderSteps, type OrderPlacedV1, type OrderPlacedV1Data } from '@shop/contracts';
import { logEntry } from '@shop/logging';
import { OrderStatusPublisher, type Delivery } from '@shop/messaging';
import { Mailer } from './mailer';
import { NotificationStore } from './notification.store';
import { renderOrderEmail } from './order-email';

/**
 * The placement email: order.placed.v1 on routing key order.notify, from order_notify
 * (OrderNotifySubscription). The message is acked after `sendConfirmation` resolves, i.e. after the
 * SMTP server accepted the email, it was recorded and the broker confirmed `order.notified.v1`
 * (published again for a copy whose email went out before); failures go through WorkQueueProcessor's
 * retry queues and dead-letter queue.
 */
@Injectable()
export class OrderPlacedNotifyHandler {
  private readonly logger = new Logger(OrderPlacedNotifyHandler.name);

  constructor(
    private readonly store: NotificationStore,
    private readonly mailer: Mailer,
    private readonly status: OrderStatusPublisher,
    private readonly mailDomain: string,
  ) {}

  handle(event: OrderPlacedV1, delivery: Delivery): Promise<void> {
    return this.sendConfirmation(event.data, event.correlationId, delivery);
  }

  private async sendConfirmation(
    order: OrderPlacedV1Data,
    correlationId: string,
    delivery: Delivery,
  ): Promise<void> {
    // Everything the email needs is in the message: notify-worker cannot see order-api's tables.
    const claim = await this.store.claim(order.orderId, delivery.messageId, order.customer.email);
    if (claim === 'already-sent') {
      const sentAt = await this.store.sentAt(order.orderId);
      await this.status.notified(order.orderId, sentAt ?? new Date(), correlationId);
      this.logger.log(
        `order ${order.orderId}: email already sent; duplicate message ${delivery.messageId} acked`,
      );
      return;
    }
    if (claim === 'in-progress-elsewhere') {
      throw new Error(`order ${order.orderId}: another worker is sending this email right now`);
    }

    let smtp: { messageId: string; response: string };
    try {
      smtp = await this.mailer.send(renderOrderEmail(order, this.mailDomain));
    } catch (error) {
      await this.store.release(order.orderId).catch(() => undefined);
      throw new Error(`SMTP: ${(error as Error).message}`);
    }
    await this.store.markSent(order.orderId, smtp);
    await this.status.notified(order.orderId, new Date(), correlationId);
    this.logger.log(
      logEntry(`order ${order.orderId}: confirmation email accepted (${smtp.response.slice(0, 60)})`, {
        step: OrderSteps.emailSent,
      }),
    );
  }
}
