import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MailAddress, ReceivedMail, SmtpSink } from './smtp-sink';

/**
 * The part of Mailpit's HTTP API (v1) that tests and tools use, served from an SmtpSink, so the same
 * client code counts and reads emails against Mailpit (Docker path) and `npm start`'s mail catcher.
 * Field names and shapes match Mailpit's; fields this sink cannot know (tags, read state across
 * restarts) are present with empty values.
 *
 *   GET    /api/v1/messages?start=0&limit=50   newest first: { total, unread, count, messages_count, start, tags, messages }
 *   GET    /api/v1/search?query=to:x subject:y  same shape, filtered (to:, from:, subject:, or free text)
 *   GET    /api/v1/message/{ID|latest}          one message with Text and HTML
 *   DELETE /api/v1/messages                    all, or only {"IDs": [...]}
 *   GET    /api/v1/info                        { Messages, MaxMessages, RuntimeStats: { SMTPAccepted, SMTPIgnored, ... } }
 *   GET    /livez, /readyz                     200
 */
export interface MailpitAddress {
  Name: string;
  Address: string;
}

export interface MailpitMessageSummary {
  ID: string;
  MessageID: string;
  Read: boolean;
  From: MailpitAddress | null;
  To: MailpitAddress[];
  Cc: MailpitAddress[];
  Bcc: MailpitAddress[];
  ReplyTo: MailpitAddress[];
  Subject: string;
  Created: string;
  Username: string;
  Tags: string[];
  Size: number;
  Attachments: number;
  Snippet: string;
}

export interface MailpitMessagesResponse {
  total: number;
  unread: number;
  count: number;
  messages_count: number;
  messages_unread: number;
  start: number;
  tags: string[];
  messages: MailpitMessageSummary[];
}

export interface MailpitMessage {
  ID: string;
  MessageID: string;
  From: MailpitAddress | null;
  To: MailpitAddress[];
  Cc: MailpitAddress[];
  Bcc: MailpitAddress[];
  ReplyTo: MailpitAddress[];
  ReturnPath: string;
  Subject: string;
  Date: string;
  Tags: string[];
  Username: string;
  Text: string;
  HTML: string;
  Size: number;
  Inline: MailpitAttachment[];
  Attachments: MailpitAttachment[];
}

export interface MailpitAttachment {
  PartID: string;
  FileName: string;
  ContentType: string;
  ContentID: string;
  Size: number;
}

const DEFAULT_LIMIT = 50;
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Returns a request handler that answers the routes above and returns false for any other path,
 * so a caller can serve its own pages beside it.
 */
export function createMailpitApiHandler(
  sink: SmtpSink,
): (request: IncomingMessage, response: ServerResponse) => boolean {
  const read = new WeakSet<ReceivedMail>();

  const list = async (messages: readonly ReceivedMail[], url: URL): Promise<MailpitMessagesResponse> => {
    const start = nonNegativeInt(url.searchParams.get('start'), 0);
    const limit = nonNegativeInt(url.searchParams.get('limit'), DEFAULT_LIMIT) || DEFAULT_LIMIT;
    // Newest first, by index: a copy of a mailbox of a million per page would cost more than the page.
    const page: ReceivedMail[] = [];
    for (let i = messages.length - 1 - start; i >= 0 && page.length < limit; i--) page.push(messages[i]);
    const summaries: MailpitMessageSummary[] = [];
    for (const mail of page) {
      await mail.load();
      summaries.push(toSummary(mail, read.has(mail)));
    }
    const unreadOf = (list: readonly ReceivedMail[]) => list.filter((mail) => !read.has(mail)).length;
    const unread = unreadOf(sink.messages);
    return {
      total: sink.messages.length,
      unread,
      count: page.length,
      messages_count: messages.length,
      messages_unread: messages === sink.messages ? unread : unreadOf(messages),
      start,
      tags: [],
      messages: summaries,
    };
  };

  const answer = (response: ServerResponse, body: Promise<unknown>): void => {
    body.then(
      (value) => sendJson(response, 200, value),
      (error: Error) => sendText(response, 500, error.message),
    );
  };

  return (request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = request.method ?? 'GET';

    if (path === '/livez' || path === '/readyz') {
      sendText(response, 200, 'ok');
      return true;
    }
    if (!path.startsWith('/api/v1/')) return false;

    if (path === '/api/v1/messages' && (method === 'GET' || method === 'HEAD')) {
      answer(response, list(sink.messages, url));
    } else if (path === '/api/v1/messages' && method === 'DELETE') {
      void readJsonBody(request).then(
        (body) => {
          const ids = (body as { IDs?: unknown } | undefined)?.IDs;
          if (Array.isArray(ids) && ids.length > 0) sink.clear(ids.map(String));
          else sink.clear();
          sendText(response, 200, 'ok');
        },
        (error: Error) => sendText(response, 400, error.message),
      );
    } else if (path === '/api/v1/info' && method === 'GET') {
      sendJson(response, 200, info(sink, read));
    } else if (path === '/api/v1/search' && method === 'GET') {
      const matches = matcherFor(url.searchParams.get('query') ?? '');
      answer(
        response,
        matching([...sink.messages], matches).then((found) => list(found, url)),
      );
    } else if (path.startsWith('/api/v1/message/') && method === 'GET') {
      const id = decodeURIComponent(path.slice('/api/v1/message/'.length));
      const mail = id === 'latest' ? sink.messages[sink.messages.length - 1] : sink.find(id);
      if (!mail) {
        sendText(response, 404, 'message not found');
      } else {
        read.add(mail);
        answer(
          response,
          mail.load().then(() => toMessage(mail)),
        );
      }
    } else {
      sendText(response, 404, 'not found');
    }
    return true;
  };
}

