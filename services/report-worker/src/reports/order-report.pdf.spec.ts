import { formatMoney } from '@shop/contracts';
import { renderOrderReport, type OrderReportInput } from './order-report.pdf';
import { extractPdfPages } from '@shop/testing';
import { resolveReportFont, type ResolvedReportFont } from './report-font';

// report-worker's own choice: a system Noto Sans CJK where installed (CI installs one), else the npm fonts.
let font: ResolvedReportFont;
// Noto Sans SC and KR from npm, even where a system font is installed.
let npmFont: ResolvedReportFont;
beforeAll(() => {
  font = resolveReportFont();
  npmFont = resolveReportFont(undefined, []);
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

/** The embedded font programs: CFF subsets (FontFile3) of a CJK collection, TrueType ones (FontFile2) of the npm fonts. */
const fontPrograms = (pdf: Buffer) => pdf.toString('latin1').match(/\/FontFile[23] /g) ?? [];
/** The fonts a PDF names, without their subset tags: `NotoSansKR-Regular`. */
const fontNames = (pdf: Buffer) =>
  [...pdf.toString('latin1').matchAll(/\/FontName \/[A-Z]{6}\+([\w-]+)/g)].map(([, name]) => name).sort();

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
      // Subsets, not the 20 MB collection or the 10 MB files: regular and bold, and the npm fonts' Korean face.
      expect(fontPrograms(pdf)).toHaveLength(font.source === 'npm' ? 3 : 2);
      const text = (await extractPdfPages(pdf)).join('\n');
      expect(text).toContain(order.customer.name);
      expect(text).toContain('Rabbit Shop — Order report');
      for (const item of order.items) expect(text).toContain(item.name);
    }
  });

  it('states the status it was made for: a reservation awaiting payment until its pay-by time, in UTC', async () => {
    const reserved = { ...ORDER, payBy: '2025-03-14T10:41:53.120+01:00' };
    const pdf = await renderOrderReport(reserved, font);
    const lines = (await extractPdfPages(pdf))[0].split('\n');

    expect(lines).toContain('Status Reserved – awaiting payment until 2025-03-14 09:41 UTC');
    expect(lines).toContain('Placed 2025-03-14 09:26 UTC');
    expect(lines).toContain(`Customer ${ORDER.customer.name}`);
    expect((await renderOrderReport(reserved, font)).equals(pdf)).toBe(true);
  });

  it('has no status line for an order placed before orders had to be paid', async () => {
    const text = (await extractPdfPages(await renderOrderReport(ORDER, font))).join('\n');
    expect(text).not.toContain('Status');
    expect(text).not.toContain('Reserved');
  });

  it('rejects an order whose payBy is not a date', async () => {
    await expect(renderOrderReport({ ...ORDER, payBy: 'soon' }, font)).rejects.toThrow(
      'payBy is not a date: soon',
    );
  });

  it('rejects an order whose placedAt is not a date', async () => {
    await expect(renderOrderReport({ ...ORDER, placedAt: 'yesterday' }, font)).rejects.toThrow(
      'placedAt is not a date: yesterday',
    );
  });
});

describe('renderOrderReport with Noto Sans SC and KR from npm', () => {
  const zhang: OrderReportInput = {
    ...ORDER,
    customer: { email: 'zhang.wei@example.cn', name: '张伟' },
    items: [{ sku: 'KIMCHI-500G', name: '배추김치', quantity: 1, unitPriceCents: 790 }],
    totalCents: 790,
  };
  const kim: OrderReportInput = {
    ...ORDER,
    customer: { email: 'minjun.kim@example.kr', name: '김민준' },
    items: [{ sku: 'TEA-LONGJING-100G', name: '龙井茶', quantity: 2, unitPriceCents: 1890 }],
    totalCents: 3780,
  };

  it.each([
    ['张伟, a Korean item', zhang],
    ['김민준, a Chinese item', kim],
  ])('shows %s, each in the face that draws it', async (_, order) => {
    const pdf = await renderOrderReport(order, npmFont);
    const lines = (await extractPdfPages(pdf))[0].split('\n');

    expect(lines).toContain(`Customer ${order.customer.name}`);
    expect(lines).toContain(
      `${order.items[0].sku} ${order.items[0].name} ${order.items[0].quantity} ${formatMoney(order.items[0].unitPriceCents, 'EUR')} ${formatMoney(order.totalCents, 'EUR')}`,
    );
    expect(lines).toContain('Rabbit Shop — Order report');
    expect(fontNames(pdf)).toEqual(['NotoSansKR-Regular', 'NotoSansSC-Bold', 'NotoSansSC-Regular']);
    expect(fontPrograms(pdf)).toHaveLength(3);
  });

  it('states a reservation with the npm faces too', async () => {
    const pdf = await renderOrderReport({ ...kim, payBy: '2025-03-14T09:41:00Z' }, npmFont);
    const lines = (await extractPdfPages(pdf))[0].split('\n');
    expect(lines).toContain('Status Reserved – awaiting payment until 2025-03-14 09:41 UTC');
    expect(lines).toContain(`Customer ${kim.customer.name}`);
  });

  it('wraps a name of Chinese, Korean and Latin runs inside its column, in order', async () => {
    const name = `龙井茶 배추김치 ${'hand-made 한국 김 '.repeat(6)}END`;
    const order = { ...ORDER, items: [{ ...ORDER.items[0], name }] };
    const lines = (await extractPdfPages(await renderOrderReport(order, npmFont)))[0].split('\n');

    const nameLines = lines.filter((line) => /龙井茶|hand-made|한국|END/.test(line));
    expect(nameLines.length).toBeGreaterThan(2);
    // The sku fits its column: it comes out on the name's first line.
    expect(squeeze(nameLines.join(''))).toBe(squeeze(`${ORDER.items[0].sku} ${name}`));
    expect(lines).toContain('2 €18.90 €37.80');
  });

  it('continues a long order over pages and renders the same bytes for the same order', async () => {
    const order = longOrder(60);
    const pdf = await renderOrderReport(order, npmFont);
    const pages = await extractPdfPages(pdf);

    expect(pages.length).toBeGreaterThan(1);
    pages.forEach((page, i) => expect(page).toContain(`Page ${i + 1} of ${pages.length}`));
    const all = squeeze(pages.join('\n'));
    for (const item of order.items) expect(all).toContain(squeeze(item.name));
    expect((await renderOrderReport(order, npmFont)).equals(pdf)).toBe(true);
  });
});
