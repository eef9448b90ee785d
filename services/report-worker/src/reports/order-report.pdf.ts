import { formatMoney, orderNumberOf, type OrderPlacedV1Data } from '@shop/contracts';
import PDFDocument from 'pdfkit';
import { loadReportFont, type ReportFontWay, type ResolvedReportFont } from './report-font';
import { ReportText, type FontWeight } from './report-text';

/** What the report shows: the `order.report` message's data (OrderPlacedV1). */
export type OrderReportInput = Pick<
  OrderPlacedV1Data,
  'orderId' | 'placedAt' | 'customer' | 'items' | 'totalCents' | 'currency' | 'payBy'
>;

export const REPORT_TITLE = 'Rabbit Shop — Order report';

const A4 = { width: 595.28, height: 841.89 };
const MARGIN = 50;
const CONTENT_WIDTH = A4.width - 2 * MARGIN;
const FOOTER_Y = A4.height - 34;
const CELL_PADDING_X = 4;
const CELL_PADDING_Y = 4;
const TABLE_FONT_SIZE = 9;
const GREY = '#555555';
const RULE = '#999999';
const HEADER_FILL = '#e8e8e8';
const STRIPE_FILL = '#f6f6f6';

interface Column {
  label: string;
  width: number;
  align: 'left' | 'right';
}

const COLUMNS: readonly Column[] = [
  { label: 'SKU', width: 100, align: 'left' },
  { label: 'Item', width: 185, align: 'left' },
  { label: 'Qty', width: 40, align: 'right' },
  { label: 'Unit price', width: 85, align: 'right' },
  { label: 'Line total', width: 85, align: 'right' },
];

/**
 * Renders the order report as an A4 PDF: header, order and customer, the items (the table continues on the
 * next page under a repeated header row), the total and "Page N of M" on every page. The same input gives
 * the same bytes: the PDF dates and the document ID derive from `placedAt`, nothing from the clock.
 * `way` says how the document gets its faces (see ReportFontWay); the service always prepares them.
 */
export async function renderOrderReport(
  order: OrderReportInput,
  font: ResolvedReportFont,
  way: ReportFontWay = 'prepared',
): Promise<Buffer> {
  const placedAt = new Date(order.placedAt);
  if (Number.isNaN(placedAt.getTime())) throw new Error(`placedAt is not a date: ${order.placedAt}`);
  const number = orderNumberOf(order.orderId);

  const doc = new PDFDocument({
    size: [A4.width, A4.height],
    margin: MARGIN,
    bufferPages: true,
    // No default font: pdfkit would parse Helvetica's metrics for every document, and the report only
    // uses the CJK faces (null is what pdfkit checks; its types only say string).
    font: null as unknown as string,
    info: {
      Title: `Order ${number}`,
      Author: 'Rabbit Shop',
      Subject: `Order ${order.orderId}`,
      Creator: 'Rabbit Shop report-worker',
      CreationDate: placedAt,
      ModDate: placedAt,
    },
  });
  const done = collect(doc);
  const text = new ReportText(doc, loadReportFont(font, way));

  drawHeader(text, order, number, placedAt);
  drawItems(text, order, number);
  drawFooters(text, order.orderId);
  doc.end();
  return done;
}

function collect(doc: PDFKit.PDFDocument): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
}

/** Names may come in any script and any Unicode form; control characters would break lines. */
function clean(text: string): string {
  return text.normalize('NFC').replace(/[\u0000-\u001f\u007f]+/g, ' ');
}

