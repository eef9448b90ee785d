import { Client } from 'pg';

export interface PgChannelListenerOptions {
  databaseUrl: string;
  /** The NOTIFY channel, e.g. `product_stock_replenished`. */
  channel: string;
  applicationName: string;
  /** Each notification's payload, in the order PostgreSQL delivered them. */
  onNotification: (payload: string) => void;
  /** Called once LISTEN is in place, first time and after every reconnect. */
  onListening?: () => void;
  /** Called when the connection is lost: notifications sent from now until onListening are missed. */
  onLost?: (error: Error) => void;
  /** First reconnect delay; doubles up to maxRetryDelayMs. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
}

/**
 * One dedicated connection that LISTENs on a channel and reconnects by itself. A listener cannot share
 * a pooled connection: the pool would hand it to queries and drop it when idle. Callers must treat
 * the gap between onLost and onListening as "anything may have changed".
 */
export class PgChannelListener {
  private client: Client | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs: number;
  private stopped = false;
  private isListening = false;

  constructor(private readonly options: PgChannelListenerOptions) {
    if (!/^[a-z_][a-z0-9_]*$/.test(options.channel))
      throw new Error(`invalid channel name ${options.channel}`);
    this.retryDelayMs = options.retryDelayMs ?? 250;
  }

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.isListening = false;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new Client({
      connectionString: this.options.databaseUrl,
      application_name: `${this.options.applicationName}-listener`,
      connectionTimeoutMillis: 2_000,
      // Without keep-alive a silently dropped connection would look like "no notifications".
      keepAlive: true,
    });
    this.client = client;
    let lost = false;
    const onLost = (error: Error) => {
      if (lost || this.client !== client) return;
      lost = true;
      const wasListening = this.isListening;
      this.isListening = false;
      this.client = undefined;
      void client.end().catch(() => undefined);
      if (wasListening) this.options.onLost?.(error);
      this.scheduleReconnect();
    };
    client.on('error', onLost);
    client.on('end', () => onLost(new Error('listener connection ended')));
    client.on('notification', (message) => {
      if (message.channel === this.options.channel) this.options.onNotification(message.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${this.options.channel}"`);
      if (this.stopped || this.client !== client) return;
      this.isListening = true;
      this.retryDelayMs = this.options.retryDelayMs ?? 250;
      this.options.onListening?.();
    } catch (error) {
      onLost(error as Error);
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(delay * 2, this.options.maxRetryDelayMs ?? 5_000);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
    this.retryTimer.unref();
  }
}
