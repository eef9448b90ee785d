import type { DrainProgress, FiringProgress } from './run-flash-sale';

const BAR_WIDTH = 28;

/**
 * One progress line, redrawn in place on a terminal; on a pipe (CI, logs) a plain line at most every
 * two seconds instead, so logs stay readable.
 */
export class ProgressLine {
  private lastPlainAt = 0;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  firing(p: FiringProgress): void {
    this.draw(
      `firing   ${bar(p.done / p.total)} ${p.done}/${p.total}  accepted ${p.accepted}  sold out ${p.soldOut}  errors ${p.errors}  ${Math.round(p.currentRate)} req/s`,
    );
  }

  draining(p: DrainProgress): void {
    const done = p.accepted === 0 ? 1 : Math.min(p.emails, p.pdfs) / p.accepted;
    const depths = Object.entries(p.queueDepths)
      .filter(([queue, depth]) => depth > 0 || !queue.includes('.retry.'))
      .map(([queue, depth]) => `${queue} ${depth}`)
      .join(', ');
    this.draw(
      `draining ${bar(done)} emails ${p.emails}/${p.accepted}  PDFs ${p.pdfs}/${p.accepted}  ${(p.elapsedMs / 1000).toFixed(1)} s${depths ? `  queues: ${depths}` : ''}`,
    );
  }

  /** Ends the line being redrawn, so the next output starts on its own line. */
  done(): void {
    if (this.stream.isTTY) this.stream.write('\n');
  }

  private draw(line: string): void {
    if (this.stream.isTTY) {
      this.stream.write(`\r\x1b[2K${line.slice(0, (this.stream.columns || 160) - 1)}`);
    } else if (Date.now() - this.lastPlainAt >= 2_000) {
      this.lastPlainAt = Date.now();
      this.stream.write(`${line}\n`);
    }
  }
}

function bar(fraction: number): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
}
