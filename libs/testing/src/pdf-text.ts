import { spawn } from 'node:child_process';

// Runs in a separate Node process: pdf.js loads its worker with a dynamic import(), which Jest's CommonJS
// module sandbox refuses ("invoked without --experimental-vm-modules").
const EXTRACT_SCRIPT = `
const { PDFParse } = require(process.argv[1]);
const chunks = [];
process.stdin.on('data', (chunk) => chunks.push(chunk));
process.stdin.on('end', async () => {
  const parser = new PDFParse({ data: new Uint8Array(Buffer.concat(chunks)), verbosity: 0 });
  try {
    const result = await parser.getText({ pageJoiner: '' });
    process.stdout.write(JSON.stringify(result.pages.map((page) => page.text)));
  } finally {
    await parser.destroy();
  }
});
`;

/**
 * The text of each page of a PDF, in order, as a reader's copy-and-paste would see it (pdf.js through
 * pdf-parse): a test sees the characters the PDF really carries, e.g. Chinese and Korean names through the
 * font's ToUnicode map. For tests only (pdf-parse is a devDependency).
 */
export function extractPdfPages(pdf: Uint8Array): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', EXTRACT_SCRIPT, require.resolve('pdf-parse')], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`PDF text extraction failed (exit ${code}): ${Buffer.concat(stderr).toString()}`));
        return;
      }
      try {
        resolve(JSON.parse(Buffer.concat(stdout).toString('utf8')) as string[]);
      } catch (error) {
        reject(error);
      }
    });
    child.stdin.end(pdf);
  });
}

/** The text of all pages of a PDF, joined by a blank line. */
export async function extractPdfText(pdf: Uint8Array): Promise<string> {
  return (await extractPdfPages(pdf)).join('\n\n');
}
