/**
 * CPU per PDF and per email, each library's public way beside the hand-written part that replaces it:
 *
 *   npm run bench:rendering -- [--pdfs N, default 40] [--emails N, default 4000] [--rounds N, default 5]
 *       [--font PATH]
 *
 * PDF: pdfkit registering the font file's bytes (it parses, shapes, subsets and compresses the font for
 * every document) against report-worker's prepared faces (one parse per process, cmap-only layout, its
 * own CFF and TrueType subsetters). The font is report-worker's choice (REPORT_FONT_PATH, a system Noto
 * Sans CJK, else Noto Sans SC and KR from npm); `--font` sets REPORT_FONT_PATH, e.g. to a Noto Sans CJK
 * collection, whose subset is CFF. Email: nodemailer composing each message against notify-worker's MIME
 * skeleton (libqp and libmime encode its parts), rendered and sent to an SMTP sink in a child process.
 *
 * Each side runs in its service's own bench script, in a child process of its own (tools import no
 * service): the ways alternate within each round and the figures are the medians of the rounds.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { formatNumber, formatTable } from '../src/summary';

const ROOT = join(__dirname, '../../..');
const REPORT_BENCH = join(ROOT, 'services/report-worker/bench/order-report.bench.ts');
const EMAIL_BENCH = join(ROOT, 'services/notify-worker/bench/order-email.bench.ts');

/** The labels notify-worker's bench gives its cases. */
const EMAIL_CASES = {
  sent: {
    public: 'render + send: nodemailer composes (public)',
    hand: 'render + send: Mailer.send, skeleton raw (hand-written)',
  },
  built: {
    public: 'MIME build: nodemailer composing (public)',
    hand: 'MIME build: MimeSkeleton (hand-written)',
  },
};

interface WayFigures {
  cpuMs: number;
  kib: number;
}

interface PdfRun {
  font: string;
  results: Array<{ items: number; pdfkit: WayFigures; prepared: WayFigures }>;
}

interface EmailRun {
  cpuMs: Record<string, number>;
}

const option = (name: string, fallback: string) =>
  process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : fallback;

/** Runs a bench script under this process's TypeScript loader and returns its last line, parsed. */
async function runBench<T>(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const { stdout } = await promisify(execFile)(process.execPath, [...process.execArgv, file, ...args], {
    cwd: ROOT,
    env,
    maxBuffer: 16 * 2 ** 20,
  });
  const last = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as T;
}

const ms = (value: number) => `${formatNumber(value, 3)} ms`;
const saving = (publicWay: number, hand: number) => `${formatNumber((1 - hand / publicWay) * 100)} %`;

async function main(): Promise<void> {
  const rounds = option('--rounds', '5');
  const font = process.argv.includes('--font') ? option('--font', '') : undefined;
  const env = font ? { ...process.env, REPORT_FONT_PATH: font } : process.env;
  const started = new Date().toISOString().slice(0, 10);

  console.log('PDFs: report-worker bench, public way and prepared faces alternating ...');
  const pdf = await runBench<PdfRun>(
    REPORT_BENCH,
    ['--ways', option('--pdfs', '40'), '--rounds', rounds, '--json'],
    env,
  );
  console.log('Emails: notify-worker bench, nodemailer composing and the skeleton alternating ...');
  const email = await runBench<EmailRun>(EMAIL_BENCH, [
    option('--emails', '4000'),
    '--rounds',
    rounds,
    '--json',
  ]);

  const rows: string[][] = [];
  for (const { items, pdfkit, prepared } of pdf.results) {
    rows.push([
      `CPU per PDF, ${items} items`,
      ms(pdfkit.cpuMs),
      ms(prepared.cpuMs),
      saving(pdfkit.cpuMs, prepared.cpuMs),
    ]);
    rows.push([
      `PDF size, ${items} items`,
      `${formatNumber(pdfkit.kib, 1)} KiB`,
      `${formatNumber(prepared.kib, 1)} KiB`,
      saving(pdfkit.kib, prepared.kib),
    ]);
  }
  for (const [figure, labels] of [
    ['CPU per email, render + send over SMTP', EMAIL_CASES.sent],
    ['CPU per email, MIME build only', EMAIL_CASES.built],
  ] as const) {
    const publicWay = email.cpuMs[labels.public];
    const hand = email.cpuMs[labels.hand];
    rows.push([figure, ms(publicWay), ms(hand), saving(publicWay, hand)]);
  }
  console.log(
    `\n${formatTable(['figure', 'public way', 'hand-written', 'hand-written saves'], rows)}\n` +
      `(${started}; median of ${rounds} rounds; PDF font: ${pdf.font.replaceAll(`${ROOT}/`, '')}; email sink CPU not counted)`,
  );
}

main().catch((error: Error) => {
  console.error(error);
  process.exit(1);
});
