/**
 * `npm run db:seed` and compose's one-shot `seed`: loads the demo catalogue when the products table is
 * empty; `--force` upserts every catalogue product anyway (resetting its name, price and stock).
 * Reads DATABASE_URL (default: the local `orders` database); run `npm run db:migrate` first.
 */
import { ConfigError, databaseUrlVariable, LOCAL_DEFAULTS, loadConfig } from '@shop/config';
import { databaseNameOf } from '../database-url';
import { describeSeed, seedCatalogue } from '../seed/seed-catalogue';

async function main(): Promise<void> {
  const unknown = process.argv.slice(2).filter((arg) => arg !== '--force');
  if (unknown.length > 0) throw new Error(`unknown argument ${unknown.join(' ')} (only --force is accepted)`);
  const { DATABASE_URL } = loadConfig({ DATABASE_URL: databaseUrlVariable(LOCAL_DEFAULTS.databaseUrl) });
  const result = await seedCatalogue(DATABASE_URL, { force: process.argv.includes('--force') });
  console.log(`[seed] ${describeSeed(result, databaseNameOf(DATABASE_URL))}`);
}

main().catch((error: Error) => {
  console.error(`[seed] ${error instanceof ConfigError ? error.message : `failed: ${error.message}`}`);
  process.exit(1);
});
