import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { MessageTypes, PaymentRequestV1, Queues } from '@shop/contracts';
import { WorkQueueSubscriber } from '@shop/messaging';
import { PaymentsService } from './payments.service';

/**
 * The payment service's only subscription: `payment_requests` (payment.requested.v1 and
 * payment.refund-requested.v1 from order-api), manual ack after the result is published and confirmed.
 * A message that is not the contract is parked in payment_requests.dlq at once; a failure is retried
 * after 1 s, 5 s and 30 s, then parked (WorkQueueProcessor). Requests are handled concurrently up to
 * the prefetch, so a slow provider answer holds up only its own payment.
 */
@Injectable()
export class PaymentRequestHandler implements OnApplicationBootstrap {
  constructor(
    private readonly subscriber: WorkQueueSubscriber,
    private readonly payments: PaymentsService,
  ) {}

  onApplicationBootstrap(): void {
    this.subscriber.subscribe(Queues.paymentRequests, PaymentRequestV1, (request) =>
      request.type === MessageTypes.paymentRequestedV1
        ? this.payments.charge(request.data, request.correlationId)
        : this.payments.refund(request.data, request.correlationId),
    );
  }
}
