import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { composePublishedPorts } from './compose-environment';

/** `.env.example`'s assignments: what a user copies to `.env`. */
function envExample(): Map<string, string> {
  const text = readFileSync(join(__dirname, '../../../.env.example'), 'utf8');
  return new Map(
    [...text.matchAll(/^([A-Z0-9_]+)=(.*)$/gm)].map(([, name, value]) => [name, value.trim()] as const),
  );
}

// `127.0.0.1:${ORDER_API_HOST_PORT:-3000}:3000`: loopback only, the host port a variable with a default.
const PUBLISHED = /^127\.0\.0\.1:\$\{([A-Z0-9_]+_HOST_PORT):-(\d+)\}:(\d+)$/;

describe('docker-compose.yml publishes every port on loopback through a variable of .env.example', () => {
  const ports = composePublishedPorts();
  const documented = envExample();

  it('publishes ports at all (the parse found them)', () => {
    expect(ports.length).toBeGreaterThanOrEqual(10);
  });

  it.each(ports.map((port) => [`${port.service} ${port.entry}`, port] as const))('%s', (_, { entry }) => {
    const match = PUBLISHED.exec(entry);
    expect(match).not.toBeNull();
    const [, variable, fallback] = match as RegExpExecArray;
    // The default in the compose file is the value .env.example documents.
    expect(documented.get(variable)).toBe(fallback);
  });

  it('gives each variable one default everywhere it is used', () => {
    const defaults = new Map<string, Set<string>>();
    for (const { entry } of ports) {
      const [, variable, fallback] = PUBLISHED.exec(entry) ?? [];
      if (variable) defaults.set(variable, (defaults.get(variable) ?? new Set()).add(fallback));
    }
    expect([...defaults].filter(([, values]) => values.size > 1)).toEqual([]);
  });
});
