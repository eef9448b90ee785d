/** What one item of a batch came to: its own value or its own error. */
export type ItemResult<Result> = { ok: true; value: Result } | { ok: false; error: unknown };

export interface GroupCommitOptions<Item> {
  /** Most items one batch takes. */
  maxBatchSize: number;
  /** A second bound on a batch (e.g. order lines): the sum of `weightOf` over its items. */
  maxBatchWeight?: number;
  weightOf?: (item: Item) => number;
  /** Most items waiting for a batch; beyond it `submit` rejects with GroupCommitFullError at once. */
  maxWaiting: number;
  /**
   * For work nobody waits on (status events, say): how long an idle GroupCommit lets items gather
   * before it starts a batch, so a trickle becomes batches too. Default 0: the first item starts at once.
   */
  lingerMs?: number;
}

/** Thrown by `submit` when `maxWaiting` items are already waiting: memory stays bounded under overload. */
export class GroupCommitFullError extends Error {
  constructor(readonly waiting: number) {
    super(`${waiting} items are already waiting for a batch`);
    this.name = 'GroupCommitFullError';
  }
}

interface Waiting<Item, Result> {
  item: Item;
  resolve: (value: Result) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit without a timer: the first item starts a batch at once; items that arrive while a batch
 * is in flight gather, and the next batch takes them all (up to the bounds) the moment it ends. Under
 * light load every batch holds one item and adds no latency; under a spike batches grow by themselves.
 * (`lingerMs` adds a short wait before an idle batch starts, for work that nobody waits on.)
 *
 * `runBatch` answers every item of the batch, in order: each gets its own value or error. If it throws,
 * every item of that batch is rejected with that error. One batch is in flight at a time, so items are
 * handled in arrival order.
 */
export class GroupCommit<Item, Result> {
  private waiting: Waiting<Item, Result>[] = [];
  /** A batch is running, or about to start once its linger ends. */
  private inFlight = false;

  constructor(
    private readonly runBatch: (items: Item[]) => Promise<ItemResult<Result>[]>,
    private readonly options: GroupCommitOptions<Item>,
  ) {}

  /** Items waiting for the next batch (not counting the one in flight). */
  get waitingCount(): number {
    return this.waiting.length;
  }

  submit(item: Item): Promise<Result> {
    if (this.waiting.length >= this.options.maxWaiting) {
      return Promise.reject(new GroupCommitFullError(this.waiting.length));
    }
    return new Promise<Result>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (this.inFlight) return;
      const lingerMs = this.options.lingerMs ?? 0;
      if (lingerMs <= 0) {
        void this.runNext();
        return;
      }
      this.inFlight = true;
      setTimeout(() => void this.runNext(), lingerMs).unref?.();
    });
  }

  private async runNext(): Promise<void> {
    this.inFlight = true;
    while (this.waiting.length > 0) {
      const batch = this.takeBatch();
      try {
        const results = await this.runBatch(batch.map((entry) => entry.item));
        batch.forEach((entry, i) => {
          const result = results[i];
          if (!result) entry.reject(new Error(`the batch returned no result for item ${i + 1}`));
          else if (result.ok) entry.resolve(result.value);
          else entry.reject(result.error);
        });
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    }
    this.inFlight = false;
  }

  private takeBatch(): Waiting<Item, Result>[] {
    const { maxBatchSize, maxBatchWeight = Infinity, weightOf = () => 1 } = this.options;
    let count = 0;
    let weight = 0;
    while (count < this.waiting.length && count < maxBatchSize) {
      const next = weightOf(this.waiting[count].item);
      // The first item always goes, even when it alone is heavier than a batch may be.
      if (count > 0 && weight + next > maxBatchWeight) break;
      weight += next;
      count++;
    }
    return this.waiting.splice(0, count);
  }
}

/**
 * Wraps a batch runner so that one bad item fails only itself: when a batch of several items throws an
 * error that `splits` accepts (the statement refused a value, say), each item is run again alone, in
 * order, and gets its own value or error. Any other error (the database is unreachable) fails the
 * whole batch, as a single item's run would.
 */
export function eachAloneIfBatchFails<Item, Result>(
  runBatch: (items: Item[]) => Promise<ItemResult<Result>[]>,
  splits: (error: unknown) => boolean,
): (items: Item[]) => Promise<ItemResult<Result>[]> {
  return async (items) => {
    try {
      return await runBatch(items);
    } catch (error) {
      if (items.length === 1 || !splits(error)) throw error;
      const results: ItemResult<Result>[] = [];
      for (const item of items) {
        results.push(
          await runBatch([item]).then(
            ([result]) => result,
            (itemError: unknown) => ({ ok: false as const, error: itemError }),
          ),
        );
      }
      return results;
    }
  };
}
