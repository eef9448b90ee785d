import { Controller, Get, HttpStatus, Param, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { TicketView } from '@shop/contracts';
import { ApiError, authenticationRequired } from '@shop/service-kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { AuthSchemes } from '../auth/auth-schemes';
import { PrincipalResolver } from '../auth/principal.resolver';
import { errorResponseSchema } from '../common/openapi-schema';
import { OrdersService } from '../orders/orders.service';
import { WaitingRoomDepth } from './waiting-room-depth';
import { RequestOutcomesStore, type TicketOutcome } from './request-outcomes.store';
import { TicketEvents } from './ticket-events';
import { WaitingRoom } from './waiting-room';

/** How often an event stream looks for a decision made by another instance, and sends the position. */
const STREAM_LOOK_MS = 1_000;
/** A stream ends after this long even if its ticket still waits; the client reconnects. */
const STREAM_MAX_MS = 5 * 60_000;

const ticketNotFound = (ticket: string) =>
  new ApiError(HttpStatus.NOT_FOUND, 'TICKET_NOT_FOUND', `No request of yours has ticket ${ticket}.`);

/** A waiting room ticket's answer: waiting (with its position), placed (with the order) or refused. */
@ApiTags('orders')
@Controller('orders/requests')
export class OrderRequestsController {
  constructor(
    private readonly waitingRoom: WaitingRoom,
    private readonly depth: WaitingRoomDepth,
    private readonly outcomes: RequestOutcomesStore,
    private readonly events: TicketEvents,
    private readonly orders: OrdersService,
    private readonly principals: PrincipalResolver,
  ) {}

  @Get(':ticket')
  @ApiOperation({
    summary: 'A queued order request: waiting (with its position), placed (with the order) or refused',
    description:
      'For the customer who asked (their JWT). With Accept: text/event-stream, an event `status` is ' +
      'sent at each change (the position while waiting) and the stream ends after the final one.',
  })
  @ApiBearerAuth(AuthSchemes.customer)
  @ApiProduces('application/json', 'text/event-stream')
  @ApiResponse({ status: 200, description: '{ ticket, status: waiting | placed | refused, ... }' })
  @ApiResponse({ status: 401, description: 'AUTHENTICATION_REQUIRED', schema: errorResponseSchema })
  @ApiResponse({
    status: 404,
    description: 'TICKET_NOT_FOUND: no such ticket, or not this customer’s',
    schema: errorResponseSchema,
  })
  async get(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Param('ticket') ticket: string,
  ): Promise<TicketView | undefined> {
    const principal = await this.principals.resolve(request);
    if (principal.kind !== 'customer') {
      throw authenticationRequired(
        'A ticket is read with the token of the customer who asked for the order.',
      );
    }
    const ticketId = this.waitingRoom.ticketIdOf(ticket, principal.sub);
    if (!ticketId) throw ticketNotFound(ticket);
    void reply.header('cache-control', 'private, no-store');
    if (!String(request.headers.accept ?? '').includes('text/event-stream'))
      return this.viewOf(ticket, ticketId);
    reply.hijack();
    this.stream(request, reply.raw, ticket, ticketId);
    return undefined;
  }

  private async viewOf(ticket: string, ticketId: string, decided?: TicketOutcome): Promise<TicketView> {
    // The database first: with replicas, another instance's consumer may have decided it.
    const outcome = decided ?? (await this.outcomes.find(ticketId));
    if (!outcome) {
      const position = this.waitingRoom.positionOf(ticketId) ?? (await this.depth.now()) ?? 1;
      return { ticket, status: 'waiting', position: Math.max(1, position) };
    }
    this.waitingRoom.forget(ticketId);
    if (outcome.kind === 'refused')
      return { ticket, status: 'refused', code: outcome.code, message: outcome.message };
    const order = await this.orders.findOrder(outcome.orderId);
    return {
      ticket,
      status: 'placed',
      orderId: outcome.orderId,
      order: order && { ...order, accessToken: this.principals.accessTokenOf(order.id) },
    };
  }

  /** Server-sent events: the view now, then at each change, until the ticket is decided. */
  private stream(request: FastifyRequest, response: ServerResponse, ticket: string, ticketId: string): void {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    let last = '';
    let closed = false;
    const send = async (decided?: TicketOutcome) => {
      if (closed) return;
      const view = await this.viewOf(ticket, ticketId, decided).catch(() => undefined);
      if (!view || closed) return;
      const json = JSON.stringify(view);
      if (json !== last) response.write(`event: status\ndata: ${json}\n\n`);
      last = json;
      if (view.status !== 'waiting') close();
    };
    const look = setInterval(() => void send(), STREAM_LOOK_MS);
    const deadline = setTimeout(() => close(), STREAM_MAX_MS);
    const stopListening = this.events.onDecided(ticketId, (outcome) => void send(outcome));
    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(look);
      clearTimeout(deadline);
      stopListening();
      response.end();
    };
    request.raw.once('close', close);
    void send();
  }
}
