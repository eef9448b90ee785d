/**
 * Malformed requests for order-api's fuzz spec. Every request is wrong by construction (bad JSON, wrong
 * types, missing or extra fields, out-of-range numbers, bad ids, wrong content types, oversized bodies),
 * so the API must refuse each one and write nothing. The random choices come from fast-check, so the
 * same seed yields the same requests and a failing one shrinks to the smallest that still fails.
 *
 * Kept free of workspace imports: it is plain test input, built with the service but never run by it.
 */

import fc from 'fast-check';

/** One request the API must refuse with a 4xx and a code. */
export interface MalformedRequest {
  /** What is wrong with it, e.g. "items.0.quantity: fractional 2.5". */
  defect: string;
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** Send the body in chunks without a Content-Length (Transfer-Encoding: chunked). */
  chunked?: boolean;
}

export const FUZZED_ENDPOINTS = [
  'POST /orders',
  'GET /orders/:id',
  'GET /orders/:id/report',
  'GET /products/:sku',
  'GET /products/:sku/sales',
  'PUT /products/:sku',
  'POST /products/:sku/restock',
] as const;
export type FuzzedEndpoint = (typeof FUZZED_ENDPOINTS)[number];

/**
 * The products the spec seeds, so malformed requests naming a real sku get past the cheap checks.
 * GET requests never name them (a real sku would rightly answer 200).
 */
export const SEED_PRODUCTS = {
  tea: { sku: 'TEA-001', name: '龙井茶 Longjing tea', priceCents: 1250, stock: 10 },
  kim: { sku: 'KIM-002', name: '한국 김 seaweed', priceCents: 480, stock: 5 },
  /** At the highest price PUT allows: 22 units already exceed what an order total can hold. */
  goldBar: { sku: 'GOLD-BAR-1', name: 'Gold bar 1 kg', priceCents: 100_000_000, stock: 1_000_000 },
  /** Stock near PostgreSQL's integer limit: restocking it by 150 million or more overflows. */
  sand: { sku: 'SAND-GRAINS', name: 'Sand, per grain', priceCents: 1, stock: 2_000_000_000 },
} as const;

const INT4_MAX = 2_147_483_647;
const BODY_LIMIT_BYTES = 64 * 1024;
/** Node refuses a request line plus headers over 16 KB before any application code runs. */
const HEADER_LIMIT_BYTES = 16 * 1024;

// ---------------------------------------------------------------------------------------------------
// Choices, drawn from fast-check

/**
 * Every random choice a generator below makes, drawn from fast-check (`fc.gen()`): a run is seeded and
 * replayable from the seed fast-check prints, and when a request is not refused fast-check shrinks it,
 * drawing each choice again nearer its simplest value (the first item of a list, the smallest number),
 * until it has the smallest request that still fails.
 */
const uniformInteger = (min: number, max: number) => fc.noBias(fc.integer({ min, max }));

export class Choices {
  constructor(private readonly draw: fc.GeneratorValue) {}

  /** A float in [0, 1). */
  next(): number {
    return this.int(0, 0xffff_ffff) / 0x1_0000_0000;
  }

