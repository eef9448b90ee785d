import { randomBytes } from 'node:crypto';
import addressparser from 'nodemailer/lib/addressparser';
import type { OrderEmail } from './order-email';
import { encodeQuotedPrintable } from './quoted-printable';

/** A message ready for nodemailer's `sendMail({ envelope, raw })`. */
export interface RawMessage {
  envelope: { from: string; to: string[] };
  raw: Buffer;
}

/** Header lines are kept within the 78 characters RFC 5322 recommends. */
const HEADER_LINE = 78;
/** UTF-8 bytes per encoded-word: 42 bytes are 56 base64 characters, 68 with `=?UTF-8?B?` and `?=`. */
const WORD_BYTES = 42;
/** An addr-spec taken as it is: ASCII without spaces, quotes, brackets or other specials. */
const PLAIN_ADDRESS = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+$/;
/** Words of atext separated by single spaces: a display name that needs no quoting. */
const ATOMS = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?: [A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const MESSAGE_ID = /^<[\x21-\x3b\x3d\x3f-\x7e]+>$/;

/**
 * The order confirmation's MIME structure, prepared once: multipart/alternative with a quoted-printable
 * text/plain and text/html part, From and the boundary fixed. Per message only To, Subject, Message-ID,
 * Date and the two encoded bodies are filled in. The boundary contains `=_`, which quoted-printable
 * output never does, so one boundary serves every message.
 */
export class MimeSkeleton {
  private readonly fromAddress: string | undefined;
  private readonly fromLine: string;
  private readonly textPartHead: string;
  private readonly htmlPartHead: Buffer;
  private readonly closing: Buffer;

  constructor(from: string) {
    const [sender] = addressparser(from, { flatten: true });
    this.fromAddress = sender && PLAIN_ADDRESS.test(sender.address) ? sender.address : undefined;
    this.fromLine = this.fromAddress ? addressHeader('From', sender.name, this.fromAddress) : '';
    const boundary = `----=_Part_${randomBytes(12).toString('hex')}`;
    const partHead = (type: string) =>
      `--${boundary}\r\nContent-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n`;
    this.textPartHead =
      `MIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n boundary="${boundary}"\r\n\r\n` +
      partHead('text/plain');
    this.htmlPartHead = Buffer.from(`\r\n${partHead('text/html')}`, 'latin1');
    this.closing = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  }

  /** The email as a raw message, or undefined when an address or the Message-ID is outside what it takes. */
  build(email: OrderEmail): RawMessage | undefined {
    if (!this.fromAddress || !PLAIN_ADDRESS.test(email.to.address) || !MESSAGE_ID.test(email.messageId)) {
      return undefined;
    }
    const head =
      this.fromLine +
      addressHeader('To', email.to.name, email.to.address) +
      unstructuredHeader('Subject', email.subject) +
      `Message-ID: ${email.messageId}\r\n` +
      `Date: ${new Date().toUTCString().replace('GMT', '+0000')}\r\n` +
      this.textPartHead;
    const raw = Buffer.concat([
      Buffer.from(head, 'latin1'),
      encodeQuotedPrintable(email.text),
      this.htmlPartHead,
      encodeQuotedPrintable(email.html),
      this.closing,
    ]);
    return { envelope: { from: this.fromAddress, to: [email.to.address] }, raw };
  }
}

/** `Name: display name <address>` with CRLF; the name as it is, quoted, or as encoded-words. */
function addressHeader(name: string, displayName: string, address: string): string {
  if (displayName === '') return `${name}: ${address}\r\n`;
  const prefix = `${name}: `;
  const fits = prefix.length + displayName.length + 2 <= HEADER_LINE && !displayName.includes('=?');
  const phrase =
    fits && ATOMS.test(displayName)
      ? displayName
      : fits && PRINTABLE_ASCII.test(displayName)
        ? `"${displayName.replace(/[\\"]/g, '\\$&')}"`
        : encodedWords(displayName);
  const fold = phrase.lastIndexOf('\n');
  const lastLine = fold < 0 ? prefix.length + phrase.length : phrase.length - fold - 1;
  const separator = lastLine + address.length + 3 <= HEADER_LINE ? ' ' : '\r\n ';
  return `${prefix}${phrase}${separator}<${address}>\r\n`;
}

/** An unstructured header (Subject): as it is when short printable ASCII, else as encoded-words. */
function unstructuredHeader(name: string, value: string): string {
  const fits = name.length + 2 + value.length <= HEADER_LINE;
  const plain = fits && PRINTABLE_ASCII.test(value) && !value.includes('=?') && value.trim() === value;
  return `${name}: ${plain ? value : encodedWords(value)}\r\n`;
}

/**
 * RFC 2047 B encoded-words of UTF-8, each whole characters and at most WORD_BYTES bytes, folded onto
 * continuation lines; decoders join adjacent encoded-words without the whitespace between them.
 */
function encodedWords(value: string): string {
  const words: string[] = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < value.length;) {
    const code = value.codePointAt(i)!;
    const size = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (bytes + size > WORD_BYTES) {
      words.push(encodedWord(value.slice(start, i)));
      start = i;
      bytes = 0;
    }
    bytes += size;
    i += code > 0xffff ? 2 : 1;
  }
  words.push(encodedWord(value.slice(start)));
  return words.join('\r\n ');
}

const encodedWord = (text: string) => `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
