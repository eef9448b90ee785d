import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { REPORT_FONT_INSTALL_HINT, WELL_KNOWN_REPORT_FONTS, type ReportFontLocation } from '@shop/config';
import * as fontkit from 'fontkit';
import { CffSubsetSource } from './report-font.subset';

/** One font face as pdfkit needs it: a file and, for a collection (.ttc), the PostScript name inside it. */
export interface ReportFontFace {
  path: string;
  family?: string;
}

/** The faces the PDF report uses; `bold` is the regular face again when no bold file is installed. */
export interface ResolvedReportFont extends ReportFontFace {
  bold: ReportFontFace;
}

export { REPORT_FONT_INSTALL_HINT, WELL_KNOWN_REPORT_FONTS, type ReportFontLocation };

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
 *  - the subset is written by CffSubsetSource, which prepares the font-wide parts once and keeps each used
 *    glyph desubroutinized, instead of fontkit re-encoding the font and its subroutines for every document.
 */
function prepareFace(face: fontkit.Font): fontkit.Font {
  const prepared: fontkit.Font = Object.create(face);
  const glyphs = new Map<number, fontkit.Glyph>();
  prepared.layout = ((text: string) => new PlainGlyphRun(glyphsFor(face, text, glyphs))) as never;
  const subsets = CffSubsetSource.from(face);
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
