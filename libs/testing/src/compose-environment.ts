import { ConfigError, loadConfig } from '@shop/config';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { z } from 'zod';

const COMPOSE_FILE = join(__dirname, '../../../docker-compose.yml');

/** One service of docker-compose.yml as the spec needs it: which app it runs and with what environment. */
export interface ComposeService {
  name: string;
  /** The Dockerfile's SERVICE build argument: which of our apps the image runs. */
  app?: string;
  /** Set when the service overrides the image's command (compose's `migrate` runs the migration CLI). */
  command?: string[];
  /** Each variable with compose's `${VAR:-default}` replaced by its default (what a plain `up` gives). */
  environment: Record<string, string>;
}

/** docker-compose.yml's services, anchors and `<<:` merges resolved as compose resolves them. */
export function composeServices(file = COMPOSE_FILE): ComposeService[] {
  const document = parse(readFileSync(file, 'utf8'), { merge: true }) as {
    services: Record<
      string,
      { build?: { args?: Record<string, string> }; command?: string[]; environment?: Record<string, unknown> }
    >;
  };
  return Object.entries(document.services).map(([name, service]) => ({
    name,
    app: service.build?.args?.SERVICE,
    command: service.command,
    environment: Object.fromEntries(
      Object.entries(service.environment ?? {}).map(([key, value]) => [key, withDefaults(String(value))]),
    ),
  }));
}

/** One `ports:` entry of a compose service, as written (before compose substitutes variables). */
export interface PublishedPort {
  service: string;
  entry: string;
}

/** Every host port docker-compose.yml publishes, profiles included. */
export function composePublishedPorts(file = COMPOSE_FILE): PublishedPort[] {
  const document = parse(readFileSync(file, 'utf8'), { merge: true }) as {
    services: Record<string, { ports?: string[] }>;
  };
  return Object.entries(document.services).flatMap(([service, { ports }]) =>
    (ports ?? []).map((entry) => ({ service, entry: String(entry) })),
  );
}

/**
 * `${NAME:-default}` → default, `${NAME}` → '' (unset): the values with no .env file; a required secret
 * `${NAME:?why}` → a stand-in of the shape `npm run secrets` writes (43 URL-safe characters).
 */
function withDefaults(value: string): string {
  return value.replace(
    /\$\{([A-Z0-9_]+)(?:(:?-|:\?)([^}]*))?\}/g,
    (_, name: string, operator?: string, fallback?: string) =>
      operator === ':?' ? secretStandIn(name) : (fallback ?? ''),
  );
}

/** What a required secret is in the specs: deterministic, and as long as a generated one. */
export const secretStandIn = (name: string): string =>
  `${name.toLowerCase().replace(/_/g, '-')}-stand-in-0123456789abcdefghijklmnopqrstuvwxyz`.slice(0, 43);

/**
 * What is wrong with the environment compose gives `service` for a config `shape`: variables the app
 * does not read (a typo, a leftover), and what its own validation refuses (a required one missing, a
 * bad value). Empty when the two agree.
 */
export function composeEnvironmentProblems(service: ComposeService, shape: z.ZodRawShape): string[] {
  const unknown = Object.keys(service.environment)
    .filter((variable) => !Object.hasOwn(shape, variable))
    .map((variable) => `${service.name}: ${variable} is not a variable ${service.app ?? 'it'} reads`);
  try {
    loadConfig(shape, service.environment);
    return unknown;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return [...unknown, ...error.problems.map((problem) => `${service.name}: ${problem}`)];
  }
}
