import { createServer } from 'node:net';

/** A TCP port nothing listens on right now (for a service process a spec or bench starts): `preferred` when free. */
export async function freePort(preferred?: number): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<number | undefined>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(undefined));
      server.listen(port, '127.0.0.1', () => {
        const { port: bound } = server.address() as { port: number };
        server.close(() => resolve(bound));
      });
    });
  const port = (preferred === undefined ? undefined : await tryListen(preferred)) ?? (await tryListen(0));
  if (port === undefined) throw new Error('no free TCP port on 127.0.0.1');
  return port;
}