  /**
   * An integer in [min, max], uniformly: fast-check's bias towards small and extreme values would make
   * every weighted pick below take its first choice most of the time. Shrinking still goes towards `min`.
   */
  int(min: number, max: number): number {
    return this.draw(uniformInteger, min, max);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  /** Picks a generator by weight and runs it. */
  weighted<T>(choices: readonly (readonly [number, () => T])[]): T {
    let roll = this.next() * choices.reduce((sum, [weight]) => sum + weight, 0);
    for (const [weight, make] of choices) {
      roll -= weight;
      if (roll < 0) return make();
    }
    return choices[choices.length - 1][1]();
  }

  /** `length` random bytes, drawn at once. */
  bytes(length: number): Buffer {
    return Buffer.from(this.draw(fc.uint8Array, { minLength: length, maxLength: length }));
  }
}

// ---------------------------------------------------------------------------------------------------
// Odd text

/** Valid but unusual text: other scripts, emoji sequences, bidi controls, combining marks, look-alikes. */
const ODD_TEXT = [
  '王小明',
  '이서연',
  'Zoë Ångström-Łukasz',
  'ℌ𝔢𝔩𝔩𝔬 𝕎𝕠𝕣𝕝𝕕',
  '👩🏽‍💻🚀🇨🇳',
  'evil\u202Etxt.exe',
  'zero\u200Bwidth\u200Djoiner',
  'e\u0301\u0302\u0303\u0304',
  'Z\u0351\u0352\u0353a\u0354\u0355l\u0356g\u0357o',
  'مرحبا بالعالم',
  'שלום',
  '\uFFFDreplacement',
  "'; DROP TABLE orders; --",
  '<script>alert(1)</script>',
  '${7*7}{{7*7}}',
  '%s%n%x',
  '../../etc/passwd',
  'ТЕА-001',
];

/** Text PostgreSQL cannot store as sent: a NUL character, unpaired UTF-16 surrogates. */
const UNSTORABLE_TEXT = [
  'nul\u0000inside',
  '\u0000',
  'lone \uD800 high surrogate',
  'lone \uDC00 low',
  '\uDBFF',
];

/** At least `minLength` UTF-16 units of odd text. */
function longText(rng: Choices, minLength: number): string {
  let text = '';
  while (text.length < minLength) text += rng.pick(ODD_TEXT) + ' ';
  return text;
}

// ---------------------------------------------------------------------------------------------------
// Bad values, by what the field expects

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface BadValue {
  value: Json;
  why: string;
}

const NOT_A_STRING: Json[] = [null, 0, 42, -1, 1.5, true, false, [], ['x'], {}, { value: 'x' }];
const NOT_A_NUMBER: Json[] = [null, '1', '', ' 7 ', 'one', '1e3', '0x10', true, false, [], [1], {}, { n: 1 }];

const wrongType = (rng: Choices, values: Json[]): BadValue => {
  const value = rng.pick(values);
  return { value, why: `wrong type ${JSON.stringify(value)}` };
};

function badText(rng: Choices, maxLength: number): BadValue {
  return rng.weighted<BadValue>([
    [3, () => wrongType(rng, NOT_A_STRING)],
    [1, () => ({ value: '', why: 'empty' })],
    [1, () => ({ value: rng.pick([' ', '\t\n\r ', '\u3000\u00A0\u2003']), why: 'only whitespace' })],
    [2, () => ({ value: longText(rng, rng.int(maxLength + 1, 20_000)), why: 'too long' })],
    [
      2,
      () => ({ value: `${rng.pick(ODD_TEXT)} ${rng.pick(UNSTORABLE_TEXT)}`, why: 'NUL or lone surrogate' }),
    ],
  ]);
}

const BAD_EMAILS = [
  'plainaddress',
  '@example.com',
  'wang@',
  'wang@example',
  'wang xiaoming@example.cn',
  'wang@exa mple.cn',
  '王小明@例子.中国',
  'wang@example.cn\n',
  '"wang"@example.cn',
  'wang..xiao@example.cn',
  'a@example.com,b@example.com',
  'wang@example.cn\u0000',
  'mailto:wang@example.cn',
];

function badEmail(rng: Choices): BadValue {
  return rng.weighted<BadValue>([
    [2, () => wrongType(rng, NOT_A_STRING)],
    [1, () => ({ value: '', why: 'empty' })],
    [4, () => ({ value: rng.pick(BAD_EMAILS), why: 'not an email address' })],
    [1, () => ({ value: `${'w'.repeat(rng.int(250, 5_000))}@example.cn`, why: 'too long' })],
    [1, () => ({ value: `${rng.pick(ODD_TEXT)}@example.cn`, why: 'odd text as an email' })],
  ]);
}

const BAD_SKUS = [
  'with space',
  '-LEADING-DASH',
  '.hidden',
  '_under',
  'TEA/001',
  '../TEA-001',
  'TEA-001\n',
  'TEA-001 ',
  ' TEA-001',
  '茶-001',
  'TEA–001',
  'ТЕА-001',
  'TEA-001\u0000',
  "TEA'; DROP TABLE products;--",
  '%54EA-001',
  'TEA-001?x=1',
  'TEA-001#frag',
  '*',
];

function badSku(rng: Choices): BadValue {
  return rng.weighted<BadValue>([
    [2, () => wrongType(rng, NOT_A_STRING)],
    [1, () => ({ value: '', why: 'empty' })],
    [4, () => ({ value: rng.pick(BAD_SKUS), why: 'characters a sku cannot have' })],
    [1, () => ({ value: 'A'.repeat(rng.int(65, 3_000)), why: 'too long' })],
    [1, () => ({ value: rng.pick(ODD_TEXT), why: 'odd text as a sku' })],
  ]);
}

/** Numbers no integer field in range [min, max] may take. */
function badInteger(rng: Choices, min: number, max: number): BadValue {
  return rng.weighted<BadValue>([
    [3, () => wrongType(rng, NOT_A_NUMBER)],
    [
      2,
      () => {
        const value = -rng.pick([1, 2, 1_000, INT4_MAX + 1, 1e21]);
        return { value, why: `negative ${value}` };
      },
    ],
    [
      3,
      () => {
        const value = rng.int(min, Math.min(max, 1_000_000) - 1) + rng.pick([0.5, 0.25, 0.001, 1e-9]);
        return { value, why: `fractional ${value}` };
      },
    ],
    [
      3,
      () => {
        const value = rng.pick([max + 1, max * 2, INT4_MAX, INT4_MAX + 1, 2 ** 53 + 2, 1e21, 1.7e308]);
        return { value, why: `huge ${value}` };
      },
    ],
  ]);
}

function badQuantity(rng: Choices, max: number): BadValue {
  // Zero is its own case: the smallest quantity is 1.
  return rng.chance(0.15) ? { value: 0, why: 'zero' } : badInteger(rng, 1, max);
}

/** What each field of a body must not be, by field name. */
type BadValues = Record<string, (rng: Choices) => BadValue>;

// ---------------------------------------------------------------------------------------------------
// Structural mutations of a valid JSON body; each one alone makes the body invalid

type JsonPath = (string | number)[];
type JsonObject = { [key: string]: Json };

const isObject = (value: Json): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function nodes(root: Json, path: JsonPath = []): { path: JsonPath; value: Json }[] {
  const here = [{ path, value: root }];
  if (Array.isArray(root)) return here.concat(root.flatMap((child, i) => nodes(child, [...path, i])));
  if (isObject(root)) return here.concat(Object.entries(root).flatMap(([k, v]) => nodes(v, [...path, k])));
  return here;
}

const pathName = (path: JsonPath) => (path.length === 0 ? '(root)' : path.join('.'));

function getAt(root: Json, path: JsonPath): Json {
  return path.reduce<Json>((node, key) => (node as Record<string | number, Json>)[key], root);
}

/** Replaces the value at `path` (the root when the path is empty); returns the new root. */
function setAt(root: Json, path: JsonPath, value: Json): Json {
  if (path.length === 0) return value;
  (getAt(root, path.slice(0, -1)) as Record<string | number, Json>)[path[path.length - 1]] = value;
  return root;
}

const UNKNOWN_KEYS = [
  'discount',
  'isAdmin',
  'priceCents',
  'total',
  'id',
  'Sku',
  'name ',
  '名前',
  '',
  'constructor',
];

interface Mutation {
  /** Returns the mutated body, or undefined when the body has nothing this mutation applies to. */
  (rng: Choices, body: Json): { body: Json; why: string } | undefined;
}

const badLeaf =
  (badValues: BadValues): Mutation =>
  (rng, body) => {
    const leaves = nodes(body).filter(({ path }) => Object.hasOwn(badValues, String(path[path.length - 1])));
    if (leaves.length === 0) return undefined;
    const { path } = rng.pick(leaves);
    const bad = badValues[String(path[path.length - 1])](rng);
    return { body: setAt(body, path, bad.value), why: `${pathName(path)}: ${bad.why}` };
  };

/** Every field of every body is required (only those: removing an unknown field would repair the body). */
const missingField =
  (required: readonly string[]): Mutation =>
  (rng, body) => {
    const fields = nodes(body).filter(({ path }) => required.includes(String(path[path.length - 1])));
    if (fields.length === 0) return undefined;
    const { path } = rng.pick(fields);
    delete (getAt(body, path.slice(0, -1)) as JsonObject)[path[path.length - 1]];
    return { body, why: `${pathName(path)}: missing` };
  };

/** Every object is strict: an unknown field is refused, so a typo never passes silently. */
const extraField: Mutation = (rng, body) => {
  const objects = nodes(body).filter(({ value }) => isObject(value));
  if (objects.length === 0) return undefined;
  const { path, value } = rng.pick(objects);
  const key = rng.pick(UNKNOWN_KEYS);
  if (Object.hasOwn(value as JsonObject, key)) return undefined;
  const hugeArray = Array.from({ length: rng.int(100, 5_000) }, (_, i) => i);
  (value as JsonObject)[key] = rng.pick<Json>([
    true,
    1,
    rng.pick(ODD_TEXT),
    [],
    { nested: [1, 2, 3] },
    hugeArray,
  ]);
  return { body, why: `${pathName([...path, key])}: unknown field` };
};

/** An object where an array belongs, an array where an object belongs, or a scalar for either. */
const wrongContainer: Mutation = (rng, body) => {
  const containers = nodes(body).filter(({ value }) => typeof value === 'object' && value !== null);
  if (containers.length === 0) return undefined;
  const { path, value } = rng.pick(containers);
  const replacement = rng.pick<Json>(
    Array.isArray(value)
      ? [{}, { 0: value[0] ?? null }, 'items', 1, null, true]
      : [[], [value], JSON.stringify(value), 0, null, false],
  );
  return {
    body: setAt(body, path, replacement),
    why: `${pathName(path)}: ${JSON.stringify(replacement).slice(0, 40)} instead of ${Array.isArray(value) ? 'an array' : 'an object'}`,
  };
};

type WeightedMutations = readonly (readonly [number, Mutation])[];

/** Mostly bad values (wrong types, out-of-range numbers, bad text), then missing, unknown and misshapen fields. */
const schemaMutations = (badValues: BadValues, fields: readonly string[]): WeightedMutations => [
  [4, badLeaf(badValues)],
  [1, missingField(fields)],
  [1, extraField],
  [1, wrongContainer],
];

function mutate(rng: Choices, valid: Json, mutations: WeightedMutations): { body: Json; defect: string } {
  let body = structuredClone(valid);
  const defects: string[] = [];
  // One to three mutations; each leaves the body invalid, and none can make it valid again.
  const wanted = 1 + (rng.chance(0.3) ? 1 : 0) + (rng.chance(0.1) ? 1 : 0);
  for (let attempt = 0; defects.length < wanted && attempt < 20; attempt++) {
    const result = rng.weighted(
      mutations.map(([weight, mutation]) => [weight, () => mutation(rng, body)] as const),
    );
    if (!result) continue;
    body = result.body;
    defects.push(result.why);
  }
  if (defects.length === 0) throw new Error('no mutation applied; the generator is broken');
  return { body, defect: defects.join('; ') };
}

// ---------------------------------------------------------------------------------------------------
// Bodies that are broken as text or bytes, sent with the right content type

const JSON_TYPE = 'application/json';

function brokenJson(rng: Choices, valid: Json): { body: string | Buffer; defect: string } {
  const text = JSON.stringify(valid);
  const firstKey = Object.keys(valid as JsonObject)[0];
  const numberAt = [...text.matchAll(/:(\d+)/g)];
  const withNumber = (literal: string) => {
    const match = rng.pick(numberAt);
    const start = (match.index ?? 0) + 1;
    return text.slice(0, start) + literal + text.slice(start + match[1].length);
  };
  const stringAt = [...text.matchAll(/:"([^"]+)"/g)];
  const withString = (inside: string) => {
    // A body without strings (restock) gets one in an extra field.
    if (stringAt.length === 0) return `${text.slice(0, -1)},"note":"${inside}"}`;
    const match = rng.pick(stringAt);
    const start = (match.index ?? 0) + 2;
    return text.slice(0, start) + inside + text.slice(start + match[1].length);
  };
  return rng.weighted<{ body: string | Buffer; defect: string }>([
    [4, () => ({ body: text.slice(0, rng.int(1, text.length - 1)), defect: 'truncated JSON' })],
    [1, () => ({ body: '', defect: 'empty body' })],
    [1, () => ({ body: rng.pick([' ', '\n\t ', '\r\n']), defect: 'only whitespace' })],
    [
      2,
      () => ({
        body: text + rng.pick([',', '}', ']', 'x', ' {}', '\u0000', ';', text]),
        defect: 'trailing garbage',
      }),
    ],
    [1, () => ({ body: text.replaceAll('"', "'"), defect: 'single quotes' })],
    [1, () => ({ body: text.replace(/"(\w+)":/g, '$1:'), defect: 'unquoted keys' })],
    [1, () => ({ body: `${text.slice(0, -1)},}`, defect: 'trailing comma' })],
    [1, () => ({ body: rng.pick(['/* c */', '// c\n', '#c\n']) + text, defect: 'comment' })],
    [
      3,
      () => {
        const literal = rng.pick([
          'NaN',
          'Infinity',
          '-Infinity',
          'undefined',
          '0x10',
          '01',
          '+1',
          '.5',
          '1.',
          '1e',
          '--1',
        ]);
        return { body: withNumber(literal), defect: `number literal ${literal}` };
      },
    ],
    // Valid JSON, but it parses to ±Infinity, which no field takes.
    [
      1,
      () => ({ body: withNumber(rng.pick(['1e400', '-1e400'])), defect: 'number overflowing to Infinity' }),
    ],
    [
      2,
      () => {
        const escape = rng.pick(['\\x41', '\\u12', '\\q', '\n', '\t', '\u0001', '\\uD800\\u']);
        // "zz" after the escape: not hex, so "\u12" cannot complete into a valid escape.
        return {
          body: withString(`ab${escape}zz`),
          defect: `bad escape or raw control ${JSON.stringify(escape)}`,
        };
      },
    ],
    [
      1,
      () => ({
        body: rng.pick(['{', '}', '[', '{"', '"just a string', '{"a":}', '{:1}', '[1,]']),
        defect: 'unbalanced',
      }),
    ],
    [1, () => ({ body: `{"__proto__":{"isAdmin":true},${text.slice(1)}`, defect: '__proto__ key' })],
    [
      1,
      () => ({
        body: `{"constructor":{"prototype":{"isAdmin":true}},${text.slice(1)}`,
        defect: 'constructor.prototype key',
      }),
    ],
    // The last of duplicate keys wins in JSON.parse; make sure the last one is wrong.
    [
      1,
      () => ({
        body: `${text.slice(0, -1)},"${firstKey}":null}`,
        defect: `duplicate ${firstKey}, last one null`,
      }),
    ],
    [
      1,
      () => {
        const depth = rng.int(1_000, 20_000);
        return {
          body: `{"${firstKey}":${'['.repeat(depth)}${']'.repeat(depth)}}`,
          defect: `array nested ${depth} deep`,
        };
      },
    ],
    [1, () => ({ body: rng.bytes(rng.int(1, 2_000)), defect: 'random bytes' })],
    [
      1,
      () => ({
        body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text.slice(0, -1))]),
        defect: 'BOM and truncated',
      }),
    ],
    [1, () => ({ body: Buffer.from(text, 'utf16le'), defect: 'UTF-16 encoded' })],
    [
      2,
      () => {
        // Bytes that are not UTF-8 inside an otherwise valid body: JSON text must be UTF-8 (RFC 8259).
        const bytes = Buffer.from(rng.pick([[0xc0, 0xaf], [0xff], [0xed, 0xa0, 0x80], [0xe4, 0xb8], [0x80]]));
        const [before, after] = withString('\u0001SPLIT\u0001').split('\u0001SPLIT\u0001');
        return {
          body: Buffer.concat([
            Buffer.from(before),
            Buffer.from('ab'),
            bytes,
            Buffer.from('cd'),
            Buffer.from(after),
          ]),
          defect: `invalid UTF-8 ${bytes.toString('hex')} in a string`,
        };
      },
    ],
  ]);
}

