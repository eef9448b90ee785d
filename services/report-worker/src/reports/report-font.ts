import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import * as fontkit from 'fontkit';

/** One font face as pdfkit needs it: a file and, for a collection (.ttc), the PostScript name inside it. */
export interface ReportFontFace {
  path: string;
  family?: string;
}

/** The faces the PDF report uses; `bold` is the regular face again when no bold file is installed. */
export interface ResolvedReportFont extends ReportFontFace {
  bold: ReportFontFace;
}

/** Where to look for a font: the regular file and its bold sibling. */
export interface ReportFontLocation {
  regular: string;
  bold?: string;
}

const home = homedir();
const notoCjk = (dir: string): ReportFontLocation => ({
  regular: join(dir, 'NotoSansCJK-Regular.ttc'),
  bold: join(dir, 'NotoSansCJK-Bold.ttc'),
});

/** Where Noto Sans CJK / Source Han Sans (both cover Latin, Chinese and Hangul) land, by platform. */
export const WELL_KNOWN_REPORT_FONTS: readonly ReportFontLocation[] = [
  notoCjk('/usr/share/fonts/opentype/noto'), // Debian, Ubuntu: fonts-noto-cjk
  notoCjk('/usr/share/fonts/google-noto-sans-cjk-fonts'), // Fedora 36+: google-noto-sans-cjk-fonts
  notoCjk('/usr/share/fonts/google-noto-cjk'), // Fedora 35 and older: google-noto-sans-cjk-ttc-fonts
  notoCjk('/usr/share/fonts/noto'), // Alpine: font-noto-cjk
  notoCjk('/usr/share/fonts/noto-cjk'), // Arch: noto-fonts-cjk
  notoCjk(join(home, 'Library/Fonts')), // macOS, per user
  notoCjk('/Library/Fonts'), // macOS, all users
  {
    regular: join(home, 'Library/Fonts/SourceHanSans-Regular.ttc'),
    bold: join(home, 'Library/Fonts/SourceHanSans-Bold.ttc'),
  },
  { regular: '/Library/Fonts/SourceHanSans-Regular.ttc', bold: '/Library/Fonts/SourceHanSans-Bold.ttc' },
];

export const REPORT_FONT_INSTALL_HINT =
  'Install Noto Sans CJK (Debian/Ubuntu: `apt-get install fonts-noto-cjk`; Fedora: `dnf install ' +
  'google-noto-sans-cjk-fonts`; Alpine: `apk add font-noto-cjk`), or set REPORT_FONT_PATH to a ' +
  'TTF/OTF/TTC font that covers Latin, Chinese and Hangul.';

// A face must draw these: customer and product names are Latin, Chinese or Korean.
const REQUIRED_CODE_POINTS = ['A', '王', '김'].map((c) => c.codePointAt(0) as number);
// In a collection prefer Simplified Chinese forms, then any proportional (not Mono) face.
const PREFERRED_FACE = /(CJKsc|SansSC)-/;
const MONOSPACED_FACE = /Mono/;

/**
 * Finds the font for PDF reports: `configuredPath` (REPORT_FONT_PATH) when given, else the first installed
 * Noto Sans CJK / Source Han Sans from `locations`. Throws an Error that says how to install one.
 */
export function resolveReportFont(
  configuredPath?: string,
  locations: readonly ReportFontLocation[] = WELL_KNOWN_REPORT_FONTS,
): ResolvedReportFont {
  if (configuredPath) {
    if (!existsSync(configuredPath)) {
      throw new Error(`REPORT_FONT_PATH=${configuredPath}: no such file. ${REPORT_FONT_INSTALL_HINT}`);
    }
    const regular = describeFace(configuredPath, 'REPORT_FONT_PATH');
    const boldPath = join(dirname(configuredPath), basename(configuredPath).replace('Regular', 'Bold'));
    return { ...regular, bold: boldPath !== configuredPath ? optionalFace(boldPath, regular) : regular };
  }
  const found = locations.find((location) => existsSync(location.regular));
  if (!found) {
    const looked = locations.map((location) => location.regular).join(', ');
    throw new Error(`No font for PDF reports found (looked for ${looked}). ${REPORT_FONT_INSTALL_HINT}`);
  }
  const regular = describeFace(found.regular, found.regular);
  return { ...regular, bold: found.bold ? optionalFace(found.bold, regular) : regular };
}

