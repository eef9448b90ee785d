// Gives a local broker what the Docker one gets from definitions.json and init-users.sh (topology, queue
// limit policies, one user per service, their permissions and tags), in one vhost, through `rabbitmqctl
// import_definitions`. Additive only: the broker is shared, so no other vhost is touched and no user is
// deleted; the admin user (guest) only gains `.*` on the vhost. Used by `npm start` (vhost `shop`, with or
// without --cluster), `npm run rabbitmq:apply-local`, the integration set-up (`shop_test`) and the
// least-privilege spec. Users are global to a broker: every caller on this machine gets the same passwords
// (var/secrets), so one never locks another's running services out.
import { ensureLocalSecretFile, loadConfig } from '@shop/config';
import {
  buildRabbitmqAccessDefinitions,
  localPasswordFile,
  RABBITMQ_VHOST,
  SERVICE_USERS,
  TOPOLOGY,
  type ServiceUserName,
  type Topology,
} from '@shop/contracts';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/** The repository's .env.example: a password it gives (none by default) is the fallback. */
const ENV_EXAMPLE = join(__dirname, '../../../.env.example');
/** Else a random password kept under var/secrets (0600), the same on every run. */
const LOCAL_SECRETS_DIR = join(__dirname, '../../../var/secrets');
/** The user `npm start` and the tests use on the local broker (LOCAL_DEFAULTS.rabbitmqUrl). */
const DEFAULT_ADMIN_USER = 'guest';

export interface ApplyLocalDefinitionsOptions {
  /** Default `shop`, the vhost of the Docker deployment. */
  vhost?: string;
  /** An existing user that keeps configure/write/read `.*` on the vhost. Default `guest`. */
  adminUser?: string;
  /** Where the passwords are read from (default process.env); unset ones get .env.example's value. */
  env?: Record<string, string | undefined>;
  /**
   * Specs', benches' and drills' vhosts only: give each service user every right there (declaring the topology binds too, which
   * needs write and read on every exchange and queue), so a spec's service may declare its topology on a
   * fresh vhost while it publishes as its own user. Never for `shop`; the least-privilege spec proves the
   * real rights in a vhost of its own.
   */
  servicesMayDeclare?: boolean;
  /** Default the single-node TOPOLOGY; a cluster gets CLUSTER_TOPOLOGY. */
  topology?: Topology;
  /** How to run `rabbitmqctl <args>` (stdin = input). Default the machine's rabbitmqctl, its default node. */
  rabbitmqctl?: RabbitmqCtl;
}

export type RabbitmqCtl = (args: string[], input?: string) => Promise<string>;

export interface AppliedServiceUser {
  name: ServiceUserName;
  password: string;
  /** The variable the password came from, or `.env.example` for its development default. */
  passwordSource: string;
  configure: string;
  write: string;
  read: string;
  /** RabbitMQ user tags (the dashboard's `monitoring`); the import sets exactly these. */
  tags: readonly string[];
}

export interface AppliedDefinitions {
  vhost: string;
  vhostCreated: boolean;
  adminUser: string;
  exchanges: number;
  queues: number;
  bindings: number;
  /** The queue limit policies set on the vhost (QUEUE_LIMIT_POLICIES). */
  policies: string[];
  users: AppliedServiceUser[];
}

