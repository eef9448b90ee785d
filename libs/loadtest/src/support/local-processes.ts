import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * `npm start` writes the pid of each process it runs here (and removes the file when it stops), so
 * the load test's `--cpu` can read their CPU time and memory from /proc.
 */
export const LOCAL_PROCESSES_FILE = join(__dirname, '../../../../var/run/local-processes.json');

export interface LocalProcesses {
  /** The supervisor's pid: the file is stale when it is gone. */
  supervisor: number;
  /** Process name → pid; the mail catcher runs inside the supervisor, so it has the same pid. */
  processes: Record<string, number>;
}

export function writeLocalProcesses(processes: Record<string, number>, file = LOCAL_PROCESSES_FILE): void {
  mkdirSync(dirname(file), { recursive: true });
  const content: LocalProcesses = { supervisor: process.pid, processes };
  writeFileSync(file, `${JSON.stringify(content, null, 2)}\n`);
}

export function removeLocalProcesses(file = LOCAL_PROCESSES_FILE): void {
  rmSync(file, { force: true });
}

/** `npm start`'s one call: writes the file now and removes it when this process exits, however it exits. */
export function recordLocalProcesses(processes: Record<string, number>, file = LOCAL_PROCESSES_FILE): void {
  writeLocalProcesses({ supervisor: process.pid, ...processes }, file);
  process.once('exit', () => removeLocalProcesses(file));
}

/** The processes of a running `npm start`; undefined when none is running (no file, or a stale one). */
export function readLocalProcesses(file = LOCAL_PROCESSES_FILE): Record<string, number> | undefined {
  let content: LocalProcesses;
  try {
    content = JSON.parse(readFileSync(file, 'utf8')) as LocalProcesses;
  } catch {
    return undefined;
  }
  if (!isAlive(content.supervisor)) return undefined;
  return Object.fromEntries(Object.entries(content.processes).filter(([, pid]) => isAlive(pid)));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only asks whether the pid exists
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
