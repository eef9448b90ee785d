import { Module } from '@nestjs/common';
import { OrdersModule } from '../orders/orders.module';
import { OrderRequestConsumer } from './order-request.consumer';
import { OrderRequestsController } from './order-requests.controller';
import { RequestOutcomesStore } from './request-outcomes.store';
import { TicketEvents } from './ticket-events';
import { TicketOutcomeRetentionJob } from './ticket-outcome-retention.job';

/**
 * The waiting room's far side: the consumer that places queued requests in their turn, and the tickets'
 * answers (GET /orders/requests/:ticket). The near side, WaitingRoom, lives with OrdersService.
 */
@Module({
  imports: [OrdersModule],
  controllers: [OrderRequestsController],
  providers: [OrderRequestConsumer, RequestOutcomesStore, TicketEvents, TicketOutcomeRetentionJob],
})
export class AdmissionModule {}
