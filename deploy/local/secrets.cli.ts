/**
 * `npm run secrets`: writes `.env` (mode 0600) for docker-compose.yml with a random value for every
 * secret it requires (`${NAME:?...}`: the operator token, the order token secret, the PostgreSQL and
 * RabbitMQ passwords, the Erlang cookie of the cluster). Values already in the file are kept, so a
 * second run changes nothing and a database volume keeps working. `-- --file <path>` writes another
 * file (CI and the compose rehearsal keep theirs out of the work tree).
 */
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fillComposeSecrets, parseEnvFile, requiredComposeVariables } from '@shop/config';

const ROOT = resolve(__dirname, '../..');

/** Writes the secrets `composeFile` requires into `envFile`; returns what it generated and kept. */
export function writeComposeSecrets(
  envFile: string,
  composeFile = join(ROOT, 'docker-compose.yml'),
): { generated: string[]; kept: string[]; developmentValues: string[] } {
  const names = requiredComposeVariables(readFileSync(composeFile, 'utf8'));
  const existing = existsSync(envFile) ? readFileSync(envFile, 'utf8') : '';
  const filled = fillComposeSecrets(existing, names);
  if (filled.generated.length > 0) {
    // Written whole under another name, then renamed: never a half-written .env, never readable by others.
    const temporary = join(dirname(envFile), `.${process.pid}.env.tmp`);
    writeFileSync(temporary, filled.text, { mode: 0o600 });
    chmodSync(temporary, 0o600);
    renameSync(temporary, envFile);
  } else if (existsSync(envFile)) {
    chmodSync(envFile, 0o600);
  }
  const values = parseEnvFile(filled.text);
  // The values compose fell back to before it required them: known to everyone who read the repository.
  const developmentValues = filled.kept.filter((name) =>
    /-dev$|^admin$|^guest$/.test(values.get(name) ?? ''),
  );
  return { generated: filled.generated, kept: filled.kept, developmentValues };
}

function main(): void {
  const args = process.argv.slice(2);
  const fileIndex = args.indexOf('--file');
  if (
    args.some((arg, i) => arg !== '--file' && i !== fileIndex + 1) ||
    (fileIndex >= 0 && !args[fileIndex + 1])
  ) {
    console.error('usage: npm run secrets [-- --file <path of the .env file>]');
    process.exit(2);
  }
  const envFile = resolve(fileIndex >= 0 ? args[fileIndex + 1] : join(ROOT, '.env'));
  const shown = relative(process.cwd(), envFile) || envFile;
  const { generated, kept, developmentValues } = writeComposeSecrets(envFile);
  if (generated.length > 0) console.log(`${shown}: generated ${generated.join(', ')} (mode 0600)`);
  if (kept.length > 0) console.log(`${shown}: kept ${kept.join(', ')} (already set)`);
  if (developmentValues.length > 0) {
    console.warn(
      `warning: ${developmentValues.join(', ')} still hold(s) a development value from an old .env.example; ` +
        'delete the line(s) and run npm run secrets again (for POSTGRES_PASSWORD only on a new volume: ' +
        'docker compose down -v, or ALTER ROLE postgres first)',
    );
  }
  const defaultFile = envFile === join(ROOT, '.env');
  console.log(
    `${defaultFile ? 'docker compose reads it from here on' : `pass it to docker compose with --env-file ${shown}`}; ` +
      'the operator token (the dashboard asks for it) is OPS_TOKEN in it.',
  );
}

if (require.main === module) main();
