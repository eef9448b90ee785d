import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { type AddressObject, type EmailAddress, simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

/** An address as a mail header carries it; `name` is decoded (UTF-8) and empty when absent. */
export interface MailAddress {
  address: string;
  name: string;
}

export interface MailAttachment {
  filename: string;
  contentType: string;
  contentId: string;
  size: number;
  inline: boolean;
}

/** One received email, parsed. The raw source is not kept, so thousands fit in memory. */
export interface ReceivedMail {
  /** Assigned by the sink on arrival: unique, stable, used as the Mailpit-style `ID`. */
  id: string;
  /** The Message-ID header as sent, angle brackets included (like nodemailer's `info.messageId`). */
  messageId: string | undefined;
  from: MailAddress | undefined;
  to: MailAddress[];
  cc: MailAddress[];
  replyTo: MailAddress[];
  subject: string;
  text: string;
  html: string | undefined;
  /** The Date header, when the sender set one. */
  date: Date | undefined;
  receivedAt: Date;
  /** Size of the raw message in bytes. */
  size: number;
  attachments: MailAttachment[];
  /** SMTP envelope: MAIL FROM and every RCPT TO (Bcc recipients appear only here). */
  envelope: { from: string; to: string[] };
}

export interface SmtpSinkOptions {
  /** Oldest messages are dropped beyond this many (default 5,000). */
  maxMessages?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Largest accepted message in bytes (default 25 MB). */
  maxMessageBytes?: number;
  /** Called for errors that do not concern one message (a client socket failing, say). */
  onError?: (error: Error) => void;
  /**
   * Accept (250) but do not store a message whose Message-ID is already stored, as Mailpit does with
   * MP_IGNORE_DUPLICATE_IDS and mailbox providers do: a sender that re-sends after a crash leaves one
   * email in the mailbox. Counted in `ignoredDuplicates`. Off by default, so specs see every send.
   */
  ignoreDuplicateMessageIds?: boolean;
}

/** Test knobs: how the sink answers, like a slow or refusing real server. */
export interface SmtpSinkBehaviour {
  /** Wait this long before answering 250 (the message is already stored). */
  delayMs?: number;
  /** Refuse every message with this SMTP reply instead of storing it (e.g. 451, a temporary failure). */
  refuseWith?: { code: number; message: string };
  /** Runs after the message is stored and before the 250: a fault to inject at that exact moment. */
  beforeAnswer?: (mail: ReceivedMail) => Promise<void>;
}

interface Waiter {
  count: number;
  resolve: (messages: ReceivedMail[]) => void;
}

/**
 * An in-process SMTP server that accepts every message (any or no AUTH, no TLS) and keeps it parsed
 * in memory. Specs point a mailer at `port` and wait for messages; `npm start`'s mail catcher serves
 * the same store over HTTP. A message is stored before the sender gets its 250, so once `sendMail`
 * resolves the email is already in `messages`.
 */
export class SmtpSink {
  private readonly maxMessages: number;
  private readonly host: string;
  private readonly maxMessageBytes: number;
  private readonly onError: (error: Error) => void;
  private readonly ignoreDuplicateMessageIds: boolean;
  private readonly storedMessageIds = new Set<string>();
  private ignored = 0;
  private server: SMTPServer | undefined;
  private listeningPort: number | undefined;
  private stored: ReceivedMail[] = [];
  private waiters: Waiter[] = [];
  private received = 0;
  private behaviour: SmtpSinkBehaviour = {};

  constructor(options: SmtpSinkOptions = {}) {
    this.maxMessages = options.maxMessages ?? 5_000;
    this.host = options.host ?? '127.0.0.1';
    this.maxMessageBytes = options.maxMessageBytes ?? 25 * 1024 * 1024;
    this.onError = options.onError ?? (() => undefined);
    this.ignoreDuplicateMessageIds = options.ignoreDuplicateMessageIds ?? false;
  }

  /** Starts listening; port 0 picks a free port (read it from `port`). Rejects with EADDRINUSE when taken. */
  async start(port = 0): Promise<number> {
    if (this.server) throw new Error('SmtpSink is already started');
    const server = new SMTPServer({
      name: 'smtp-sink.local',
      banner: 'SMTP sink: every message is accepted and kept in memory',
      authOptional: true,
      allowInsecureAuth: true,
      authMethods: ['PLAIN', 'LOGIN'],
      disabledCommands: ['STARTTLS'],
      hideSTARTTLS: true,
      disableReverseLookup: true,
      size: this.maxMessageBytes,
      logger: false,
      closeTimeout: 2_000,
      onAuth: (auth, _session, callback) => callback(null, { user: auth.username ?? 'anonymous' }),
      onData: (stream, session, callback) => {
        const { refuseWith, delayMs, beforeAnswer } = this.behaviour;
        if (refuseWith) {
          stream.resume();
          stream.once('end', () =>
            callback(Object.assign(new Error(refuseWith.message), { responseCode: refuseWith.code })),
          );
          return;
        }
        this.receive(stream, session)
          .then(async (mail) => {
            if (beforeAnswer) await beforeAnswer(mail);
            if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
          })
          .then(
            () => callback(),
            (error: Error) => callback(error),
          );
      },
    });
    await new Promise<void>((resolve, reject) => {
      const failed = (error: Error) => reject(error);
      server.once('error', failed);
      server.listen(port, this.host, () => {
        server.off('error', failed);
        resolve();
      });
    });
    server.on('error', (error: Error) => this.onError(error));
    this.server = server;
    const address = server.server.address();
    this.listeningPort = typeof address === 'object' && address ? address.port : port;
    return this.listeningPort;
  }

  /** Changes how the sink answers from the next message on; `{}` restores normal service. */
  setBehaviour(behaviour: SmtpSinkBehaviour): void {
    this.behaviour = { ...behaviour };
  }

  get port(): number {
    if (this.listeningPort === undefined) throw new Error('SmtpSink is not started');
    return this.listeningPort;
  }

  /** `smtp://<host>:<port>`, ready for SMTP_URL. */
  get url(): string {
    return `smtp://${this.host}:${this.port}`;
  }

  /** Stored messages, oldest first (at most `maxMessages`). */
  get messages(): readonly ReceivedMail[] {
    return this.stored;
  }

  /** Messages received since start or the last `clear()`, including any dropped by the bound. */
  get receivedCount(): number {
    return this.received;
  }

  /** Messages accepted but not stored because their Message-ID was (`ignoreDuplicateMessageIds`). */
  get ignoredDuplicates(): number {
    return this.ignored;
  }

  find(id: string): ReceivedMail | undefined {
    return this.stored.find((mail) => mail.id === id);
  }

  /** Resolves with the stored messages once there are at least `count`; rejects after `timeoutMs` saying what arrived. */
  waitForMessages(count: number, timeoutMs = 10_000): Promise<ReceivedMail[]> {
    if (this.stored.length >= count) return Promise.resolve([...this.stored]);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        count,
        resolve: (messages) => {
          clearTimeout(timer);
          resolve(messages);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const subjects = this.stored.slice(-5).map((mail) => JSON.stringify(mail.subject));
        reject(
          new Error(
            `Timed out after ${timeoutMs} ms waiting for ${count} email(s) on port ${this.listeningPort}; ` +
              `${this.stored.length} arrived${subjects.length ? ` (latest: ${subjects.join(', ')})` : ''}`,
          ),
        );
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Forgets every message (or only those with the given ids). */
  clear(ids?: readonly string[]): void {
    if (ids) {
      const doomed = new Set(ids);
      this.stored = this.stored.filter((mail) => !doomed.has(mail.id));
    } else {
      this.stored = [];
      this.received = 0;
      this.ignored = 0;
    }
    this.storedMessageIds.clear();
    for (const mail of this.stored) if (mail.messageId) this.storedMessageIds.add(mail.messageId);
  }

  /** Stops listening; open client connections are closed after at most 2 s. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.listeningPort = undefined;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async receive(stream: Readable, session: SMTPServerSession): Promise<ReceivedMail> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    if ((stream as Readable & { sizeExceeded?: boolean }).sizeExceeded) {
      throw Object.assign(new Error(`Message exceeds the ${this.maxMessageBytes} byte limit`), {
        responseCode: 552,
      });
    }
    const raw = Buffer.concat(chunks);
    const envelope = {
      from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
      to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
    };
    const mail = await parse(raw, envelope);
    this.add(mail);
    return mail;
  }

  private add(mail: ReceivedMail): void {
    this.received += 1;
    if (this.ignoreDuplicateMessageIds && mail.messageId && this.storedMessageIds.has(mail.messageId)) {
      this.ignored += 1;
      return;
    }
    this.stored.push(mail);
    if (mail.messageId) this.storedMessageIds.add(mail.messageId);
    if (this.stored.length > this.maxMessages) {
      for (const dropped of this.stored.splice(0, this.stored.length - this.maxMessages)) {
        if (dropped.messageId) this.storedMessageIds.delete(dropped.messageId);
      }
    }
    const ready = this.waiters.filter((waiter) => this.stored.length >= waiter.count);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => !ready.includes(waiter));
    for (const waiter of ready) waiter.resolve([...this.stored]);
  }
}

async function parse(raw: Buffer, envelope: ReceivedMail['envelope']): Promise<ReceivedMail> {
  const base = { id: randomUUID(), receivedAt: new Date(), size: raw.length, envelope };
  try {
    const parsed = await simpleParser(raw, { skipTextToHtml: true, skipImageLinks: true });
    return {
      ...base,
      messageId: parsed.messageId,
      from: addressesOf(parsed.from)[0],
      to: addressesOf(parsed.to),
      cc: addressesOf(parsed.cc),
      replyTo: addressesOf(parsed.replyTo),
      subject: parsed.subject ?? '',
      text: parsed.text ?? '',
      html: parsed.html === false ? undefined : parsed.html,
      date: parsed.date,
      attachments: parsed.attachments.map((attachment) => ({
        filename: attachment.filename ?? '',
        contentType: attachment.contentType,
        contentId: attachment.cid ?? '',
        size: attachment.size,
        inline: attachment.contentDisposition === 'inline' || Boolean(attachment.related),
      })),
    };
  } catch (error) {
    // Keep what cannot be parsed, visibly, rather than pretend it never came.
    return {
      ...base,
      messageId: undefined,
      from: envelope.from ? { address: envelope.from, name: '' } : undefined,
      to: envelope.to.map((address) => ({ address, name: '' })),
      cc: [],
      replyTo: [],
      subject: `(unparseable message: ${(error as Error).message})`,
      text: raw.toString('utf8'),
      html: undefined,
      date: undefined,
      attachments: [],
    };
  }
}

function addressesOf(field: AddressObject | AddressObject[] | undefined): MailAddress[] {
  if (!field) return [];
  const flatten = (list: EmailAddress[]): MailAddress[] =>
    list.flatMap((entry) =>
      entry.group ? flatten(entry.group) : [{ address: entry.address ?? '', name: entry.name ?? '' }],
    );
  return (Array.isArray(field) ? field : [field]).flatMap((object) => flatten(object.value));
}
