import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as fontkit from 'fontkit';
import { GlyfSubsetSource } from './report-font.glyf-subset';
import { PACKAGE_REPORT_FONTS, packageFontPath } from './report-font.locations';

const bytes = readFileSync(packageFontPath(PACKAGE_REPORT_FONTS.regular.main));
const face = fontkit.create(bytes) as fontkit.Font;
const sourceHash = createHash('sha256').update(bytes).digest('hex');

/** The subset fontkit reads back from what `createSubset().encode()` wrote for `text`'s glyphs. */
function subsetOf(source: GlyfSubsetSource, text: string): { glyphIds: number[]; font: fontkit.Font } {
  const subset = source.createSubset();
  const glyphIds = face.glyphsForString(text).map((glyph) => glyph.id);
  for (const glyphId of glyphIds) subset.includeGlyph(glyphId);
  return { glyphIds, font: fontkit.create(Buffer.from(subset.encode())) as fontkit.Font };
}

describe('GlyfSubsetSource', () => {
  const source = GlyfSubsetSource.from(face, bytes) as GlyfSubsetSource;

  it('writes a TrueType font of .notdef and the used glyphs, each as the source draws it', () => {
    const { glyphIds, font } = subsetOf(source, '张伟 Aé€—');

    expect(font.numGlyphs).toBe(1 + new Set(glyphIds).size);
    [0, ...glyphIds].forEach((glyphId, newId) => {
      const original = face.getGlyph(glyphId);
      const copy = font.getGlyph(newId);
      expect(copy.path.toSVG()).toBe(original.path.toSVG());
      expect(copy.advanceWidth).toBe(original.advanceWidth);
    });
    expect(font.unitsPerEm).toBe(face.unitsPerEm);
    // The source file's bytes (which fontkit reads lazily) are left as they were.
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(sourceHash);
  });

  it('numbers the glyphs in the order they are included, each once', () => {
    const subset = source.createSubset();
    const [a, b] = face.glyphsForString('AB').map((glyph) => glyph.id);
    expect([subset.includeGlyph(b), subset.includeGlyph(a), subset.includeGlyph(b)]).toEqual([1, 2, 1]);
  });

  it('writes the checksums a font file carries', () => {
    const font = source.createSubset().encode();
    const view = new DataView(font.buffer, font.byteOffset, font.byteLength);
    let sum = 0;
    for (let i = 0; i < font.length; i += 4) sum = (sum + view.getUint32(i)) >>> 0;
    expect(font.length % 4).toBe(0);
    expect(sum).toBe(0xb1b0afba);
  });

  it('leaves a subset with a composite glyph to fontkit', () => {
    const patched = Buffer.from(bytes);
    const [glyphA] = face.glyphsForString('A');
    // Mark 'A' as composite in the copy only: fontkit, which reads the original, still draws it.
    patched.writeInt16BE(-1, source.glyphBytes(glyphA.id).byteOffset - bytes.byteOffset);
    const { font } = subsetOf(GlyfSubsetSource.from(face, patched) as GlyfSubsetSource, 'A');

    expect(font.numGlyphs).toBe(2);
    expect(font.getGlyph(1).path.toSVG()).toBe(glyphA.path.toSVG());
  });

  it('handles only TrueType font files', () => {
    expect(GlyfSubsetSource.from(face, Buffer.from('ttcf and more bytes'))).toBeNull();
    expect(GlyfSubsetSource.from(face, bytes.subarray(0, 200))).toBeNull();
  });
});
