import { AmqpConnection } from '@golevelup/nestjs-rabbitmq';
import { Injectable } from '@nestjs/common';
import { Queues } from '@shop/contracts';

/** How fresh a depth GET /sales answers may be: a page polling it must not cost a broker call each. */
const DEPTH_CACHE_MS = 500;

/** How many requests wait in the waiting room (order_requests) now, read from the broker. */
@Injectable()
export class WaitingRoomDepth {
  private cached: { depth: number; at: number } | undefined;
  private reading: Promise<number | undefined> | undefined;

  constructor(private readonly amqp: AmqpConnection) {}

  /** undefined when the broker cannot say now. */
  async now(): Promise<number | undefined> {
    if (this.cached && Date.now() - this.cached.at < DEPTH_CACHE_MS) return this.cached.depth;
    this.reading ??= this.amqp.managedChannel
      .checkQueue(Queues.orderRequests)
      .then(({ messageCount }) => {
        this.cached = { depth: messageCount, at: Date.now() };
        return messageCount;
      })
      .catch(() => undefined)
      .finally(() => (this.reading = undefined));
    return this.reading;
  }
}
