import { encodeQuotedPrintable } from './quoted-printable';

/** RFC 2045 decoding, written out here so the spec does not trust the encoder's own assumptions. */
function decode(encoded: string): string {
  const bytes: number[] = [];
  const unfolded = encoded.replace(/=\r\n/g, '');
  for (let i = 0; i < unfolded.length; i++) {
    if (unfolded[i] === '=') {
      bytes.push(parseInt(unfolded.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(unfolded.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

const POOL = [
  'a',
  'Z',
  '0',
  '=',
  ' ',
  '\t',
  '\r',
  '\n',
  '\r\n',
  '.',
  '_',
  '-',
  '×',
  '€',
  '王',
  '김',
  '😀',
  '\u0000',
  '\u007f',
];

function randomText(seed: number, length: number): string {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31);
  return Array.from({ length }, () => POOL[next() % POOL.length]).join('');
}

describe('encodeQuotedPrintable', () => {
  it('keeps printable ASCII and escapes `=`', () => {
    expect(encodeQuotedPrintable('Total: 2 × €4 = €8').toString('latin1')).toBe(
      'Total: 2 =C3=97 =E2=82=AC4 =3D =E2=82=AC8',
    );
  });

  it('turns every kind of line break into CRLF and escapes whitespace before it', () => {
    expect(encodeQuotedPrintable('a \nb\t\r\nc\rd ').toString('latin1')).toBe('a=20\r\nb=09\r\nc\r\nd=20');
  });

  it('breaks long lines softly without splitting an escape or a character', () => {
    const encoded = encodeQuotedPrintable(`${'x'.repeat(70)}王${'y'.repeat(100)}`).toString('latin1');
    expect(encoded.split('\r\n')).toEqual([
      `${'x'.repeat(70)}=`,
      `=E7=8E=8B${'y'.repeat(66)}=`,
      'y'.repeat(34),
    ]);
  });

  it.each(Array.from({ length: 40 }, (_, seed) => seed))('round-trips random text %i', (seed) => {
    const text = randomText(seed + 1, 50 + seed * 20);
    const encoded = encodeQuotedPrintable(text).toString('latin1');
    expect(encoded).toMatch(/^[\t\x20-\x7e\r\n]*$/);
    expect(encoded).not.toContain('=_');
    for (const line of encoded.split('\r\n')) {
      expect(line.length).toBeLessThanOrEqual(76);
      expect(line).not.toMatch(/[ \t]$/);
    }
    expect(encoded.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    expect(decode(encoded)).toBe(text.replace(/\r\n|\r|\n/g, '\r\n'));
  });
});
