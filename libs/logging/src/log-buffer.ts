/**
 * The bounded FIFO between a synchronous logger and the broker. `capacity` counts records waiting and
 * records in flight (published, not yet confirmed), so memory stays bounded whatever the broker does;
 * a record that finds it full is dropped and counted, never waited for.
 */
export class LogBuffer<T> {
  private queued: T[] = [];
  private inFlight = 0;
  private droppedCount = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`capacity must be a positive integer`);
  }

  /** Queues the item, or drops and counts it when the buffer is full. Returns whether it was kept. */
  push(item: T): boolean {
    if (this.size >= this.capacity) {
      this.droppedCount += 1;
      return false;
    }
    this.queued.push(item);
    return true;
  }

  /** Queues the item even when full: for the one record that reports the drops. */
  pushBeyondCapacity(item: T): void {
    this.queued.push(item);
  }

  /** Takes up to `max` of the oldest items; they stay counted until `settle` says how each one ended. */
  take(max: number): T[] {
    const batch = this.queued.splice(0, max);
    this.inFlight += batch.length;
    return batch;
  }

  /** Ends a taken batch: confirmed items leave; `failed` ones go back to the front, in order. */
  settle(batchSize: number, failed: T[] = []): void {
    this.inFlight -= batchSize;
    if (failed.length > 0) this.queued.unshift(...failed);
  }

  /** Items waiting plus items in flight. */
  get size(): number {
    return this.queued.length + this.inFlight;
  }

  get waiting(): number {
    return this.queued.length;
  }

  get dropped(): number {
    return this.droppedCount;
  }

  /** The number dropped since the last call, resetting the count. */
  takeDropped(): number {
    const count = this.droppedCount;
    this.droppedCount = 0;
    return count;
  }
}
