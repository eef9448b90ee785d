/** What run splitting asks of a face (a fontkit Font answers it). */
export interface GlyphCoverage {
  hasGlyphForCodePoint(codePoint: number): boolean;
}

/** Face 0 is the main face, face 1 the Hangul face. */
export type RunFace = 0 | 1;

/** A stretch of text that one face draws. */
export interface TextRun {
  text: string;
  face: RunFace;
}

const MAIN = 0;
const HANGUL = 1;
/** Both faces draw it and it belongs to no script: it joins the run it follows. */
const EITHER = 2;
type CodePointClass = typeof MAIN | typeof HANGUL | typeof EITHER;

const HANGUL_SCRIPT = /^\p{Script=Hangul}$/u;
// Spaces, digits, punctuation and combining marks: splitting a Korean phrase at its spaces helps no one.
const NO_SCRIPT = /^[\p{Script=Common}\p{Script=Inherited}]$/u;

/**
 * Splits text between two faces that each cover part of it (Noto Sans SC and KR): Hangul (syllables, jamo,
 * compatibility jamo) goes to the Hangul face when it has the glyph; anything else to the main face unless
 * only the Hangul face has it. Remembers each code point's answer.
 */
export class RunSplitter {
  private readonly classes = new Map<number, CodePointClass>();

  constructor(
    private readonly main: GlyphCoverage,
    private readonly hangul: GlyphCoverage,
  ) {}

  split(text: string): TextRun[] {
    const runs: TextRun[] = [];
    let face: RunFace | undefined;
    let start = 0;
    let at = 0;
    for (const char of text) {
      const kind = this.classOf(char);
      const next: RunFace = kind === EITHER ? (face ?? MAIN) : kind;
      if (face !== undefined && next !== face) {
        runs.push({ text: text.slice(start, at), face });
        start = at;
      }
      face = next;
      at += char.length;
    }
    if (face !== undefined) runs.push({ text: text.slice(start), face });
    return runs;
  }

  private classOf(char: string): CodePointClass {
    const codePoint = char.codePointAt(0) as number;
    let kind = this.classes.get(codePoint);
    if (kind === undefined) {
      const inMain = this.main.hasGlyphForCodePoint(codePoint);
      const inHangul = this.hangul.hasGlyphForCodePoint(codePoint);
      if (inMain && inHangul && NO_SCRIPT.test(char)) kind = EITHER;
      else if (inHangul && (!inMain || HANGUL_SCRIPT.test(char))) kind = HANGUL;
      else kind = MAIN;
      this.classes.set(codePoint, kind);
    }
    return kind;
  }
}
