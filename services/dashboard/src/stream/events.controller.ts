import { Controller, Get, HttpStatus, Inject, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ApiError } from '@shop/service-kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DashboardOperatorGuard } from '../auth/dashboard-operator.guard';
import { DASHBOARD_CONFIG, type DashboardConfig } from '../config/dashboard.config';
import { openEventStream } from './event-stream';
import { SseHub } from './sse-hub';

@Controller('events')
@UseGuards(DashboardOperatorGuard)
export class EventsController {
  constructor(
    private readonly hub: SseHub,
    @Inject(DASHBOARD_CONFIG) private readonly config: DashboardConfig,
  ) {}

  /**
   * `GET /events`: server-sent events, one `snapshot` a second. A browser that reconnects sends
   * Last-Event-ID and gets what it missed (`?lastEventId=` does the same for a client that cannot set it).
   * At most DASHBOARD_MAX_STREAMS at once: one more gets 429 TOO_MANY_STREAMS.
   */
  @Get()
  stream(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Query('lastEventId') lastEventId?: string,
  ): void {
    if (this.hub.clientCount >= this.config.DASHBOARD_MAX_STREAMS) {
      throw new ApiError(
        HttpStatus.TOO_MANY_REQUESTS,
        'TOO_MANY_STREAMS',
        `${this.config.DASHBOARD_MAX_STREAMS} pages are already connected (DASHBOARD_MAX_STREAMS): close one.`,
      );
    }
    const response = openEventStream(reply);
    const header = request.headers['last-event-id'];
    const detach = this.hub.attach(response, (Array.isArray(header) ? header[0] : header) ?? lastEventId);
    request.raw.once('close', detach);
  }
}
