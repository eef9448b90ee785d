import { Controller, Get, HttpStatus, Param, Req, Res, UseGuards } from '@nestjs/common';
import { ApiError } from '@shop/service-kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { DashboardAuth } from '../auth/dashboard-auth';
import { DashboardOperatorGuard } from '../auth/dashboard-operator.guard';
import { openEventStream } from '../stream/event-stream';
import { SseHub } from '../stream/sse-hub';
import { OrderFollows } from './order-follows';

const OrderId = z.uuid();

@Controller('follow')
@UseGuards(DashboardOperatorGuard)
export class FollowController {
  constructor(
    private readonly follows: OrderFollows,
    private readonly auth: DashboardAuth,
  ) {}

  /**
   * `GET /follow/:orderId/events`: the order's journey as server-sent events, from a queue of its own
   * bound to `logs.follow` (no polling): `follow` with the queue's name once it is bound, then one
   * `step` per log record about the order (`earlier: true` for what happened before the follow began).
   * The queue is deleted when the page goes away. 429 TOO_MANY_FOLLOWS beyond FOLLOW_LIMITS.
   */
  @Get(':orderId/events')
  stream(
    @Param('orderId') orderId: string,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): void {
    if (!OrderId.safeParse(orderId).success) {
      throw new ApiError(HttpStatus.BAD_REQUEST, 'VALIDATION_FAILED', 'Follow an order by its id, a UUID.', {
        errors: [{ field: 'orderId', code: 'invalid_format', message: 'must be an order id (a UUID)' }],
      });
    }
    const operator = this.auth.authenticate(request);
    const session = operator.via === 'session' ? operator.session.nonce : 'bearer';
    // One client per hub: the SSE framing and the slow-client rule of the page's own stream.
    const hub = new SseHub({ historySize: 1 });
    const follow = this.follows.follow(orderId, session, {
      onQueue: (queue) => hub.publish('follow', { orderId, queue }),
      onRecord: (record, earlier) => hub.publish('step', { ...record, earlier }),
    });
    const detach = hub.attach(openEventStream(reply));
    request.raw.once('close', () => {
      detach();
      void follow.close();
    });
  }
}
