import { formatMoney } from '@shop/contracts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderOrderReport, type OrderReportInput } from './order-report.pdf';
import { extractPdfPages } from '@shop/testing';
import { resolveReportFont, type ResolvedReportFont } from './report-font';

// The font must be installed (CI: apt-get install fonts-noto-cjk); if not, this fails with the install hint.
let font: ResolvedReportFont;
beforeAll(() => {
  font = resolveReportFont();
});

const ORDER: OrderReportInput = {
  orderId: '7d0f6a3b-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
  placedAt: '2025-03-14T10:26:53.120+01:00',
  customer: { email: 'wang.xiaoming@example.cn', name: '王小明' },
  items: [
    { sku: 'TEA-LONGJING-100G', name: '龙井茶', quantity: 2, unitPriceCents: 1890 },
    { sku: 'SEAWEED-GIM-10', name: '한국 김', quantity: 3, unitPriceCents: 450 },
    { sku: 'KIMCHI-500G', name: '배추김치', quantity: 1, unitPriceCents: 790 },
  ],
  totalCents: 2 * 1890 + 3 * 450 + 790,
  currency: 'EUR',
};

function longOrder(itemCount: number): OrderReportInput {
  const names = [
    '龙井茶 Longjing green tea, 100 g',
    '배추김치 Napa cabbage kimchi, 500 g',
    'Ceramic mug, 350 ml',
  ];
  const items = Array.from({ length: itemCount }, (_, i) => ({
    sku: `SKU-${String(i + 1).padStart(3, '0')}`,
    // Every seventh name is long enough to wrap over several lines of its column.
    name:
      i % 7 === 3 ? `${names[i % 3]} — ${'hand-made, '.repeat(12)}end ${i + 1}` : `${names[i % 3]} #${i + 1}`,
    quantity: 1 + (i % 3),
    unitPriceCents: 100 + i * 37,
  }));
  return { ...ORDER, items, totalCents: items.reduce((sum, it) => sum + it.quantity * it.unitPriceCents, 0) };
}

/** Text with all whitespace removed: pdf.js may split or join words of a wrapped cell at line ends. */
const squeeze = (text: string) => text.replace(/\s+/g, '');

