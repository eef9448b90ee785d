/** The notification payload that stands for every product. */
const EVERY_PRODUCT = '*';

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
 *
 * A request with an Idempotency-Key may be the retry of an order placed earlier, on any instance. For a
 * product at 0 units, the keys of every order holding it are loaded once (`rememberKeys`): no order for
 * it can be placed until stock goes up again, so that set is complete, and a key outside it is refused
 * from memory too. Until the set is loaded (or when a product has too many orders to hold their keys),
 * the database is asked whether the key has an order.
 */
export class SoldOutMarkers {
  private readonly unitsAtMost = new Map<string, { units: number; expiresAt: number }>();
  /** The Idempotency-Keys of every order holding a product that has 0 units left. */
  private readonly keysOfSoldOut = new Map<string, ReadonlySet<string>>();
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
      if (known.expiresAt <= now) this.forget(sku);
      else if (quantity > known.units) short.push(sku);
    }
    return short;
  }

  /** Whether `sku` is known to have 0 units left and the keys of its orders are not loaded yet. */
  wantsKeysOf(sku: string): boolean {
    return this.trusted && this.unitsAtMost.get(sku)?.units === 0 && !this.keysOfSoldOut.has(sku);
  }

  /**
   * Stores the Idempotency-Keys of every order holding `sku`, read after it reached 0 units, if nothing
   * replenished stock since `generationAtRead` and it is still known to be at 0.
   */
  rememberKeys(sku: string, keys: Iterable<string>, generationAtRead: number): void {
    if (!this.trusted || generationAtRead !== this.generation) return;
    if (this.unitsAtMost.get(sku)?.units !== 0) return;
    this.keysOfSoldOut.set(sku, new Set(keys));
  }

  /**
   * For a request refused from memory (`skus`: what `shortOf` returned) that carries `key`:
   * `no-order` when no order can have that key and this body (so refuse it), `has-order` when an
   * order holds that key (answer with it), `ask-database` when this instance cannot tell.
   */
  orderForKey(skus: readonly string[], key: string): 'no-order' | 'has-order' | 'ask-database' {
    let complete = false;
    for (const sku of skus) {
      const keys = this.keysOfSoldOut.get(sku);
      if (!keys) continue;
      if (keys.has(key)) return 'has-order';
      complete = true;
    }
    // The same body again would hold that sold-out product, so its order would be in the set.
    return complete ? 'no-order' : 'ask-database';
  }

  /** A product's stock went up: forget it (`*`: the products table was truncated, forget them all). */
  replenished(sku: string): void {
    this.generation++;
    if (sku === EVERY_PRODUCT) {
      this.unitsAtMost.clear();
      this.keysOfSoldOut.clear();
    } else {
      this.forget(sku);
    }
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
    this.keysOfSoldOut.clear();
  }

  private forget(sku: string): void {
    this.unitsAtMost.delete(sku);
    this.keysOfSoldOut.delete(sku);
  }
}
