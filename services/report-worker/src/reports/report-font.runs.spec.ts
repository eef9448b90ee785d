import * as fontkit from 'fontkit';
import { PACKAGE_REPORT_FONTS, packageFontPath, type PackageFontFile } from './report-font.locations';
import { RunSplitter, type GlyphCoverage } from './report-font.runs';

/** A face that draws exactly the characters given. */
const covering = (chars: string): GlyphCoverage => {
  const codePoints = new Set([...chars].map((c) => c.codePointAt(0)));
  return { hasGlyphForCodePoint: (codePoint) => codePoints.has(codePoint) };
};

const LATIN = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ,.()-—€';
// Like Noto Sans SC: Latin, Chinese, compatibility jamo; no syllables. Like Noto Sans KR: Latin, Hangul, 王.
const sc = covering(`${LATIN}张伟龙井茶王ㄱㅋ`);
const kr = covering(`${LATIN}김민준한국배추치고장ㄱㅋᄀ王`);

describe('RunSplitter', () => {
  const splitter = new RunSplitter(sc, kr);

  it('keeps text the main face covers in one run', () => {
    expect(splitter.split('张伟 Longjing tea, 100 g')).toEqual([
      { text: '张伟 Longjing tea, 100 g', face: 0 },
    ]);
  });

  it('gives Hangul to the Hangul face and the rest to the main face', () => {
    expect(splitter.split('김민준')).toEqual([{ text: '김민준', face: 1 }]);
    expect(splitter.split('龙井茶 김치 Tea')).toEqual([
      { text: '龙井茶 ', face: 0 },
      { text: '김치 ', face: 1 },
      { text: 'Tea', face: 0 },
    ]);
  });

  it('keeps spaces, digits and punctuation in the run they follow', () => {
    expect(splitter.split('한국 김, 10 (배추)')).toEqual([{ text: '한국 김, 10 (배추)', face: 1 }]);
    expect(splitter.split('(김) A')).toEqual([
      { text: '(', face: 0 },
      { text: '김) ', face: 1 },
      { text: 'A', face: 0 },
    ]);
  });

  it('gives compatibility and conjoining jamo to the Hangul face even where the main face has them', () => {
    expect(splitter.split('ㅋㅋ')).toEqual([{ text: 'ㅋㅋ', face: 1 }]);
    expect(splitter.split('Aᄀ')).toEqual([
      { text: 'A', face: 0 },
      { text: 'ᄀ', face: 1 },
    ]);
  });

  it('gives the Hangul face what only it has, and the main face what neither has', () => {
    const hangulOnly = new RunSplitter(covering('A'), covering('AΩ'));
    expect(hangulOnly.split('AΩ')).toEqual([
      { text: 'A', face: 0 },
      { text: 'Ω', face: 1 },
    ]);
    expect(splitter.split('₹張')).toEqual([{ text: '₹張', face: 0 }]);
  });

  it('splits characters outside the Basic Multilingual Plane whole and returns no run for no text', () => {
    const withEmoji = new RunSplitter(covering('A😀'), covering('김'));
    expect(withEmoji.split('😀김A')).toEqual([
      { text: '😀', face: 0 },
      { text: '김', face: 1 },
      { text: 'A', face: 0 },
    ]);
    expect(splitter.split('')).toEqual([]);
  });
});

describe('the npm fonts split the way RunSplitter assumes', () => {
  const open = (file: PackageFontFile) => fontkit.openSync(packageFontPath(file)) as fontkit.Font;
  const has = (face: GlyphCoverage, text: string) =>
    [...text].every((c) => face.hasGlyphForCodePoint(c.codePointAt(0) as number));

  it.each(['regular', 'bold'] as const)('%s: SC covers Latin and Chinese, KR Latin and Hangul', (weight) => {
    const main = open(PACKAGE_REPORT_FONTS[weight].main);
    const hangul = open(PACKAGE_REPORT_FONTS[weight].hangul);
    expect(has(main, 'Aé€—·张伟龙井茶王小明')).toBe(true);
    expect(has(main, '김')).toBe(false);
    expect(has(main, '민')).toBe(false);
    expect(has(hangul, 'Aé€—김민준한국배추김치ᄀㄱ')).toBe(true);
    expect(new RunSplitter(main, hangul).split('张伟 김민준')).toEqual([
      { text: '张伟 ', face: 0 },
      { text: '김민준', face: 1 },
    ]);
  });
});
