import type * as fontkit from 'fontkit';

/*
 * The font program embedded in each PDF: a CID-keyed CFF that holds only the glyphs the document uses.
 * fontkit can write one, but it re-encodes every dictionary through its generic struct encoder and keeps a
 * slot for each of the source's ~45,000 subroutines. Here the parts that are the same for every document
 * (dictionaries, copied byte for byte from the source) are prepared once per face, each glyph's charstring
 * is desubroutinized once and kept, and a document's subset is those pieces laid end to end.
 */

/** The subset interface pdfkit's EmbeddedFont uses: `includeGlyph` while drawing, `encode` at `doc.end()`. */
export interface ReportFontSubset {
  /** pdfkit writes a CFF subset as FontFile3 (CIDFontType0C) when this is set. */
  readonly cff: unknown;
  includeGlyph(glyphId: number): number;
  encode(): Uint8Array;
}

/** fontkit 2.0 internals read here (CFFFont); a face without them gets fontkit's own subset. */
interface CffIndexEntry {
  offset: number;
  length: number;
}

interface FontkitCff {
  version: number;
  isCIDFont: boolean;
  stream: { pos: number; readBuffer(length: number): Uint8Array };
  globalSubrIndex?: CffIndexEntry[];
  getCharString(glyphId: number): Uint8Array;
  fdForGlyph(glyphId: number): number | null;
  privateDictForGlyph(glyphId: number): { Subrs?: CffIndexEntry[] } | null;
}

interface FontkitFace {
  'CFF '?: FontkitCff;
  directory: { tables: Record<string, { offset: number; length: number } | undefined> };
  stream: { buffer: Uint8Array };
}

/** A glyph as the subset stores it: its charstring without subroutine calls and its Font DICT. */
interface SubsetGlyph {
  charString: Uint8Array;
  fontDict: number;
}

/** What every subset of one face shares. */
export class CffSubsetSource {
  private readonly glyphs = new Map<number, SubsetGlyph>();

  private constructor(
    readonly face: fontkit.Font,
    private readonly cff: FontkitCff,
    /** The Name INDEX entry: the font's PostScript name. */
    readonly fontName: Uint8Array,
    /** Top DICT entries copied from the source that describe the whole font (FontMatrix, FontBBox, ...). */
    readonly topDictEntries: Uint8Array,
    /** Per source Font DICT: its entries other than Private and FontName, and its Private DICT without Subrs. */
    readonly fontDicts: ReadonlyArray<{ entries: Uint8Array; privateDict: Uint8Array }>,
  ) {}

  /** Returns null for a font this writer does not handle (TrueType outlines, CFF2, unusual structure). */
  static from(face: fontkit.Font): CffSubsetSource | null {
    const internals = face as unknown as FontkitFace;
    const cff = internals['CFF '];
    const table = internals.directory?.tables?.['CFF '];
    const bytes = internals.stream?.buffer;
    if (!cff || cff.version >= 2 || !table || !(bytes instanceof Uint8Array)) return null;
    try {
      return CffSubsetSource.parse(face, cff, bytes, table.offset);
    } catch {
      return null;
    }
  }

  private static parse(
    face: fontkit.Font,
    cff: FontkitCff,
    bytes: Uint8Array,
    start: number,
  ): CffSubsetSource {
    const nameIndex = readIndex(bytes, start + bytes[start + 2]);
    const topDictIndex = readIndex(bytes, nameIndex.end);
    if (nameIndex.entries.length !== 1 || topDictIndex.entries.length !== 1) throw new Error('not one font');
    const [nameStart, nameEnd] = nameIndex.entries[0];
    const top = readDict(bytes, ...topDictIndex.entries[0]);
    const topDictEntries = keepEntries(bytes, top, FONT_WIDE_OPERATORS);

    const fontDicts: Array<{ entries: Uint8Array; privateDict: Uint8Array }> = [];
    const fdArray = top.find((entry) => entry.operator === OP_FD_ARRAY);
    if (cff.isCIDFont) {
      if (!fdArray || !top.some((entry) => entry.operator === OP_FD_SELECT)) throw new Error('no FDArray');
      for (const [dictStart, dictEnd] of readIndex(bytes, start + fdArray.operands[0]).entries) {
        const dict = readDict(bytes, dictStart, dictEnd);
        fontDicts.push({
          entries: keepEntries(bytes, dict, FONT_WIDE_OPERATORS),
          privateDict: privateDictOf(bytes, start, dict),
        });
      }
    } else {
      fontDicts.push({ entries: new Uint8Array(0), privateDict: privateDictOf(bytes, start, top) });
    }
    return new CffSubsetSource(face, cff, bytes.slice(nameStart, nameEnd), topDictEntries, fontDicts);
  }