// ---------------------------------------------------------------------------------------------------
// Wrong content types, oversized bodies

function wrongContentType(
  rng: Choices,
  valid: Json,
): { headers: Record<string, string>; body: string | Buffer; defect: string } {
  const text = JSON.stringify(valid);
  return rng.weighted([
    [
      4,
      () => {
        const type = rng.pick([
          'text/plain',
          'text/plain; charset=utf-8',
          'text/json',
          'application/jsonx',
          'application/json-patch+json',
          'application/ld+json',
          'application/javascript',
          'application/octet-stream',
          'application/xml',
          'image/png',
          'json',
          '*/*',
          'application/*',
          'application',
          '; charset=utf-8',
        ]);
        return { headers: { 'content-type': type }, body: text, defect: `JSON sent as ${type}` };
      },
    ],
    [1, () => ({ headers: {}, body: text, defect: 'JSON without a content type' })],
    [
      2,
      () => ({
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: formEncode(valid),
        defect: 'form-urlencoded body',
      }),
    ],
    [
      2,
      () => {
        const boundary = `----fuzz${rng.int(0, 1e9)}`;
        const body =
          `--${boundary}\r\nContent-Disposition: form-data; name="body"\r\nContent-Type: application/json\r\n\r\n` +
          `${text}\r\n--${boundary}--\r\n`;
        return {
          headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
          body,
          defect: 'multipart/form-data body',
        };
      },
    ],
    [
      1,
      () => ({
        headers: { 'content-type': 'application/xml' },
        body: `<?xml version="1.0"?><order>${text.replace(/[<&]/g, '')}</order>`,
        defect: 'XML body',
      }),
    ],
  ]);
}

