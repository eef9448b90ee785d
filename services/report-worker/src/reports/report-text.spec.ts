import fc from 'fast-check';
import PDFDocument from 'pdfkit';
import { loadReportFont, resolveReportFont } from './report-font';
import { ReportText } from './report-text';

const npmFont = loadReportFont(resolveReportFont(undefined, []));

/** A tall page, so no text in these specs reaches its bottom (pdfkit would start a new page). */
function newText(): ReportText {
  const doc = new PDFDocument({ size: [600, 20_000], margin: 0, font: null as unknown as string });
  const text = new ReportText(doc, npmFont);
  text.use('regular').fontSize(9);
  return text;
}

// Words of each script, and the separators between them, that names and product names are made of.
const word = fc.constantFrom(
  '张伟',
  '龙井茶',
  '普洱茶饼',
  '김민준',
  '배추김치',
  '한국',
  'Longjing',
  'green',
  'tea,',
  '100',
  'g',
  'hand-made',
  '—',
  '(김)',
);
const mixedText = fc
  .array(fc.tuple(word, fc.constantFrom(' ', '', ', ')), { minLength: 1, maxLength: 16 })
  .map((parts) => parts.map(([w, separator]) => w + separator).join(''));

describe('ReportText', () => {
  it('measures one line of mixed runs as wide as it draws', () => {
    fc.assert(
      fc.property(mixedText, fc.constantFrom<'regular' | 'bold'>('regular', 'bold'), (value, weight) => {
        const text = newText();
        text.use(weight);
        const width = text.widthOf(value);
        text.line(value, 10, 10);
        expect(text.doc.x).toBeCloseTo(10 + width, 6);
      }),
    );
  });

  it('measures wrapped mixed runs as tall as they draw, at any column width', () => {
    fc.assert(
      fc.property(mixedText, fc.integer({ min: 30, max: 300 }), (value, width) => {
        const text = newText();
        const height = text.heightOf(value, width);
        text.block(value, 10, 10, { width });
        expect(text.doc.y - 10).toBeCloseTo(height, 6);
      }),
    );
  });

  it('adds up the runs of each face and leaves the main face selected', () => {
    const text = newText();
    const korean = text.widthOf('김민준');
    const chinese = text.widthOf('张伟 ');
    expect(korean).toBeGreaterThan(0);
    expect(text.widthOf('张伟 김민준')).toBeCloseTo(chinese + korean, 6);
    // After a Korean run, a Latin string is measured in the main face again, as pdfkit alone measures it.
    const latin = text.widthOf('Order report');
    expect(text.doc.font('regular').widthOfString('Order report')).toBe(latin);
  });

  it('wraps a long mixed name over several lines of its column', () => {
    const text = newText();
    const line = text.doc.currentLineHeight(true);
    const name = '배추김치 Napa cabbage kimchi, 500 g 龙井茶 Longjing green tea';
    expect(text.heightOf(name, 80)).toBeGreaterThanOrEqual(3 * line);
    expect(text.heightOf(name, 1_000)).toBeCloseTo(line, 6);
  });
});