/** Builds the definitions for `vhost` from libs/contracts and imports them into the local broker. */
export async function applyLocalDefinitions(
  options: ApplyLocalDefinitionsOptions = {},
): Promise<AppliedDefinitions> {
  const vhost = options.vhost ?? RABBITMQ_VHOST;
  const adminUser = options.adminUser ?? DEFAULT_ADMIN_USER;
  const env = options.env ?? process.env;
  const passwords = loadPasswords(env);
  if (options.servicesMayDeclare && vhost === RABBITMQ_VHOST) {
    throw new Error(`servicesMayDeclare is for the vhosts of specs, benches and drills, never "${vhost}"`);
  }
  const users = options.servicesMayDeclare
    ? SERVICE_USERS.map((user) => ({ ...user, configure: '.*', write: '.*', read: '.*' }))
    : SERVICE_USERS;
  const ctl = options.rabbitmqctl ?? machineRabbitmqctl;
  const listColumn = async (...command: string[]): Promise<string[]> =>
    firstColumn(await ctl([...command, '--no-table-headers']));

  if (!(await listColumn('list_users')).includes(adminUser)) {
    throw new Error(`RabbitMQ user ${adminUser} does not exist; name an existing administrator with --admin`);
  }
  const vhostCreated = !(await listColumn('list_vhosts', 'name')).includes(vhost);

  const passwordHashes = Object.fromEntries(
    SERVICE_USERS.map((u) => [u.name, hashPassword(passwords[u.passwordVariable])]),
  ) as Record<ServiceUserName, string>;
  const definitions = buildRabbitmqAccessDefinitions({
    vhost,
    adminUser,
    passwordHashes,
    topology: options.topology ?? TOPOLOGY,
    users,
  });
  // An existing vhost is left out: re-importing it would reset its description and tags.
  if (!vhostCreated) definitions.vhosts = [];

  // On stdin rather than in a temporary file: the definitions carry password hashes, and Debian's
  // rabbitmqctl runs as the rabbitmq user (`su`), who could not read a file private to us. No file
  // argument means stdin (3.10 does not know `-`).
  await ctl(['import_definitions'], JSON.stringify(definitions));

  return {
    vhost,
    vhostCreated,
    adminUser,
    exchanges: definitions.exchanges.length,
    queues: definitions.queues.length,
    bindings: definitions.bindings.length,
    policies: definitions.policies.map((policy) => policy.name),
    users: users.map(({ name, passwordVariable, configure, write, read, tags }) => ({
      name,
      password: passwords[passwordVariable],
      passwordSource: env[passwordVariable]?.trim()
        ? passwordVariable
        : readEnvExample()[passwordVariable]
          ? '.env.example'
          : `var/secrets/${localPasswordFile(passwordVariable)}`,
      configure,
      write,
      read,
      tags,
    })),
  };
}

/** RabbitMQ's rabbit_password_hashing_sha256: base64(salt ‖ SHA-256(salt ‖ UTF-8 password)), 4-byte salt. */
export function hashPassword(password: string, salt: Buffer = randomBytes(4)): string {
  const digest = createHash('sha256').update(salt).update(password, 'utf8').digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

/** Each service user's password from its variable (the ones docker-compose.yml reads), else .env.example's, else var/secrets'. */
function loadPasswords(env: Record<string, string | undefined>): Record<string, string> {
  const defaults = readEnvExample();
  const shape = Object.fromEntries(
    SERVICE_USERS.map(({ passwordVariable }) => {
      const fallback = env[passwordVariable]?.trim()
        ? undefined
        : defaults[passwordVariable] ||
          ensureLocalSecretFile(LOCAL_SECRETS_DIR, localPasswordFile(passwordVariable)).value;
      return [
        passwordVariable,
        fallback === undefined ? z.string().min(1) : z.string().min(1).default(fallback),
      ];
    }),
  );
  return loadConfig(shape, env) as Record<string, string>;
}

function readEnvExample(): Record<string, string> {
  const pairs = readFileSync(ENV_EXAMPLE, 'utf8')
    .split('\n')
    .map((line) => /^([A-Z0-9_]+)=(.*)$/.exec(line.trim()))
    .filter((match) => match !== null)
    .map((match) => [match[1], match[2]]);
  return Object.fromEntries(pairs);
}

function machineRabbitmqctl(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('rabbitmqctl', ['-q', ...args], { timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`rabbitmqctl ${args[0]} failed: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
    child.stdin?.end(input ?? '');
  });
}

/** The first column of a rabbitmqctl listing. */
function firstColumn(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((line) => line.split('\t')[0].trim())
    .filter(Boolean);
}