function formEncode(value: Json, prefix = ''): string {
  if (typeof value !== 'object' || value === null)
    return `${encodeURIComponent(prefix)}=${encodeURIComponent(String(value))}`;
  return Object.entries(value)
    .map(([key, child]) => formEncode(child, prefix ? `${prefix}[${key}]` : key))
    .join('&');
}

/** A JSON object over the 64 KB body limit: padded, a huge array, chunked without a length, or several MB. */
function oversized(rng: Choices, valid: Json): { body: string | Buffer; chunked: boolean; defect: string } {
  const head = JSON.stringify(valid).slice(0, -1);
  return rng.weighted<{ body: string | Buffer; chunked: boolean; defect: string }>([
    [
      4,
      () => {
        const size = rng.int(BODY_LIMIT_BYTES + 1, 300 * 1024);
        return {
          body: `${head},"padding":"${'x'.repeat(size)}"}`,
          chunked: false,
          defect: `${size} B padding`,
        };
      },
    ],
    [
      2,
      () => {
        const lines = rng.int(2_200, 10_000);
        const items = Array.from({ length: lines }, (_, i) => ({ sku: `SKU-${i}`, quantity: 1 }));
        return {
          body: `${head},"items":${JSON.stringify(items)}}`,
          chunked: false,
          defect: `${lines}-element array`,
        };
      },
    ],
    [
      2,
      () => {
        const size = rng.int(BODY_LIMIT_BYTES + 1, 1024 * 1024);
        return {
          body: `${head},"padding":"${'y'.repeat(size)}"}`,
          chunked: true,
          defect: `${size} B chunked, no length`,
        };
      },
    ],
    [
      1,
      () => {
        const megabytes = rng.int(2, 5);
        return {
          body: Buffer.alloc(megabytes * 1024 * 1024, rng.pick(['z', '[', '{"a":'])),
          chunked: rng.chance(0.3),
          defect: `${megabytes} MB body`,
        };
      },
    ],
  ]);
}

