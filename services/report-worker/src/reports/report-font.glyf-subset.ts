import type * as fontkit from 'fontkit';

/*
 * The font program embedded in each PDF for a TrueType face (Noto Sans SC and KR from npm): a TrueType font
 * that holds only the glyphs the document uses. fontkit can write one, but it decodes every glyph's outline
 * again for each document. Here the tables are found once per face, in the file's own bytes, and a
 * document's subset copies each glyph's bytes as they are.
 */

/** The subset interface pdfkit's EmbeddedFont uses; without a `cff` field it embeds a FontFile2. */
export interface TrueTypeSubset {
  includeGlyph(glyphId: number): number;
  encode(): Uint8Array;
}

interface TableRange {
  offset: number;
  length: number;
}

/** What every subset of one face shares: the source bytes and where its tables and glyphs are. */
export class GlyfSubsetSource {
  private readonly view: DataView;

  private constructor(
    readonly face: fontkit.Font,
    private readonly bytes: Uint8Array,
    private readonly tables: Readonly<Record<RequiredTable, TableRange>>,
    /** Hinting tables copied as they are, when the font has them. */
    private readonly hinting: ReadonlyArray<{ tag: string; range: TableRange }>,
    /** Where each glyph's bytes start inside glyf; one entry more than there are glyphs. */
    private readonly glyphOffsets: Uint32Array,
    private readonly horizontalMetrics: number,
  ) {
    this.view = dataView(bytes);
  }

  /**
   * `bytes` is the file `face` was parsed from. Returns null for a file this writer does not handle (a
   * collection, CFF outlines, unusual structure).
   */
  static from(face: fontkit.Font, bytes: Uint8Array): GlyfSubsetSource | null {
    try {
      return GlyfSubsetSource.parse(face, bytes);
    } catch {
      return null;
    }
  }

  private static parse(face: fontkit.Font, bytes: Uint8Array): GlyfSubsetSource | null {
    const view = dataView(bytes);
    const version = view.getUint32(0);
    if (version !== 0x00010000 && version !== TRUE_TAG) return null;
    const found = new Map<string, TableRange>();
    const count = view.getUint16(4);
    for (let i = 0; i < count; i++) {
      const record = 12 + 16 * i;
      const tag = String.fromCharCode(...bytes.subarray(record, record + 4));
      const range = { offset: view.getUint32(record + 8), length: view.getUint32(record + 12) };
      if (range.offset + range.length > bytes.length) return null;
      found.set(tag, range);
    }
    const tables = {} as Record<RequiredTable, TableRange>;
    for (const tag of REQUIRED_TABLES) {
      const range = found.get(tag);
      if (!range) return null;
      tables[tag] = range;
    }
    const glyphCount = view.getUint16(tables.maxp.offset + 4);
    const longOffsets = view.getInt16(tables.head.offset + 50) === 1;
    const glyphOffsets = new Uint32Array(glyphCount + 1);
    for (let g = 0; g <= glyphCount; g++) {
      glyphOffsets[g] = longOffsets
        ? view.getUint32(tables.loca.offset + 4 * g)
        : 2 * view.getUint16(tables.loca.offset + 2 * g);
    }
    if (glyphOffsets[glyphCount] > tables.glyf.length) return null;
    const horizontalMetrics = view.getUint16(tables.hhea.offset + 34);
    if (
      horizontalMetrics === 0 ||
      tables.hmtx.length < 4 * horizontalMetrics + 2 * (glyphCount - horizontalMetrics)
    )
      return null;
    const hinting = HINTING_TABLES.flatMap((tag) => {
      const range = found.get(tag);
      return range ? [{ tag, range }] : [];
    });
    return new GlyfSubsetSource(face, bytes, tables, hinting, glyphOffsets, horizontalMetrics);
  }

  get glyphCount(): number {
    return this.glyphOffsets.length - 1;
  }

