import type { EmailKind } from './flash-sale.results';
import { withSlash } from './pipeline-probe';

interface MailpitPage {
  total: number;
  count: number;
  messages: { MessageID: string; Created: string }[];
}

/**
 * notify-worker's Message-IDs: `order-<order id>@<sender domain>` for the placement email, and the
 * lifecycle emails name their kind beside the order (`order-<order id>-paid@…`).
 */
const ORDER_MESSAGE_ID =
  /^<?(?:(paid|expired|cancelled|refunded)[-.])?order-([0-9a-f-]{36})(?:[-.](paid|expired|cancelled|refunded))?@/i;

/** The order and the kind of email a Message-ID names, or undefined for any other message. */
export function orderEmailOf(messageId: string): { orderId: string; kind: EmailKind } | undefined {
  const match = ORDER_MESSAGE_ID.exec(messageId);
  if (!match) return undefined;
  const kind = (match[1] ?? match[3])?.toLowerCase() as EmailKind | undefined;
  return { orderId: match[2].toLowerCase(), kind: kind ?? 'placed' };
}

export type EmailsOfOrder = Partial<Record<EmailKind, number>>;

const PAGE_SIZE = 500;

/**
 * Counts the emails per order and kind at a Mailpit-compatible API (Mailpit under compose, `npm start`'s
 * mail catcher locally). Pages newest first and stops at messages older than `since`, so a mailbox full
 * of earlier runs costs little.
 */
export async function countEmailsByOrder(
  mailApiUrl: string,
  since: Date,
): Promise<Map<string, EmailsOfOrder>> {
  const counts = new Map<string, EmailsOfOrder>();
  const oldestWanted = since.getTime() - 60_000;
  for (let start = 0; ; start += PAGE_SIZE) {
    const url = new URL(`api/v1/messages?start=${start}&limit=${PAGE_SIZE}`, withSlash(mailApiUrl));
    const response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
    if (!response.ok) throw new Error(`GET ${url.pathname} at the mail catcher answered ${response.status}`);
    const page = (await response.json()) as MailpitPage;
    let reachedOlder = false;
    for (const message of page.messages) {
      if (Date.parse(message.Created) < oldestWanted) reachedOlder = true;
      const email = orderEmailOf(message.MessageID);
      if (!email) continue;
      const ofOrder = counts.get(email.orderId) ?? {};
      ofOrder[email.kind] = (ofOrder[email.kind] ?? 0) + 1;
      counts.set(email.orderId, ofOrder);
    }
    if (reachedOlder || page.messages.length < PAGE_SIZE || start + PAGE_SIZE >= page.total) return counts;
  }
}

/** What a Mailpit-compatible mailbox says about itself at GET /api/v1/info. */
export interface MailboxInfo {
  /** Messages stored now. */
  messages: number;
  /**
   * How many it keeps before dropping the oldest, 0 for no bound: `npm start`'s catcher reports its
   * MAIL_CATCHER_MAX_MESSAGES; Mailpit does not report its MP_MAX_MESSAGES (undefined).
   */
  maxMessages: number | undefined;
  /**
   * How many emails it received again with a Message-ID it already held (Mailpit's
   * RuntimeStats.SMTPIgnored with MP_IGNORE_DUPLICATE_IDS; `npm start`'s catcher counts the same). Such
   * a mailbox shows one copy, so this is the only way to see a worker that sent twice. Undefined when
   * not reported (an older Mailpit, another catcher).
   */
  resends: number | undefined;
}

/** Reads GET /api/v1/info; throws, naming the URL, when the mailbox does not answer it. */
export async function readMailboxInfo(mailApiUrl: string): Promise<MailboxInfo> {
  const url = new URL('api/v1/info', withSlash(mailApiUrl));
  const response = await fetch(url, { signal: AbortSignal.timeout(15_000) }).catch((error: Error) => {
    throw new Error(`the mail API at ${url.origin} does not answer (${error.message})`);
  });
  if (!response.ok) throw new Error(`GET ${url.pathname} at the mail API answered ${response.status}`);
  const info = (await response.json().catch(() => ({}))) as {
    Messages?: unknown;
    MaxMessages?: unknown;
    RuntimeStats?: { SMTPIgnored?: unknown };
  };
  const count = (value: unknown) =>
    typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : undefined;
  return {
    messages: count(info.Messages) ?? 0,
    maxMessages: count(info.MaxMessages),
    resends: count(info.RuntimeStats?.SMTPIgnored),
  };
}

/** The mailbox's re-sends (`MailboxInfo.resends`), undefined also when it does not answer. */
export async function readMailboxResends(mailApiUrl: string): Promise<number | undefined> {
  return readMailboxInfo(mailApiUrl).then(
    (info) => info.resends,
    () => undefined,
  );
}
