import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { constants as zlib, deflateRawSync, inflateRawSync } from 'node:zlib';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { type AddressObject, type EmailAddress, type ParsedMail, simpleParser } from 'mailparser';
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

/**
 * One received email. On arrival the sink keeps only the raw source (deflated), the Message-ID and the
 * envelope; the other fields are parsed from `raw` when one is read, and kept for the most recently
 * read messages only (parsed, an email takes several times its raw size).
 */
export interface ReceivedMail {
  /** Assigned by the sink on arrival: unique, stable, used as the Mailpit-style `ID`. */
  readonly id: string;
  /** The Message-ID header as sent, angle brackets included (like nodemailer's `info.messageId`). */
  readonly messageId: string | undefined;
  /** The message exactly as the sender transmitted it (after SMTP dot-unstuffing). */
  readonly raw: Buffer;
  readonly from: MailAddress | undefined;
  readonly to: MailAddress[];
  readonly cc: MailAddress[];
  readonly replyTo: MailAddress[];
  readonly subject: string;
  readonly text: string;
  readonly html: string | undefined;
  /** The Date header, when the sender set one. */
  readonly date: Date | undefined;
  readonly receivedAt: Date;
  /** Size of the raw message in bytes. */
  readonly size: number;
  readonly attachments: MailAttachment[];
  /** SMTP envelope: MAIL FROM and every RCPT TO (Bcc recipients appear only here). */
  readonly envelope: { from: string; to: string[] };
  /**
   * Parses the message without blocking, if no read has yet. Reading a parsed field first parses
   * synchronously instead, in a helper thread; code that can wait (an HTTP handler) awaits this.
   */
  load(): Promise<void>;
}

export interface SmtpSinkOptions {
  /** Oldest messages are dropped beyond this many (default 5,000; Infinity keeps every one). */
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
 * An in-process SMTP server that accepts every message (any or no AUTH, no TLS) and keeps it in
 * memory, parsed on read. Specs point a mailer at `port` and wait for messages; `npm start`'s
 * mail catcher serves the same store over HTTP. A message is stored before the sender gets its 250,
 * so once `sendMail` resolves the email is already in `messages`.
 */
export class SmtpSink {
  /** Oldest messages are dropped beyond this many (Infinity: none is). */
  readonly maxMessages: number;
  private readonly host: string;
  private readonly maxMessageBytes: number;
  private readonly onError: (error: Error) => void;
  private readonly ignoreDuplicateMessageIds: boolean;
  private readonly storedMessageIds = new Set<string>();
  private readonly packer = new RawPacker();
  /** Ids are this prefix and a sequence number: unique across sinks, and `find` can bisect. */
  private readonly idPrefix = `${randomBytes(4).toString('hex')}-`;
  private sequence = 0;
  private ignored = 0;
  private server: SMTPServer | undefined;
  private listeningPort: number | undefined;
  /** Oldest first from `head`; slots before it are dropped messages not yet compacted away. */
  private stored: (StoredMail | undefined)[] = [];
  private head = 0;
  private waiters: Waiter[] = [];
  private received = 0;
  private behaviour: SmtpSinkBehaviour = {};

  constructor(options: SmtpSinkOptions = {}) {
    this.maxMessages = options.maxMessages ?? 5_000;
    if (!(this.maxMessages >= 1)) throw new Error(`maxMessages must be at least 1 (got ${this.maxMessages})`);
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
    this.compact();
    return this.stored as StoredMail[];
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
    if (!id.startsWith(this.idPrefix)) return undefined;
    const sequence = id.slice(this.idPrefix.length);
    if (!/^[0-9a-z]+$/.test(sequence)) return undefined;
    const wanted = parseInt(sequence, 36);
    const messages = this.messages as StoredMail[];
    let low = 0;
    let high = messages.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const found = messages[middle].sequence;
      if (found === wanted) return messages[middle];
      if (found < wanted) low = middle + 1;
      else high = middle - 1;
    }
    return undefined;
  }

