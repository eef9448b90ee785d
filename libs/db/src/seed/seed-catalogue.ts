/**
 * Loads the demo catalogue (catalogue.ts) into an empty products table: `npm run db:seed`, `npm start`
 * and compose's one-shot `seed` (cli/seed.cli.ts). With `force`, upserts every catalogue product anyway.
 */
import { PrismaPg } from '@prisma/adapter-pg';
import { databaseNameOf, redactDatabaseUrl } from '../database-url';
import { Prisma, PrismaClient } from '../generated/prisma/client';
import { CATALOGUE } from './catalogue';

export interface SeedResult {
  /** `seeded`: table was empty and got the catalogue; `skipped`: it already held products; `upserted`: --force. */
  outcome: 'seeded' | 'skipped' | 'upserted';
  created: number;
  updated: number;
  /** Products in the table before seeding. */
  existing: number;
}

export async function seedCatalogue(databaseUrl: string, { force = false } = {}): Promise<SeedResult> {
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) });
  try {
    const existing = await prisma.product.count();
    if (!force) {
      if (existing > 0) return { outcome: 'skipped', created: 0, updated: 0, existing };
      // skipDuplicates: a concurrent seed (two `npm start`s) must not fail on the unique sku.
      const { count } = await prisma.product.createMany({ data: [...CATALOGUE], skipDuplicates: true });
      return { outcome: 'seeded', created: count, updated: 0, existing };
    }
    const known = new Set(
      (
        await prisma.product.findMany({
          where: { sku: { in: CATALOGUE.map((p) => p.sku) } },
          select: { sku: true },
        })
      ).map((p) => p.sku),
    );
    await prisma.$transaction(
      CATALOGUE.map(({ sku, ...fields }) =>
        prisma.product.upsert({ where: { sku }, create: { sku, ...fields }, update: fields }),
      ),
    );
    return { outcome: 'upserted', created: CATALOGUE.length - known.size, updated: known.size, existing };
  } catch (error) {
    throw explain(error, databaseUrl);
  } finally {
    await prisma.$disconnect();
  }
}

/** Prisma's multi-line "Invalid invocation" errors, turned into one line that says what to do. */
function explain(error: unknown, databaseUrl: string): unknown {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return error;
  const where = `"${databaseNameOf(databaseUrl)}" (${redactDatabaseUrl(databaseUrl)})`;
  switch (error.code) {
    case 'P1003': // database missing
    case 'P2021': // products table missing
      return new Error(
        `${where} has no products table: run \`npm run db:migrate\` first (it creates the database too)`,
      );
    case 'P1001':
      return new Error(`cannot reach PostgreSQL for ${where}: is it running?`);
    default:
      return new Error(`${error.code}: ${error.message.trim().split('\n').pop()}`);
  }
}

/** One line saying what the seed did, for the CLI and `npm start`. */
export function describeSeed(result: SeedResult, databaseName: string): string {
  switch (result.outcome) {
    case 'seeded':
      return `loaded ${result.created} catalogue products into "${databaseName}"`;
    case 'skipped':
      return `"${databaseName}" already holds ${result.existing} product${result.existing === 1 ? '' : 's'}: catalogue not loaded (--force upserts it anyway)`;
    case 'upserted':
      return `upserted ${CATALOGUE.length} catalogue products into "${databaseName}" (${result.created} created, ${result.updated} reset)`;
  }
}
