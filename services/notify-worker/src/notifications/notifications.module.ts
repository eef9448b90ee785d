import { DynamicModule, Module } from '@nestjs/common';
import { OrderStatusPublisher, WorkQueueSubscriber } from '@shop/messaging';
import { ServiceMetrics } from '@shop/service-kit';
import { Mailer, type MailerOptions } from './mailer';
import { NotificationStore } from './notification.store';
import { OrderPlacedNotifyHandler } from './order-placed.handler';
import { SignInCodeNotifyHandler } from './sign-in-code.handler';
import { SignInCodeEmailStore } from './sign-in-code-email.store';

@Module({})
export class NotificationsModule {
  static forRoot(options: MailerOptions): DynamicModule {
    // Message-IDs use the sender's domain: <order-<id>@shop.local>.
    const mailDomain = options.from.split('@')[1] ?? 'localhost';
    return {
      module: NotificationsModule,
      providers: [
        { provide: Mailer, useFactory: () => new Mailer(options) },
        NotificationStore,
        {
          provide: OrderPlacedNotifyHandler,
          useFactory: (
            subscriber: WorkQueueSubscriber,
            store: NotificationStore,
            mailer: Mailer,
            status: OrderStatusPublisher,
          ) => new OrderPlacedNotifyHandler(subscriber, store, mailer, status, mailDomain),
          inject: [WorkQueueSubscriber, NotificationStore, Mailer, OrderStatusPublisher],
        },
        SignInCodeEmailStore,
        {
          provide: SignInCodeNotifyHandler,
          useFactory: (
            subscriber: WorkQueueSubscriber,
            store: SignInCodeEmailStore,
            mailer: Mailer,
            metrics?: ServiceMetrics,
          ) => new SignInCodeNotifyHandler(subscriber, store, mailer, mailDomain, metrics),
          inject: [
            WorkQueueSubscriber,
            SignInCodeEmailStore,
            Mailer,
            { token: ServiceMetrics, optional: true },
          ],
        },
      ],
    };
  }
}