  /** Resolves with the stored messages once there are at least `count`; rejects after `timeoutMs` saying what arrived. */
  waitForMessages(count: number, timeoutMs = 10_000): Promise<ReceivedMail[]> {
    if (this.storedCount >= count) return Promise.resolve([...this.messages]);
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
        const subjects = this.messages.slice(-5).map((mail) => JSON.stringify(mail.subject));
        reject(
          new Error(
            `Timed out after ${timeoutMs} ms waiting for ${count} email(s) on port ${this.listeningPort}; ` +
              `${this.storedCount} arrived${subjects.length ? ` (latest: ${subjects.join(', ')})` : ''}`,
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
      this.stored = this.messages.filter((mail) => !doomed.has(mail.id)) as StoredMail[];
    } else {
      this.stored = [];
      this.received = 0;
      this.ignored = 0;
    }
    this.head = 0;
    this.storedMessageIds.clear();
    if (!this.ignoreDuplicateMessageIds) return;
    for (const mail of this.stored as StoredMail[]) {
      if (mail.messageId) this.storedMessageIds.add(mail.messageId);
    }
  }

  /** Stops listening; open client connections are closed after at most 2 s. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.listeningPort = undefined;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private receive(stream: Readable, session: SMTPServerSession): Promise<StoredMail> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.once('error', reject);
      stream.once('end', () => {
        if ((stream as Readable & { sizeExceeded?: boolean }).sizeExceeded) {
          reject(
            Object.assign(new Error(`Message exceeds the ${this.maxMessageBytes} byte limit`), {
              responseCode: 552,
            }),
          );
          return;
        }
        const raw = Buffer.concat(chunks);
        const envelope = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
        };
        const mail = new StoredMail(
          this.idPrefix,
          this.sequence++,
          this.packer.pack(raw),
          raw.length,
          messageIdOf(raw),
          envelope,
        );
        this.add(mail);
        resolve(mail);
      });
    });
  }

  private get storedCount(): number {
    return this.stored.length - this.head;
  }

  private add(mail: StoredMail): void {
    this.received += 1;
    if (this.ignoreDuplicateMessageIds && mail.messageId && this.storedMessageIds.has(mail.messageId)) {
      this.ignored += 1;
      return;
    }
    this.stored.push(mail);
    if (this.ignoreDuplicateMessageIds && mail.messageId) this.storedMessageIds.add(mail.messageId);
    while (this.storedCount > this.maxMessages) {
      const dropped = this.stored[this.head];
      this.stored[this.head++] = undefined;
      if (dropped?.messageId) this.storedMessageIds.delete(dropped.messageId);
    }
    if (this.head >= 1_024 && this.head >= this.storedCount) this.compact();
    if (this.waiters.length === 0) return;
    const ready = this.waiters.filter((waiter) => this.storedCount >= waiter.count);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => !ready.includes(waiter));
    for (const waiter of ready) waiter.resolve([...this.messages]);
  }

  /**
   * Drops the slots of dropped messages. Dropping one only moves `head` (removing the first of a
   * million array elements costs milliseconds); this runs when the slots outnumber the messages or
   * before `messages` is read, so it costs each message once.
   */
  private compact(): void {
    if (this.head === 0) return;
    this.stored.splice(0, this.head);
    this.head = 0;
  }
}

/** Messages up to this size are kept deflated (and may serve as dictionary: deflate's window is 32 KB). */
const PACKED_MAX_BYTES = 32 * 1024;
/** A new dictionary every so many messages, so that a change of template soon compresses well again. */
const MESSAGES_PER_DICTIONARY = 1_000;
const SLAB_BYTES = 256 * 1024;

/** A raw message as kept: deflated against `dictionary`, or as it came when `dictionary` is undefined. */
interface PackedRaw {
  bytes: Buffer;
  dictionary: Buffer | undefined;
}

/**
 * Keeps raw messages small: each is deflated with a recent message as preset dictionary, since the
 * emails of one template repeat most of each other's bytes (figures in docs/measured.md).
 * The results are copied into slabs of their own, filled in order and so freed in order as the oldest
 * messages are dropped: in Node's shared 8 KB pool, each would pin a slab full of short-lived buffers.
 */
class RawPacker {
  private dictionary: Buffer | undefined;
  private sinceDictionary = 0;
  private slab = Buffer.allocUnsafeSlow(0);
  private slabUsed = 0;

  pack(raw: Buffer): PackedRaw {
    if (raw.length > PACKED_MAX_BYTES) return { bytes: this.keep(raw), dictionary: undefined };
    if (!this.dictionary || ++this.sinceDictionary >= MESSAGES_PER_DICTIONARY) {
      this.dictionary = this.keep(raw);
      this.sinceDictionary = 0;
    }
    const deflated = deflateRawSync(raw, { dictionary: this.dictionary, level: zlib.Z_BEST_SPEED });
    return deflated.length < raw.length
      ? { bytes: this.keep(deflated), dictionary: this.dictionary }
      : { bytes: this.keep(raw), dictionary: undefined };
  }