  /** The glyph's bytes in the source (empty for a glyph without outline, such as a space). */
  glyphBytes(glyphId: number): Uint8Array {
    const start = this.tables.glyf.offset + this.glyphOffsets[glyphId];
    return this.bytes.subarray(start, this.tables.glyf.offset + this.glyphOffsets[glyphId + 1]);
  }

  /** Advance width and left side bearing, as the hmtx table stores them for a glyph. */
  metrics(glyphId: number): [number, number] {
    const { view } = this;
    const { offset } = this.tables.hmtx;
    const long = Math.min(glyphId, this.horizontalMetrics - 1);
    const advance = view.getUint16(offset + 4 * long);
    const bearing =
      glyphId < this.horizontalMetrics
        ? view.getInt16(offset + 4 * glyphId + 2)
        : view.getInt16(offset + 4 * this.horizontalMetrics + 2 * (glyphId - this.horizontalMetrics));
    return [advance, bearing];
  }

  table(tag: RequiredTable): Uint8Array {
    const { offset, length } = this.tables[tag];
    return this.bytes.subarray(offset, offset + length);
  }

  hintingTables(): Array<{ tag: string; data: Uint8Array }> {
    return this.hinting.map(({ tag, range }) => ({
      tag,
      data: this.bytes.subarray(range.offset, range.offset + range.length),
    }));
  }

  createSubset(): TrueTypeSubset {
    return new GlyfSubset(this);
  }
}

const TRUE_TAG = 0x74727565; // 'true': Apple's TrueType
const REQUIRED_TABLES = ['head', 'hhea', 'maxp', 'loca', 'glyf', 'hmtx'] as const;
type RequiredTable = (typeof REQUIRED_TABLES)[number];
const HINTING_TABLES = ['cvt ', 'fpgm', 'prep'] as const;

class GlyfSubset implements TrueTypeSubset {
  private readonly glyphIds: number[] = [];
  private readonly newIds = new Map<number, number>();

  constructor(private readonly source: GlyfSubsetSource) {
    this.includeGlyph(0); // .notdef comes first in every TrueType font
  }

  includeGlyph(glyphId: number): number {
    let newId = this.newIds.get(glyphId);
    if (newId === undefined) {
      if (glyphId < 0 || glyphId >= this.source.glyphCount) throw new Error(`no glyph ${glyphId}`);
      newId = this.glyphIds.length;
      this.glyphIds.push(glyphId);
      this.newIds.set(glyphId, newId);
    }
    return newId;
  }

  encode(): Uint8Array {
    const glyphs = this.glyphIds.map((glyphId) => this.source.glyphBytes(glyphId));
    // A composite glyph names other glyphs by id (Noto Sans SC and KR have none): fontkit's subset renumbers them.
    if (glyphs.some(isComposite)) {
      const { face } = this.source;
      const subset = face.createSubset();
      for (const glyphId of this.glyphIds) subset.includeGlyph(face.getGlyph(glyphId));
      return subset.encode();
    }
    const { source } = this;
    const count = glyphs.length;

    const loca = new ByteWriter(4 * (count + 1));
    const glyfLength = glyphs.reduce((sum, glyph) => sum + padded(glyph.length), 0);
    const glyf = new ByteWriter(glyfLength);
    for (const glyph of glyphs) {
      loca.uint32(glyf.position);
      glyf.bytes(glyph).zeros(padded(glyph.length) - glyph.length);
    }
    loca.uint32(glyf.position);
    const hmtx = new ByteWriter(4 * count);
    for (const glyphId of this.glyphIds) {
      const [advance, bearing] = source.metrics(glyphId);
      hmtx.uint16(advance).int16(bearing);
    }
    const head = copyOf(source.table('head'));
    const headView = dataView(head);
    headView.setUint32(8, 0); // checkSumAdjustment, set once the whole font is written
    headView.setInt16(50, 1); // indexToLocFormat: 32-bit offsets
    const hhea = copyOf(source.table('hhea'));
    dataView(hhea).setUint16(34, count);
    const maxp = copyOf(source.table('maxp'));
    dataView(maxp).setUint16(4, count);

    return writeFont([
      { tag: 'glyf', data: glyf.done() },
      { tag: 'head', data: head },
      { tag: 'hhea', data: hhea },
      { tag: 'hmtx', data: hmtx.done() },
      { tag: 'loca', data: loca.done() },
      { tag: 'maxp', data: maxp },
      ...source.hintingTables(),
    ]);
  }
}

