/**
 * The real docker-compose.yml under a project name of its own, with every published host port moved
 * through compose's port variables to 13000-13099 (beside this machine's RabbitMQ, PostgreSQL and
 * `npm start`), the bind-mounted var/ directories moved through VAR_HOST_DIR into var/rehearsal (never
 * the work tree's var/, which `npm start` and the tests use), the secrets from a .env file of its own that
 * `npm run secrets` writes (var/rehearsal/rehearsal.env; a local .env is not read), compose's defaults
 * for everything else, and each command's output appended to one log file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnvFile } from '@shop/config';
import { parse } from 'yaml';
import { portIsFree } from '../local/preflight';
import { writeComposeSecrets } from '../local/secrets.cli';
import { mustRun, runCommand, type RunResult } from './run-command';

export const PROJECT_NAME = 'rabbit-shop-rehearsal';

/** Compose's port variables (.env.example) and where the rehearsal puts them. */
export const REHEARSAL_PORTS = {
  ORDER_API_HOST_PORT: 13000,
  NOTIFY_WORKER_HOST_PORT: 13001,
  REPORT_WORKER_HOST_PORT: 13002,
  LOG_AGGREGATOR_HOST_PORT: 13003,
  DASHBOARD_HOST_PORT: 13004,
  IDENTITY_HOST_PORT: 13005,
  PAYMENT_HOST_PORT: 13006,
  MAILPIT_HOST_PORT: 13025,
  POSTGRES_HOST_PORT: 13032,
  RABBITMQ_HOST_PORT: 13072,
  RABBITMQ_MANAGEMENT_HOST_PORT: 13073,
  RABBITMQ_CLUSTER_MANAGEMENT_HOST_PORT: 13083,
  PROMETHEUS_HOST_PORT: 13090,
} as const;

export type PortVariable = keyof typeof REHEARSAL_PORTS;

/** A service of `compose config`'s output, the parts the rehearsal reads. */
export interface ResolvedService {
  image?: string;
  build?: unknown;
  profiles?: string[];
  environment?: Record<string, string | number | boolean | null>;
  ports?: (string | { published?: string | number; target?: number; host_ip?: string })[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
}

export interface ResolvedConfig {
  services: Record<string, ResolvedService>;
}

export class ComposeProject {
  readonly projectName = PROJECT_NAME;
  private readonly env: NodeJS.ProcessEnv;
  private readonly baseArgs: string[];

  /** VAR_HOST_DIR: where the containers' /app/var/{reports,logs,loadtest} are on the host. */
  readonly hostVarDir: string;
  /** The secrets the project runs with (OPS_TOKEN for the checks that need the operator). */
  readonly secrets: ReadonlyMap<string, string>;

  constructor(
    private readonly cli: string[],
    readonly repoRoot: string,
    varDir: string,
    readonly logFile: string,
  ) {
    this.hostVarDir = join(varDir, 'compose-var');
    // Kept from run to run (each run ends with down -v, so no volume holds an older password).
    const envFile = join(varDir, 'rehearsal.env');
    writeComposeSecrets(envFile, join(repoRoot, 'docker-compose.yml'));
    this.secrets = parseEnvFile(readFileSync(envFile, 'utf8'));
    const ports = Object.fromEntries(
      Object.entries(REHEARSAL_PORTS).map(([name, port]) => [name, String(port)]),
    );
    // The classic builder for compose v1: BuildKit needs the buildx plugin, and the Dockerfile's
    // `# syntax=` line a registry.
    const v1 = cli[0] === 'docker-compose' ? { DOCKER_BUILDKIT: '0', COMPOSE_DOCKER_CLI_BUILD: '0' } : {};
    this.env = { ...process.env, ...ports, VAR_HOST_DIR: this.hostVarDir, ...v1 };
    this.baseArgs = [
      ...cli.slice(1),
      '--project-name',
      PROJECT_NAME,
      '--file',
      join(repoRoot, 'docker-compose.yml'),
      '--env-file',
      envFile,
    ];
  }

