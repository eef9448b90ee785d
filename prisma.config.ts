// Prisma CLI configuration (Prisma 7 keeps the connection URL here, not in schema.prisma).
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    // Only `prisma migrate deploy` (the Docker path) reads this; `prisma generate` does not connect.
    url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/orders',
  },
});