// ---------------------------------------------------------------------------------------------------
// Bad path segments (order ids and skus)

const INVALID_PERCENT = ['%', '%%', '%zz', '%C0%AF', '%FF', '%E4%B8', '%u0041', 'TEA%', '%2', '%ED%A0%80'];
const DOTS = ['..', '.', '%2e%2e', '%2E', '...', '..%2F..%2Fetc%2Fpasswd', '..%5C..%5C'];
const BAD_ORDER_IDS = [
  'not-a-uuid',
  '123',
  '-1',
  '0',
  'null',
  'undefined',
  'true',
  '[object Object]',
  '2b1f6ad9-9b5e-4a57-8c57-0e7a2f1c9d1',
  '2b1f6ad9-9b5e-4a57-8c57-0e7a2f1c9d111',
  '2b1f6ad99b5e4a578c570e7a2f1c9d11',
  '{2b1f6ad9-9b5e-4a57-8c57-0e7a2f1c9d11}',
  'urn:uuid:2b1f6ad9-9b5e-4a57-8c57-0e7a2f1c9d11',
  'gb1f6ad9-9b5e-4a57-8c57-0e7a2f1c9d11',
  '2b1f6ad9_9b5e_4a57_8c57_0e7a2f1c9d11',
  ' 2b1f6ad9-9b5e-4a57-8c57-0e7a2f1c9d11',
  "' OR '1'='1",
];

/** A segment that is neither a valid sku nor a valid order id (each refused by format, never looked up). */
function badSegment(rng: Choices, extra: readonly string[]): { segment: string; why: string } {
  return rng.weighted([
    [4, () => ({ segment: encodeURIComponent(rng.pick(extra)), why: 'malformed' })],
    [3, () => ({ segment: encodeURIComponent(rng.pick(ODD_TEXT)), why: 'odd unicode, percent-encoded' })],
    [
      2,
      () => ({
        segment: encodeURIComponent(rng.pick(UNSTORABLE_TEXT.filter((t) => !/[\uD800-\uDFFF]/.test(t)))),
        why: 'NUL, percent-encoded',
      }),
    ],
    [3, () => ({ segment: rng.pick(INVALID_PERCENT), why: 'invalid percent-encoding' })],
    [2, () => ({ segment: rng.pick(DOTS), why: 'dot segments' })],
    [
      1,
      () => ({
        segment: rng.pick(['caf\u00e9', '\u00ff\u00fe', 'TEA\u0080001']),
        why: 'raw non-ASCII bytes',
      }),
    ],
    [2, () => ({ segment: 'A'.repeat(rng.int(65, 100)), why: 'too long' })],
    [2, () => ({ segment: 'A'.repeat(rng.int(101, 8_000)), why: 'very long' })],
    [
      1,
      () => ({
        segment: 'A'.repeat(rng.int(HEADER_LIMIT_BYTES, 3 * HEADER_LIMIT_BYTES)),
        why: 'longer than the header limit',
      }),
    ],
  ]);
}

