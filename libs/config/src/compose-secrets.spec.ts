import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  fillComposeSecrets,
  parseEnvFile,
  randomComposeSecret,
  requiredComposeVariables,
} from './compose-secrets';
import { secretVariable } from './variables';

const ROOT = join(__dirname, '../../..');
const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
const envExample = readFileSync(join(ROOT, '.env.example'), 'utf8');

describe('docker-compose.yml secrets', () => {
  const required = requiredComposeVariables(compose);

  it('requires every secret it uses, the Erlang cookie and the operator token included', () => {
    expect(required).toEqual(
      expect.arrayContaining([
        'POSTGRES_PASSWORD',
        'ORDER_API_DB_PASSWORD',
        'NOTIFY_WORKER_DB_PASSWORD',
        'REPORT_WORKER_DB_PASSWORD',
        'RABBITMQ_ADMIN_PASSWORD',
        'RABBITMQ_ORDER_API_PASSWORD',
        'RABBITMQ_NOTIFY_WORKER_PASSWORD',
        'RABBITMQ_REPORT_WORKER_PASSWORD',
        'RABBITMQ_LOG_AGGREGATOR_PASSWORD',
        'RABBITMQ_DASHBOARD_PASSWORD',
        'RABBITMQ_ERLANG_COOKIE',
        'OPS_TOKEN',
        'ORDER_TOKEN_SECRET',
      ]),
    );
  });

  it('gives no secret a fallback value', () => {
    const withFallback = [...compose.matchAll(/\$\{([A-Z0-9_]+):?-[^}]*\}/g)]
      .map((match) => match[1])
      .filter((name) => /PASSWORD|TOKEN|SECRET|COOKIE|KEY/.test(name));
    expect(withFallback).toEqual([]);
    expect(compose).not.toMatch(/-dev\b/);
  });

  it('.env.example names every required variable, with no value', () => {
    const documented = parseEnvFile(envExample);
    for (const name of required) expect([name, documented.get(name)]).toEqual([name, '']);
  });
});

describe('fillComposeSecrets', () => {
  let counter = 0;
  const generate = (name: string) => `${name.toLowerCase()}-${++counter}`;

  it('fills every missing or empty secret and keeps every value already there', () => {
    const existing = '# mine\nA=kept-value\nB=\nORDER_API_HOST_PORT=3100\n';
    const filled = fillComposeSecrets(existing, ['A', 'B', 'C'], generate);
    expect(filled.kept).toEqual(['A']);
    expect(filled.generated).toEqual(['B', 'C']);
    const values = parseEnvFile(filled.text);
    expect(values.get('A')).toBe('kept-value');
    expect(values.get('B')).toMatch(/^b-\d+$/);
    expect(values.get('C')).toMatch(/^c-\d+$/);
    expect(values.get('ORDER_API_HOST_PORT')).toBe('3100');
    expect(filled.text.startsWith('# mine\nA=kept-value\nB=b-')).toBe(true);
  });

  it('changes nothing on a second run', () => {
    const first = fillComposeSecrets('', ['A', 'B'], generate);
    const second = fillComposeSecrets(first.text, ['A', 'B'], generate);
    expect(second).toEqual({ text: first.text, generated: [], kept: ['A', 'B'] });
  });

  it('generates values the services accept and URLs can carry', () => {
    const token = randomComposeSecret('OPS_TOKEN');
    expect(secretVariable().parse(token)).toBe(token);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(randomComposeSecret('RABBITMQ_ERLANG_COOKIE')).toMatch(/^[A-Z0-9]{48}$/);
    expect(randomComposeSecret('OPS_TOKEN')).not.toBe(token);
  });
});