describe('renderOrderReport', () => {
  it('shows the order, the customer and every item with real Chinese and Korean characters', async () => {
    const pdf = await renderOrderReport(ORDER, font);

    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    // The embedded fonts are desubroutinized subsets; fontkit's own subset of Noto Sans CJK is ~90 KB.
    expect(pdf.length).toBeLessThan(40_000);
    const pages = await extractPdfPages(pdf);
    const text = pages.join('\n');
    expect(pages).toHaveLength(1);
    expect(text).toContain('Rabbit Shop — Order report');
    expect(text).toContain(ORDER.orderId);
    expect(text).toContain('2025-03-14 09:26 UTC');
    expect(text).toContain('王小明');
    expect(text).toContain('wang.xiaoming@example.cn');
    for (const item of ORDER.items) {
      expect(text).toContain(item.name);
      expect(text).toContain(item.sku);
    }
    expect(text).toContain('한국 김');
    expect(text).toContain('€18.90'); // unit price
    expect(text).toContain('€37.80'); // line total
    expect(text).toContain(formatMoney(ORDER.totalCents, 'EUR'));
    expect(text).toContain('€59.20');
    expect(text).toContain('Page 1 of 1');
  });

  it('continues a long order over pages, numbering every page', async () => {
    const order = longOrder(60);
    const pages = await extractPdfPages(await renderOrderReport(order, font));
    const text = pages.join('\n');

    expect(pages.length).toBeGreaterThan(1);
    pages.forEach((page, i) => expect(page).toContain(`Page ${i + 1} of ${pages.length}`));
    // The header row is repeated on every page that holds part of the table.
    pages.slice(1, -1).forEach((page) => expect(page).toMatch(/SKU\s+Item\s+Qty\s+Unit price\s+Line total/));
    const all = squeeze(text);
    for (const item of order.items) {
      expect(all).toContain(squeeze(item.name));
      expect(all).toContain(item.sku);
    }
    expect(text).toContain(formatMoney(order.totalCents, 'EUR'));
  });

  it('wraps a long item name and a long sku inside their columns', async () => {
    const name = `龙井茶 ${'very long product name '.repeat(8)}END`;
    const sku = 'TEA-LONGJING-100G-EXTRA-LONG-SKU';
    const order = { ...ORDER, items: [{ ...ORDER.items[0], name, sku }] };
    const lines = (await extractPdfPages(await renderOrderReport(order, font)))[0].split('\n');

    // Each wrapped cell comes out as a block of lines of its own, apart from the row's other cells.
    const nameLines = lines.filter((line) => /very long|END/.test(line));
    expect(nameLines.length).toBeGreaterThan(2);
    expect(nameLines.join(' ')).toBe(name);
    const skuLines = lines.filter((line) => /TEA-|EXTRA-|SKU$/.test(line));
    expect(skuLines.length).toBeGreaterThan(1);
    expect(skuLines.join('')).toBe(sku);
    expect(lines).toContain('2 €18.90 €37.80');
  });

  it('renders the same bytes for the same order', async () => {
    const first = await renderOrderReport(longOrder(60), font);
    const second = await renderOrderReport(longOrder(60), font);

    expect(second.equals(first)).toBe(true);
    // CreationDate and ModDate are placedAt, in UTC.
    expect(first.toString('latin1')).toContain('(D:20250314092653Z)');
  });

  it('embeds a font subset of its own in each of several documents rendered one after another', async () => {
    const korean = { ...ORDER, customer: { email: 'minjun.kim@example.kr', name: '김민준' } };
    const first = await renderOrderReport(ORDER, font);
    const second = await renderOrderReport(korean, font);

    for (const [pdf, order] of [
      [first, ORDER],
      [second, korean],
    ] as const) {
      // The fonts travel as CFF subsets (FontFile3), not as the 20 MB collection.
      expect(pdf.toString('latin1').match(/\/Subtype \/CIDFontType0C/g)).toHaveLength(2);
      const text = (await extractPdfPages(pdf)).join('\n');
      expect(text).toContain(order.customer.name);
      expect(text).toContain('Rabbit Shop — Order report');
      for (const item of order.items) expect(text).toContain(item.name);
    }
  });

  it('rejects an order whose placedAt is not a date', async () => {
    await expect(renderOrderReport({ ...ORDER, placedAt: 'yesterday' }, font)).rejects.toThrow(
      'placedAt is not a date: yesterday',
    );
  });
});

describe('resolveReportFont', () => {
  it('finds Noto Sans CJK and names the Simplified Chinese faces of the collections', () => {
    expect(font.path).toMatch(/\.(ttc|otf|ttf)$/);
    if (font.path.endsWith('NotoSansCJK-Regular.ttc')) {
      expect(font.family).toBe('NotoSansCJKsc-Regular');
      expect(font.bold.family).toMatch(/^NotoSansCJKsc-(Bold|Regular)$/);
    }
  });

  it('uses REPORT_FONT_PATH when given', () => {
    expect(resolveReportFont(font.path)).toEqual(font);
  });

  it('names REPORT_FONT_PATH when that file is missing', () => {
    expect(() => resolveReportFont('/nonexistent/font.ttc')).toThrow(
      /^REPORT_FONT_PATH=\/nonexistent\/font\.ttc: no such file\. .*apt-get install fonts-noto-cjk/,
    );
  });

  it('says how to install a font when none is found', () => {
    expect(() => resolveReportFont(undefined, [{ regular: '/nonexistent/NotoSansCJK-Regular.ttc' }])).toThrow(
      /No font for PDF reports found .*apt-get install fonts-noto-cjk.*set REPORT_FONT_PATH to a TTF\/OTF\/TTC font/,
    );
  });

  it('refuses a file that is not a font covering Chinese and Hangul', () => {
    const dir = mkdtempSync(join(tmpdir(), 'report-font-'));
    try {
      const notAFont = join(dir, 'font.ttf');
      writeFileSync(notAFont, 'not a font');
      expect(() => resolveReportFont(notAFont)).toThrow(/^REPORT_FONT_PATH: .* is not a readable font/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
