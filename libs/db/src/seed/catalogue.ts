/**
 * The demo catalogue: what `npm run db:seed`, `npm start` and compose's `seed` load into an empty products table.
 * Prices are integer cents (EUR). Tools such as load tests import it to pick skus.
 */
export interface CatalogueProduct {
  sku: string;
  name: string;
  priceCents: number;
  stock: number;
}

export const CATALOGUE: readonly CatalogueProduct[] = [
  { sku: 'TEA-LONGJING-100G', name: '龙井茶 Longjing green tea, 100 g', priceCents: 1890, stock: 500 },
  { sku: 'TEA-PUERH-357G', name: '普洱茶饼 Pu-erh tea cake, 357 g', priceCents: 3450, stock: 120 },
  { sku: 'CHOPSTICKS-BAMBOO-5P', name: '竹筷子 Bamboo chopsticks, 5 pairs', priceCents: 399, stock: 800 },
  { sku: 'SEAWEED-GIM-10', name: '한국 김 Roasted seaweed, 10 sheets', priceCents: 450, stock: 1000 },
  { sku: 'KIMCHI-500G', name: '배추김치 Napa cabbage kimchi, 500 g', priceCents: 790, stock: 300 },
  { sku: 'GOCHUJANG-500G', name: '고추장 Red pepper paste, 500 g', priceCents: 650, stock: 400 },
  { sku: 'COFFEE-ESPRESSO-1KG', name: 'Espresso beans, 1 kg', priceCents: 2490, stock: 250 },
  { sku: 'MUG-CERAMIC-350ML', name: 'Ceramic mug, 350 ml', priceCents: 1200, stock: 350 },
  { sku: 'TOTE-CANVAS', name: 'Canvas tote bag', priceCents: 990, stock: 600 },
  { sku: 'RICE-COOKER-3L', name: 'Rice cooker, 3 l', priceCents: 7990, stock: 150 },
  // Few units on purpose: the flash-sale demo and load test sell it out.
  { sku: 'FLASH-SNEAKER-42', name: 'Limited sneaker, size 42 (flash sale)', priceCents: 8900, stock: 100 },
];