  private keep(bytes: Buffer): Buffer {
    // A message this big came in memory of its own (Buffer.concat pools only buffers under 4 KB).
    if (bytes.length > SLAB_BYTES / 8) return bytes;
    if (this.slabUsed + bytes.length > this.slab.length) {
      this.slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.slabUsed = 0;
    }
    const kept = this.slab.subarray(this.slabUsed, this.slabUsed + bytes.length);
    bytes.copy(kept);
    this.slabUsed += bytes.length;
    return kept;
  }
}

/** Parsed fields are kept for this many of the most recently parsed messages (of every sink). */
const PARSED_KEPT = 1_000;
const parsedContents = new Map<StoredMail, MailContent>();

function keepParsed(mail: StoredMail, content: MailContent): MailContent {
  parsedContents.delete(mail);
  parsedContents.set(mail, content);
  if (parsedContents.size > PARSED_KEPT) parsedContents.delete(parsedContents.keys().next().value!);
  return content;
}

type MailContent = Pick<
  ReceivedMail,
  'from' | 'to' | 'cc' | 'replyTo' | 'subject' | 'text' | 'html' | 'date' | 'attachments'
>;

/** The part of mailparser's result the sink keeps; also what the parser thread sends back. */
type ParsedFields = Pick<
  ParsedMail,
  'from' | 'to' | 'cc' | 'replyTo' | 'subject' | 'text' | 'html' | 'date'
> & {
  attachments: Pick<
    ParsedMail['attachments'][number],
    'filename' | 'contentType' | 'cid' | 'size' | 'contentDisposition' | 'related'
  >[];
};

const PARSE_OPTIONS = { skipTextToHtml: true, skipImageLinks: true };

/** A message as the sink keeps it: lean, since a mailbox may hold a million (see docs/measured.md). */
class StoredMail implements ReceivedMail {
  private readonly receivedAtMs = Date.now();
  private readonly packed: Buffer;
  private readonly dictionary: Buffer | undefined;
  private loading: Promise<void> | undefined;

  constructor(
    private readonly idPrefix: string,
    readonly sequence: number,
    packed: PackedRaw,
    readonly size: number,
    readonly messageId: string | undefined,
    readonly envelope: ReceivedMail['envelope'],
  ) {
    this.packed = packed.bytes;
    this.dictionary = packed.dictionary;
  }

  get id(): string {
    return `${this.idPrefix}${this.sequence.toString(36)}`;
  }
  get receivedAt(): Date {
    return new Date(this.receivedAtMs);
  }
  get raw(): Buffer {
    return this.dictionary ? inflateRawSync(this.packed, { dictionary: this.dictionary }) : this.packed;
  }

  get from() {
    return this.parsed().from;
  }
  get to() {
    return this.parsed().to;
  }
  get cc() {
    return this.parsed().cc;
  }
  get replyTo() {
    return this.parsed().replyTo;
  }
  get subject() {
    return this.parsed().subject;
  }
  get text() {
    return this.parsed().text;
  }
  get html() {
    return this.parsed().html;
  }
  get date() {
    return this.parsed().date;
  }
  get attachments() {
    return this.parsed().attachments;
  }

  load(): Promise<void> {
    if (parsedContents.has(this)) return Promise.resolve();
    this.loading ??= simpleParser(this.raw, PARSE_OPTIONS)
      .then(
        (parsed) => keepParsed(this, contentOf(parsed)),
        (error: Error) => keepParsed(this, this.unparseable(error.message)),
      )
      .then(() => {
        this.loading = undefined;
      });
    return this.loading;
  }

  /** JSON.stringify and console.log show the parsed fields, as they did when they were own properties. */
  toJSON() {
    const { id, messageId, receivedAt, size, envelope } = this;
    return { id, messageId, ...this.parsed(), receivedAt, size, envelope };
  }

  private parsed(): MailContent {
    const kept = parsedContents.get(this);
    if (kept) return kept;
    const reply = syncParser.parse(this.raw);
    return keepParsed(this, 'error' in reply ? this.unparseable(reply.error) : contentOf(reply));
  }

