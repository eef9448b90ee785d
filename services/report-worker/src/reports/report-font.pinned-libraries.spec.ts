import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The pins in report-worker's package.json: prepared faces rely on these exact versions' internals. */
const pinned: Record<string, string> = JSON.parse(
  readFileSync(join(__dirname, '../../package.json'), 'utf8'),
).dependencies;

/** The version of the copy `require` loads; the packages' exports hide their package.json from require. */
function installedVersion(name: string): string {
  let dir = dirname(require.resolve(name));
  for (;;) {
    const manifest = join(dir, 'package.json');
    try {
      const parsed = JSON.parse(readFileSync(manifest, 'utf8'));
      if (parsed.name === name) return parsed.version;
    } catch {
      // no package.json at this level: go up
    }
    if (dirname(dir) === dir) throw new Error(`no package.json of ${name} above ${require.resolve(name)}`);
    dir = dirname(dir);
  }
}

describe('the font libraries the prepared faces rely on', () => {
  // report-font.subset.ts reads fontkit's CFF tables, report-font.ts hands pdfkit a parsed fontkit font
  // and replaces its layout and createSubset: a new version may change any of them.
  it.each(['pdfkit', 'fontkit'])('%s is the exact version pinned in package.json', (name) => {
    expect(pinned[name]).toMatch(/^\d+\.\d+\.\d+$/);
    const installed = installedVersion(name);
    if (installed !== pinned[name]) {
      throw new Error(
        `${name} ${installed} is installed but ${pinned[name]} is pinned: the hand-written font code in ` +
          'services/report-worker/src/reports/report-font*.ts relies on its internals and must be re-checked ' +
          '(npm run bench:rendering, the report-worker specs), then the pin moved.',
      );
    }
  });
});
