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
});
