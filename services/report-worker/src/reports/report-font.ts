import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as fontkit from 'fontkit';
import {
  PACKAGE_REPORT_FONTS,
  packageFontPath,
  WELL_KNOWN_REPORT_FONTS,
  type PackageFontFile,
  type ReportFontLocation,
} from './report-font.locations';
import { RunSplitter, type TextRun } from './report-font.runs';
import { GlyfSubsetSource } from './report-font.glyf-subset';
import { CffSubsetSource } from './report-font.subset';

/** One font face as pdfkit needs it: a file and, for a collection (.ttc), the PostScript name inside it. */
export interface ReportFontFace {
  path: string;
  family?: string;
}

/** One weight: `main` draws what it covers; `hangul`, when the font is a pair of per-script files, Korean. */
export interface ReportFontWeight {
  main: ReportFontFace;
  hangul?: ReportFontFace;
}

/** The faces the PDF report uses; `bold` is the regular faces again when no bold file is installed. */
export interface ResolvedReportFont {
  /** REPORT_FONT_PATH, a system Noto Sans CJK / Source Han Sans, or Noto Sans SC and KR from npm. */
  source: 'REPORT_FONT_PATH' | 'system' | 'npm';
  regular: ReportFontWeight;
  bold: ReportFontWeight;
}

const FONT_HINT =
  'Point REPORT_FONT_PATH at a TTF/OTF/TTC font that covers Latin, Chinese and Hangul, or unset it: ' +
  'report-worker then uses Noto Sans CJK where installed, else Noto Sans SC and KR from npm.';

// A face must draw these: customer and product names are Latin, Chinese or Korean.
const REQUIRED_CODE_POINTS = ['A', '王', '김'].map((c) => c.codePointAt(0) as number);
// In a collection prefer Simplified Chinese forms, then any proportional (not Mono) face.
const PREFERRED_FACE = /(CJKsc|SansSC)-/;
const MONOSPACED_FACE = /Mono/;

/**
 * Finds the font for PDF reports: `configuredPath` (REPORT_FONT_PATH) when given, else the first installed
 * Noto Sans CJK / Source Han Sans from `locations`, else Noto Sans SC and KR from their npm packages.
 */
export function resolveReportFont(
  configuredPath?: string,
  locations: readonly ReportFontLocation[] = WELL_KNOWN_REPORT_FONTS,
): ResolvedReportFont {
  if (configuredPath) {
    if (!existsSync(configuredPath)) {
      throw new Error(`REPORT_FONT_PATH=${configuredPath}: no such file. ${FONT_HINT}`);
    }
    const regular = describeFace(configuredPath, 'REPORT_FONT_PATH');
    const boldPath = join(dirname(configuredPath), basename(configuredPath).replace('Regular', 'Bold'));
    const bold = boldPath !== configuredPath ? optionalFace(boldPath, regular) : regular;
    return { source: 'REPORT_FONT_PATH', regular: { main: regular }, bold: { main: bold } };
  }
  const found = locations.find((location) => existsSync(location.regular));
  if (found) {
    const regular = describeFace(found.regular, found.regular);
    const bold = found.bold ? optionalFace(found.bold, regular) : regular;
    return { source: 'system', regular: { main: regular }, bold: { main: bold } };
  }
  const weight = (files: { main: PackageFontFile; hangul: PackageFontFile }): ReportFontWeight => ({
    main: { path: packageFontPath(files.main) },
    hangul: { path: packageFontPath(files.hangul) },
  });
  return {
    source: 'npm',
    regular: weight(PACKAGE_REPORT_FONTS.regular),
    bold: weight(PACKAGE_REPORT_FONTS.bold),
  };
}

/** One line for the start-up log: where the font came from and its regular files. */
export function describeReportFont(font: ResolvedReportFont): string {
  const faces = [font.regular.main, font.regular.hangul].filter((face) => face !== undefined);
  const files = faces.map((face) => (face.family ? `${face.path} (${face.family})` : face.path));
  const source = { REPORT_FONT_PATH: 'REPORT_FONT_PATH', system: 'system font', npm: 'npm packages' };
  return `${source[font.source]}: ${files.join(' + ')}`;
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
    throw new Error(`${label}: ${path} has no glyphs for Chinese and Hangul. ${FONT_HINT}`);
  }
  return isCollection ? { path, family: face.postscriptName } : { path };
}

function openFontFile(path: string, label: string): fontkit.Font | fontkit.FontCollection {
  try {
    return fontkit.openSync(path);
  } catch (error) {
    const reason = (error as Error).message;
    throw new Error(`${label}: ${path} is not a readable font (${reason}). ${FONT_HINT}`);
  }
}

/** A face as `doc.registerFont(name, src, family)` takes it. */
export interface RegisteredFace {
  src: PDFKit.Mixins.PDFFontSource;
  family?: string;
}

/** One weight's faces for `doc.registerFont`, and how text splits between them. */
export interface LoadedReportWeight {
  main: RegisteredFace;
  hangul?: RegisteredFace;
  /** The runs of `text` and the face each takes: one run of the main face when there is no Hangul face. */
  runs(text: string): TextRun[];
}

