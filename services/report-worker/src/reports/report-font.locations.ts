import { dirname, join } from 'node:path';

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
