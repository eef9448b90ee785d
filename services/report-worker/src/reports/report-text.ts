import type { LoadedReportFont } from './report-font';
import type { TextRun } from './report-font.runs';

export type FontWeight = 'regular' | 'bold';

const WEIGHTS: readonly FontWeight[] = ['regular', 'bold'];

/** All of the runs go to the main face: the text is drawn and measured in one piece, as with one face. */
const mainFaceOnly = (runs: readonly TextRun[]) => runs.every((run) => run.face === 0);

/**
 * The report's text in a document, one weight at a time. Where the font is a pair of per-script faces
 * (Noto Sans SC and KR) a string is measured and drawn run by run, each run in the face that covers it;
 * every method leaves the weight's main face selected. Size and colour are the document's.
 */
export class ReportText {
  private weight: FontWeight = 'regular';

  constructor(
    readonly doc: PDFKit.PDFDocument,
    private readonly font: LoadedReportFont,
  ) {
    for (const weight of WEIGHTS) {
      const { main, hangul } = font[weight];
      doc.registerFont(weight, main.src, main.family);
      if (hangul) doc.registerFont(`${weight}-hangul`, hangul.src, hangul.family);
    }
  }

  /** Selects a weight for what follows. */
  use(weight: FontWeight): PDFKit.PDFDocument {
    this.weight = weight;
    return this.doc.font(weight);
  }

  /** The width of `text` on one line. */
  widthOf(text: string): number {
    const runs = this.runs(text);
    if (mainFaceOnly(runs)) return text ? this.doc.widthOfString(text) : 0;
    let width = 0;
    for (const run of runs) width += this.face(run).widthOfString(run.text);
    this.doc.font(this.weight);
    return width;
  }

  /** The height of `text` wrapped to `width`, as `block` draws it. */
  heightOf(text: string, width: number): number {
    const runs = this.runs(text);
    if (mainFaceOnly(runs)) return this.doc.heightOfString(text, { width });
    // pdfkit wraps continued runs as one paragraph: measured the same way, each run adds its own lines.
    let height = 0;
    runs.forEach((run, i) => {
      height += this.face(run).heightOfString(run.text, { width, continued: i < runs.length - 1 });
    });
    this.doc.font(this.weight);
    return height;
  }

  /** Draws `text` as one line from (x, y), without pdfkit's line wrapper. */
  line(text: string, x: number, y: number): void {
    const runs = this.runs(text);
    if (mainFaceOnly(runs)) {
      this.doc.text(text, x, y, { lineBreak: false });
      return;
    }
    // Each run leaves doc.x at its end, where the next one starts.
    runs.forEach((run, i) =>
      this.face(run).text(run.text, i === 0 ? x : this.doc.x, y, { lineBreak: false }),
    );
    this.doc.font(this.weight);
  }

  /**
   * Draws `text` wrapped to `width` from (x, y) and moves below it. Runs in several faces are drawn
   * left-aligned: pdfkit aligns each continued run of a line on its own.
   */
  block(text: string, x: number, y: number, options: { width: number; align?: 'left' | 'right' }): void {
    const runs = this.runs(text);
    if (mainFaceOnly(runs)) {
      this.doc.text(text, x, y, options);
      return;
    }
    runs.forEach((run, i) => {
      const runOptions = { width: options.width, continued: i < runs.length - 1 };
      if (i === 0) this.face(run).text(run.text, x, y, runOptions);
      else this.face(run).text(run.text, runOptions);
    });
    this.doc.font(this.weight);
  }

  private runs(text: string): TextRun[] {
    return this.font[this.weight].runs(text);
  }

  private face(run: TextRun): PDFKit.PDFDocument {
    return this.doc.font(run.face === 0 ? this.weight : `${this.weight}-hangul`);
  }
}
