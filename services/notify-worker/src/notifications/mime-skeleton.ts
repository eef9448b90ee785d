import { encode, wrap } from 'libqp';
import libmime from 'libmime';
import { randomBytes } from 'node:crypto';
import type { OrderEmail } from './order-email';

/** A message ready for nodemailer's `sendMail({ envelope, raw })`. */
export interface RawMessage {
  envelope: { from: string; to: string[] };
  raw: Buffer;
}

/** Header lines are kept within the 78 characters RFC 5322 recommends. */
const HEADER_LINE = 78;
/** An encoded-word's length: `=?UTF-8?B?` and `?=` around 56 base64 characters (42 bytes of UTF-8). */
const WORD_LENGTH = 68;
/** RFC 2045: encoded body lines are at most 76 characters, the `=` of a soft line break included. */
const BODY_LINE = 76;
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
 * output never does, so one boundary serves every message. `from` is an address, as MAIL_FROM is; a
 * From with a display name is left to nodemailer's own composition, which parses it.
 */
export class MimeSkeleton {
  private readonly fromAddress: string | undefined;
  private readonly fromLine: string;
  private readonly textPartHead: string;
  private readonly htmlPartHead: Buffer;
  private readonly closing: Buffer;

  constructor(from: string) {
    this.fromAddress = PLAIN_ADDRESS.test(from) ? from : undefined;
    this.fromLine = this.fromAddress ? addressHeader('From', '', this.fromAddress) : '';
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
      quotedPrintable(email.text),
      this.htmlPartHead,
      quotedPrintable(email.html),
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

/** RFC 2047 B encoded-words of whole characters (libmime), one per continuation line. */
const encodedWords = (value: string) => libmime.encodeWord(value, 'B', WORD_LENGTH).split(' ').join('\r\n ');

/** A text body as quoted-printable (libqp) with CRLF line endings, whatever line breaks the text has. */
const quotedPrintable = (text: string) =>
  Buffer.from(wrap(encode(text.replace(/\r\n|\r|\n/g, '\r\n')), BODY_LINE), 'latin1');