function formatUtc(date: Date): string {
  const iso = date.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

function drawHeader(text: ReportText, order: OrderReportInput, number: string, placedAt: Date): void {
  const { doc } = text;
  text.use('bold').fontSize(18).fillColor('black');
  textBlock(text, REPORT_TITLE, MARGIN, MARGIN, CONTENT_WIDTH);
  doc.moveDown(0.2);
  text.use('regular').fontSize(11).fillColor(GREY);
  textBlock(text, `Order ${number}`, MARGIN, doc.y, CONTENT_WIDTH);
  doc.moveDown(0.8);

  const labelWidth = 70;
  const fields: Array<[string, string]> = [
    ['Order id', order.orderId],
    ['Placed', formatUtc(placedAt)],
    ...statusField(order),
    ['Customer', clean(order.customer.name)],
    ['Email', clean(order.customer.email)],
  ];
  doc.fontSize(10);
  for (const [label, value] of fields) {
    const y = doc.y;
    text.use('bold').fillColor(GREY).text(label, MARGIN, y, { width: labelWidth, lineBreak: false });
    text.use('regular').fillColor('black');
    textBlock(text, value, MARGIN + labelWidth, y, CONTENT_WIDTH - labelWidth);
    doc.moveDown(0.25);
  }
  doc.moveDown(1);
}

/**
 * The status the report was made for: an order placed with a pay-by time is a reservation until it is
 * paid. An order from before orders had to be paid has no status line, as before.
 */
function statusField(order: OrderReportInput): Array<[string, string]> {
  if (order.payBy === undefined) return [];
  const payBy = new Date(order.payBy);
  if (Number.isNaN(payBy.getTime())) throw new Error(`payBy is not a date: ${order.payBy}`);
  return [['Status', `Reserved – awaiting payment until ${formatUtc(payBy)}`]];
}

/** Writes `value` from (x, y) wrapped to `width` and moves below it; one line skips pdfkit's line wrapper. */
function textBlock(text: ReportText, value: string, x: number, y: number, width: number): void {
  if (text.widthOf(value) > width) {
    text.block(value, x, y, { width });
    return;
  }
  const { doc } = text;
  text.line(value, x, y);
  doc.x = x;
  doc.y = y + doc.currentLineHeight(true);
}

function drawItems(text: ReportText, order: OrderReportInput, number: string): void {
  const { doc } = text;
  const money = (cents: number) => formatMoney(cents, order.currency);
  const bottom = FOOTER_Y - 16;
  const header = layoutRow(
    text,
    COLUMNS.map((c) => c.label),
    'bold',
  );
  const total = layoutRow(text, ['', 'Total', '', '', money(order.totalCents)], 'bold');
  let y = drawRow(text, doc.y, header, 'header');

  order.items.forEach((item, index) => {
    const row = layoutRow(
      text,
      [
        clean(item.sku),
        clean(item.name),
        String(item.quantity),
        money(item.unitPriceCents),
        money(item.unitPriceCents * item.quantity),
      ],
      'regular',
    );
    // The last item keeps the total company on its page.
    const needed = row.height + (index === order.items.length - 1 ? total.height + 2 : 0);
    if (y + needed > bottom) y = drawRow(text, continuationPage(text, number), header, 'header');
    y = drawRow(text, y, row, index % 2 === 1 ? 'stripe' : 'plain');
  });

  doc
    .moveTo(MARGIN, y)
    .lineTo(MARGIN + CONTENT_WIDTH, y)
    .lineWidth(0.8)
    .strokeColor(RULE)
    .stroke();
  drawRow(text, y + 2, total, 'total');
}

/** Starts a new page under a one-line heading and returns the y below it. */
function continuationPage(text: ReportText, number: string): number {
  text.doc.addPage();
  text.use('regular').fontSize(TABLE_FONT_SIZE).fillColor(GREY);
  textBlock(text, `${REPORT_TITLE} · Order ${number} (continued)`, MARGIN, MARGIN, CONTENT_WIDTH);
  return text.doc.y + 6;
}

type RowStyle = 'header' | 'plain' | 'stripe' | 'total';

interface RowLayout {
  font: FontWeight;
  cells: Array<{ text: string; width: number; wraps: boolean }>;
  height: number;
}

/** Measures a row once: each cell's width, whether it wraps in its column, and the row's height. */
function layoutRow(text: ReportText, values: readonly string[], font: FontWeight): RowLayout {
  const doc = text.use(font).fontSize(TABLE_FONT_SIZE);
  let height = doc.currentLineHeight(true);
  const cells = values.map((value, i) => {
    const inner = COLUMNS[i].width - 2 * CELL_PADDING_X;
    const width = text.widthOf(value);
    const wraps = width > inner;
    if (wraps) height = Math.max(height, text.heightOf(value, inner));
    return { text: value, width, wraps };
  });
  return { font, cells, height: height + 2 * CELL_PADDING_Y };
}

/** Draws a row at `y` and returns the y below it. */
function drawRow(text: ReportText, y: number, row: RowLayout, style: RowStyle): number {
  const { doc } = text;
  if (style === 'header' || style === 'stripe') {
    doc.rect(MARGIN, y, CONTENT_WIDTH, row.height).fill(style === 'header' ? HEADER_FILL : STRIPE_FILL);
  }
  text.use(row.font).fontSize(TABLE_FONT_SIZE).fillColor('black');
  let x = MARGIN;
  row.cells.forEach(({ text: value, width, wraps }, i) => {
    const column = COLUMNS[i];
    const inner = column.width - 2 * CELL_PADDING_X;
    if (wraps) {
      text.block(value, x + CELL_PADDING_X, y + CELL_PADDING_Y, { width: inner, align: column.align });
    } else if (value) {
      // One line: placed directly, without pdfkit's line wrapper (most of a row's drawing cost).
      const left = column.align === 'right' ? x + CELL_PADDING_X + inner - width : x + CELL_PADDING_X;
      text.line(value, left, y + CELL_PADDING_Y);
    }
    x += column.width;
  });
  return y + row.height;
}

function drawFooters(text: ReportText, orderId: string): void {
  const { doc } = text;
  const { start, count } = doc.bufferedPageRange();
  for (let i = start; i < start + count; i++) {
    doc.switchToPage(i);
    // Writing below the bottom margin would make pdfkit start a new page.
    const { bottom } = doc.page.margins;
    doc.page.margins.bottom = 0;
    doc
      .moveTo(MARGIN, FOOTER_Y - 6)
      .lineTo(MARGIN + CONTENT_WIDTH, FOOTER_Y - 6)
      .lineWidth(0.5)
      .strokeColor(RULE)
      .stroke();
    text.use('regular').fontSize(8).fillColor(GREY);
    doc.text(`Order ${orderId}`, MARGIN, FOOTER_Y, { width: CONTENT_WIDTH / 2, lineBreak: false });
    doc.text(`Page ${i - start + 1} of ${count}`, MARGIN + CONTENT_WIDTH / 2, FOOTER_Y, {
      width: CONTENT_WIDTH / 2,
      align: 'right',
      lineBreak: false,
    });
    doc.page.margins.bottom = bottom;
  }
}