function optionalFace(path: string, fallback: ReportFontFace): ReportFontFace {
  if (!existsSync(path)) return fallback;
  try {
    return describeFace(path, path);
  } catch {
    return fallback;
  }
}

/** Opens the file once to check it draws Latin, Chinese and Hangul and to name the face inside a collection. */
function describeFace(path: string, label: string): ReportFontFace {
  const opened = openFontFile(path, label);
  const isCollection = 'fonts' in opened;
  const faces = isCollection ? opened.fonts : [opened];
  const covering = faces.filter((face) => REQUIRED_CODE_POINTS.every((cp) => face.hasGlyphForCodePoint(cp)));
  const face =
    covering.find((f) => PREFERRED_FACE.test(f.postscriptName)) ??
    covering.find((f) => !MONOSPACED_FACE.test(f.postscriptName)) ??
    covering[0];
  if (!face) {
    throw new Error(`${label}: ${path} has no glyphs for Chinese and Hangul. ${REPORT_FONT_INSTALL_HINT}`);
  }
  return isCollection ? { path, family: face.postscriptName } : { path };
}

function openFontFile(path: string, label: string): fontkit.Font | fontkit.FontCollection {
  try {
    return fontkit.openSync(path);
  } catch (error) {
    const reason = (error as Error).message;
    throw new Error(`${label}: ${path} is not a readable font (${reason}). ${REPORT_FONT_INSTALL_HINT}`);
  }
}

/** The faces in the form `doc.registerFont(name, src)` takes; see `loadReportFont`. */
export interface LoadedReportFont {
  regular: PDFKit.Mixins.PDFFontSource;
  bold: PDFKit.Mixins.PDFFontSource;
}

const loadedFonts = new Map<string, LoadedReportFont>();

/**
 * Reads and parses the font files once per process (a CJK collection is ~20 MB) and returns faces prepared
 * for fast rendering; later calls with the same font return the cached faces.
 */
export function loadReportFont(font: ResolvedReportFont): LoadedReportFont {
  const key = JSON.stringify([font.path, font.family, font.bold.path, font.bold.family]);
  let loaded = loadedFonts.get(key);
  if (!loaded) {
    const regular = openFace(font);
    const sameFace = font.bold.path === font.path && font.bold.family === font.family;
    loaded = { regular, bold: sameFace ? regular : openFace(font.bold) };
    loadedFonts.set(key, loaded);
  }
  return loaded;
}

function openFace({ path, family }: ReportFontFace): PDFKit.Mixins.PDFFontSource {
  const opened = fontkit.create(readFileSync(path), family);
  if ('fonts' in opened) {
    const names = opened.fonts.map((f) => f.postscriptName).join(', ');
    throw new Error(`${path} is a font collection: name one of its fonts (${names})`);
  }
  return prepareFace(opened) as unknown as PDFKit.Mixins.PDFFontSource;
}

/*
 * pdfkit (0.20) accepts a parsed fontkit font in place of a file (`typeof src.layout === 'function'`), so the
 * parse is shared by every document. Two changes make a CJK font cheap to embed per document:
 *  - layout maps characters to glyphs through the cmap with their advance widths and skips OpenType shaping
 *    (kerning, ligatures): Noto Sans CJK's large GSUB/GPOS tables made shaping most of the render time.
 *  - the embedded subset is desubroutinized: fontkit keeps every subroutine slot of the source font (about
 *    45,000 in Noto Sans CJK), which costs ~40 ms and ~80 KB per PDF; inlining the used subroutines into the
 *    used glyphs leaves a subset of a few KB.
 */
function prepareFace(face: fontkit.Font): fontkit.Font {
  const prepared: fontkit.Font = Object.create(face);
  const glyphs = new Map<number, fontkit.Glyph>();
  const charStrings = new Map<number, Uint8Array>();
  prepared.layout = ((text: string) => new PlainGlyphRun(glyphsFor(face, text, glyphs))) as never;
  prepared.createSubset = () => desubroutinizedSubset(face.createSubset(), charStrings);
  return prepared;
}