/**
 * How a document gets its faces. `prepared`: parsed fontkit fonts shared by every document, with cmap-only
 * layout and the subsetters of this folder (see `prepareFace`). `pdfkit`: the file's bytes, which pdfkit
 * parses, shapes, subsets and compresses through its public API for every document (the bench's baseline).
 */
export type ReportFontWay = 'prepared' | 'pdfkit';

/** See `loadReportFont`. */
export interface LoadedReportFont {
  way: ReportFontWay;
  regular: LoadedReportWeight;
  bold: LoadedReportWeight;
}

const loadedFonts = new Map<string, LoadedReportFont>();

/**
 * Reads and parses the font files once per process (a CJK collection is ~20 MB, Noto Sans SC ~10 MB) and
 * returns the faces the documents register; later calls with the same font and way return the cached ones.
 */
export function loadReportFont(font: ResolvedReportFont, way: ReportFontWay = 'prepared'): LoadedReportFont {
  const key = JSON.stringify([way, font.regular, font.bold]);
  let loaded = loadedFonts.get(key);
  if (!loaded) {
    const faces = new Map<string, OpenedFace>();
    const regular = loadWeight(font.regular, way, faces);
    const sameWeight = JSON.stringify(font.bold) === JSON.stringify(font.regular);
    loaded = { way, regular, bold: sameWeight ? regular : loadWeight(font.bold, way, faces) };
    loadedFonts.set(key, loaded);
  }
  return loaded;
}

interface OpenedFace {
  parsed: fontkit.Font;
  registered: RegisteredFace;
}

/** Opens a weight's faces (each file once, through `faces`) and checks that together they draw every script. */
function loadWeight(
  weight: ReportFontWeight,
  way: ReportFontWay,
  faces: Map<string, OpenedFace>,
): LoadedReportWeight {
  const open = (face: ReportFontFace): OpenedFace => {
    const key = JSON.stringify(face);
    let opened = faces.get(key);
    if (!opened) {
      opened = openFace(face, way);
      faces.set(key, opened);
    }
    return opened;
  };
  const main = open(weight.main);
  const hangul = weight.hangul && open(weight.hangul);
  const missing = REQUIRED_CODE_POINTS.filter(
    (cp) => !main.parsed.hasGlyphForCodePoint(cp) && !hangul?.parsed.hasGlyphForCodePoint(cp),
  );
  if (missing.length > 0) {
    const files = [weight.main, weight.hangul].flatMap((face) => (face ? [face.path] : [])).join(' + ');
    throw new Error(`${files}: no glyph for ${String.fromCodePoint(...missing)}. ${FONT_HINT}`);
  }
  if (!hangul) {
    return { main: main.registered, runs: (text) => (text ? [{ text, face: 0 }] : []) };
  }
  const splitter = new RunSplitter(main.parsed, hangul.parsed);
  return { main: main.registered, hangul: hangul.registered, runs: (text) => splitter.split(text) };
}

/** pdfkit's types do not list the parsed fontkit font it accepts (see `prepareFace`). */
const asFontSource = (face: fontkit.Font) => face as unknown as PDFKit.Mixins.PDFFontSource;

function openFace({ path, family }: ReportFontFace, way: ReportFontWay): OpenedFace {
  const bytes = readFileSync(path);
  const opened = fontkit.create(bytes, family);
  if ('fonts' in opened) {
    const names = opened.fonts.map((f) => f.postscriptName).join(', ');
    throw new Error(`${path} is a font collection: name one of its fonts (${names})`);
  }
  if (way === 'pdfkit') return { parsed: opened, registered: { src: bytes, family } };
  return { parsed: opened, registered: { src: asFontSource(prepareFace(opened, bytes)) } };
}

/*
 * pdfkit accepts a parsed fontkit font in place of a file (`typeof src.layout === 'function'`), so the parse
 * is shared by every document. This and the changes below go past both libraries' public API, so their
 * versions are pinned in package.json (report-font.pinned-libraries.spec.ts fails when they change), and
 * `npm run bench:rendering` weighs them against pdfkit's own way. Two changes make a CJK font cheap to embed:
 *  - layout maps characters to glyphs through the cmap with their advance widths and skips OpenType shaping
 *    (kerning, ligatures): Noto Sans CJK's large GSUB/GPOS tables made shaping most of the render time.
 *  - the subset is written by CffSubsetSource, which prepares the font-wide parts once and keeps each used
 *    glyph desubroutinized, instead of fontkit re-encoding the font and its subroutines for every document;
 *    for a TrueType face (`bytes`: its file) by GlyfSubsetSource, which copies each used glyph's bytes
 *    instead of fontkit decoding every outline again for every document.
 */
function prepareFace(face: fontkit.Font, bytes: Uint8Array): fontkit.Font {
  const prepared: fontkit.Font = Object.create(face);
  const glyphs = new Map<number, fontkit.Glyph>();
  prepared.layout = ((text: string) => new PlainGlyphRun(glyphsFor(face, text, glyphs))) as never;
  const subsets = CffSubsetSource.from(face) ?? GlyfSubsetSource.from(face, bytes);
  if (subsets) prepared.createSubset = (() => subsets.createSubset()) as never;
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
