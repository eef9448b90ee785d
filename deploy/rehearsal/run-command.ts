/**
 * How the rehearsal runs docker, docker-compose, npm and debootstrap: every command with a deadline, in a
 * process group of its own (so a timeout or Ctrl-C ends it and its children, and nothing else), its
 * output kept or appended to a log file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync } from 'node:fs';

export interface RunOptions {
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Output appended here (with the command line first) instead of kept in memory. */
  logFile?: string;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** The last lines of a failed command's output ride along in the message. */
export class CommandError extends Error {
  constructor(
    readonly commandLine: string,
    readonly result: RunResult,
    hint = '',
  ) {
    const why = result.timedOut ? 'timed out' : `exited with ${result.code}`;
    const tail = lastLines(`${result.stdout}\n${result.stderr}`, 15);
    super(`${commandLine} ${why}${hint ? ` (${hint})` : ''}${tail ? `\n${tail}` : ''}`);
    this.name = 'CommandError';
  }
}

const KEPT_BYTES = 1024 * 1024;
const running = new Set<ChildProcess>();

export function runCommand(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  const commandLine = [command, ...args].join(' ');
  let logFd: number | undefined;
  if (options.logFile) {
    appendFileSync(options.logFile, `\n$ ${commandLine}\n`);
    logFd = openSync(options.logFile, 'a');
  }
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: ['ignore', logFd ?? 'pipe', logFd ?? 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    if (stdout.length < KEPT_BYTES) stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < KEPT_BYTES) stderr += chunk.toString('utf8');
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stopGroup(child);
  }, options.timeoutMs);
  return new Promise((resolve) => {
    const finish = (code: number | null, error?: Error) => {
      clearTimeout(timer);
      running.delete(child);
      if (logFd !== undefined) closeSync(logFd);
      if (error) stderr += `${error.message}\n`;
      resolve({ code, stdout, stderr, timedOut });
    };
    child.once('error', (error) => finish(null, error));
    child.once('close', (code) => finish(code));
  });
}

/** runCommand, and a CommandError unless it exits with 0. */
export async function mustRun(
  command: string,
  args: string[],
  options: RunOptions & { hint?: string },
): Promise<RunResult> {
  const result = await runCommand(command, args, options);
  if (result.code !== 0) {
    const output = options.logFile
      ? {
          ...result,
          stdout: `${lastLines(readFileSync(options.logFile, 'utf8'), 15)}\n(all of it in ${options.logFile})`,
        }
      : result;
    throw new CommandError([command, ...args].join(' '), output, options.hint);
  }
  return result;
}

/** Ctrl-C: ends every command still running (each with its children), so that clean-up can start. */
export function stopRunningCommands(): void {
  for (const child of running) stopGroup(child);
}

function stopGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  setTimeout(() => {
    try {
      if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }, 5_000).unref();
}

export function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}
