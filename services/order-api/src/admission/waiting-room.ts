import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import {
  Exchanges,
  MessageTypes,
  type OrderRequestedV1,
  RoutingKeys,
  SaleRefusalCodes,
  WAITING_ROOM_SIZE,
} from '@shop/contracts';
import { ConfirmedPublisher } from '@shop/messaging';
import { ApiError } from '@shop/service-kit';
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { hostname } from 'node:os';
import { ORDER_API_CONFIG, type OrderApiConfig } from '../config/order-api.config';
import type { NormalisedOrder } from '../orders/create-order.request';
import { scopedIdempotencyKey } from '../orders/idempotency-key';
import type { OrderOwner } from '../orders/orders.service';

/** What POST /orders answers for a queued request (202), and where to follow it. */
export interface QueuedTicket {
  ticket: string;
  status: 'waiting';
  /** Requests ahead of it, as this instance knows them, counting itself. */
  position: number;
  location: string;
}

/** A ticket as its owner names it: `<uuid>.<mac>`, the mac binding it to the customer who asked. */
const TICKET_PATTERN = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([0-9a-f]{16})$/;

export const ticketLocation = (ticket: string) => `/orders/requests/${ticket}`;

/**
 * The waiting room of sales with queued admission (the seeds' load levelling): POST /orders puts the
 * request in the quorum queue order_requests and answers 202 with a ticket once the broker confirmed it
 * (so a ticket is never lost); order-api's consumer (OrderRequestConsumer) places the requests in
 * arrival order at the database's pace. A full room is refused by the broker (`reject-publish`), and
 * the customer hears 503 WAITING_ROOM_FULL at once.
 *
 * Positions are this instance's count: the tickets it issued minus those its consumer decided. With one
 * instance that is the line; with replicas each counts its own, and a ticket it does not know (issued
 * by another, or before a restart) is shown the room's depth, an upper bound.
 */
@Injectable()
export class WaitingRoom {
  /** Names this process in its tickets' messages, so positions are counted per issuer. */
  readonly issuer = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private issued = 0;
  /** Tickets this instance issued and has not seen decided, by ticket id: their sequence. */
  private readonly waiting = new Map<string, number>();
  /** The highest sequence of this instance's tickets decided so far (by any consumer it hears of). */
  private decidedUpTo = -1;

  constructor(
    private readonly publisher: ConfirmedPublisher,
    @Inject(ORDER_API_CONFIG) private readonly config: OrderApiConfig,
  ) {}

  async enter(
    request: NormalisedOrder,
    clientKey: string | undefined,
    correlationId: string,
    owner: Extract<OrderOwner, { kind: 'customer' }>,
  ): Promise<QueuedTicket> {
    const ticketId = randomUUID();
    const sequence = this.issued++;
    const now = new Date();
    // Without a key of the client's, the ticket is the key: a redelivered request finds its order.
    const idempotencyKey = scopedIdempotencyKey(
      { customerId: owner.customerId },
      clientKey ?? `ticket:${ticketId}`,
    );
    // Bounded: tickets decided by another instance and never polled here would stay otherwise. The room
    // holds WAITING_ROOM_SIZE at most, so older ones than twice that are long decided.
    if (this.waiting.size >= 2 * WAITING_ROOM_SIZE)
      this.waiting.delete(this.waiting.keys().next().value as string);
    this.waiting.set(ticketId, sequence);
    try {
      await this.publisher.publishEvent<OrderRequestedV1>({
        exchange: Exchanges.order,
        routingKey: RoutingKeys.orderRequested,
        messageId: ticketId,
        correlationId,
        type: MessageTypes.orderRequestedV1,
        occurredAt: now,
        data: {
          ticket: ticketId,
          sequence,
          issuer: this.issuer,
          requestedAt: now.toISOString(),
          customerId: owner.customerId,
          customer: request.customer,
          lines: request.lines,
          idempotencyKey,
          requestHash: request.requestHash,
        },
        headers: { 'customer-id': owner.customerId },
      });
    } catch (error) {
      this.waiting.delete(ticketId);
      throw waitingRoomRefused(error as Error);
    }
    const ticket = `${ticketId}.${this.macOf(ticketId, owner.customerId)}`;
    return {
      ticket,
      status: 'waiting',
      position: this.positionOf(ticketId) ?? 1,
      location: ticketLocation(ticket),
    };
  }

  /** The ticket id of a ticket `customerId` holds, or undefined when it is not one of theirs. */
  ticketIdOf(ticket: string, customerId: string): string | undefined {
    const match = TICKET_PATTERN.exec(ticket);
    if (!match) return undefined;
    const expected = Buffer.from(this.macOf(match[1], customerId));
    const given = Buffer.from(match[2]);
    return given.length === expected.length && timingSafeEqual(given, expected) ? match[1] : undefined;
  }

  /** Requests ahead of this one and itself, when this instance issued it and it still waits. */
  positionOf(ticketId: string): number | undefined {
    const sequence = this.waiting.get(ticketId);
    return sequence === undefined ? undefined : Math.max(1, sequence - this.decidedUpTo);
  }

  /** A ticket found decided (by another instance's consumer, say): no longer counted as waiting here. */
  forget(ticketId: string): void {
    this.waiting.delete(ticketId);
  }

  /** A request was decided (by this instance's consumer): it leaves the line. */
  decided(issuer: string, ticketId: string, sequence: number): void {
    if (issuer !== this.issuer) return;
    this.waiting.delete(ticketId);
    if (sequence > this.decidedUpTo) this.decidedUpTo = sequence;
  }

  private macOf(ticketId: string, customerId: string): string {
    return createHmac('sha256', this.config.ORDER_TOKEN_SECRET)
      .update(`order-request:${ticketId}:${customerId}`)
      .digest('hex')
      .slice(0, 16);
  }
}

/** The broker refused the request (the room is full) or could not take it now. */
function waitingRoomRefused(error: Error): ApiError {
  if (/nack|reject|not confirmed/i.test(error.message)) {
    return new ApiError(
      HttpStatus.SERVICE_UNAVAILABLE,
      SaleRefusalCodes.waitingRoomFull,
      `The waiting room is full (${WAITING_ROOM_SIZE} requests); try again in a moment.`,
      { retryAfterSeconds: 5 },
    );
  }
  return new ApiError(
    HttpStatus.SERVICE_UNAVAILABLE,
    'BROKER_UNAVAILABLE',
    `The waiting room cannot take requests now (${error.message}); try again in a moment.`,
    { retryAfterSeconds: 5 },
  );
}
