import { withSlash } from './pipeline-probe';

interface MailpitPage {
  total: number;
  count: number;
  messages: { MessageID: string; Created: string }[];
}

/** notify-worker's Message-ID is `order-<order id>@<sender domain>`. */
const ORDER_MESSAGE_ID = /^<?order-([0-9a-f-]{36})@/i;

const PAGE_SIZE = 500;

/**
 * Counts the emails per order at a Mailpit-compatible API (Mailpit under compose, `npm start`'s mail
 * catcher locally). Pages newest first and stops at messages older than `since`, so a mailbox full of
 * earlier runs costs little.
 */
export async function countEmailsByOrder(mailApiUrl: string, since: Date): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const oldestWanted = since.getTime() - 60_000;
  for (let start = 0; ; start += PAGE_SIZE) {
    const url = new URL(`api/v1/messages?start=${start}&limit=${PAGE_SIZE}`, withSlash(mailApiUrl));
    const response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
    if (!response.ok) throw new Error(`GET ${url.pathname} at the mail catcher answered ${response.status}`);
    const page = (await response.json()) as MailpitPage;
    let reachedOlder = false;
    for (const message of page.messages) {
      if (Date.parse(message.Created) < oldestWanted) reachedOlder = true;
      const orderId = ORDER_MESSAGE_ID.exec(message.MessageID)?.[1]?.toLowerCase();
      if (orderId) counts.set(orderId, (counts.get(orderId) ?? 0) + 1);
    }
    if (reachedOlder || page.messages.length < PAGE_SIZE || start + PAGE_SIZE >= page.total) return counts;
  }
}

/**
 * How many emails the mailbox received again with a Message-ID it already held (Mailpit's
 * RuntimeStats.SMTPIgnored with MP_IGNORE_DUPLICATE_IDS; `npm start`'s catcher counts the same). Such a
 * mailbox shows one copy, so this is the only way to see a worker that sent twice. Undefined when the
 * API does not report it (an older Mailpit, another catcher).
 */
export async function readMailboxResends(mailApiUrl: string): Promise<number | undefined> {
  const url = new URL('api/v1/info', withSlash(mailApiUrl));
  const response = await fetch(url, { signal: AbortSignal.timeout(15_000) }).catch(() => undefined);
  if (!response?.ok) return undefined;
  const info = (await response.json().catch(() => ({}))) as { RuntimeStats?: { SMTPIgnored?: unknown } };
  const ignored = info.RuntimeStats?.SMTPIgnored;
  return typeof ignored === 'number' ? ignored : undefined;
}
