import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { CustomerSignInCodeV1, Queues, type CustomerSignInCodeV1Data } from '@shop/contracts';
import { WorkQueueSubscriber, type Delivery } from '@shop/messaging';
import type { ServiceMetrics } from '@shop/service-kit';
import { Mailer } from './mailer';
import { renderSignInCodeEmail } from './sign-in-code-email';
import { SignInCodeEmailStore } from './sign-in-code-email.store';

/**
 * notify-worker's `customer_notify` subscription: identity's customer.sign-in-code.v1, one email per
 * code id, acked once the SMTP server accepted it and it was recorded; failures go through
 * WorkQueueProcessor's retry queues and dead-letter queue. A code already expired is not mailed: the
 * message is acked and counted (sign_in_codes_expired_total), since parking it would only keep an
 * address and a dead code around. Logs name the code id only, never the code or the address.
 */
@Injectable()
export class SignInCodeNotifyHandler implements OnApplicationBootstrap {
  private readonly logger = new Logger(SignInCodeNotifyHandler.name);
  private readonly expired;

  constructor(
    private readonly subscriber: WorkQueueSubscriber,
    private readonly store: SignInCodeEmailStore,
    private readonly mailer: Mailer,
    private readonly mailDomain: string,
    metrics?: ServiceMetrics,
  ) {
    this.expired = metrics?.counter(
      'sign_in_codes_expired_total',
      'Sign-in code messages dropped unsent because their code had expired by the time they were handled',
    );
  }

  onApplicationBootstrap(): void {
    this.subscriber.subscribe(Queues.customerNotify, CustomerSignInCodeV1, (event, delivery) =>
      this.mailCode(event.data, delivery),
    );
  }

  private async mailCode(code: CustomerSignInCodeV1Data, delivery: Delivery): Promise<void> {
    if (Date.parse(code.expiresAt) <= Date.now()) {
      this.expired?.inc();
      this.logger.warn(`sign-in code ${code.codeId}: expired before it could be mailed; dropped unsent`);
      return;
    }
    const claim = await this.store.claim(code.codeId, delivery.messageId);
    if (claim === 'already-sent') {
      this.logger.log(
        `sign-in code ${code.codeId}: email already sent; duplicate message ${delivery.messageId} acked`,
      );
      return;
    }
    if (claim === 'in-progress-elsewhere') {
      throw new Error(`sign-in code ${code.codeId}: another worker is sending this email right now`);
    }
    try {
      await this.mailer.send(renderSignInCodeEmail(code, this.mailDomain));
    } catch (error) {
      await this.store.release(code.codeId).catch(() => undefined);
      throw new Error(`SMTP: ${(error as Error).message}`);
    }
    await this.store.markSent(code.codeId);
    this.logger.log(`sign-in code ${code.codeId}: email accepted`);
  }
}