  /** The glyph ready for a subset; computed once per glyph id and kept (a CJK glyph is a few hundred bytes). */
  glyph(glyphId: number): SubsetGlyph {
    let glyph = this.glyphs.get(glyphId);
    if (!glyph) {
      const fontDict = this.cff.isCIDFont ? (this.cff.fdForGlyph(glyphId) ?? 0) : 0;
      if (!this.fontDicts[fontDict]) throw new Error(`glyph ${glyphId} has no Font DICT`);
      glyph = { charString: desubroutinize(this.cff, glyphId), fontDict };
      if (this.glyphs.size < MAX_KEPT_GLYPHS) this.glyphs.set(glyphId, glyph);
    }
    return glyph;
  }

  createSubset(): ReportFontSubset {
    return new CffSubset(this);
  }
}

// Bounds the kept charstrings to a few MB even for a font with tens of thousands of glyphs.
const MAX_KEPT_GLYPHS = 20_000;

class CffSubset implements ReportFontSubset {
  readonly cff = true;
  private readonly glyphIds: number[] = [];
  private readonly newIds = new Map<number, number>();

  constructor(private readonly source: CffSubsetSource) {
    this.includeGlyph(0); // .notdef comes first in every CFF
  }

  includeGlyph(glyphId: number): number {
    let newId = this.newIds.get(glyphId);
    if (newId === undefined) {
      newId = this.glyphIds.length;
      this.glyphIds.push(glyphId);
      this.newIds.set(glyphId, newId);
    }
    return newId;
  }

  encode(): Uint8Array {
    let glyphs: SubsetGlyph[];
    try {
      glyphs = this.glyphIds.map((glyphId) => this.source.glyph(glyphId));
    } catch {
      // A charstring this inliner does not handle: fontkit's subset is correct, only larger.
      const fallback = this.source.face.createSubset();
      for (const glyphId of this.glyphIds) fallback.includeGlyph(this.source.face.getGlyph(glyphId));
      return fallback.encode();
    }
    return writeCidCff(this.source, glyphs);
  }
}

/*
 * Layout: header, Name, Top DICT, String and (empty) Global Subr INDEXes, charset, FDSelect, CharStrings,
 * FDArray, then the Private DICTs. Offsets in the DICTs are written as 5-byte integers so that every size is
 * known before any offset is.
 */
function writeCidCff(source: CffSubsetSource, glyphs: SubsetGlyph[]): Uint8Array {
  const usedDicts: number[] = [];
  const newDictOf = new Map<number, number>();
  for (const { fontDict } of glyphs) {
    if (!newDictOf.has(fontDict)) {
      newDictOf.set(fontDict, usedDicts.length);
      usedDicts.push(fontDict);
    }
  }
  const fontDicts = usedDicts.map((index) => source.fontDicts[index]);

  const header = [1, 0, 4, 4];
  const nameIndexSize = indexSize([source.fontName.length]);
  const topDictSize = ROS.length + source.topDictEntries.length + TOP_DICT_OFFSETS_SIZE;
  const topIndexSize = indexSize([topDictSize]);
  const stringIndexSize = indexSize(STRINGS.map((s) => s.length));
  const charsetSize = glyphs.length > 1 ? 5 : 1;
  const fdSelectSize = 1 + glyphs.length;
  const charStringsSize = indexSize(glyphs.map((g) => g.charString.length));
  const fontDictSizes = fontDicts.map((d) => d.entries.length + 11);
  const fdArraySize = indexSize(fontDictSizes);

  const charsetOffset = header.length + nameIndexSize + topIndexSize + stringIndexSize + 2;
  const fdSelectOffset = charsetOffset + charsetSize;
  const charStringsOffset = fdSelectOffset + fdSelectSize;
  const fdArrayOffset = charStringsOffset + charStringsSize;
  let privateOffset = fdArrayOffset + fdArraySize;
  const total = privateOffset + fontDicts.reduce((sum, d) => sum + d.privateDict.length, 0);

  const out = new ByteWriter(total);
  out.bytes(header);
  out.index([source.fontName]);
  out.indexHeader([topDictSize]);
  out.bytes(ROS);
  out.bytes(source.topDictEntries);
  out.int5(glyphs.length).bytes(OP_CID_COUNT);
  out.int5(charsetOffset).bytes([OP_CHARSET]);
  out.int5(fdSelectOffset).bytes(OP_FD_SELECT_BYTES);
  out.int5(charStringsOffset).bytes([OP_CHAR_STRINGS]);
  out.int5(fdArrayOffset).bytes(OP_FD_ARRAY_BYTES);
  out.index(STRINGS.map((s) => Uint8Array.from(s, (c) => c.charCodeAt(0))));
  out.bytes([0, 0]); // no global subroutines: every call is inlined
  // charset format 2: glyphs 1..n-1 are CIDs 1..n-1 (Identity ordering)
  if (glyphs.length > 1) out.bytes([2, 0, 1, (glyphs.length - 2) >> 8, (glyphs.length - 2) & 0xff]);
  else out.bytes([0]);
  out.bytes([0]); // FDSelect format 0: one Font DICT index per glyph
  for (const { fontDict } of glyphs) out.byte(newDictOf.get(fontDict) as number);
  out.index(glyphs.map((g) => g.charString));
  out.indexHeader(fontDictSizes);
  for (const dict of fontDicts) {
    out.bytes(dict.entries);
    out.int5(dict.privateDict.length).int5(privateOffset).bytes([OP_PRIVATE]);
    privateOffset += dict.privateDict.length;
  }
  for (const dict of fontDicts) out.bytes(dict.privateDict);
  return out.done();
}