  /** A compose command; its output goes to the project's log file unless `logFile` names another. */
  run(
    args: string[],
    timeoutMs: number,
    options: { profile?: string; logFile?: string } = {},
  ): Promise<RunResult> {
    return runCommand(this.cli[0], this.args(args, options.profile), {
      timeoutMs,
      env: this.env,
      cwd: this.repoRoot,
      logFile: options.logFile ?? this.logFile,
    });
  }

  mustRun(args: string[], timeoutMs: number, options: { profile?: string } = {}): Promise<RunResult> {
    return mustRun(this.cli[0], this.args(args, options.profile), {
      timeoutMs,
      env: this.env,
      cwd: this.repoRoot,
      logFile: this.logFile,
    });
  }

  /** `compose config` with the rehearsal's variables, the profile `cluster`'s services included. */
  async config(): Promise<ResolvedConfig> {
    const { stdout } = await mustRun(this.cli[0], this.args(['config'], 'cluster'), {
      timeoutMs: 60_000,
      env: this.env,
      cwd: this.repoRoot,
    });
    return parse(stdout) as ResolvedConfig;
  }

  private args(args: string[], profile?: string): string[] {
    return [...this.baseArgs, ...(profile ? ['--profile', profile] : []), ...args];
  }
}

/** Services of the default deployment (no profile) and of `profile`. */
export function servicesOf(config: ResolvedConfig, profile?: string): [string, ResolvedService][] {
  return Object.entries(config.services).filter(
    ([, service]) => !service.profiles || (profile !== undefined && service.profiles.includes(profile)),
  );
}

/** The host ports the services publish, each with the service and whether a rehearsal variable moved it. */
export function publishedPorts(services: [string, ResolvedService][]): { service: string; port: number }[] {
  return services.flatMap(([name, service]) =>
    (service.ports ?? []).map((entry) => ({ service: name, port: hostPortOf(entry) })),
  );
}

function hostPortOf(entry: NonNullable<ResolvedService['ports']>[number]): number {
  if (typeof entry !== 'string') return Number(entry.published);
  // [ip:]host:container[/proto] (v1's short syntax).
  const parts = entry.replace(/\/\w+$/, '').split(':');
  return Number(parts.length >= 3 ? parts[parts.length - 2] : parts[0]);
}

/** What keeps the rehearsal from starting on its ports: one not moved by a variable, or one in use. */
export async function portProblems(services: [string, ResolvedService][]): Promise<string[]> {
  const moved = new Set<number>(Object.values(REHEARSAL_PORTS));
  const problems: string[] = [];
  for (const { service, port } of publishedPorts(services)) {
    if (!moved.has(port)) {
      problems.push(`${service} publishes host port ${port}, not set by a compose port variable`);
    } else if (!(await portIsFree(port))) {
      problems.push(`host port ${port} (${service}) is in use`);
    }
  }
  return problems;
}

/** The bind mounts of every service whose container path starts with `targetPrefix`, as compose resolved them. */
export function bindMounts(
  config: ResolvedConfig,
  targetPrefix: string,
): { service: string; source: string; target: string }[] {
  return Object.entries(config.services).flatMap(([service, { volumes = [] }]) =>
    volumes
      .map((volume) => {
        if (typeof volume !== 'string')
          return { service, source: volume.source ?? '', target: volume.target ?? '' };
        const [source, target = ''] = volume.split(':');
        return { service, source, target };
      })
      .filter((mount) => mount.target.startsWith(targetPrefix)),
  );
}

/** The services compose builds, one for each image they build (several services may share one). */
export function oneServicePerImage(services: [string, ResolvedService][]): string[] {
  const byImage = new Map<string, string>();
  for (const [name, service] of services) {
    if (service.build && !byImage.has(service.image ?? name)) byImage.set(service.image ?? name, name);
  }
  return [...byImage.values()];
}

/** The images `services` run that compose does not build itself. */
export function pulledImages(services: [string, ResolvedService][]): string[] {
  return [...new Set(services.filter(([, s]) => s.image && !s.build).map(([, s]) => s.image as string))];
}

export function variableOf(service: ResolvedService, name: string): string | undefined {
  const value = service.environment?.[name];
  return value === undefined || value === null ? undefined : String(value);
}
