import { SoldOutMarkers } from './sold-out-markers';

describe('SoldOutMarkers', () => {
  let clock: number;
  let markers: SoldOutMarkers;
  const line = (sku: string, quantity = 1) => ({ sku, quantity });

  beforeEach(() => {
    clock = 1_000;
    markers = new SoldOutMarkers(2_000, () => clock);
    markers.listening();
  });

  it('refuses from memory only what the remembered level cannot serve', () => {
    markers.remember('HOT', 1, markers.currentGeneration());

    expect(markers.shortOf([line('HOT', 2)])).toEqual(['HOT']);
    expect(markers.shortOf([line('HOT', 1)])).toEqual([]);
    expect(markers.shortOf([line('OTHER', 5), line('HOT', 3)])).toEqual(['HOT']);
  });

  it('forgets a product when its stock is replenished', () => {
    markers.remember('HOT', 0, markers.currentGeneration());
    markers.replenished('HOT');

    expect(markers.shortOf([line('HOT')])).toEqual([]);
  });

  it('forgets every product on "*" (the products table was truncated)', () => {
    markers.remember('HOT', 0, markers.currentGeneration());
    markers.remember('WARM', 0, markers.currentGeneration());
    markers.replenished('*');

    expect(markers.shortOf([line('HOT'), line('WARM')])).toEqual([]);
  });

  it('ignores a level read before a replenishment that was announced while the read was running', () => {
    const generationAtRead = markers.currentGeneration();
    markers.replenished('HOT');
    markers.remember('HOT', 0, generationAtRead);

    expect(markers.shortOf([line('HOT')])).toEqual([]);
  });

  it('keeps the lower of two levels read in the same generation, whatever order they arrive in', () => {
    const generation = markers.currentGeneration();
    markers.remember('HOT', 0, generation);
    markers.remember('HOT', 4, generation);

    expect(markers.shortOf([line('HOT')])).toEqual(['HOT']);
  });

  it('lets a marker expire so the database is asked again', () => {
    markers.remember('HOT', 0, markers.currentGeneration());
    clock += 1_999;
    expect(markers.shortOf([line('HOT')])).toEqual(['HOT']);
    clock += 1;
    expect(markers.shortOf([line('HOT')])).toEqual([]);
  });

  it('remembers nothing before the listener is connected and forgets everything when it is lost', () => {
    const unheard = new SoldOutMarkers(2_000, () => clock);
    unheard.remember('HOT', 0, unheard.currentGeneration());
    expect(unheard.shortOf([line('HOT')])).toEqual([]);

    markers.remember('HOT', 0, markers.currentGeneration());
    markers.lost();
    expect(markers.shortOf([line('HOT')])).toEqual([]);
    markers.remember('HOT', 0, markers.currentGeneration());
    expect(markers.shortOf([line('HOT')])).toEqual([]);
  });

  describe('the order keys of a sold-out product', () => {
    it('are wanted once a product is at 0 units, and only then', () => {
      markers.remember('HOT', 1, markers.currentGeneration());
      expect(markers.wantsKeysOf('HOT')).toBe(false);
      markers.remember('HOT', 0, markers.currentGeneration());
      expect(markers.wantsKeysOf('HOT')).toBe(true);
      markers.rememberKeys('HOT', ['k1'], markers.currentGeneration());
      expect(markers.wantsKeysOf('HOT')).toBe(false);
    });

    it('tell an order placed earlier from a key no order can have', () => {
      expect(markers.orderForKey(['HOT'], 'k1')).toBe('ask-database');
      markers.remember('HOT', 0, markers.currentGeneration());
      markers.rememberKeys('HOT', ['k1', 'k2'], markers.currentGeneration());

      expect(markers.orderForKey(['HOT'], 'k1')).toBe('has-order');
      expect(markers.orderForKey(['HOT'], 'new')).toBe('no-order');
      // One sold-out product with its keys decides: the same body again would hold it.
      expect(markers.orderForKey(['UNLOADED', 'HOT'], 'new')).toBe('no-order');
      expect(markers.orderForKey(['UNLOADED'], 'new')).toBe('ask-database');
    });

    it('are ignored when read across a replenishment, and forgotten with the product', () => {
      markers.remember('HOT', 0, markers.currentGeneration());
      const generationAtRead = markers.currentGeneration();
      markers.replenished('OTHER');
      markers.rememberKeys('HOT', ['k1'], generationAtRead);
      expect(markers.orderForKey(['HOT'], 'new')).toBe('ask-database');

      markers.rememberKeys('HOT', ['k1'], markers.currentGeneration());
      markers.replenished('HOT');
      markers.remember('HOT', 0, markers.currentGeneration());
      expect(markers.orderForKey(['HOT'], 'new')).toBe('ask-database');
    });

    it('are dropped when the marker expires or the listener is lost', () => {
      markers.remember('HOT', 0, markers.currentGeneration());
      markers.rememberKeys('HOT', ['k1'], markers.currentGeneration());
      clock += 2_000;
      expect(markers.shortOf([line('HOT')])).toEqual([]);
      expect(markers.orderForKey(['HOT'], 'new')).toBe('ask-database');

      markers.remember('HOT', 0, markers.currentGeneration());
      markers.rememberKeys('HOT', ['k1'], markers.currentGeneration());
      markers.lost();
      expect(markers.orderForKey(['HOT'], 'new')).toBe('ask-database');
    });
  });
});
