import { Pool } from 'pg';
import { assertTestDatabase, testConfig } from './test-config';

/** A pool on the test database, for specs to read rows and reset state. */
export function createTestPool(): Pool {
  assertTestDatabase(testConfig.databaseUrl);
  return new Pool({ connectionString: testConfig.databaseUrl, max: 4 });
}

/** Empties every service's business tables (the schemas and migrations stay). */
export async function resetDatabase(pool: Pool): Promise<void> {
  const { rows } = await pool.query<{ db: string }>('SELECT current_database() AS db');
  assertTestDatabase(`postgresql://x/${rows[0].db}`);
  await pool.query(
    'TRUNCATE order_items, orders, outbox_messages, products, sales, order_request_outcomes, order_notifications, order_lifecycle_emails, order_reports',
  );
}

/** Creates (or replaces) a product directly in the database. */
export async function insertProduct(
  pool: Pool,
  product: { sku: string; name: string; priceCents: number; stock: number },
): Promise<void> {
  await pool.query(
    `INSERT INTO products (id, sku, name, price_cents, stock) VALUES (gen_random_uuid(), $1, $2, $3, $4)
     ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, price_cents = EXCLUDED.price_cents, stock = EXCLUDED.stock`,
    [product.sku, product.name, product.priceCents, product.stock],
  );
}
