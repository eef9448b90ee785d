/** What the hub needs of a client's response stream (Node's ServerResponse is one). */
export interface SseSink {
  write(chunk: string): boolean;
  once(event: 'drain', listener: () => void): unknown;
  destroy(): unknown;
  readonly writableLength: number;
}

export interface SseHubOptions {
  /** Events kept for a reconnecting client to catch up on. */
  historySize?: number;
  /** A client whose stream stays full this long is disconnected (its browser reconnects and resumes). */
  maxBlockedMs?: number;
  /** What the browser waits before reconnecting, sent as `retry:`. */
  reconnectMs?: number;
  now?: () => number;
}

interface Frame {
  seq: number;
  text: string;
}

interface Client {
  sink: SseSink;
  /** Waiting for 'drain' since this time; undefined while the stream takes writes. */
  blockedSince?: number;
  /** Events were skipped while blocked: on drain it gets the newest one. */
  missed: boolean;
}

/**
 * Server-sent events to every open page: each event is serialised once and written to each client.
 * Event ids are `<hub start>-<sequence>`, so a browser reconnecting with Last-Event-ID gets the events
 * it missed while they are still in the history, and just the newest one otherwise (after a restart of
 * the dashboard, or a long absence): every event is a whole snapshot, so the newest is enough to go on.
 *
 * A slow client never holds the others back nor makes the server buffer for it: once its stream
 * refuses a write, nothing more is written to it until it drains, and then only the newest event.
 */
export class SseHub {
  private readonly clients = new Set<Client>();
  private readonly history: Frame[] = [];
  private readonly epoch: string;
  private readonly historySize: number;
  private readonly maxBlockedMs: number;
  private readonly reconnectMs: number;
  private readonly now: () => number;
  private seq = 0;

  constructor(options: SseHubOptions = {}) {
    this.now = options.now ?? Date.now;
    this.epoch = this.now().toString(36);
    this.historySize = options.historySize ?? 120;
    this.maxBlockedMs = options.maxBlockedMs ?? 30_000;
    this.reconnectMs = options.reconnectMs ?? 2_000;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Sends `data` (serialised as JSON) as event `event` to every client; returns its id. */
  publish(event: string, data: unknown): string {
    const seq = ++this.seq;
    const id = `${this.epoch}-${seq}`;
    const frame = { seq, text: `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n` };
    this.history.push(frame);
    if (this.history.length > this.historySize) this.history.shift();
    const now = this.now();
    for (const client of this.clients) {
      if (client.blockedSince === undefined) this.write(client, frame.text);
      else if (now - client.blockedSince > this.maxBlockedMs) this.drop(client);
      else client.missed = true;
    }
    return id;
  }

  /**
   * Starts streaming to `sink`: first what it missed since `lastEventId` (or the newest event), then
   * every new one. Returns the function to call when the connection closes.
   */
  attach(sink: SseSink, lastEventId?: string): () => void {
    const client: Client = { sink, missed: false };
    this.clients.add(client);
    this.write(client, `retry: ${this.reconnectMs}\n\n`);
    for (const frame of this.catchUp(lastEventId)) {
      if (client.blockedSince !== undefined) break;
      this.write(client, frame.text);
    }
    return () => this.clients.delete(client);
  }

  private catchUp(lastEventId: string | undefined): Frame[] {
    const newest = this.history.slice(-1);
    const [epoch, seqText] = (lastEventId ?? '').split('-');
    const seq = Number(seqText);
    if (epoch !== this.epoch || !Number.isInteger(seq)) return newest;
    const oldestKept = this.history[0]?.seq ?? Infinity;
    // Older than the history: the events in between are gone, so the newest is the best there is.
    if (seq < oldestKept - 1) return newest;
    return this.history.filter((frame) => frame.seq > seq);
  }

  private write(client: Client, text: string): void {
    if (client.sink.write(text)) return;
    client.blockedSince = this.now();
    client.sink.once('drain', () => {
      client.blockedSince = undefined;
      if (!client.missed || !this.clients.has(client)) return;
      client.missed = false;
      const newest = this.history.at(-1);
      if (newest) this.write(client, newest.text);
    });
  }

  private drop(client: Client): void {
    this.clients.delete(client);
    client.sink.destroy();
  }
}
