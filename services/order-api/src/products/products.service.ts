import type { ProductSales } from '@shop/contracts';
import { HttpStatus, Injectable } from '@nestjs/common';
import { ApiError } from '@shop/service-kit';
import { validationFailed } from '../common/zod-validation';
import { ProductRepository } from './product.repository';
import type { PutProductRequest } from './product.requests';

export interface ProductView {
  sku: string;
  name: string;
  priceCents: number;
  stock: number;
}

export type { ProductSales };

@Injectable()
export class ProductsService {
  constructor(private readonly products: ProductRepository) {}

  list(): Promise<ProductView[]> {
    return this.products.list();
  }

  async get(sku: string): Promise<ProductView> {
    const product = await this.products.findBySku(sku);
    if (!product) throw unknownSku(sku);
    return product;
  }

  async sales(sku: string): Promise<ProductSales> {
    const product = await this.get(sku);
    return { sku: product.sku, stock: product.stock, ...(await this.products.salesOf(sku)) };
  }

  /** Creates or replaces a product; `created` tells which. */
  put(sku: string, request: PutProductRequest): Promise<{ product: ProductView; created: boolean }> {
    return this.products.upsert({ sku, ...request });
  }

  /** Adds units with one atomic increment, so it is safe while orders are taking stock. */
  async restock(sku: string, quantity: number): Promise<ProductView> {
    const outcome = await this.products.restock(sku, quantity);
    switch (outcome.kind) {
      case 'restocked':
        return outcome.product;
      case 'unknown-sku':
        throw unknownSku(sku);
      case 'too-big':
        // stock is a PostgreSQL integer: refuse a restock that would overflow it, not a 500.
        throw validationFailed('request body', [
          { field: 'quantity', code: 'too_big', message: 'would raise the stock above 2147483647' },
        ]);
    }
  }
}

function unknownSku(sku: string): ApiError {
  return new ApiError(HttpStatus.NOT_FOUND, 'UNKNOWN_SKU', `No product has sku ${sku}.`, { skus: [sku] });
}
