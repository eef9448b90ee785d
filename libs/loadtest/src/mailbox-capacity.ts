import { mostEmailsOfSale } from '@shop/contracts';
import type { MailboxInfo } from './mail-catcher.client';

/**
 * Emails one order can cause: its placement, then at most two transitions (paid → cancelled, or
 * expired → refunded for a late payment).
 */
export const MOST_EMAILS_PER_ORDER = 3;

/** What bounds a sale's emails: its stock and requests, and whether returned units are sold again. */
export interface SaleSize {
  stock: number;
  requests: number;
  resell?: boolean;
}

/**
 * The most emails a sale can cause: at most min(stock, requests) orders in the spike (contracts'
 * mostEmailsOfSale, one email each), as many again when returned units are sold again (at most one
 * follow-up order per unit), and MOST_EMAILS_PER_ORDER per order.
 */
export function mostEmailsOf(sale: SaleSize): number {
  return mostEmailsOfSale(sale) * (sale.resell ? 2 : 1) * MOST_EMAILS_PER_ORDER;
}

/** Mailpit's own MP_MAX_MESSAGES default: what a mailbox that does not report its bound is taken to keep. */
export const MAILPIT_DEFAULT_MAX_MESSAGES = 500;

/** How many messages the mailbox keeps, and who said so (the refusal names the setting to change). */
export interface MailboxCapacity {
  /** Messages kept before the oldest are dropped; Infinity for no bound. */
  maxMessages: number;
  /**
   * `reported`: the mailbox's /api/v1/info (npm start's catcher: MAIL_CATCHER_MAX_MESSAGES);
   * `option`: --mailbox-capacity, for a mailbox that does not report it (Mailpit's MP_MAX_MESSAGES);
   * `mailpit-default`: neither, so Mailpit's default is assumed.
   */
  source: 'reported' | 'option' | 'mailpit-default';
  /** Messages in the mailbox before the sale. */
  stored: number;
}

/** What the mailbox reports wins over --mailbox-capacity (`option`); 0 from either means no bound. */
export function mailboxCapacityOf(info: MailboxInfo, option: number | undefined): MailboxCapacity {
  const [bound, source]: [number, MailboxCapacity['source']] =
    info.maxMessages !== undefined
      ? [info.maxMessages, 'reported']
      : option !== undefined
        ? [option, 'option']
        : [MAILPIT_DEFAULT_MAX_MESSAGES, 'mailpit-default'];
  return { maxMessages: bound === 0 ? Infinity : bound, source, stored: info.messages };
}

/** The setting that bounds the mailbox, as the refusal names it. */
const SETTING: Record<MailboxCapacity['source'], string> = {
  reported: 'MAIL_CATCHER_MAX_MESSAGES; Mailpit: MP_MAX_MESSAGES',
  option: '--mailbox-capacity; Mailpit: MP_MAX_MESSAGES',
  'mailpit-default':
    "Mailpit's default MP_MAX_MESSAGES, assumed since the mailbox does not report its bound; " +
    'pass --mailbox-capacity with the MP_MAX_MESSAGES it runs with',
};

/** Where the bound comes from, for the line a sale starts with. */
const SOURCE: Record<MailboxCapacity['source'], string> = {
  reported: 'as it reports',
  option: 'as --mailbox-capacity says',
  'mailpit-default': "Mailpit's default, assumed",
};

/**
 * Why the mailbox cannot keep every email this sale may send, or undefined when it can. Only the sale's
 * own emails count, not those already stored: the catcher and Mailpit both drop the oldest first, so
 * earlier messages go before any of this sale's.
 */
export function mailboxRefusal(capacity: MailboxCapacity, sale: SaleSize): string | undefined {
  const most = mostEmailsOf(sale);
  if (most <= capacity.maxMessages) return undefined;
  const ordersPerUnit = sale.resell ? 2 : 1;
  return (
    `the mailbox keeps at most ${capacity.maxMessages} messages (${SETTING[capacity.source]}) ` +
    `but this sale may send ${most} emails (up to ${MOST_EMAILS_PER_ORDER} per order, at most ` +
    `${sale.resell ? '2 × ' : ''}min(stock ${sale.stock}, requests ${sale.requests}) orders), and the check ` +
    `would miss those it dropped: raise that bound, or lower --stock or --requests to ` +
    `${Math.floor(capacity.maxMessages / (MOST_EMAILS_PER_ORDER * ordersPerUnit))}`
  );
}

/** The line a sale starts with: what the mailbox holds and keeps, and the most this sale sends. */
export function describeMailbox(capacity: MailboxCapacity, sale: SaleSize): string {
  const keeps =
    capacity.maxMessages === Infinity ? 'keeps every message' : `keeps the newest ${capacity.maxMessages}`;
  return (
    `mailbox: ${capacity.stored} messages stored, ${keeps} (${SOURCE[capacity.source]}); ` +
    `this sale sends at most ${mostEmailsOf(sale)} emails`
  );
}
