import { setPriority } from 'node:os';

/**
 * The V8 flags every service process runs with: `npm start`, the service processes of the specs,
 * benches and drills, and the Docker image's CMD (deploy/docker/Dockerfile repeats them; a spec checks
 * it). With V8's defaults a service's heap grew to several times what it held: order-api peaked near
 * 340 MB under a flash sale with about 40 MB live, report-worker near 350 MB. A 4 MB young generation
 * and an old generation that may grow to twice what survived the last full collection kept both near
 * 200 MB at the same CPU per request (20,000-request sale against order-api alone; 2,000 PDFs).
 */
export const SERVICE_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=4',
  '--heap-growing-percent=100',
];

/**
 * How much a service yields the CPU to the others, as a nice value (0: not at all): the workers, the log
 * aggregator and the dashboard do work nobody waits on at that moment (emails, PDFs, the log archive, a
 * chart), so in a flash sale on a small machine order-api's answers go first and the background work
 * catches up right after. npm start and the benches set it (os.setPriority); compose gives the same
 * services a lower cpu_shares. Specs leave it alone.
 */
export const SERVICE_NICENESS: Readonly<Record<string, number>> = {
  'notify-worker': 5,
  'report-worker': 5,
  'log-aggregator': 5,
  dashboard: 5,
};

/** Lowers a started service's CPU priority as SERVICE_NICENESS says; a refusal (no permission) changes nothing. */
export function yieldCpuAsConfigured(service: string, pid: number | undefined): void {
  const niceness = SERVICE_NICENESS[service];
  if (!niceness || pid === undefined) return;
  try {
    setPriority(pid, niceness);
  } catch {
    // Not allowed here (another user's process): it runs at normal priority.
  }
}
