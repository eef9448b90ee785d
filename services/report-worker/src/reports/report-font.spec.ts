import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeReportFont, loadReportFont, resolveReportFont } from './report-font';
import { PACKAGE_REPORT_FONTS, packageFontPath, WELL_KNOWN_REPORT_FONTS } from './report-font.locations';

const sc = packageFontPath(PACKAGE_REPORT_FONTS.regular.main);
const scBold = packageFontPath(PACKAGE_REPORT_FONTS.bold.main);
// Noto Sans KR alone draws Latin, Hangul and 王: enough to stand in for a font that covers every script.
const kr = packageFontPath(PACKAGE_REPORT_FONTS.regular.hangul);
const krBold = packageFontPath(PACKAGE_REPORT_FONTS.bold.hangul);
const MISSING = {
  regular: '/nonexistent/NotoSansCJK-Regular.ttc',
  bold: '/nonexistent/NotoSansCJK-Bold.ttc',
};

describe('resolveReportFont', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'report-font-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes REPORT_FONT_PATH first, with the system fonts and the npm ones there', () => {
    expect(resolveReportFont(kr, [{ regular: sc, bold: scBold }])).toEqual({
      source: 'REPORT_FONT_PATH',
      // No NotoSansKR_400Bold.ttf beside it: bold is the regular face again.
      regular: { main: { path: kr } },
      bold: { main: { path: kr } },
    });
  });

  it('stops on a REPORT_FONT_PATH that is missing, unreadable or short of a script, not falling back', () => {
    expect(() => resolveReportFont('/nonexistent/font.ttc')).toThrow(
      /^REPORT_FONT_PATH=\/nonexistent\/font\.ttc: no such file\. Point REPORT_FONT_PATH at a TTF\/OTF\/TTC font/,
    );
    const notAFont = join(dir, 'font.ttf');
    writeFileSync(notAFont, 'not a font');
    expect(() => resolveReportFont(notAFont)).toThrow(/^REPORT_FONT_PATH: .* is not a readable font/);
    expect(() => resolveReportFont(sc)).toThrow(
      /^REPORT_FONT_PATH: .*NotoSansSC_400Regular\.ttf has no glyphs/,
    );
  });

  it('takes the first installed system font next', () => {
    expect(resolveReportFont(undefined, [MISSING, { regular: kr, bold: krBold }])).toEqual({
      source: 'system',
      regular: { main: { path: kr } },
      bold: { main: { path: krBold } },
    });
  });

  it('stops on an installed system font it cannot read', () => {
    const broken = join(dir, 'NotoSansCJK-Regular.ttc');
    writeFileSync(broken, 'not a font');
    expect(() => resolveReportFont(undefined, [{ regular: broken }])).toThrow(/is not a readable font/);
  });

  it('takes Noto Sans SC and KR from npm when no system font is installed', () => {
    const font = resolveReportFont(undefined, [MISSING]);
    expect(font).toEqual({
      source: 'npm',
      regular: { main: { path: sc }, hangul: { path: kr } },
      bold: { main: { path: scBold }, hangul: { path: krBold } },
    });
    expect(resolveReportFont(undefined, [])).toEqual(font);
    for (const path of [sc, kr, scBold, krBold]) expect(existsSync(path)).toBe(true);
    expect(describeReportFont(font)).toBe(`npm packages: ${sc} + ${kr}`);
  });

  it('looks in the well-known places by default', () => {
    const installed = WELL_KNOWN_REPORT_FONTS.some((location) => existsSync(location.regular));
    const font = resolveReportFont();
    expect(font.source).toBe(installed ? 'system' : 'npm');
    if (font.regular.main.path.endsWith('NotoSansCJK-Regular.ttc')) {
      // In the collections, the Simplified Chinese faces.
      expect(font.regular.main.family).toBe('NotoSansCJKsc-Regular');
      expect(font.bold.main.family).toMatch(/^NotoSansCJKsc-(Bold|Regular)$/);
    }
  });
});

describe('loadReportFont', () => {
  it('splits text between the npm faces, and keeps a one-face font in one run', () => {
    const pair = loadReportFont(resolveReportFont(undefined, []));
    expect(pair.regular.hangul).toBeDefined();
    expect(pair.bold.runs('王 김')).toEqual([
      { text: '王 ', face: 0 },
      { text: '김', face: 1 },
    ]);
    const single = loadReportFont(resolveReportFont(kr, []));
    expect(single.regular.hangul).toBeUndefined();
    expect(single.regular.runs('王 김')).toEqual([{ text: '王 김', face: 0 }]);
    expect(single.bold).toBe(single.regular);
  });

  it('refuses faces that together miss a script', () => {
    const scOnly = { main: { path: sc } };
    expect(() => loadReportFont({ source: 'npm', regular: scOnly, bold: scOnly })).toThrow(
      /NotoSansSC_400Regular\.ttf: no glyph for 김\./,
    );
  });
});