/** A glyph with a negative number of contours is made of other glyphs. */
const isComposite = (glyph: Uint8Array) => glyph.length >= 2 && dataView(glyph).getInt16(0) < 0;

/** An sfnt: the table directory (tags in ascending order), then each table padded to 4 bytes. */
function writeFont(tables: ReadonlyArray<{ tag: string; data: Uint8Array }>): Uint8Array {
  const sorted = [...tables].sort((a, b) => (a.tag < b.tag ? -1 : 1));
  const directorySize = 12 + 16 * sorted.length;
  const total = sorted.reduce((sum, table) => sum + padded(table.data.length), directorySize);
  const out = new ByteWriter(total);
  const power = 2 ** Math.floor(Math.log2(sorted.length));
  out.uint32(0x00010000).uint16(sorted.length);
  out
    .uint16(16 * power)
    .uint16(Math.log2(power))
    .uint16(16 * sorted.length - 16 * power);
  let offset = directorySize;
  for (const { tag, data } of sorted) {
    out.bytes(Uint8Array.from(tag, (c) => c.charCodeAt(0)));
    out.uint32(checksum(data)).uint32(offset).uint32(data.length);
    offset += padded(data.length);
  }
  let headAt = 0;
  for (const { tag, data } of sorted) {
    if (tag === 'head') headAt = out.position;
    out.bytes(data).zeros(padded(data.length) - data.length);
  }
  const font = out.done();
  dataView(font).setUint32(headAt + 8, (0xb1b0afba - checksum(font)) >>> 0);
  return font;
}

/** The sum of a table's (or the whole font's) big-endian 32-bit words, the last one padded with zeros. */
function checksum(data: Uint8Array): number {
  let sum = 0;
  const whole = data.length - (data.length % 4);
  const view = dataView(data);
  for (let i = 0; i < whole; i += 4) sum = (sum + view.getUint32(i)) >>> 0;
  if (whole < data.length) {
    let last = 0;
    for (let k = 0; k < 4; k++) last = (last << 8) | (data[whole + k] ?? 0);
    sum = (sum + (last >>> 0)) >>> 0;
  }
  return sum;
}

const padded = (length: number) => (length + 3) & ~3;

/** A copy: `slice()` of a Node Buffer (what readFileSync returns) would share the source's memory. */
const copyOf = (data: Uint8Array) => new Uint8Array(data);

const dataView = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

class ByteWriter {
  private readonly buffer: Uint8Array;
  private readonly view: DataView;
  position = 0;

  constructor(size: number) {
    this.buffer = new Uint8Array(size);
    this.view = dataView(this.buffer);
  }

  bytes(data: Uint8Array): this {
    this.buffer.set(data, this.position);
    this.position += data.length;
    return this;
  }

  zeros(count: number): this {
    this.position += count;
    return this;
  }

  uint16(value: number): this {
    this.view.setUint16(this.position, value);
    this.position += 2;
    return this;
  }

  int16(value: number): this {
    this.view.setInt16(this.position, value);
    this.position += 2;
    return this;
  }

  uint32(value: number): this {
    this.view.setUint32(this.position, value);
    this.position += 4;
    return this;
  }

  done(): Uint8Array {
    if (this.position !== this.buffer.length) throw new Error('TrueType subset size mismatch');
    return this.buffer;
  }
}
