import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL, queryKeepingConnection } from '@shop/db';
import { DatabaseError, type Pool } from 'pg';
import { ORDER_STATUSES } from '@shop/contracts';
import { z } from 'zod';

const ProductRecord = z.object({
  sku: z.string(),
  name: z.string(),
  priceCents: z.number().int(),
  stock: z.number().int(),
});
export type ProductRecord = z.infer<typeof ProductRecord>;

const SalesRecord = z.object({
  orders: z.number().int(),
  unitsSold: z.number().int(),
  unitsHeld: z.number().int(),
  unitsReturned: z.number().int(),
  notified: z.number().int(),
  reported: z.number().int(),
  byStatus: z.record(z.enum(ORDER_STATUSES), z.number().int()),
});
export type SalesRecord = z.infer<typeof SalesRecord>;

export type RestockOutcome =
  | { kind: 'restocked'; product: ProductRecord }
  | { kind: 'unknown-sku' }
  /** The new stock would not fit the column (a PostgreSQL integer). */
  | { kind: 'too-big' };

const COLUMNS = `sku, name, price_cents AS "priceCents", stock`;
/** SQLSTATE 22003: a value out of its type's range. */
const NUMERIC_VALUE_OUT_OF_RANGE = '22003';

/** The products table, with its own SQL on the pg pool; rows are checked at run time. */
@Injectable()
export class ProductRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async list(): Promise<ProductRecord[]> {
    const { rows } = await queryKeepingConnection(this.pool, {
      text: `SELECT ${COLUMNS} FROM products ORDER BY sku`,
    });
    return rows.map((row) => ProductRecord.parse(row));
  }

  async findBySku(sku: string): Promise<ProductRecord | undefined> {
    const { rows } = await queryKeepingConnection(this.pool, {
      text: `SELECT ${COLUMNS} FROM products WHERE sku = $1`,
      values: [sku],
    });
    return rows.length === 0 ? undefined : ProductRecord.parse(rows[0]);
  }

  /** Creates or replaces the product with that sku; `created` tells which. */
  async upsert(product: ProductRecord): Promise<{ product: ProductRecord; created: boolean }> {
    const { rows } = await queryKeepingConnection<{ created: boolean }>(this.pool, {
      text: `INSERT INTO products (id, sku, name, price_cents, stock)
             VALUES (gen_random_uuid(), $1, $2, $3, $4)
             ON CONFLICT (sku) DO UPDATE
                SET name = EXCLUDED.name, price_cents = EXCLUDED.price_cents, stock = EXCLUDED.stock,
                    updated_at = now()
             RETURNING ${COLUMNS}, (xmax = 0) AS created`,
      values: [product.sku, product.name, product.priceCents, product.stock],
    });
    const { created, ...row } = rows[0];
    return { product: ProductRecord.parse(row), created: created === true };
  }

  /** Adds units with one atomic increment, so it is safe while orders are taking stock. */
  async restock(sku: string, quantity: number): Promise<RestockOutcome> {
    try {
      const { rows } = await queryKeepingConnection(this.pool, {
        text: `UPDATE products SET stock = stock + $2, updated_at = now() WHERE sku = $1 RETURNING ${COLUMNS}`,
        values: [sku, quantity],
      });
      return rows.length === 0
        ? { kind: 'unknown-sku' }
        : { kind: 'restocked', product: ProductRecord.parse(rows[0]) };
    } catch (error) {
      if (error instanceof DatabaseError && error.code === NUMERIC_VALUE_OUT_OF_RANGE)
        return { kind: 'too-big' };
      throw error;
    }
  }

  /**
   * The orders that include the product, how far they got and where its units are: held by orders still
   * placed, paid or completed, or returned by the ones that ended (order_items_product_id_idx: an index scan).
   */
  async salesOf(sku: string): Promise<SalesRecord> {
    const { rows } = await queryKeepingConnection(this.pool, {
      name: 'product-sales-v2',
      text: `WITH lines AS (
               SELECT o.id, o.status, o.notified_at, o.reported_at, o.stock_returned_at, i.quantity
                 FROM order_items i JOIN orders o ON o.id = i.order_id
                WHERE i.product_id = (SELECT id FROM products WHERE sku = $1)
             )
             SELECT count(DISTINCT id)::int AS orders,
                    coalesce(sum(quantity), 0)::int AS "unitsSold",
                    coalesce(sum(quantity) FILTER (WHERE stock_returned_at IS NULL), 0)::int AS "unitsHeld",
                    coalesce(sum(quantity) FILTER (WHERE stock_returned_at IS NOT NULL), 0)::int AS "unitsReturned",
                    count(DISTINCT id) FILTER (WHERE notified_at IS NOT NULL)::int AS notified,
                    count(DISTINCT id) FILTER (WHERE reported_at IS NOT NULL)::int AS reported,
                    (SELECT jsonb_object_agg(s.status, (SELECT count(DISTINCT l.id) FROM lines l
                                                          WHERE l.status::text = s.status))
                       FROM unnest($2::text[]) AS s(status)) AS "byStatus"
               FROM lines`,
      values: [sku, ORDER_STATUSES],
    });
    return SalesRecord.parse(rows[0]);
  }
}