/**
 * The messages that match, each parsed without blocking the event loop for long and tested at once:
 * the sink keeps the parsed fields of recently read messages only.
 */
async function matching(
  messages: readonly ReceivedMail[],
  matches: (mail: ReceivedMail) => boolean,
): Promise<ReceivedMail[]> {
  const found: ReceivedMail[] = [];
  for (const mail of messages) {
    await mail.load();
    if (matches(mail)) found.push(mail);
  }
  return found;
}

/**
 * Mailpit's /api/v1/info. SMTPIgnored counts re-sent messages dropped by Message-ID (Mailpit with
 * MP_IGNORE_DUPLICATE_IDS, the sink with ignoreDuplicateMessageIds): how often a sender sent twice.
 * MaxMessages is this sink's own: how many messages it keeps before dropping the oldest (0: no bound,
 * as with Mailpit's MP_MAX_MESSAGES), which Mailpit does not report.
 */
function info(sink: SmtpSink, read: WeakSet<ReceivedMail>) {
  const stored = sink.messages;
  return {
    Version: 'shop-mail-catcher',
    Messages: stored.length,
    MaxMessages: Number.isFinite(sink.maxMessages) ? sink.maxMessages : 0,
    Unread: stored.filter((mail) => !read.has(mail)).length,
    RuntimeStats: {
      SMTPAccepted: sink.receivedCount - sink.ignoredDuplicates,
      SMTPAcceptedSize: stored.reduce((bytes, mail) => bytes + mail.size, 0),
      SMTPIgnored: sink.ignoredDuplicates,
      SMTPRejected: 0,
    },
  };
}

export function toSummary(mail: ReceivedMail, isRead = false): MailpitMessageSummary {
  return {
    ID: mail.id,
    MessageID: stripAngles(mail.messageId),
    Read: isRead,
    From: mail.from ? address(mail.from) : null,
    To: mail.to.map(address),
    Cc: mail.cc.map(address),
    Bcc: bccOf(mail).map(address),
    ReplyTo: mail.replyTo.map(address),
    Subject: mail.subject,
    Created: mail.receivedAt.toISOString(),
    Username: '',
    Tags: [],
    Size: mail.size,
    Attachments: mail.attachments.filter((a) => !a.inline).length,
    Snippet: mail.text.replace(/\s+/g, ' ').trim().slice(0, 250),
  };
}

export function toMessage(mail: ReceivedMail): MailpitMessage {
  const attachment = (a: ReceivedMail['attachments'][number], index: number): MailpitAttachment => ({
    PartID: String(index + 2),
    FileName: a.filename,
    ContentType: a.contentType,
    ContentID: a.contentId,
    Size: a.size,
  });
  const summary = toSummary(mail, true);
  return {
    ID: summary.ID,
    MessageID: summary.MessageID,
    From: summary.From,
    To: summary.To,
    Cc: summary.Cc,
    Bcc: summary.Bcc,
    ReplyTo: summary.ReplyTo,
    ReturnPath: mail.envelope.from,
    Subject: mail.subject,
    Date: (mail.date ?? mail.receivedAt).toISOString(),
    Tags: [],
    Username: '',
    Text: mail.text,
    HTML: mail.html ?? '',
    Size: mail.size,
    Inline: mail.attachments.filter((a) => a.inline).map(attachment),
    Attachments: mail.attachments.filter((a) => !a.inline).map(attachment),
  };
}

/** Envelope recipients that no To or Cc header names: what Mailpit reports as Bcc. */
function bccOf(mail: ReceivedMail): MailAddress[] {
  const visible = new Set([...mail.to, ...mail.cc].map((a) => a.address.toLowerCase()));
  return mail.envelope.to.filter((a) => !visible.has(a.toLowerCase())).map((a) => ({ address: a, name: '' }));
}

/** A small subset of Mailpit's search syntax: `to:`, `from:`, `subject:` (quoted values allowed) and free words. */
function matcherFor(query: string): (mail: ReceivedMail) => boolean {
  const terms = [...query.matchAll(/(?:(to|from|subject):)?(?:"([^"]*)"|(\S+))/gi)].map((match) => ({
    field: match[1]?.toLowerCase(),
    value: (match[2] ?? match[3] ?? '').toLowerCase(),
  }));
  const fieldText = (mail: ReceivedMail, field: string | undefined): string => {
    const people = (list: MailAddress[]) => list.map((a) => `${a.name} <${a.address}>`).join(' ');
    if (field === 'to') return `${people(mail.to)} ${people(mail.cc)} ${mail.envelope.to.join(' ')}`;
    if (field === 'from') return mail.from ? people([mail.from]) : '';
    if (field === 'subject') return mail.subject;
    return `${fieldText(mail, 'to')} ${fieldText(mail, 'from')} ${mail.subject} ${mail.text}`;
  };
  return (mail) => terms.every((term) => fieldText(mail, term.field).toLowerCase().includes(term.value));
}

const address = (a: MailAddress): MailpitAddress => ({ Name: a.name, Address: a.address });

const stripAngles = (messageId: string | undefined): string => (messageId ?? '').replace(/^<|>$/g, '');

function nonNegativeInt(value: string | null, fallback: number): number {
  const parsed = value === null ? NaN : Number(value);
  return Number.isInteger(parsed) && parsed >= 0 ? parsed : fallback;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': payload.length,
    'cache-control': 'no-store',
  });
  response.end(payload);
}

function sendText(response: ServerResponse, status: number, text: string): void {
  const payload = Buffer.from(text, 'utf8');
  response.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': payload.length,
  });
  response.end(payload);
}

async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new Error('request body is not JSON');
  }
}
