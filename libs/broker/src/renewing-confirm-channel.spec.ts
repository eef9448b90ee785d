import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import { EventEmitter } from 'node:events';
import { NackStreak, RenewingConfirmChannel } from './renewing-confirm-channel';

describe('NackStreak', () => {
  it('trips only after both limits: enough nacks in a row, over long enough', () => {
    const streak = new NackStreak({ nacks: 3, ms: 1_000 });
    expect(streak.record('nack', 0)).toBe(false);
    expect(streak.record('nack', 10)).toBe(false);
    expect(streak.record('nack', 20)).toBe(false); // three, but within 20 ms: one refused burst
    expect(streak.record('nack', 1_000)).toBe(true);
  });

  it('starts again at an ack', () => {
    const streak = new NackStreak({ nacks: 2, ms: 0 });
    streak.record('nack', 0);
    streak.record('ack', 1);
    expect(streak.record('nack', 2)).toBe(false);
    expect(streak.length).toBe(1);
    expect(streak.record('nack', 3)).toBe(true);
  });
});

/** A wrapper whose publishes settle as `outcomes` says, in turn; what it was asked is kept. */
function fakeWrapper(outcomes: ('ack' | 'nack')[]) {
  const wrapper = Object.assign(new EventEmitter(), {
    published: 0,
    closed: false,
    publish: async () => {
      const outcome = outcomes[wrapper.published++] ?? 'ack';
      if (outcome === 'nack') throw new Error('message nacked');
      return true;
    },
    close: async () => {
      wrapper.closed = true;
    },
    waitForConnect: async () => undefined,
  });
  return wrapper;
}

describe('RenewingConfirmChannel', () => {
  const limits = { nacks: 3, ms: 0 };

  afterEach(() => jest.useRealTimers());

  it('replaces the wrapper after a streak of nacks, publishes on the new one and closes the old one once its publishes are answered', async () => {
    jest.useFakeTimers();
    const wrappers = [fakeWrapper(['nack', 'nack', 'nack']), fakeWrapper([])];
    const created: unknown[] = [];
    const manager = {
      createChannel: (options: unknown) => {
        created.push(options);
        return wrappers[created.length - 1] as unknown as ChannelWrapper;
      },
    } as unknown as AmqpConnectionManager;
    const renewed: string[] = [];
    const channel = new RenewingConfirmChannel(manager, {
      name: 'spec',
      publishTimeoutMs: 1_000,
      limits,
      onRenew: (reason) => renewed.push(reason),
    });

    for (let i = 0; i < 3; i++) {
      await expect(channel.publish('order', 'k', Buffer.from('x'), {})).rejects.toThrow('message nacked');
    }
    expect(channel.renewals).toBe(1);
    expect(renewed).toEqual(['spec: 3 publishes in a row nacked; replaced by a new channel']);
    expect(created[1]).toMatchObject({ name: 'spec', confirm: true, publishTimeout: 1_000 });

    await channel.publish('order', 'k', Buffer.from('x'), {});
    expect(wrappers[1].published).toBe(1);
    // Anything still in flight on the old channel gets the broker's answer (or its timeout) first.
    expect(wrappers[0].closed).toBe(false);
    jest.advanceTimersByTime(1_000);
    expect(wrappers[0].closed).toBe(true);
    expect(wrappers[1].closed).toBe(false);
  });

  it('hands a channel that could not be opened to onError instead of throwing it', () => {
    const wrapper = fakeWrapper([]);
    const manager = {
      createChannel: () => wrapper as unknown as ChannelWrapper,
    } as unknown as AmqpConnectionManager;
    const errors: string[] = [];
    new RenewingConfirmChannel(manager, {
      name: 'spec',
      publishTimeoutMs: 1_000,
      onError: (error) => errors.push(error.message),
    });
    // amqp-connection-manager emits this when the connection closes while it opens the channel.
    expect(() =>
      wrapper.emit('error', new Error('Channel ended, no reply will be forthcoming')),
    ).not.toThrow();
    expect(errors).toEqual(['Channel ended, no reply will be forthcoming']);
  });

  it('keeps its wrapper when an ack breaks the streak', async () => {
    const wrapper = fakeWrapper(['nack', 'nack', 'ack', 'nack', 'nack']);
    const manager = {
      createChannel: () => wrapper as unknown as ChannelWrapper,
    } as unknown as AmqpConnectionManager;
    const channel = new RenewingConfirmChannel(manager, { name: 'spec', publishTimeoutMs: 1_000, limits });
    for (let i = 0; i < 5; i++)
      await channel.publish('order', 'k', Buffer.from('x'), {}).catch(() => undefined);
    expect(channel.renewals).toBe(0);
    expect(wrapper.closed).toBe(false);
  });
});