/** fontkit's cmap lookup decodes the table on every call; the glyph for a code point never changes. */
function glyphsFor(face: fontkit.Font, text: string, cache: Map<number, fontkit.Glyph>): fontkit.Glyph[] {
  const glyphs: fontkit.Glyph[] = [];
  for (const char of text) {
    const codePoint = char.codePointAt(0) as number;
    // A variation selector picks another glyph for the character before it: leave that pairing to fontkit.
    if ((codePoint >= 0xfe00 && codePoint <= 0xfe0f) || (codePoint >= 0xe0100 && codePoint <= 0xe01ef)) {
      return face.glyphsForString(text);
    }
    let glyph = cache.get(codePoint);
    if (!glyph) {
      glyph = face.glyphForCodePoint(codePoint);
      cache.set(codePoint, glyph);
    }
    glyphs.push(glyph);
  }
  return glyphs;
}

interface GlyphPosition {
  xAdvance: number;
  yAdvance: number;
  xOffset: number;
  yOffset: number;
}

/** The part of fontkit's GlyphRun that pdfkit reads (it scales `positions` in place). */
class PlainGlyphRun {
  readonly positions: GlyphPosition[];

  constructor(readonly glyphs: fontkit.Glyph[]) {
    this.positions = glyphs.map((g) => ({ xAdvance: g.advanceWidth, yAdvance: 0, xOffset: 0, yOffset: 0 }));
  }

  get advanceWidth(): number {
    let width = 0;
    for (const position of this.positions) width += position.xAdvance;
    return width;
  }
}

/* fontkit 2.0 internals used below (CFFFont and CFFSubset); anything else falls back to fontkit's own subset. */
interface CffIndexEntry {
  offset: number;
  length: number;
}

interface CffFont {
  version: number;
  stream: { pos: number; readBuffer(length: number): Uint8Array };
  globalSubrIndex?: CffIndexEntry[];
  getCharString(glyphId: number): Uint8Array;
  privateDictForGlyph(glyphId: number): { Subrs?: CffIndexEntry[] } | null;
}

interface CffSubset {
  cff?: CffFont;
  glyphs: number[];
  charstrings: Uint8Array[];
  gsubrs: Uint8Array[];
  subsetCharstrings?: () => void;
  subsetSubrs?: (subrs: CffIndexEntry[], used: Record<number, boolean>) => Uint8Array[] | null;
}

const MAX_CACHED_CHARSTRINGS = 20_000;

function desubroutinizedSubset(subset: fontkit.Subset, cache: Map<number, Uint8Array>): fontkit.Subset {
  const cff = subset as unknown as CffSubset;
  const { subsetCharstrings, subsetSubrs } = cff;
  if (!cff.cff || cff.cff.version >= 2 || !subsetCharstrings || !subsetSubrs) return subset;
  const font = cff.cff;
  cff.subsetCharstrings = function (this: CffSubset) {
    try {
      this.charstrings = this.glyphs.map((glyphId) => {
        let charString = cache.get(glyphId);
        if (!charString) {
          charString = desubroutinize(font, glyphId);
          if (cache.size < MAX_CACHED_CHARSTRINGS) cache.set(glyphId, charString);
        }
        return charString;
      });
      this.gsubrs = [];
      // Every call is inlined, so the Private dicts get no Subrs (fontkit skips null dict entries).
      this.subsetSubrs = () => null;
    } catch {
      // An operator this inliner does not handle: keep fontkit's subset, which is correct but larger.
      this.subsetSubrs = subsetSubrs;
      subsetCharstrings.call(this);
    }
  };
  return subset;
}

function subrBias(count: number): number {
  return count < 1240 ? 107 : count < 33900 ? 1131 : 32768;
}

/**
 * Returns a Type 2 charstring with every callsubr/callgsubr replaced by the subroutine's body. It tracks only
 * what that needs: operand counts (for the stem hints that size hintmask bytes) and the last operand (the
 * subroutine number). Throws on arithmetic or CFF2 operators, which Noto/Source Han do not use.
 */
export function desubroutinize(font: CffFont, glyphId: number): Uint8Array {
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

function operandValue(code: Uint8Array, i: number): number {
  const b0 = code[i];
  if (b0 === 28) return ((code[i + 1] << 24) | (code[i + 2] << 16)) >> 16;
  if (b0 <= 246) return b0 - 139;
  if (b0 <= 250) return (b0 - 247) * 256 + code[i + 1] + 108;
  if (b0 <= 254) return -(b0 - 251) * 256 - code[i + 1] - 108;
  return ((code[i + 1] << 24) | (code[i + 2] << 16) | (code[i + 3] << 8) | code[i + 4]) / 65536;
}
