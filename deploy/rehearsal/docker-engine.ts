/**
 * A Docker engine and a compose CLI for the rehearsal. Uses the engine `docker info` reaches; else, as root
 * on Debian, installs docker.io and docker-compose (deploy/system/preflight.sh, the one place that knows
 * the system packages) and starts dockerd in the background, where it stays after the rehearsal. Anywhere
 * else it stops and prints the commands to run.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '@shop/testing';
import { lastLines, mustRun, runCommand } from './run-command';

export interface DockerEngine {
  serverVersion: string;
  /** How compose is invoked: the `docker compose` plugin, else docker-compose (v1). */
  compose: string[];
  /** What this run did to get it. */
  how: string;
}

/** No engine and no way to start one here: `commands` say what to run instead. */
export class EngineUnavailableError extends Error {
  constructor(why: string, commands: string[]) {
    super(`${why}\n  Run, as root:\n${commands.map((line) => `    ${line}`).join('\n')}`);
    this.name = 'EngineUnavailableError';
  }
}

const MANUAL_START = [
  'apt-get update && apt-get install -y --no-install-recommends docker.io docker-compose',
  'dockerd > /var/log/dockerd.log 2>&1 &',
];

export async function ensureDockerEngine(repoRoot: string, logDir: string): Promise<DockerEngine> {
  let version = await serverVersion();
  let how = 'already running';
  if (!version) {
    const isRoot = process.getuid?.() === 0;
    const hasApt = (await runCommand('sh', ['-c', 'command -v apt-get'], { timeoutMs: 5_000 })).code === 0;
    if (!isRoot || !hasApt) {
      throw new EngineUnavailableError(
        `No Docker engine answers \`docker info\`, and ${isRoot ? 'apt-get is missing' : 'this is not root'}.`,
        MANUAL_START,
      );
    }
    await mustRun('bash', [join(repoRoot, 'deploy/system/preflight.sh'), 'compose'], {
      timeoutMs: 10 * 60_000,
      hint: 'installing docker.io and docker-compose',
    });
    version = await startDockerd(logDir);
    how = `dockerd started in the background (log ${join(logDir, 'dockerd.log')})`;
  }
  return { serverVersion: version, compose: await composeCli(), how };
}

async function serverVersion(): Promise<string | undefined> {
  const result = await runCommand('docker', ['info', '--format', '{{.ServerVersion}}'], {
    timeoutMs: 20_000,
  });
  const version = result.stdout.trim();
  return result.code === 0 && version !== '' ? version : undefined;
}

/**
 * dockerd with its defaults (overlay2, iptables), which work on this project's machines; should it stop
 * during start-up, once more with the vfs storage driver, which needs nothing from the kernel.
 */
async function startDockerd(logDir: string): Promise<string> {
  const logFile = join(logDir, 'dockerd.log');
  for (const extraArgs of [[], ['--storage-driver=vfs']]) {
    const commandLine = ['dockerd', ...extraArgs].join(' ');
    const log = openSync(logFile, 'a');
    const dockerd = spawn('dockerd', extraArgs, { detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    let exited = false;
    dockerd.once('exit', () => (exited = true));
    dockerd.once('error', () => (exited = true));
    dockerd.unref();
    if (dockerd.pid) writeFileSync(join(logDir, 'dockerd.pid'), `${dockerd.pid}\n`);
    try {
      return await waitFor(
        `${commandLine} to answer`,
        async () => {
          if (exited) throw new Error('dockerd exited');
          return serverVersion();
        },
        { timeoutMs: 60_000, intervalMs: 500, failFast: true },
      );
    } catch (error) {
      if (!exited) throw error;
      console.warn(`${commandLine} stopped during start-up:\n${await logTail(logFile)}`);
    }
  }
  throw new EngineUnavailableError(`dockerd did not start (its log: ${logFile}).`, MANUAL_START);
}

async function composeCli(): Promise<string[]> {
  if ((await runCommand('docker', ['compose', 'version'], { timeoutMs: 20_000 })).code === 0) {
    return ['docker', 'compose'];
  }
  if ((await runCommand('docker-compose', ['version'], { timeoutMs: 20_000 })).code === 0) {
    return ['docker-compose'];
  }
  throw new EngineUnavailableError('Neither `docker compose` nor `docker-compose` is installed.', [
    'bash deploy/system/preflight.sh compose',
  ]);
}

async function logTail(file: string): Promise<string> {
  const { stdout } = await runCommand('tail', ['-n', '20', file], { timeoutMs: 5_000 });
  return lastLines(stdout, 20);
}
