const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;
const EQUALS = 0x3d;
const HEX = Buffer.from('0123456789ABCDEF', 'latin1');
/** RFC 2045: encoded lines are at most 76 characters, the `=` of a soft line break included. */
const MAX_LINE = 76;

/**
 * A UTF-8 text body as quoted-printable (RFC 2045, 6.7) with CRLF line endings: every line break of
 * the text (CRLF, LF or a lone CR) becomes a hard CRLF, long lines get soft breaks that never split
 * an escape or a multi-byte character, and whitespace before a line end is escaped. The output never
 * contains `=_`, so a MIME boundary containing it cannot occur in an encoded body.
 */
export function encodeQuotedPrintable(text: string): Buffer {
  const input = Buffer.from(text, 'utf8');
  const length = input.length;
  // Each byte takes at most 3 characters; a soft break (3) ends a line of at least 64 characters.
  const output = Buffer.allocUnsafe(length * 3 + Math.ceil((length * 3) / 64) * 3 + 3);
  let out = 0;
  let line = 0;
  for (let i = 0; i < length; i++) {
    const byte = input[i];
    if (byte === CR || byte === LF) {
      if (byte === CR && input[i + 1] === LF) i++;
      output[out++] = CR;
      output[out++] = LF;
      line = 0;
      continue;
    }
    let literal: boolean;
    let width: number;
    if (byte === SPACE || byte === TAB) {
      const next = i + 1 < length ? input[i + 1] : LF;
      literal = next !== CR && next !== LF;
      width = literal ? 1 : 3;
    } else if (byte < 0x80) {
      literal = byte > SPACE && byte < 0x7f && byte !== EQUALS;
      width = literal ? 1 : 3;
    } else {
      literal = false;
      // The lead byte of a multi-byte character reserves room for the whole character on this line.
      width = byte >= 0xf0 ? 12 : byte >= 0xe0 ? 9 : byte >= 0xc0 ? 6 : 3;
    }
    if (line + width > MAX_LINE - 1) {
      output[out++] = EQUALS;
      output[out++] = CR;
      output[out++] = LF;
      line = 0;
    }
    if (literal) {
      output[out++] = byte;
      line += 1;
    } else {
      output[out++] = EQUALS;
      output[out++] = HEX[byte >> 4];
      output[out++] = HEX[byte & 0x0f];
      line += 3;
    }
  }
  return output.subarray(0, out);
}
