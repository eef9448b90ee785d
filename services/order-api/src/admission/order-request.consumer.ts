import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { OrderRequestedV1, Queues } from '@shop/contracts';
import { isDatabaseUnavailableError } from '@shop/db';
import { TryLater, WorkQueueSubscriber } from '@shop/messaging';
import { ApiError } from '@shop/service-kit';
import { ORDER_API_CONFIG, type OrderApiConfig } from '../config/order-api.config';
import { OrdersService } from '../orders/orders.service';
import { RequestOutcomesStore, type TicketOutcome } from './request-outcomes.store';
import { TicketEvents } from './ticket-events';
import { WaitingRoom } from './waiting-room';

/**
 * Places the waiting room's requests in arrival order: golevelup hands them over in queue order (at most
 * the channel's prefetch at once), and each goes to the same group commit as a direct order, so the
 * database sets the pace. Once a product is sold out the rest are refused from memory. Each ticket's
 * outcome is written before its message is acknowledged; a request redelivered after a crash finds its
 * order again by its Idempotency-Key, so a ticket is never placed twice nor lost.
 */
@Injectable()
export class OrderRequestConsumer implements OnModuleInit {
  private readonly logger = new Logger(OrderRequestConsumer.name);

  constructor(
    private readonly subscriber: WorkQueueSubscriber,
    private readonly orders: OrdersService,
    private readonly outcomes: RequestOutcomesStore,
    private readonly waitingRoom: WaitingRoom,
    private readonly events: TicketEvents,
    @Inject(ORDER_API_CONFIG) private readonly config: OrderApiConfig,
  ) {}

  onModuleInit(): void {
    if (!this.config.WAITING_ROOM_CONSUMER) return;
    // A ticket stands for a customer order-api checked at the door: it takes none it did not queue itself.
    this.subscriber.subscribeInOrder(
      Queues.orderRequests,
      OrderRequestedV1,
      (message) => this.handle(message),
      {
        ownMessagesOnly: true,
      },
    );
  }

  private async handle({ correlationId, data }: OrderRequestedV1): Promise<void> {
    const outcome = await this.decide(correlationId, data);
    try {
      await this.outcomes.record(outcome);
    } catch (error) {
      throw new TryLater(
        `the outcome of ticket ${data.ticket} could not be written: ${(error as Error).message}`,
      );
    }
    this.waitingRoom.decided(data.issuer, data.ticket, data.sequence);
    this.events.decided(outcome);
  }

  private async decide(correlationId: string, data: OrderRequestedV1['data']): Promise<TicketOutcome> {
    const { ticket, customerId } = data;
    try {
      const { order } = await this.orders.placeQueued({
        request: { customer: data.customer, lines: data.lines, requestHash: data.requestHash },
        idempotencyKey: data.idempotencyKey,
        customer: { kind: 'customer', customerId, email: data.customer.email },
        correlationId,
      });
      return { ticket, customerId, kind: 'placed', orderId: order.id };
    } catch (error) {
      // A refusal is the ticket's answer; a database or overload problem is not: the request waits.
      if (error instanceof ApiError && error.getStatus() < 500) {
        return { ticket, customerId, kind: 'refused', code: error.body.code, message: error.body.message };
      }
      if (isDatabaseUnavailableError(error) || (error instanceof ApiError && error.getStatus() >= 500)) {
        throw new TryLater(`ticket ${ticket} cannot be placed now (${(error as Error).message})`);
      }
      // Anything else is a fault of order-api's own: the ticket ends with it rather than waiting forever.
      this.logger.error(`ticket ${ticket}: ${(error as Error).message}`, (error as Error).stack);
      return {
        ticket,
        customerId,
        kind: 'refused',
        code: 'INTERNAL_ERROR',
        message:
          'The order could not be placed because of an error of ours; try again with the same Idempotency-Key.',
      };
    }
  }
}
