/**
 * Each service owns one PostgreSQL schema and logs in as the role of the same name, which has rights
 * on that schema only (migration 20261202000000_service_schemas). Tools that are not a service (the
 * migration runner, the seed, the load test's audit, test fixtures) use the server's admin role.
 */
export const SERVICE_DATABASE_ROLES = {
  'order-api': 'order_api',
  'notify-worker': 'notify_worker',
  'report-worker': 'report_worker',
  identity: 'identity',
  payment: 'payment',
} as const;

export type DatabaseService = keyof typeof SERVICE_DATABASE_ROLES;
export type ServiceDatabaseRole = (typeof SERVICE_DATABASE_ROLES)[DatabaseService];

/**
 * The same server and database as `databaseUrl`, logged in as `service`'s role. The password is
 * `password` when given, else none: a password in `databaseUrl` belongs to another role.
 */
export function serviceDatabaseUrl(databaseUrl: string, service: DatabaseService, password?: string): string {
  const url = new URL(databaseUrl);
  url.username = SERVICE_DATABASE_ROLES[service];
  url.password = password ? encodeURIComponent(password) : '';
  return url.toString();
}

export const isDatabaseService = (service: string): service is DatabaseService =>
  Object.hasOwn(SERVICE_DATABASE_ROLES, service);

/**
 * The DATABASE_URL a launcher (npm start, the benches, drills and specs) gives `service`: its own role
 * on the database of the admin URL `databaseUrl`. Nothing for a service without a database.
 */
export function serviceDatabaseEnv(service: string, databaseUrl: string): { DATABASE_URL?: string } {
  return isDatabaseService(service) ? { DATABASE_URL: serviceDatabaseUrl(databaseUrl, service) } : {};
}
