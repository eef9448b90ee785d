import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SseHub } from './sse-hub';

@Controller('events')
export class EventsController {
  constructor(private readonly hub: SseHub) {}

  /**
   * `GET /events`: server-sent events, one `snapshot` a second. A browser that reconnects sends
   * Last-Event-ID and gets what it missed (`?lastEventId=` does the same for a client that cannot set it).
   */
  @Get()
  stream(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Query('lastEventId') lastEventId?: string,
  ): void {
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Tells a proxy such as nginx not to buffer the stream.
      'x-accel-buffering': 'no',
    });
    const header = request.headers['last-event-id'];
    const detach = this.hub.attach(response, (Array.isArray(header) ? header[0] : header) ?? lastEventId);
    request.raw.once('close', detach);
  }
}
