import fc from 'fast-check';
import { connect } from 'node:net';

/** One request as bytes on the wire: every header as given, however hostile. */
export interface RawRequest {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  headers: [string, string][];
  body: string;
  /** What Content-Length says, when it is not the body's length (a mismatch). */
  contentLength?: number;
}

export interface RawAnswer {
  /** 0 when nothing came back. */
  status: number;
  headers: string;
  body: string;
}

/**
 * Sends `request` on its own connection (Connection: close) and reads the first answer. Header values
 * go out as latin1 bytes, so they may hold what fetch and undici refuse to send (NUL, DEL, bytes ≥ 0x80).
 */
export function sendRawHttp(port: number, request: RawRequest): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error('no answer within 20 s')), 20_000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error) => {
      clearTimeout(timer);
      // The server may reset a connection it answered (a body it did not read): the answer still counts.
      if (chunks.length > 0) resolve(parseRawAnswer(Buffer.concat(chunks)));
      else reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parseRawAnswer(Buffer.concat(chunks)));
    });
    const body = Buffer.from(request.body, 'utf8');
    const length = request.contentLength ?? body.length;
    const lines = [
      `${request.method} ${request.path} HTTP/1.1`,
      ...request.headers.map(([name, value]) => `${name}: ${value}`),
      `Content-Length: ${length}`,
      'Connection: close',
    ];
    socket.write(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]));
    // A Content-Length over the body: the client has nothing more to send.
    if (length > body.length) socket.end();
  });
}

/**
 * The first answer in `bytes`. A body longer than its Content-Length said belongs to a second answer:
 * the server reads what a short Content-Length left over as another request.
 */
function parseRawAnswer(bytes: Buffer): RawAnswer {
  const end = bytes.indexOf('\r\n\r\n');
  const head = (end === -1 ? bytes : bytes.subarray(0, end)).toString('latin1');
  const rest = end === -1 ? Buffer.alloc(0) : bytes.subarray(end + 4);
  const length = /^content-length: *(\d+)/im.exec(head)?.[1];
  return {
    status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1] ?? 0),
    headers: head,
    body: (length === undefined ? rest : rest.subarray(0, Number(length))).toString('utf8'),
  };
}

/** What is wrong with an answer to a hostile request: anything but a 2xx, or a 4xx with a JSON `code`. */
export function problemWithRawAnswer(answer: RawAnswer): string | undefined {
  const shown = `${answer.status} ${answer.body.slice(0, 300)}`;
  if (answer.status >= 200 && answer.status < 300) return undefined;
  if (answer.status < 400 || answer.status > 499) return `expected a 2xx or a 4xx, got ${shown}`;
  try {
    const { code } = JSON.parse(answer.body) as { code?: unknown };
    return typeof code === 'string' ? undefined : `a 4xx without a code: ${shown}`;
  } catch {
    return `a 4xx whose body is not JSON: ${shown}`;
  }
}

/** A request for a failure message: long values clipped. */
export function describeRawRequest(request: RawRequest): string {
  const clip = (value: string) =>
    JSON.stringify(value.length > 120 ? `${value.slice(0, 120)}…(${value.length})` : value);
  const declared =
    request.contentLength === undefined
      ? []
      : [`  Content-Length: ${request.contentLength} (body ${Buffer.byteLength(request.body)})`];
  return [
    `${request.method} ${request.path}`,
    ...request.headers.map(([name, value]) => `  ${name}: ${clip(value)}`),
    ...declared,
  ].join('\n');
}

const printableAscii = fc.string({
  unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 300,
});
/** Bytes a header may carry on the wire that are not printable ASCII, and separators. */
const oddCharacter = fc.constantFrom(
  '\x00',
  '\t',
  '\x7f',
  '\x80',
  '\xff',
  'é',
  ' ',
  '\x01',
  ';',
  ',',
  '"',
  '\\',
);

/**
 * A hostile header value: printable noise, odd bytes, just over 100 characters (a correlation id's
 * limit), several KB up to over Node's 16 KB header limit, and classic attack strings. Never CR or LF:
 * those would split the request itself, which is the transport's business, not a header's.
 */
export const hostileHeaderValue: fc.Arbitrary<string> = fc.oneof(
  printableAscii,
  fc.string({ unit: fc.oneof(oddCharacter, fc.constantFrom('a', '-', '0')), maxLength: 200 }),
  fc.integer({ min: 95, max: 300 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 4_000, max: 20_000 }).map((n) => 'y'.repeat(n)),
  fc.constantFrom('', ' ', '../../etc/passwd', '<script>', "' OR 1=1 --", '%00', '\u0000'),
);

/** Authorization headers: noise, Bearer noise, near misses of `token`, other schemes, unsigned JWTs. */
export const hostileAuthorization = (token: string): fc.Arbitrary<string> =>
  fc.oneof(
    hostileHeaderValue,
    hostileHeaderValue.map((value) => `Bearer ${value}`),
    fc.constantFrom(
      'Bearer',
      'Bearer ',
      `Bearer ${token}x`,
      `Bearer ${token.slice(0, -1)}`,
      `bearer  ${token} extra`,
      `Basic ${Buffer.from(`admin:${token}`).toString('base64')}`,
      'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
      'Bearer eyJhbGciOiJIUzI1NiJ9.e30.ZmFrZQ',
    ),
  );

/** Host headers: allowed names, other names, bad ports, noise. */
export const hostileHost: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'localhost',
    '127.0.0.1:3000',
    '[::1]',
    'evil.example',
    'localhost.evil.example',
    '10.0.0.1:80',
    'localhost:99999',
    '',
  ),
  hostileHeaderValue,
);

/** Content-Type headers: JSON spelled several ways, what a cross-site form can send, noise. */
export const hostileContentType: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'APPLICATION/JSON',
    'application/json; charset=latin1',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
  ),
  hostileHeaderValue,
);

/** A header left out (undefined) or present with a value from `value`. */
export const optionalHeader = (name: string, value: fc.Arbitrary<string>) =>
  fc.option(
    value.map((v) => [name, v] as [string, string]),
    { nil: undefined },
  );

/** A Content-Length off by up to 20 bytes either way, or (undefined) the body's own length. */
export const contentLengthMismatch = fc.option(fc.integer({ min: -20, max: 20 }), { nil: undefined });

/** `body`'s length shifted by `delta` (never below 0), or undefined for no mismatch. */
export const mismatchedLength = (body: string, delta: number | undefined) =>
  delta === undefined ? undefined : Math.max(0, Buffer.byteLength(body) + delta);