  /** Keeps what cannot be parsed, visibly, rather than pretend it never came. */
  private unparseable(reason: string): MailContent {
    return {
      from: this.envelope.from ? { address: this.envelope.from, name: '' } : undefined,
      to: this.envelope.to.map((address) => ({ address, name: '' })),
      cc: [],
      replyTo: [],
      subject: `(unparseable message: ${reason})`,
      text: this.raw.toString('utf8'),
      html: undefined,
      date: undefined,
      attachments: [],
    };
  }
}

function contentOf(parsed: ParsedFields): MailContent {
  return {
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
}

/**
 * The first Message-ID header of the message's own header block, as mailparser reports it (trimmed,
 * in angle brackets), read without parsing the message: the duplicate check needs it on arrival.
 */
function messageIdOf(raw: Buffer): string | undefined {
  const crlf = raw.indexOf('\r\n\r\n');
  const lf = raw.indexOf('\n\n');
  const end = crlf < 0 ? lf : lf < 0 ? crlf : Math.min(crlf, lf);
  const head = raw.toString('utf8', 0, end < 0 ? raw.length : end);
  const header = /^message-id[ \t]*:([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)/im.exec(head);
  const value = header?.[1].replace(/\r?\n/g, '').trim();
  if (!value) return undefined;
  const messageId = `${value.startsWith('<') ? '' : '<'}${value}${value.endsWith('>') ? '' : '>'}`;
  // A copy: a slice of `head` would keep the whole header block alive as long as the message.
  return Buffer.from(messageId).toString();
}

/**
 * mailparser only parses asynchronously, while a spec reads `mail.subject` synchronously right after
 * sendMail. So the first such read hands the raw message to a helper thread and blocks until it has
 * parsed it there. The thread ends after ten seconds without work and is unref'd, so it never holds a
 * process (or a Jest worker's module registry) open.
 */
class SyncParser {
  private worker: Worker | undefined;
  private replies: MessagePort | undefined;
  private readonly signal = new Int32Array(new SharedArrayBuffer(4));
  private idle: NodeJS.Timeout | undefined;

  parse(raw: Buffer): ParsedFields | { error: string } {
    const worker = this.started();
    Atomics.store(this.signal, 0, 0);
    worker.postMessage(raw);
    const outcome = Atomics.wait(this.signal, 0, 0, 30_000);
    const reply = receiveMessageOnPort(this.replies!)?.message as
      ParsedFields | { error: string } | undefined;
    this.stopWhenIdle();
    if (reply) return reply;
    this.stop();
    return {
      error: outcome === 'timed-out' ? 'the parser thread did not answer' : 'the parser thread failed',
    };
  }

  private started(): Worker {
    clearTimeout(this.idle);
    if (this.worker) return this.worker;
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(PARSER_THREAD, {
      eval: true,
      workerData: {
        mailparser: require.resolve('mailparser'),
        options: PARSE_OPTIONS,
        port: port2,
        signal: this.signal,
      },
      transferList: [port2],
    });
    worker.unref();
    // A failing thread answers no more; the waiting read times out and the next one starts a new thread.
    worker.on('error', () => this.stop());
    this.worker = worker;
    this.replies = port1;
    return worker;
  }

  private stopWhenIdle(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.stop(), 10_000).unref();
  }

  private stop(): void {
    clearTimeout(this.idle);
    void this.worker?.terminate();
    this.replies?.close();
    this.worker = undefined;
    this.replies = undefined;
  }
}

const PARSER_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { mailparser, options, port, signal } = workerData;
const answer = (reply) => {
  port.postMessage(reply);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
};
parentPort.on('message', (bytes) => {
  Promise.resolve()
    .then(() => require(mailparser).simpleParser(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), options))
    .then(
      (mail) =>
        answer({
          from: mail.from, to: mail.to, cc: mail.cc, replyTo: mail.replyTo, subject: mail.subject,
          text: mail.text, html: mail.html, date: mail.date,
          attachments: mail.attachments.map((a) => ({
            filename: a.filename, contentType: a.contentType, cid: a.cid, size: a.size,
            contentDisposition: a.contentDisposition, related: a.related,
          })),
        }),
      (error) => answer({ error: String(error && error.message) }),
    )
    .catch((error) => answer({ error: String(error && error.message) }));
});
`;

const syncParser = new SyncParser();

function addressesOf(field: AddressObject | AddressObject[] | undefined): MailAddress[] {
  if (!field) return [];
  const flatten = (list: EmailAddress[]): MailAddress[] =>
    list.flatMap((entry) =>
      entry.group ? flatten(entry.group) : [{ address: entry.address ?? '', name: entry.name ?? '' }],
    );
  return (Array.isArray(field) ? field : [field]).flatMap((object) => flatten(object.value));
}
