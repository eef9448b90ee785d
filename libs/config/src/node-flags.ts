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
