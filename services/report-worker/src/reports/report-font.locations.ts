import { dirname, join } from 'node:path';
import { homedir } from 'node:os';

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

/** A font file inside an npm package (resolved from node_modules wherever this code runs: src or dist). */
export interface PackageFontFile {
  packageName: string;
  file: string;
}

/** Noto Sans SC (Latin, Chinese; no Hangul syllables) and Noto Sans KR (Latin, Hangul), static TTFs, OFL. */
export const PACKAGE_REPORT_FONTS = {
  regular: {
    main: { packageName: '@expo-google-fonts/noto-sans-sc', file: '400Regular/NotoSansSC_400Regular.ttf' },
    hangul: { packageName: '@expo-google-fonts/noto-sans-kr', file: '400Regular/NotoSansKR_400Regular.ttf' },
  },
  bold: {
    main: { packageName: '@expo-google-fonts/noto-sans-sc', file: '700Bold/NotoSansSC_700Bold.ttf' },
    hangul: { packageName: '@expo-google-fonts/noto-sans-kr', file: '700Bold/NotoSansKR_700Bold.ttf' },
  },
} as const satisfies Record<'regular' | 'bold', { main: PackageFontFile; hangul: PackageFontFile }>;

/** The path of a package's font file; throws when the package is not installed. */
export function packageFontPath({ packageName, file }: PackageFontFile): string {
  let manifest: string;
  try {
    manifest = require.resolve(`${packageName}/package.json`);
  } catch {
    throw new Error(`No font for PDF reports: the npm package ${packageName} is not installed (run npm ci)`);
  }
  return join(dirname(manifest), file);
}
