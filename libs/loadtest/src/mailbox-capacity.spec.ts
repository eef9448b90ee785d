import { FLASH_SALE_LIMITS, FLASH_SALE_MOST_EMAILS, mostEmailsOfSale } from '@shop/contracts';
import { parseFlashSaleArgs } from './cli/flash-sale.cli';
import type { MailboxInfo } from './mail-catcher.client';
import {
  describeMailbox,
  MAILPIT_DEFAULT_MAX_MESSAGES,
  mailboxCapacityOf,
  mailboxRefusal,
  mostEmailsOf,
  type MailboxCapacity,
} from './mailbox-capacity';

const info = (overrides: Partial<MailboxInfo> = {}): MailboxInfo => ({
  messages: 0,
  maxMessages: undefined,
  resends: 0,
  ...overrides,
});
const catcher = (maxMessages: number, stored = 0): MailboxCapacity => ({
  maxMessages,
  source: 'reported',
  stored,
});

describe('the most emails a sale may send', () => {
  it('is one per order, and there are at most min(stock, requests) orders', () => {
    expect(mostEmailsOfSale({ stock: 1_000_000, requests: 6_000 })).toBe(6_000);
    expect(mostEmailsOfSale({ stock: 500, requests: 20_000 })).toBe(500);
    expect(mostEmailsOfSale({ stock: 0, requests: 20_000 })).toBe(0);
  });

  it('is 1,000,000 for the biggest sale the bounds allow', () => {
    expect(FLASH_SALE_MOST_EMAILS).toBe(
      Math.min(FLASH_SALE_LIMITS.stock.max, FLASH_SALE_LIMITS.requests.max),
    );
    expect(FLASH_SALE_MOST_EMAILS).toBe(1_000_000);
  });
});

describe('the most emails a sale with the order lifecycle may send', () => {
  it('is three per order (placed, paid, cancelled), twice the orders when returned units are sold again', () => {
    expect(mostEmailsOf({ stock: 500, requests: 20_000 })).toBe(1_500);
    expect(mostEmailsOf({ stock: 500, requests: 20_000, resell: true })).toBe(3_000);
    expect(mostEmailsOf({ stock: 0, requests: 20_000, resell: true })).toBe(0);
  });
});

describe('mailboxCapacityOf', () => {
  it('takes what the mailbox reports, over --mailbox-capacity', () => {
    expect(mailboxCapacityOf(info({ maxMessages: 5_000, messages: 12 }), 100)).toEqual({
      maxMessages: 5_000,
      source: 'reported',
      stored: 12,
    });
  });

  it('takes --mailbox-capacity for a mailbox that does not report it, else Mailpit’s default', () => {
    expect(mailboxCapacityOf(info(), 1_000_000)).toMatchObject({ maxMessages: 1_000_000, source: 'option' });
    expect(mailboxCapacityOf(info(), undefined)).toMatchObject({
      maxMessages: MAILPIT_DEFAULT_MAX_MESSAGES,
      source: 'mailpit-default',
    });
    expect(MAILPIT_DEFAULT_MAX_MESSAGES).toBe(500);
  });

  it('reads 0 as no bound, as Mailpit’s MP_MAX_MESSAGES does', () => {
    expect(mailboxCapacityOf(info({ maxMessages: 0 }), undefined).maxMessages).toBe(Infinity);
    expect(mailboxCapacityOf(info(), 0).maxMessages).toBe(Infinity);
  });
});

describe('mailboxRefusal', () => {
  it('refuses a sale that may send more emails than the mailbox keeps, naming the setting', () => {
    expect(mailboxRefusal(catcher(5_000), { stock: 1_000_000, requests: 2_000 })).toMatch(
      /^the mailbox keeps at most 5000 messages \(MAIL_CATCHER_MAX_MESSAGES; Mailpit: MP_MAX_MESSAGES\) but this sale may send 6000 emails \(up to 3 per order.*lower --stock or --requests to 1666$/,
    );
  });

  it('lets through a sale that fills the mailbox exactly, whatever it holds already', () => {
    expect(mailboxRefusal(catcher(6_000), { stock: 1_000_000, requests: 2_000 })).toBeUndefined();
    // The mailbox drops the oldest first: earlier messages make room, the sale's own stay.
    expect(mailboxRefusal(catcher(6_000, 5_999), { stock: 2_000, requests: 20_000 })).toBeUndefined();
    expect(mailboxRefusal(catcher(6_000), { stock: 2_001, requests: 20_000 })).toMatch(
      /may send 6003 emails/,
    );
    expect(mailboxRefusal(catcher(6_000), { stock: 1_001, requests: 20_000, resell: true })).toMatch(
      /may send 6006 emails \(up to 3 per order, at most 2 × min\(stock 1001/,
    );
    expect(mailboxRefusal(catcher(Infinity), { stock: 1_000_000, requests: 10_000_000 })).toBeUndefined();
  });

  it('tells how to raise the bound of a mailbox that does not report it', () => {
    const assumed = mailboxCapacityOf(info(), undefined);
    expect(mailboxRefusal(assumed, { stock: 167, requests: 20_000 })).toMatch(
      /keeps at most 500 messages \(Mailpit's default MP_MAX_MESSAGES, assumed .*pass --mailbox-capacity/,
    );
    const told = mailboxCapacityOf(info(), 400);
    expect(mailboxRefusal(told, { stock: 134, requests: 134 })).toMatch(
      /keeps at most 400 messages \(--mailbox-capacity; Mailpit: MP_MAX_MESSAGES\)/,
    );
  });

  it('describes the mailbox in the line a sale starts with', () => {
    expect(describeMailbox(catcher(1_000_000, 42), { stock: 500, requests: 20_000 })).toBe(
      'mailbox: 42 messages stored, keeps the newest 1000000 (as it reports); this sale sends at most 1500 emails',
    );
    expect(describeMailbox(mailboxCapacityOf(info(), 0), { stock: 5, requests: 3 })).toBe(
      'mailbox: 0 messages stored, keeps every message (as --mailbox-capacity says); this sale sends at most 9 emails',
    );
  });
});

describe('--mailbox-capacity', () => {
  const parse = (...argv: string[]) => {
    const parsed = parseFlashSaleArgs(argv);
    if (parsed === 'help') throw new Error('unexpected help');
    return parsed.options;
  };

  it('is unset unless given, and takes 0 for no bound', () => {
    expect(parse().mailboxCapacity).toBeUndefined();
    expect(parse('--mailbox-capacity', '1000000').mailboxCapacity).toBe(1_000_000);
    expect(parse('--mailbox-capacity', '0').mailboxCapacity).toBe(0);
  });

  it('refuses a value that is not a whole number of messages', () => {
    expect(() => parse('--mailbox-capacity=-1')).toThrow(/--mailbox-capacity must be a whole number/);
    expect(() => parse('--mailbox-capacity', 'lots')).toThrow(/--mailbox-capacity must be a whole number/);
  });
});
