import type { FastifyReply } from 'fastify';
import type { ServerResponse } from 'node:http';

/** Takes the response over from Fastify and starts a server-sent event stream on it. */
export function openEventStream(reply: FastifyReply): ServerResponse {
  reply.hijack();
  const response = reply.raw;
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // Tells a proxy such as nginx not to buffer the stream.
    'x-accel-buffering': 'no',
  });
  return response;
}
