import { DynamicModule, Module } from '@nestjs/common';
import { OrderStatusPublisher, WorkQueueSubscriber } from '@shop/messaging';
import { ServiceMetrics } from '@shop/service-kit';
import { Mailer, type MailerOptions } from './mailer';
import { NotificationStore } from './notification.store';
import { OrderLifecycleNotifyHandler } from './order-lifecycle.handler';
import { OrderLifecycleEmailStore } from './order-lifecycle-email.store';
import { OrderNotifySubscription } from './order-notify.subscription';
import { OrderPlacedNotifyHandler } from './order-placed.handler';
import { SignInCodeNotifyHandler } from './sign-in-code.handler';
import { SignInCodeEmailStore } from './sign-in-code-email.store';

@Module({})
export class NotificationsModule {
  static forRoot(options: MailerOptions): DynamicModule {
    // Message-IDs use the sender's domain: <order-<id>@shop.local>, <order-<id>.paid@shop.local>.
    const mailDomain = options.from.split('@')[1] ?? 'localhost';
    return {
      module: NotificationsModule,
      providers: [
        { provide: Mailer, useFactory: () => new Mailer(options) },
        NotificationStore,
        {
          provide: OrderPlacedNotifyHandler,
          useFactory: (store: NotificationStore, mailer: Mailer, status: OrderStatusPublisher) =>
            new OrderPlacedNotifyHandler(store, mailer, status, mailDomain),
          inject: [NotificationStore, Mailer, OrderStatusPublisher],
        },
        OrderLifecycleEmailStore,
        {
          provide: OrderLifecycleNotifyHandler,
          useFactory: (store: OrderLifecycleEmailStore, mailer: Mailer) =>
            new OrderLifecycleNotifyHandler(store, mailer, mailDomain),
          inject: [OrderLifecycleEmailStore, Mailer],
        },
        OrderNotifySubscription,
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
