import { SERVICE_NODE_FLAGS, yieldCpuAsConfigured } from '@shop/config';
import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { type Colour, compactLogLine, prefix, writeOut } from './console-output';

export interface ServiceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServiceProcessOptions {
  name: string;
  /** Which service it is (`notify-worker` for the instance `notify-worker-2`): its CPU priority. */
  service: string;
  /** The built entry point, e.g. services/order-api/dist/main.js. */
  entry: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  colour: Colour;
  /** Print JSON log lines as they come instead of shortening them. */
  rawLogs: boolean;
  /** Called once when the process ends, whoever ended it. */
  onExit: (exit: ServiceExit) => void;
}

/** One service as a child process of `npm start`, its output prefixed with its name. */
export class ServiceProcess {
  readonly name: string;
  readonly exited: Promise<ServiceExit>;
  private readonly child: ChildProcess;
  private exit: ServiceExit | undefined;

  constructor(options: ServiceProcessOptions) {
    this.name = options.name;
    // Own process group: a terminal's Ctrl-C reaches only `npm start`, which then stops the services
    // in order (and can tell a deliberate stop from a crash).
    this.child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, options.entry], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    // The background services yield the CPU to order-api (SERVICE_NICENESS), as in the benches.
    yieldCpuAsConfigured(options.service, this.child.pid);
    const label = prefix(options.name, options.colour);
    const show = (line: string): string => {
      if (options.rawLogs) return `${label}${line}\n`;
      let text = '';
      for (const shown of compactLogLine(line)) text += `${label}${shown}\n`;
      return text;
    };
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (stream) forEachLine(stream, (lines) => writeOut(lines.map(show).join('')));
    }
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        if (this.exit) return;
        this.exit = { code, signal };
        options.onExit(this.exit);
        resolve(this.exit);
      });
      this.child.once('error', (error) => {
        // spawn itself failed (no such file, say): report it like an exit.
        process.stdout.write(`${label}cannot start: ${error.message}\n`);
        if (this.exit) return;
        this.exit = { code: null, signal: null };
        options.onExit(this.exit);
        resolve(this.exit);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exit === undefined && this.child.pid !== undefined;
  }

  /** SIGTERM to this process (by PID), SIGKILL if it is still there after `graceMs`. */
  async stop(graceMs: number): Promise<ServiceExit> {
    if (!this.running) return this.exited;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  private signal(signal: NodeJS.Signals): void {
    if (!this.running || this.child.pid === undefined) return;
    try {
      process.kill(this.child.pid, signal);
    } catch {
      // already gone between the check and the kill
    }
  }
}

/**
 * Calls `onLines` with the complete lines of each chunk read (a last line without its newline comes
 * at the end), so a chunk of many lines is printed with one write. `\r\n` counts as one line end.
 */
function forEachLine(stream: Readable, onLines: (lines: string[]) => void): void {
  // A UTF-8 character never holds the byte 0x0a, so splitting bytes there never cuts one in two.
  let partial: Buffer | undefined;
  const lineOf = (bytes: Buffer): string => {
    const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
    return bytes.toString('utf8', 0, end);
  };
  stream.on('data', (chunk: Buffer) => {
    const data = partial ? Buffer.concat([partial, chunk]) : chunk;
    partial = undefined;
    const lines: string[] = [];
    let start = 0;
    for (let end = data.indexOf(0x0a); end !== -1; end = data.indexOf(0x0a, start)) {
      lines.push(lineOf(data.subarray(start, end)));
      start = end + 1;
    }
    if (start < data.length) partial = Buffer.from(data.subarray(start));
    if (lines.length > 0) onLines(lines);
  });
  stream.on('end', () => {
    if (partial) onLines([lineOf(partial)]);
    partial = undefined;
  });
}

/** `code 1`, `signal SIGKILL`: how a process ended, for messages. */
export function describeExit({ code, signal }: ServiceExit): string {
  if (signal) return `signal ${signal}`;
  return code === null ? 'failed to start' : `code ${code}`;
}
