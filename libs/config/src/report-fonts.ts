import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

// Where report-worker finds the font its PDFs embed (Noto Sans CJK / Source Han Sans: Latin, Chinese and
// Hangul), by platform. Here, not in report-worker, because `npm start` checks it before starting anything.

/** Where to look for a font: the regular file and its bold sibling. */
export interface ReportFontLocation {
  regular: string;
  bold?: string;
}

const home = homedir();
const notoCjk = (dir: string): ReportFontLocation => ({
  regular: join(dir, 'NotoSansCJK-Regular.ttc'),
  bold: join(dir, 'NotoSansCJK-Bold.ttc'),
});

/** Where Noto Sans CJK / Source Han Sans (both cover Latin, Chinese and Hangul) land, by platform. */
export const WELL_KNOWN_REPORT_FONTS: readonly ReportFontLocation[] = [
  notoCjk('/usr/share/fonts/opentype/noto'), // Debian, Ubuntu: fonts-noto-cjk
  notoCjk('/usr/share/fonts/google-noto-sans-cjk-fonts'), // Fedora 36+: google-noto-sans-cjk-fonts
  notoCjk('/usr/share/fonts/google-noto-cjk'), // Fedora 35 and older: google-noto-sans-cjk-ttc-fonts
  notoCjk('/usr/share/fonts/noto'), // Alpine: font-noto-cjk
  notoCjk('/usr/share/fonts/noto-cjk'), // Arch: noto-fonts-cjk
  notoCjk(join(home, 'Library/Fonts')), // macOS, per user
  notoCjk('/Library/Fonts'), // macOS, all users
  {
    regular: join(home, 'Library/Fonts/SourceHanSans-Regular.ttc'),
    bold: join(home, 'Library/Fonts/SourceHanSans-Bold.ttc'),
  },
  { regular: '/Library/Fonts/SourceHanSans-Regular.ttc', bold: '/Library/Fonts/SourceHanSans-Bold.ttc' },
];

export const REPORT_FONT_INSTALL_HINT =
  'Install Noto Sans CJK (Debian/Ubuntu: `apt-get install fonts-noto-cjk`; Fedora: `dnf install ' +
  'google-noto-sans-cjk-fonts`; Alpine: `apk add font-noto-cjk`), or set REPORT_FONT_PATH to a ' +
  'TTF/OTF/TTC font that covers Latin, Chinese and Hangul.';

/** The first well-known font file installed (or REPORT_FONT_PATH when it exists), or undefined. */
export function installedReportFont(
  configuredPath?: string,
  locations: readonly ReportFontLocation[] = WELL_KNOWN_REPORT_FONTS,
): string | undefined {
  if (configuredPath) return existsSync(configuredPath) ? configuredPath : undefined;
  return locations.find((location) => existsSync(location.regular))?.regular;
}

/** The command that installs Noto Sans CJK on this machine (from /etc/os-release, or macOS), or undefined. */
export function reportFontInstallCommand(
  platform: NodeJS.Platform = process.platform,
  osRelease: string | undefined = readOsRelease(),
): string | undefined {
  if (platform === 'darwin') return 'brew install --cask font-noto-sans-cjk';
  // ID=ubuntu, ID_LIKE="rhel centos fedora": the distribution and those it derives from.
  const ids = new Set(
    [...(osRelease ?? '').matchAll(/^(?:ID|ID_LIKE)=(.*)$/gm)].flatMap(([, value]) =>
      value.replace(/"/g, '').split(/\s+/),
    ),
  );
  if (ids.has('debian') || ids.has('ubuntu')) return 'sudo apt-get install -y fonts-noto-cjk';
  if (ids.has('fedora') || ids.has('rhel')) return 'sudo dnf install -y google-noto-sans-cjk-fonts';
  if (ids.has('alpine')) return 'sudo apk add font-noto-cjk';
  if (ids.has('arch')) return 'sudo pacman -S noto-fonts-cjk';
  return undefined;
}

function readOsRelease(): string | undefined {
  try {
    return readFileSync('/etc/os-release', 'utf8');
  } catch {
    return undefined;
  }
}
