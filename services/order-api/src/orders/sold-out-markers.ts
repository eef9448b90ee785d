/**
 * What this order-api instance knows about how little stock a product has left, so that once a flash
 * sale is sold out the rest of the stampede is refused without a database round trip or a row lock.
 *
 * Why it stays correct across several instances: orders only ever take stock away, and every increase
 * (restock, PUT, plain SQL) fires the `product_stock_replenished` notification (a trigger, delivered at
 * commit). So a stock level read from the database is an upper bound until that notification arrives;
 * each instance listens and forgets the product then. A marker also expires after `ttlMs`, and while the
 * listener is disconnected nothing is remembered at all: the database decides every order.
 *
 * A read that started before a replenishment may answer after its notification; the generation
 * counter (bumped by every notification and every listener loss) keeps such a stale level out.
 */
/** The notification payload that stands for every product. */
const EVERY_PRODUCT = '*';

export class SoldOutMarkers {
  private readonly unitsAtMost = new Map<string, { units: number; expiresAt: number }>();
  private generation = 0;
  private trusted = false;

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Call before reading stock from the database; pass the result to `remember`. */
  currentGeneration(): number {
    return this.generation;
  }

  /** Stores "at most `units` left", if nothing replenished stock since `generationAtRead`. */
  remember(sku: string, units: number, generationAtRead: number): void {
    if (!this.trusted || generationAtRead !== this.generation) return;
    const known = this.unitsAtMost.get(sku);
    const expiresAt = this.now() + this.ttlMs;
    // Two answers may arrive out of order; the lower one is the fresher bound.
    const best = known && known.expiresAt > this.now() ? Math.min(known.units, units) : units;
    this.unitsAtMost.set(sku, { units: best, expiresAt });
  }

  /** The skus of `lines` that certainly cannot be served now; empty when the database must decide. */
  shortOf(lines: readonly { sku: string; quantity: number }[]): string[] {
    if (!this.trusted || this.unitsAtMost.size === 0) return [];
    const now = this.now();
    const short: string[] = [];
    for (const { sku, quantity } of lines) {
      const known = this.unitsAtMost.get(sku);
      if (!known) continue;
      if (known.expiresAt <= now) this.unitsAtMost.delete(sku);
      else if (quantity > known.units) short.push(sku);
    }
    return short;
  }

  /** A product's stock went up: forget it (`*`: the products table was truncated, forget them all). */
  replenished(sku: string): void {
    this.generation++;
    if (sku === EVERY_PRODUCT) this.unitsAtMost.clear();
    else this.unitsAtMost.delete(sku);
  }

  /** The listener is connected: markers may be kept from now on. */
  listening(): void {
    this.generation++;
    this.trusted = true;
  }

  /** The listener lost its connection: replenishments may go unheard, so forget everything. */
  lost(): void {
    this.generation++;
    this.trusted = false;
    this.unitsAtMost.clear();
  }
}