// Registry "Adobe", Ordering "Identity" (SIDs 391, 392: the first custom strings), Supplement 0.
const STRINGS = ['Adobe', 'Identity'];
const ROS = [...dictInteger(391), ...dictInteger(392), ...dictInteger(0), 12, 30];
// CIDCount, charset, FDSelect, CharStrings and FDArray: a 5-byte integer and an operator each.
const TOP_DICT_OFFSETS_SIZE = 5 * 5 + 2 + 1 + 2 + 1 + 2;
const OP_CID_COUNT = [12, 34];
const OP_CHARSET = 15;
const OP_CHAR_STRINGS = 17;
const OP_PRIVATE = 18;
const OP_SUBRS = 19;
const OP_FD_ARRAY = 0x0c24;
const OP_FD_SELECT = 0x0c25;
const OP_FD_ARRAY_BYTES = [12, 36];
const OP_FD_SELECT_BYTES = [12, 37];

/** Entries that describe outlines or metrics and carry no string ids or offsets into the source. */
const FONT_WIDE_OPERATORS = new Set([
  5, // FontBBox
  0x0c01, // isFixedPitch
  0x0c02, // ItalicAngle
  0x0c03, // UnderlinePosition
  0x0c04, // UnderlineThickness
  0x0c05, // PaintType
  0x0c06, // CharstringType
  0x0c07, // FontMatrix
  0x0c08, // StrokeWidth
  0x0c1f, // CIDFontVersion
  0x0c20, // CIDFontRevision
  0x0c21, // CIDFontType
]);

