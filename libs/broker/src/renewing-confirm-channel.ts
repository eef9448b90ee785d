import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, Options } from 'amqplib';

/**
 * Why a confirm channel can need replacing. RabbitMQ 3.10 can leave a channel nacking every publish to a
 * quorum queue for as long as the channel lives: when the channel's first publish to that queue comes
 * while the queue's record still names its leader on a node that has just died, the channel's queue
 * client asks that node, gets "node down", nacks, and never learns the new leader. A new channel starts
 * from the current record. Seen here as a publisher that failed over to a surviving node within half a
 * second of the leader's loss (libs/local-cluster's node-loss spec): 100,000 nacks in 120 s on a queue
 * that had a leader and a consumer, while a new channel was acked at once.
 *
 * On the client the sign is a channel that has nacked everything for a while. A queue at its length limit
 * with `reject-publish` (the waiting room when full) looks the same; a new channel costs it one round trip.
 */
export interface NackStreakLimits {
  /** Nacks in a row, with no ack between them. */
  nacks: number;
  /** ...spanning at least this long, so one refused burst does not count. */
  ms: number;
}

export const DEFAULT_NACK_STREAK: NackStreakLimits = { nacks: 20, ms: 2_000 };

/** Counts a channel's confirms: nacks in a row since the last ack, and since when. */
export class NackStreak {
  private count = 0;
  private since = 0;

  constructor(private readonly limits: NackStreakLimits = DEFAULT_NACK_STREAK) {}

  /** Records one confirm; true once the nacks in a row reach both limits. */
  record(outcome: 'ack' | 'nack', now = Date.now()): boolean {
    if (outcome === 'ack') {
      this.count = 0;
      return false;
    }
    if (this.count === 0) this.since = now;
    this.count += 1;
    return this.count >= this.limits.nacks && now - this.since >= this.limits.ms;
  }

  /** Nacks in a row so far. */
  get length(): number {
    return this.count;
  }
}

/** amqplib rejects a nacked publish with this message; a timeout or a closed channel says otherwise. */
export function isNack(error: unknown): boolean {
  return error instanceof Error && error.message === 'message nacked';
}

export interface RenewingConfirmChannelOptions {
  /** The channel's name in amqp-connection-manager's errors. */
  name: string;
  /** How long a publish may wait for its confirm (amqp-connection-manager's publishTimeout). */
  publishTimeoutMs: number;
  /** Run on every new amqplib channel, as amqp-connection-manager's `setup`. */
  setup?: (channel: ConfirmChannel) => Promise<void> | void;
  /** Told each time the channel is replaced, with why. */
  onRenew?: (reason: string) => void;
  /**
   * Told when a channel could not be opened or set up (the connection closed meanwhile); the wrapper tries
   * again on the next connection. Without a listener that error would be thrown and end the process.
   */
  onError?: (error: Error) => void;
  limits?: NackStreakLimits;
}

/**
 * A confirm channel on `manager` that replaces itself (opens a new wrapper on the same connection) when the
 * broker has nacked everything on it long enough (NackStreak). New publishes go to the new channel at once;
 * the old one is closed once everything sent on it has had its answer (at most `publishTimeoutMs` later), so
 * a publish in flight is settled by the broker (a full queue's nack stays a nack), not by the switch.
 */
export class RenewingConfirmChannel {
  private wrapper: ChannelWrapper;
  private streak: NackStreak;
  private closed = false;
  private renewalCount = 0;
  /** Replaced wrappers, closed when their last publish has had its answer (or by `close()`). */
  private readonly retiring = new Set<ChannelWrapper>();

  constructor(
    private readonly manager: AmqpConnectionManager,
    private readonly options: RenewingConfirmChannelOptions,
  ) {
    this.streak = new NackStreak(options.limits);
    this.wrapper = this.open();
  }

  /** Resolves once the broker has confirmed the message; rejects when it nacks, times out or the channel closes. */
  async publish(
    exchange: string,
    routingKey: string,
    content: Buffer,
    options: Options.Publish,
  ): Promise<void> {
    const wrapper = this.wrapper;
    const streak = this.streak;
    try {
      await wrapper.publish(exchange, routingKey, content, options);
      streak.record('ack');
    } catch (error) {
      // Only the wrapper whose nacks these were is replaced, once.
      if (isNack(error) && streak.record('nack') && wrapper === this.wrapper && !this.closed) {
        this.renew(`${streak.length} publishes in a row nacked`);
      }
      throw error;
    }
  }

  /** Resolves when the current channel is connected and set up. */
  waitForConnect(): Promise<void> {
    return this.wrapper.waitForConnect();
  }

  /** Times the channel was replaced. */
  get renewals(): number {
    return this.renewalCount;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([this.wrapper, ...this.retiring].map((wrapper) => wrapper.close()));
    this.retiring.clear();
  }

  private open(): ChannelWrapper {
    const { name, publishTimeoutMs, setup, onError } = this.options;
    const wrapper = this.manager.createChannel({
      name,
      confirm: true,
      json: false,
      publishTimeout: publishTimeoutMs,
      setup,
    });
    wrapper.on('error', (error: Error) => onError?.(error));
    return wrapper;
  }

  private renew(reason: string): void {
    const old = this.wrapper;
    this.streak = new NackStreak(this.options.limits);
    this.wrapper = this.open();
    this.renewalCount += 1;
    this.options.onRenew?.(`${this.options.name}: ${reason}; replaced by a new channel`);
    this.retiring.add(old);
    setTimeout(() => {
      this.retiring.delete(old);
      void old.close().catch(() => undefined);
    }, this.options.publishTimeoutMs).unref();
  }
}
