import { EventEmitter } from 'node:events';
import { SseHub, type SseSink } from './sse-hub';

/** A response stream that takes `capacity` writes, then refuses until drain() is called. */
class FakeSink extends EventEmitter implements SseSink {
  readonly chunks: string[] = [];
  destroyed = false;
  private pending = 0;

  constructor(private readonly capacity = Infinity) {
    super();
  }

  get writableLength(): number {
    return this.pending;
  }

  write(chunk: string): boolean {
    this.chunks.push(chunk);
    this.pending++;
    return this.pending < this.capacity;
  }

  drain(): void {
    this.pending = 0;
    this.emit('drain');
  }

  destroy(): void {
    this.destroyed = true;
  }

  /** The `id:` of every event received, in order. */
  ids(): string[] {
    return this.chunks.flatMap((chunk) => /^id: (\S+)/m.exec(chunk)?.[1] ?? []);
  }

  data(): unknown[] {
    return this.chunks.flatMap((chunk) => {
      const data = /^data: (.*)$/m.exec(chunk)?.[1];
      return data === undefined ? [] : [JSON.parse(data)];
    });
  }
}

describe('SseHub', () => {
  it('writes each event in the SSE format, with an id, to every client', () => {
    const hub = new SseHub();
    const a = new FakeSink();
    const b = new FakeSink();
    hub.attach(a);
    hub.attach(b);
    const id = hub.publish('snapshot', { n: 1 });

    expect(a.chunks[0]).toBe('retry: 2000\n\n');
    expect(a.chunks[1]).toBe(`id: ${id}\nevent: snapshot\ndata: {"n":1}\n\n`);
    expect(b.data()).toEqual([{ n: 1 }]);
  });

  it('a reconnecting client resumes after its Last-Event-ID with the events it missed', () => {
    const hub = new SseHub();
    const ids = [1, 2, 3, 4, 5].map((n) => hub.publish('snapshot', { n }));

    const resumed = new FakeSink();
    hub.attach(resumed, ids[1]);
    expect(resumed.data()).toEqual([{ n: 3 }, { n: 4 }, { n: 5 }]);
    expect(resumed.ids()).toEqual(ids.slice(2));

    // Then the live events follow, in order.
    hub.publish('snapshot', { n: 6 });
    expect(resumed.data().at(-1)).toEqual({ n: 6 });
  });

  it('a new client, or one whose id is older than the history or from an earlier run, gets the newest event', () => {
    let clock = 1_000;
    const hub = new SseHub({ historySize: 3, now: () => clock });
    const ids = [1, 2, 3, 4, 5].map((n) => hub.publish('snapshot', { n }));

    const fresh = new FakeSink();
    hub.attach(fresh);
    expect(fresh.data()).toEqual([{ n: 5 }]);

    const tooOld = new FakeSink();
    hub.attach(tooOld, ids[0]);
    expect(tooOld.data()).toEqual([{ n: 5 }]);

    // The oldest id still resumable: the one just before the history's first event.
    const justInTime = new FakeSink();
    hub.attach(justInTime, ids[1]);
    expect(justInTime.data()).toEqual([{ n: 3 }, { n: 4 }, { n: 5 }]);

    clock = 9_999_999;
    const restarted = new SseHub({ now: () => clock });
    restarted.publish('snapshot', { n: 'after restart' });
    const fromEarlierRun = new FakeSink();
    restarted.attach(fromEarlierRun, ids[3]);
    expect(fromEarlierRun.data()).toEqual([{ n: 'after restart' }]);
  });

  it('a slow client does not hold the others back, is not buffered for, and gets the newest event on drain', () => {
    const hub = new SseHub();
    const fast = new FakeSink();
    const slow = new FakeSink(2); // retry + one event, then full
    hub.attach(fast);
    hub.attach(slow);

    for (let n = 1; n <= 1_000; n++) hub.publish('snapshot', { n });

    expect(fast.data()).toHaveLength(1_000);
    // Nothing written to it after it refused: the server holds no backlog for it.
    expect(slow.data()).toEqual([{ n: 1 }]);
    expect(slow.writableLength).toBe(2);

    slow.drain();
    expect(slow.data()).toEqual([{ n: 1 }, { n: 1_000 }]);
    hub.publish('snapshot', { n: 1_001 });
    expect(slow.data().at(-1)).toEqual({ n: 1_001 });
  });

  it('disconnects a client whose stream stays full, and forgets a closed one', () => {
    let clock = 0;
    const hub = new SseHub({ maxBlockedMs: 30_000, now: () => clock });
    const stuck = new FakeSink(1);
    const closing = new FakeSink();
    hub.attach(stuck);
    const detach = hub.attach(closing);
    expect(hub.clientCount).toBe(2);

    clock = 10_000;
    hub.publish('snapshot', { n: 1 });
    expect(stuck.destroyed).toBe(false);
    clock = 40_001;
    hub.publish('snapshot', { n: 2 });
    expect(stuck.destroyed).toBe(true);

    detach();
    expect(hub.clientCount).toBe(0);
    hub.publish('snapshot', { n: 3 });
    expect(closing.data()).toEqual([{ n: 1 }, { n: 2 }]);
  });
});
