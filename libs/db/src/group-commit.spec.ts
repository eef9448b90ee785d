import { eachAloneIfBatchFails, GroupCommit, GroupCommitFullError, type ItemResult } from './group-commit';

/** A batch runner whose batches end only when the spec says so. */
function controlledRunner() {
  const batches: {
    items: number[];
    finish: (results?: ItemResult<string>[]) => void;
    fail: (e: Error) => void;
  }[] = [];
  const run = (items: number[]) =>
    new Promise<ItemResult<string>[]>((resolve, reject) => {
      batches.push({
        items,
        finish: (results) => resolve(results ?? items.map((item) => ({ ok: true, value: `done ${item}` }))),
        fail: reject,
      });
    });
  return { batches, run };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  it('starts the first item at once and gathers the rest while it is in flight', async () => {
    const { batches, run } = controlledRunner();
    const commit = new GroupCommit(run, { maxBatchSize: 10, maxWaiting: 100 });
    const first = commit.submit(1);
    const later = [2, 3, 4].map((item) => commit.submit(item));
    expect(batches.map((b) => b.items)).toEqual([[1]]);
    expect(commit.waitingCount).toBe(3);

    batches[0].finish();
    await expect(first).resolves.toBe('done 1');
    await flush();
    expect(batches.map((b) => b.items)).toEqual([[1], [2, 3, 4]]);
    batches[1].finish();
    await expect(Promise.all(later)).resolves.toEqual(['done 2', 'done 3', 'done 4']);
  });

  it('bounds a batch by size and by weight, in arrival order', async () => {
    const { batches, run } = controlledRunner();
    const commit = new GroupCommit(run, {
      maxBatchSize: 3,
      maxBatchWeight: 5,
      weightOf: (item: number) => item,
      maxWaiting: 100,
    });
    const all = [9, 1, 1, 1, 1, 2, 3].map((item) => commit.submit(item));
    for (let i = 0; i < 4; i++) {
      await flush();
      batches[i].finish();
    }
    await Promise.all(all);
    // 9 alone (heavier than a batch, still goes), then at most 3 items, then at most weight 5.
    expect(batches.map((b) => b.items)).toEqual([[9], [1, 1, 1], [1, 2], [3]]);
  });

  it('gives each item its own result, and rejects every item of a batch that throws', async () => {
    const { batches, run } = controlledRunner();
    const commit = new GroupCommit(run, { maxBatchSize: 10, maxWaiting: 100 });
    const blocker = commit.submit(0);
    const mixed = [1, 2].map((item) =>
      commit.submit(item).then(String, (error: Error) => `error ${error.message}`),
    );
    batches[0].fail(new Error('connection lost'));
    await expect(blocker).rejects.toThrow('connection lost');
    await flush();
    batches[1].finish([
      { ok: true, value: 'placed' },
      { ok: false, error: new Error('out of stock') },
    ]);
    await expect(Promise.all(mixed)).resolves.toEqual(['placed', 'error out of stock']);
  });

  it('lets items gather for lingerMs before an idle GroupCommit starts a batch', async () => {
    jest.useFakeTimers();
    try {
      const { batches, run } = controlledRunner();
      const commit = new GroupCommit(run, { maxBatchSize: 10, maxWaiting: 100, lingerMs: 25 });
      const first = [1, 2].map((item) => commit.submit(item));
      await jest.advanceTimersByTimeAsync(10);
      expect(batches).toHaveLength(0);
      const later = commit.submit(3);
      await jest.advanceTimersByTimeAsync(20);
      expect(batches.map((batch) => batch.items)).toEqual([[1, 2, 3]]);
      batches[0].finish();
      await expect(Promise.all([...first, later])).resolves.toEqual(['done 1', 'done 2', 'done 3']);
    } finally {
      jest.useRealTimers();
    }
  });

  it('refuses at once when too many items are waiting', async () => {
    const { batches, run } = controlledRunner();
    const commit = new GroupCommit(run, { maxBatchSize: 10, maxWaiting: 2 });
    const accepted = [1, 2, 3].map((item) => commit.submit(item));
    await expect(commit.submit(4)).rejects.toBeInstanceOf(GroupCommitFullError);
    batches[0].finish();
    await flush();
    batches[1].finish();
    await expect(Promise.all(accepted)).resolves.toHaveLength(3);
  });
});

describe('eachAloneIfBatchFails', () => {
  // Fails any batch that holds item 13 (one bad row fails the whole statement), or everything when down.
  const runner = (down = false) => {
    const calls: number[][] = [];
    const run = async (items: number[]): Promise<ItemResult<number>[]> => {
      calls.push(items);
      if (down) throw new Error('database down');
      if (items.includes(13)) throw new Error(`bad item 13`);
      return items.map((item) => ({ ok: true, value: item * 2 }));
    };
    return { calls, run };
  };
  const splitUnlessDown = (error: unknown) => (error as Error).message !== 'database down';

  it('runs each item alone after a batch fails, so only the bad item gets the error', async () => {
    const { calls, run } = runner();
    const results = await eachAloneIfBatchFails(run, splitUnlessDown)([1, 13, 3]);
    expect(calls).toEqual([[1, 13, 3], [1], [13], [3]]);
    expect(results.map((result) => (result.ok ? result.value : (result.error as Error).message))).toEqual([
      2,
      'bad item 13',
      6,
    ]);
  });

  it('fails the whole batch, without splitting, on an error it must not split on', async () => {
    const { calls, run } = runner(true);
    await expect(eachAloneIfBatchFails(run, splitUnlessDown)([1, 2])).rejects.toThrow('database down');
    expect(calls).toEqual([[1, 2]]);
  });

  it('leaves a good batch and a single failing item alone', async () => {
    const { calls, run } = runner();
    const wrapped = eachAloneIfBatchFails(run, splitUnlessDown);
    await expect(wrapped([1, 2])).resolves.toHaveLength(2);
    await expect(wrapped([13])).rejects.toThrow('bad item 13');
    expect(calls).toEqual([[1, 2], [13]]);
  });
});
