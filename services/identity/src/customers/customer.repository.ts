import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL, queryKeepingConnection } from '@shop/db';
import type { Pool } from 'pg';
import { z } from 'zod';

const CustomerRow = z.object({ id: z.string(), email: z.string() });
export type CustomerRecord = z.infer<typeof CustomerRow>;

/** identity.customers: one row per (lower-cased) email, its id the `sub` of the customer's tokens. */
@Injectable()
export class CustomerRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * The customers of these emails, made where missing, in one statement. DO UPDATE (a no-op write)
   * rather than DO NOTHING so RETURNING gives the rows that existed too, even one another request
   * inserted a moment ago; emails are sorted so concurrent calls take row locks in the same order.
   */
  async findOrCreate(emails: readonly string[]): Promise<CustomerRecord[]> {
    const { rows } = await queryKeepingConnection(this.pool, {
      name: 'find-or-create-customers-v1',
      text: `INSERT INTO customers (email)
             SELECT DISTINCT email FROM unnest($1::text[]) AS e(email) ORDER BY email
             ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email
             RETURNING id::text AS id, email`,
      values: [emails],
    });
    return rows.map((row) => CustomerRow.parse(row));
  }
}
