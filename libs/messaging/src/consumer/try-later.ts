/**
 * Thrown by a handler of an ordered queue (WorkQueueSubscriber.subscribeInOrder) when the message cannot
 * be handled now (the database is down, too much work waits): it goes back to the head of its queue.
 */
export class TryLater extends Error {
  constructor(
    message: string,
    readonly pauseMs = 1_000,
  ) {
    super(message);
    this.name = 'TryLater';
  }
}