/** A DICT integer operand in its shortest form (CFF spec, table 3). */
function dictInteger(value: number): number[] {
  if (value >= -107 && value <= 107) return [value + 139];
  if (value >= 108 && value <= 1131) return [((value - 108) >> 8) + 247, (value - 108) & 0xff];
  if (value >= -1131 && value <= -108) return [((-value - 108) >> 8) + 251, (-value - 108) & 0xff];
  return [29, (value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
}

function indexSize(lengths: readonly number[]): number {
  if (lengths.length === 0) return 2;
  const data = lengths.reduce((a, b) => a + b, 0);
  return 3 + (lengths.length + 1) * offsetSize(data + 1) + data;
}

function offsetSize(largest: number): number {
  return largest < 0x100 ? 1 : largest < 0x10000 ? 2 : largest < 0x1000000 ? 3 : 4;
}

class ByteWriter {
  private readonly buffer: Uint8Array;
  private position = 0;

  constructor(size: number) {
    this.buffer = new Uint8Array(size);
  }

  bytes(data: ArrayLike<number>): this {
    this.buffer.set(data, this.position);
    this.position += data.length;
    return this;
  }

  byte(value: number): this {
    this.buffer[this.position++] = value;
    return this;
  }

  int5(value: number): this {
    return this.bytes([29, (value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff]);
  }

  /** An INDEX's count, offSize and offsets; the caller writes the data. */
  indexHeader(lengths: readonly number[]): this {
    this.bytes([lengths.length >> 8, lengths.length & 0xff]);
    if (lengths.length === 0) return this;
    const size = offsetSize(lengths.reduce((a, b) => a + b, 0) + 1);
    this.bytes([size]);
    let offset = 1;
    this.offset(offset, size);
    for (const length of lengths) this.offset((offset += length), size);
    return this;
  }

  index(items: readonly Uint8Array[]): this {
    this.indexHeader(items.map((item) => item.length));
    for (const item of items) this.bytes(item);
    return this;
  }

  done(): Uint8Array {
    if (this.position !== this.buffer.length) throw new Error('CFF subset size mismatch');
    return this.buffer;
  }

  private offset(value: number, size: number): void {
    for (let shift = (size - 1) * 8; shift >= 0; shift -= 8)
      this.buffer[this.position++] = (value >>> shift) & 0xff;
  }
}

/** The [start, end) byte ranges of an INDEX's items, and where the INDEX ends. */
function readIndex(bytes: Uint8Array, at: number): { entries: Array<[number, number]>; end: number } {
  const count = (bytes[at] << 8) | bytes[at + 1];
  if (count === 0) return { entries: [], end: at + 2 };
  const size = bytes[at + 2];
  const offsetAt = (i: number) => {
    let value = 0;
    for (let k = 0; k < size; k++) value = value * 256 + bytes[at + 3 + i * size + k];
    return value;
  };
  const dataStart = at + 3 + (count + 1) * size - 1;
  const entries: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) entries.push([dataStart + offsetAt(i), dataStart + offsetAt(i + 1)]);
  return { entries, end: dataStart + offsetAt(count) };
}

interface DictEntry {
  /** One-byte operators as is, two-byte (12 x) ones as 0x0c00 | x. */
  operator: number;
  /** Integer operands; a real operand reads as NaN (no offset or size is a real). */
  operands: number[];
  start: number;
  end: number;
}

function readDict(bytes: Uint8Array, start: number, end: number): DictEntry[] {
  const entries: DictEntry[] = [];
  let operands: number[] = [];
  let entryStart = start;
  let i = start;
  while (i < end) {
    const b0 = bytes[i];
    if (b0 <= 21) {
      const operator = b0 === 12 ? 0x0c00 | bytes[i + 1] : b0;
      i += b0 === 12 ? 2 : 1;
      entries.push({ operator, operands, start: entryStart, end: i });
      operands = [];
      entryStart = i;
    } else if (b0 === 30) {
      i++;
      while (i < end && (bytes[i] & 0x0f) !== 0x0f && (bytes[i] & 0xf0) !== 0xf0) i++;
      i++;
      operands.push(NaN);
    } else if (b0 === 28 || b0 === 29 || (b0 >= 32 && b0 <= 254)) {
      operands.push(operandValue(bytes, i));
      i += b0 === 28 ? 3 : b0 === 29 ? 5 : b0 <= 246 ? 1 : 2;
    } else {
      throw new Error(`DICT byte ${b0}`);
    }
  }
  return entries;
}

function keepEntries(bytes: Uint8Array, dict: DictEntry[], operators: ReadonlySet<number>): Uint8Array {
  const parts = dict.filter((entry) => operators.has(entry.operator));
  return concatRanges(bytes, parts);
}

/** The Private DICT a Font DICT (or a name-keyed Top DICT) points to, without its Subrs. */
function privateDictOf(bytes: Uint8Array, cffStart: number, dict: DictEntry[]): Uint8Array {
  const entry = dict.find((e) => e.operator === OP_PRIVATE);
  if (!entry || entry.operands.length !== 2 || entry.operands.some(Number.isNaN))
    throw new Error('no Private');
  const [size, offset] = entry.operands;
  const start = cffStart + offset;
  const privateDict = readDict(bytes, start, start + size);
  return concatRanges(
    bytes,
    privateDict.filter((e) => e.operator !== OP_SUBRS),
  );
}

function concatRanges(bytes: Uint8Array, ranges: ReadonlyArray<{ start: number; end: number }>): Uint8Array {
  const out = new Uint8Array(ranges.reduce((sum, r) => sum + r.end - r.start, 0));
  let at = 0;
  for (const { start, end } of ranges) {
    out.set(bytes.subarray(start, end), at);
    at += end - start;
  }
  return out;
}

function subrBias(count: number): number {
  return count < 1240 ? 107 : count < 33900 ? 1131 : 32768;
}

/**
 * Returns a Type 2 charstring with every callsubr/callgsubr replaced by the subroutine's body. It tracks only
 * what that needs: operand counts (for the stem hints that size hintmask bytes) and the last operand (the
 * subroutine number). Throws on arithmetic or CFF2 operators, which Noto/Source Han do not use.
 */
export function desubroutinize(font: FontkitCff, glyphId: number): Uint8Array {
  const globalSubrs = font.globalSubrIndex ?? [];
  const localSubrs = font.privateDictForGlyph(glyphId)?.Subrs ?? [];
  const out: number[] = [];
  let operands = 0;
  let stems = 0;
  let lastOperand: { start: number; value: number } | null = null;
  let ended = false;

  const subrCode = (subrs: CffIndexEntry[], number: number): Uint8Array => {
    const entry = subrs[number + subrBias(subrs.length)];
    if (!entry) throw new Error(`glyph ${glyphId} calls a missing subroutine ${number}`);
    font.stream.pos = entry.offset;
    return font.stream.readBuffer(entry.length);
  };

  const run = (code: Uint8Array, depth: number): void => {
    if (depth > 10) throw new Error(`glyph ${glyphId} nests subroutines too deep`);
    let i = 0;
    while (i < code.length && !ended) {
      const b0 = code[i];
      if (b0 === 28 || b0 >= 32) {
        const size = b0 === 28 ? 3 : b0 <= 246 ? 1 : b0 <= 254 ? 2 : 5;
        lastOperand = { start: out.length, value: operandValue(code, i) };
        for (let k = 0; k < size; k++) out.push(code[i + k]);
        i += size;
        operands++;
        continue;
      }
      i++;
      switch (b0) {
        case 10: // callsubr
        case 29: {
          // callgsubr
          if (!lastOperand) throw new Error(`glyph ${glyphId} computes a subroutine number`);
          const { start, value } = lastOperand;
          out.length = start;
          operands--;
          lastOperand = null;
          run(subrCode(b0 === 10 ? localSubrs : globalSubrs, value), depth + 1);
          continue;
        }
        case 11: // return
          return;
        case 14: // endchar
          out.push(b0);
          ended = true;
          return;
        case 1: // hstem
        case 3: // vstem
        case 18: // hstemhm
        case 23: // vstemhm
          stems += operands >> 1;
          out.push(b0);
          break;
        case 19: // hintmask
        case 20: {
          // cntrmask: operands before the first one are an implicit vstem; the mask has a bit per stem
          stems += operands >> 1;
          const maskBytes = (stems + 7) >> 3;
          out.push(b0, ...code.subarray(i, i + maskBytes));
          i += maskBytes;
          break;
        }
        case 12: {
          const b1 = code[i++];
          // dotsection, hflex, flex, hflex1, flex1 clear the stack like path operators; the rest compute.
          if (b1 !== 0 && (b1 < 34 || b1 > 37)) throw new Error(`glyph ${glyphId} uses operator 12 ${b1}`);
          out.push(b0, b1);
          break;
        }
        case 4: // vmoveto
        case 5: // rlineto
        case 6: // hlineto
        case 7: // vlineto
        case 8: // rrcurveto
        case 21: // rmoveto
        case 22: // hmoveto
        case 24: // rcurveline
        case 25: // rlinecurve
        case 26: // vvcurveto
        case 27: // hhcurveto
        case 30: // vhcurveto
        case 31: // hvcurveto
          out.push(b0);
          break;
        default:
          throw new Error(`glyph ${glyphId} uses operator ${b0}`);
      }
      operands = 0;
      lastOperand = null;
    }
  };

  run(font.getCharString(glyphId), 0);
  if (!ended) out.push(14); // a charstring always ends with endchar
  return Uint8Array.from(out);
}

/** The number starting at `i` of a charstring or a DICT (29 is an integer only in DICTs, 255 only in charstrings). */
function operandValue(code: Uint8Array, i: number): number {
  const b0 = code[i];
  if (b0 === 28) return ((code[i + 1] << 24) | (code[i + 2] << 16)) >> 16;
  if (b0 === 29) return (code[i + 1] << 24) | (code[i + 2] << 16) | (code[i + 3] << 8) | code[i + 4];
  if (b0 <= 246) return b0 - 139;
  if (b0 <= 250) return (b0 - 247) * 256 + code[i + 1] + 108;
  if (b0 <= 254) return -(b0 - 251) * 256 - code[i + 1] - 108;
  return ((code[i + 1] << 24) | (code[i + 2] << 16) | (code[i + 3] << 8) | code[i + 4]) / 65536;
}