function randomUuid(rng: Choices): string {
  const hex = (n: number) => Array.from({ length: n }, () => rng.int(0, 15).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${rng.pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`;
}

const SEEDED_SKUS = Object.values(SEED_PRODUCTS).map((product) => product.sku);

/** A well-formed sku no product has (case matters: tea-001 is not TEA-001). */
function unknownSku(rng: Choices): string {
  return rng.chance(0.3) ? rng.pick(SEEDED_SKUS).toLowerCase() : `NOPE-${rng.int(0, 999_999)}`;
}

/** Query strings and headers that are noise, not a defect: the request must still be refused for its defect. */
function noise(rng: Choices): { query: string; headers: Record<string, string> } {
  const query = rng.chance(0.1)
    ? rng.pick(['?', '?a=1', '?sku[]=x&sku[]=y', '?%zz', '?id=..%2F', '?&&=='])
    : '';
  const headers: Record<string, string> = {};
  if (rng.chance(0.1)) headers['x-correlation-id'] = rng.pick(['', 'x'.repeat(500), 'caf\u00e9', 'a b c']);
  if (rng.chance(0.05)) headers.accept = rng.pick(['application/xml', 'text/html', 'image/*', '']);
  return { query, headers };
}

// ---------------------------------------------------------------------------------------------------
// Per endpoint

function getRequest(rng: Choices, endpoint: FuzzedEndpoint): MalformedRequest {
  const isOrder = endpoint.startsWith('GET /orders');
  const suffix = endpoint.endsWith('/report') ? '/report' : endpoint.endsWith('/sales') ? '/sales' : '';
  const prefix = isOrder ? '/orders/' : '/products/';
  const { segment, why } = rng.weighted([
    [8, () => badSegment(rng, isOrder ? BAD_ORDER_IDS : BAD_SKUS)],
    [1, () => ({ segment: '', why: 'empty segment' })],
    [
      1,
      () =>
        isOrder
          ? rng.chance(0.8)
            ? { segment: randomUuid(rng), why: 'unknown order id' }
            : { segment: '00000000-0000-0000-0000-000000000000', why: 'nil UUID' }
          : { segment: encodeURIComponent(unknownSku(rng)), why: 'unknown sku' },
    ],
  ]);
  const { query, headers } = noise(rng);
  return { defect: `path: ${why}`, method: 'GET', path: `${prefix}${segment}${suffix}${query}`, headers };
}

const ORDER_FIELDS = ['customer', 'email', 'name', 'items', 'sku', 'quantity'];
const ORDER_BAD_VALUES: BadValues = {
  email: badEmail,
  name: (rng) => badText(rng, 200),
  sku: badSku,
  quantity: (rng) => badQuantity(rng, 1_000),
};

/** An order of 1-3 lines of the small-stock products, with valid (sometimes odd) customer names. */
function validOrder(rng: Choices): Json {
  const lines = rng.int(1, 3);
  return {
    customer: {
      email: rng.pick(['wang@example.cn', 'Lee.Seo-yeon@Example.KR', 'buyer+fuzz@example.com']),
      name: rng.chance(0.5) ? rng.pick(ODD_TEXT) : '王小明',
    },
    items: Array.from({ length: lines }, () => ({
      sku: rng.pick([SEED_PRODUCTS.tea.sku, SEED_PRODUCTS.kim.sku]),
      quantity: 1,
    })),
  };
}

/** A line naming a sku no product has: 422, nothing written. */
const unknownSkuLine: Mutation = (rng, body) => {
  const line = itemLine(rng, body);
  if (line === undefined) return undefined;
  setAt(body, ['items', line], { sku: unknownSku(rng), quantity: 1 });
  return { body, why: `items.${line}: unknown sku` };
};

/** A line asking for more than the stock: 409, and the other lines' stock is not taken either. */
const moreThanInStock: Mutation = (rng, body) => {
  const line = itemLine(rng, body);
  if (line === undefined) return undefined;
  const quantity = rng.int(SEED_PRODUCTS.tea.stock + 1, 1_000);
  setAt(body, ['items', line], { sku: SEED_PRODUCTS.tea.sku, quantity });
  return { body, why: `items.${line}: ${quantity} units, more than in stock` };
};

/** Quantities within the limit whose total no order can hold (it is a PostgreSQL integer). */
const totalTooLarge: Mutation = (rng, body) => {
  const line = itemLine(rng, body);
  if (line === undefined) return undefined;
  const quantity = rng.int(Math.ceil(INT4_MAX / SEED_PRODUCTS.goldBar.priceCents), 1_000);
  setAt(body, ['items', line], { sku: SEED_PRODUCTS.goldBar.sku, quantity });
  return { body, why: `items.${line}: ${quantity} gold bars, a total no order can hold` };
};

/** No lines, or more than 100 (a huge array, still under the body limit). */
const lineCountOutOfBounds: Mutation = (rng, body) => {
  if (!isObject(body)) return undefined;
  const lines = rng.chance(0.2) ? 0 : rng.int(101, 1_800);
  body.items = Array.from({ length: lines }, (_, i) => ({ sku: `SKU-${i % 50}`, quantity: 1 }));
  return { body, why: `items: ${lines} lines` };
};

/** Orders whose shape may be right but which the API must still refuse, writing nothing. */
const orderRefusals: WeightedMutations = [
  [1, unknownSkuLine],
  [1, moreThanInStock],
  [1, totalTooLarge],
  [1, lineCountOutOfBounds],
];

function itemLine(rng: Choices, body: Json): number | undefined {
  if (!isObject(body) || !Array.isArray(body.items) || body.items.length === 0) return undefined;
  return rng.int(0, body.items.length - 1);
}

const BAD_IDEMPOTENCY_KEYS = ['has space', 'tab\there', 'caf\u00e9', '\u00ff\u00fe'];

function badIdempotencyKey(rng: Choices): { value: string; why: string } {
  return rng.weighted([
    [3, () => ({ value: rng.pick(BAD_IDEMPOTENCY_KEYS), why: 'not visible ASCII' })],
    [1, () => ({ value: '', why: 'empty' })],
    [2, () => ({ value: 'k'.repeat(rng.int(201, 8_000)), why: 'too long' })],
    [
      1,
      () => ({
        value: 'k'.repeat(rng.int(HEADER_LIMIT_BYTES, 2 * HEADER_LIMIT_BYTES)),
        why: 'over the header limit',
      }),
    ],
  ]);
}

function postOrder(rng: Choices): MalformedRequest {
  const valid = validOrder(rng);
  const { headers: noiseHeaders } = noise(rng);
  const validKey: Record<string, string> = rng.chance(0.3)
    ? { 'idempotency-key': `fuzz-${rng.int(0, 1e9)}` }
    : {};
  const request = (
    defect: string,
    body: string | Buffer,
    headers: Record<string, string>,
    chunked = false,
  ) => ({
    defect,
    method: 'POST' as const,
    path: '/orders',
    headers: { ...noiseHeaders, ...validKey, ...headers },
    body,
    chunked,
  });
  return rng.weighted([
    [
      12,
      () => {
        const mutations = rng.chance(0.2) ? orderRefusals : schemaMutations(ORDER_BAD_VALUES, ORDER_FIELDS);
        const { body, defect } = mutate(rng, valid, mutations);
        return request(defect, JSON.stringify(body), { 'content-type': JSON_TYPE });
      },
    ],
    [
      4,
      () => {
        const { body, defect } = brokenJson(rng, valid);
        return request(defect, body, { 'content-type': JSON_TYPE }, rng.chance(0.2));
      },
    ],
    [
      2,
      () => {
        const { body, headers, defect } = wrongContentType(rng, valid);
        return request(defect, body, headers);
      },
    ],
    [
      1,
      () => {
        const { body, chunked, defect } = oversized(rng, valid);
        return request(defect, body, { 'content-type': JSON_TYPE }, chunked);
      },
    ],
    [
      1,
      () => {
        // A valid body: the header alone must be refused.
        const key = badIdempotencyKey(rng);
        return request(`Idempotency-Key: ${key.why}`, JSON.stringify(valid), {
          'content-type': JSON_TYPE,
          'idempotency-key': key.value,
        });
      },
    ],
  ]);
}

const PRODUCT_BAD_VALUES: BadValues = {
  name: (rng) => badText(rng, 200),
  priceCents: (rng) => badInteger(rng, 0, 100_000_000),
  stock: (rng) => badInteger(rng, 0, 1_000_000_000),
};
const RESTOCK_BAD_VALUES: BadValues = { quantity: (rng) => badQuantity(rng, 1_000_000_000) };

/** PUT /products/:sku and POST /products/:sku/restock: a bad body, or a valid body at a bad sku. */
function productWrite(
  rng: Choices,
  endpoint: 'PUT /products/:sku' | 'POST /products/:sku/restock',
): MalformedRequest {
  const isPut = endpoint.startsWith('PUT');
  const valid: Json = isPut
    ? {
        name: rng.chance(0.5) ? rng.pick(ODD_TEXT) : '秒杀 flash item',
        priceCents: rng.int(0, 100_000),
        stock: rng.int(0, 1_000),
      }
    : { quantity: rng.int(1, 1_000) };
  const badValues = isPut ? PRODUCT_BAD_VALUES : RESTOCK_BAD_VALUES;
  // A bad body may go to a real sku (deeper validation), a new one, or a malformed one.
  const anySku = () =>
    rng.weighted([
      [3, () => rng.pick(SEEDED_SKUS)],
      [1, () => `NEW-${rng.int(0, 999_999)}`],
      [1, () => badSegment(rng, BAD_SKUS).segment],
    ]);
  const { query, headers: noiseHeaders } = noise(rng);
  const at = (sku: string) => `/products/${sku}${isPut ? '' : '/restock'}${query}`;
  const request = (
    defect: string,
    sku: string,
    body: string | Buffer,
    headers: Record<string, string>,
    chunked = false,
  ) => ({
    defect,
    method: isPut ? ('PUT' as const) : ('POST' as const),
    path: at(sku),
    headers: { ...noiseHeaders, ...headers },
    body,
    chunked,
  });
  const json = { 'content-type': JSON_TYPE };
  return rng.weighted([
    [
      12,
      () => {
        const { body, defect } = mutate(rng, valid, schemaMutations(badValues, Object.keys(badValues)));
        return request(defect, anySku(), JSON.stringify(body), json);
      },
    ],
    [
      4,
      () => {
        const { body, defect } = brokenJson(rng, valid);
        return request(defect, anySku(), body, json, rng.chance(0.2));
      },
    ],
    [
      2,
      () => {
        const { body, headers, defect } = wrongContentType(rng, valid);
        return request(defect, anySku(), body, headers);
      },
    ],
    [
      1,
      () => {
        const { body, chunked, defect } = oversized(rng, valid);
        return request(defect, anySku(), body, json, chunked);
      },
    ],
    [
      2,
      () => {
        // A valid body: the sku in the path alone must be refused (restock may also say it is unknown).
        const { segment, why } =
          !isPut && rng.chance(0.3)
            ? { segment: encodeURIComponent(unknownSku(rng)), why: 'unknown sku' }
            : badSegment(rng, BAD_SKUS);
        return request(`path: ${why}`, segment, JSON.stringify(valid), json);
      },
    ],
    ...(isPut
      ? []
      : [
          [
            1,
            () => {
              const quantity = rng.int(INT4_MAX - SEED_PRODUCTS.sand.stock + 1, 1_000_000_000);
              return request(
                `quantity ${quantity}: stock would overflow`,
                SEED_PRODUCTS.sand.sku,
                JSON.stringify({ quantity }),
                json,
              );
            },
          ] as const,
        ]),
  ]);
}

/** Malformed requests for `endpoint`, as a fast-check arbitrary (seeded by the property that uses it). */
export function malformedRequest(endpoint: FuzzedEndpoint): fc.Arbitrary<MalformedRequest> {
  return fc.gen().map((draw): MalformedRequest => {
    const rng = new Choices(draw);
    switch (endpoint) {
      case 'POST /orders':
        return postOrder(rng);
      case 'PUT /products/:sku':
      case 'POST /products/:sku/restock':
        return productWrite(rng, endpoint);
      default:
        return getRequest(rng, endpoint);
    }
  });
}

/**
 * Requests that found real bugs once, sent first on every run whatever the seed: text PostgreSQL cannot
 * store (a NUL, an unpaired surrogate), totals and stock past PostgreSQL's integer range, and bodies that
 * are not UTF-8.
 */
export const KNOWN_DEFECTS: Readonly<Partial<Record<FuzzedEndpoint, readonly MalformedRequest[]>>> = (() => {
  const json = { 'content-type': JSON_TYPE };
  const order = (name: string, sku: string, quantity: number) =>
    JSON.stringify({ customer: { email: 'wang@example.cn', name }, items: [{ sku, quantity }] });
  const tea = SEED_PRODUCTS.tea.sku;
  const notUtf8 = Buffer.concat([
    Buffer.from('{"customer":{"email":"wang@example.cn","name":"'),
    Buffer.from([0xc3, 0x28, 0xff]),
    Buffer.from(`"},"items":[{"sku":"${tea}","quantity":1}]}`),
  ]);
  return {
    'POST /orders': [
      {
        defect: 'customer.name: a NUL character',
        method: 'POST',
        path: '/orders',
        headers: json,
        body: order('王\u0000小明', tea, 1),
      },
      {
        defect: 'customer.name: an unpaired surrogate',
        method: 'POST',
        path: '/orders',
        headers: json,
        body: order('lone \uD800 high', tea, 1),
      },
      {
        defect: 'total over the integer range (22 gold bars)',
        method: 'POST',
        path: '/orders',
        headers: json,
        body: order('王小明', SEED_PRODUCTS.goldBar.sku, 22),
      },
      { defect: 'the body is not UTF-8', method: 'POST', path: '/orders', headers: json, body: notUtf8 },
      {
        defect: 'the body is not UTF-8, chunked',
        method: 'POST',
        path: '/orders',
        headers: json,
        body: notUtf8,
        chunked: true,
      },
    ],
    'PUT /products/:sku': [
      {
        defect: 'name: a NUL character',
        method: 'PUT',
        path: '/products/FUZZ-NEW-1',
        headers: json,
        body: '{"name":"nul\u0000inside","priceCents":100,"stock":1}',
      },
      {
        defect: 'stock: over the integer range',
        method: 'PUT',
        path: '/products/FUZZ-NEW-2',
        headers: json,
        body: `{"name":"x","priceCents":100,"stock":${INT4_MAX + 1}}`,
      },
    ],
    'POST /products/:sku/restock': [
      {
        defect: 'stock would pass the integer range',
        method: 'POST',
        path: `/products/${SEED_PRODUCTS.sand.sku}/restock`,
        headers: json,
        body: '{"quantity":150000000}',
      },
    ],
    'GET /orders/:id': [
      { defect: 'id: a percent-encoded surrogate', method: 'GET', path: '/orders/%ED%A0%80', headers: {} },
    ],
  };
})();

/** The request in a few lines, long values shortened, invisible characters escaped. */
export function describeRequest(request: MalformedRequest, maxLength = 300): string {
  const shorten = (text: string) =>
    text.length > maxLength
      ? `${JSON.stringify(text.slice(0, maxLength))}… (${text.length} chars)`
      : JSON.stringify(text);
  const headers = Object.entries(request.headers).map(([name, value]) => `${name}: ${shorten(value)}`);
  const body =
    request.body === undefined
      ? 'no body'
      : typeof request.body === 'string'
        ? `body ${shorten(request.body)}`
        : `body (${request.body.length} bytes, shown as latin1) ${shorten(request.body.toString('latin1'))}`;
  return [
    `${request.method} ${shorten(request.path)}${request.chunked ? ' (chunked)' : ''}`,
    `  defect: ${request.defect}`,
    `  headers: ${headers.length > 0 ? headers.join(', ') : 'none'}`,
    `  ${body}`,
  ].join('\n');
}
