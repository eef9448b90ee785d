import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installedReportFont, reportFontInstallCommand } from './report-fonts';

describe('report fonts', () => {
  it('finds the first installed location, or REPORT_FONT_PATH when it exists', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fonts-'));
    const present = join(dir, 'NotoSansCJK-Regular.ttc');
    writeFileSync(present, '');
    const locations = [{ regular: join(dir, 'missing.ttc') }, { regular: present }];
    expect(installedReportFont(undefined, locations)).toBe(present);
    expect(installedReportFont(undefined, [{ regular: join(dir, 'missing.ttc') }])).toBeUndefined();
    expect(installedReportFont(present, [])).toBe(present);
    expect(installedReportFont(join(dir, 'nope.ttf'), locations)).toBeUndefined();
  });

  it('names the install command for the platform it runs on', () => {
    expect(reportFontInstallCommand('linux', 'ID=debian\nVERSION_ID="12"')).toBe(
      'sudo apt-get install -y fonts-noto-cjk',
    );
    expect(reportFontInstallCommand('linux', 'ID=linuxmint\nID_LIKE="ubuntu debian"')).toBe(
      'sudo apt-get install -y fonts-noto-cjk',
    );
    expect(reportFontInstallCommand('linux', 'ID="rocky"\nID_LIKE="rhel centos fedora"')).toBe(
      'sudo dnf install -y google-noto-sans-cjk-fonts',
    );
    expect(reportFontInstallCommand('linux', 'ID=alpine')).toBe('sudo apk add font-noto-cjk');
    expect(reportFontInstallCommand('darwin', undefined)).toBe('brew install --cask font-noto-sans-cjk');
    expect(reportFontInstallCommand('linux', 'ID=gentoo')).toBeUndefined();
  });
});
