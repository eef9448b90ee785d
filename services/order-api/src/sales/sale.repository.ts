import { Inject, Injectable } from '@nestjs/common';
import { paymentDueQueueOf, type SaleAdmission } from '@shop/contracts';
import { PG_POOL, queryKeepingConnection } from '@shop/db';
import { DatabaseError, type Pool } from 'pg';
import type { Sale } from './sale';

interface SaleRow {
  id: string;
  sku: string;
  opens_at: Date;
  closes_at: Date;
  limit_per_customer: number;
  payment_window_ms: number;
  admission: SaleAdmission;
}

const UNIQUE_VIOLATION = '23505';

const SALE_COLUMNS = 'id, sku, opens_at, closes_at, limit_per_customer, payment_window_ms, admission';

function saleOf(row: SaleRow): Sale {
  return {
    id: row.id,
    sku: row.sku,
    opensAt: row.opens_at,
    closesAt: row.closes_at,
    limitPerCustomer: row.limit_per_customer,
    paymentWindowMs: row.payment_window_ms,
    admission: row.admission,
  };
}

export type SavedSale =
  | { kind: 'saved'; sale: Sale; created: boolean }
  | { kind: 'unknown-sku' }
  | { kind: 'sku-taken'; by: string };

/** The `sales` table; place_orders reads it too, under the products' row locks. */
@Injectable()
export class SaleRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async all(): Promise<Sale[]> {
    const { rows } = await queryKeepingConnection<SaleRow>(this.pool, {
      text: `SELECT ${SALE_COLUMNS} FROM sales ORDER BY opens_at, id`,
    });
    return rows.map(saleOf);
  }

  async findBySku(sku: string): Promise<Sale | undefined> {
    const { rows } = await queryKeepingConnection<SaleRow>(this.pool, {
      text: `SELECT ${SALE_COLUMNS} FROM sales WHERE sku = $1`,
      values: [sku],
    });
    return rows[0] && saleOf(rows[0]);
  }

  async findById(id: string): Promise<Sale | undefined> {
    const { rows } = await queryKeepingConnection<SaleRow>(this.pool, {
      text: `SELECT ${SALE_COLUMNS} FROM sales WHERE id = $1`,
      values: [id],
    });
    return rows[0] && saleOf(rows[0]);
  }

  /**
   * Creates or replaces the sale, in one statement: the product must exist, and no other sale may hold
   * it (the unique sku decides between two operators saving at once).
   */
  async save(sale: Sale): Promise<SavedSale> {
    try {
      return await this.upsert(sale);
    } catch (error) {
      // Another operator saved a sale of the same product between our check and our insert.
      if (error instanceof DatabaseError && error.code === UNIQUE_VIOLATION) {
        return { kind: 'sku-taken', by: (await this.findBySku(sale.sku))?.id ?? '' };
      }
      throw error;
    }
  }

  private async upsert(sale: Sale): Promise<SavedSale> {
    const { rows } = await queryKeepingConnection<
      SaleRow & { created: boolean; outcome: string; holder: string | null }
    >(this.pool, {
      text: `WITH product AS (SELECT 1 FROM products WHERE sku = $2),
                    holder AS (SELECT id FROM sales WHERE sku = $2 AND id <> $1),
                    saved AS (
                      INSERT INTO sales (id, sku, opens_at, closes_at, limit_per_customer, payment_window_ms,
                                         deadline_queue, admission)
                      SELECT $1, $2, $3, $4, $5, $6, $7, $8
                       WHERE EXISTS (SELECT 1 FROM product) AND NOT EXISTS (SELECT 1 FROM holder)
                      ON CONFLICT (id) DO UPDATE
                        SET sku = EXCLUDED.sku, opens_at = EXCLUDED.opens_at, closes_at = EXCLUDED.closes_at,
                            limit_per_customer = EXCLUDED.limit_per_customer,
                            payment_window_ms = EXCLUDED.payment_window_ms,
                            deadline_queue = EXCLUDED.deadline_queue, admission = EXCLUDED.admission,
                            updated_at = now()
                      RETURNING ${SALE_COLUMNS}, (xmax = 0) AS created)
               SELECT saved.*, 'saved' AS outcome, NULL AS holder FROM saved
               UNION ALL
               SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                      CASE WHEN NOT EXISTS (SELECT 1 FROM product) THEN 'unknown-sku' ELSE 'sku-taken' END,
                      (SELECT id FROM holder)
                WHERE NOT EXISTS (SELECT 1 FROM saved)`,
      values: [
        sale.id,
        sale.sku,
        sale.opensAt,
        sale.closesAt,
        sale.limitPerCustomer,
        sale.paymentWindowMs,
        paymentDueQueueOf(sale.paymentWindowMs),
        sale.admission,
      ],
    });
    const [row] = rows;
    if (row.outcome === 'unknown-sku') return { kind: 'unknown-sku' };
    if (row.outcome === 'sku-taken') return { kind: 'sku-taken', by: row.holder ?? '' };
    return { kind: 'saved', sale: saleOf(row), created: row.created };
  }

  /** Whether a sale was deleted. Orders placed during it keep their rows. */
  async delete(id: string): Promise<boolean> {
    const { rowCount } = await queryKeepingConnection(this.pool, {
      text: 'DELETE FROM sales WHERE id = $1',
      values: [id],
    });
    return (rowCount ?? 0) > 0;
  }
}
