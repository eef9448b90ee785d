import { SERVICE_DATABASE_ROLES, type ServiceDatabaseRole } from '@shop/config';
import { Client } from 'pg';

/** The variable that carries a service role's password: ORDER_API_DB_PASSWORD for `order_api`. */
export const passwordVariableOf = (role: ServiceDatabaseRole) => `${role.toUpperCase()}_DB_PASSWORD`;

/**
 * Gives each service role the password its <ROLE>_DB_PASSWORD variable holds (Docker Compose sets
 * them; locally the server trusts 127.0.0.1 and none is set). A role whose variable is unset keeps the
 * password it has. Runs after the migrations, which create the roles. Returns the roles it set.
 */
export async function applyServiceRolePasswords(
  databaseUrl: string,
  env: Record<string, string | undefined> = process.env,
): Promise<ServiceDatabaseRole[]> {
  const wanted = Object.values(SERVICE_DATABASE_ROLES).filter((role) => env[passwordVariableOf(role)]);
  if (wanted.length === 0) return [];
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (const role of wanted) {
      // ALTER ROLE takes no bind parameters: format() quotes the name and the literal server-side.
      const { rows } = await client.query<{ statement: string }>(
        'SELECT format($$ALTER ROLE %I PASSWORD %L$$, $1::text, $2::text) AS statement',
        [role, env[passwordVariableOf(role)]],
      );
      await client.query(rows[0].statement);
    }
    return wanted;
  } finally {
    await client.end();
  }
}
