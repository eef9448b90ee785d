import { HttpStatus, Injectable } from '@nestjs/common';
import { Prisma, PrismaService, type Product } from '@shop/db';
import { ApiError } from '@shop/service-kit';
import type { PutProductRequest } from './product.requests';

export interface ProductView {
  sku: string;
  name: string;
  priceCents: number;
  stock: number;
}

const toView = ({ sku, name, priceCents, stock }: Product): ProductView => ({ sku, name, priceCents, stock });

@Injectable()
export class ProductsService {
  constructor(private readonly prisma: PrismaService) {}

  async list(): Promise<ProductView[]> {
    return (await this.prisma.product.findMany({ orderBy: { sku: 'asc' } })).map(toView);
  }

  async get(sku: string): Promise<ProductView> {
    const product = await this.prisma.product.findUnique({ where: { sku } });
    if (!product) throw unknownSku(sku);
    return toView(product);
  }

  /** Creates or replaces a product; `created` tells which. */
  async put(sku: string, request: PutProductRequest): Promise<{ product: ProductView; created: boolean }> {
    const existing = await this.prisma.product.findUnique({ where: { sku }, select: { id: true } });
    const product = await this.prisma.product.upsert({
      where: { sku },
      create: { sku, ...request },
      update: request,
    });
    return { product: toView(product), created: !existing };
  }

  /** Adds units with one atomic increment, so it is safe while orders are taking stock. */
  async restock(sku: string, quantity: number): Promise<ProductView> {
    try {
      return toView(
        await this.prisma.product.update({ where: { sku }, data: { stock: { increment: quantity } } }),
      );
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2025')
        throw unknownSku(sku);
      throw error;
    }
  }
}

function unknownSku(sku: string): ApiError {
  return new ApiError(HttpStatus.NOT_FOUND, 'UNKNOWN_SKU', `No product has sku ${sku}.`, { skus: [sku] });
}
