import { HttpStatus, Injectable } from '@nestjs/common';
import { Prisma, PrismaService, type Product } from '@shop/db';
import { ApiError } from '@shop/service-kit';
import { validationFailed } from '../common/zod-validation';
import type { PutProductRequest } from './product.requests';

export interface ProductView {
  sku: string;
  name: string;
  priceCents: number;
  stock: number;
}

/** Orders that include a product, and how far they got through the pipeline. */
export interface ProductSales {
  sku: string;
  stock: number;
  orders: number;
  unitsSold: number;
  /** Orders whose confirmation email was sent. */
  notified: number;
  /** Orders whose PDF report was written. */
  reported: number;
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

  async sales(sku: string): Promise<ProductSales> {
    const product = await this.get(sku);
    // order_items_product_id_idx keeps this an index scan of the product's own orders.
    const [counts] = await this.prisma.$queryRaw<Omit<ProductSales, 'sku' | 'stock'>[]>`
      SELECT count(DISTINCT o.id)::int AS orders,
             coalesce(sum(i.quantity), 0)::int AS "unitsSold",
             count(DISTINCT o.id) FILTER (WHERE o.notified_at IS NOT NULL)::int AS notified,
             count(DISTINCT o.id) FILTER (WHERE o.reported_at IS NOT NULL)::int AS reported
        FROM order_items i JOIN orders o ON o.id = i.order_id
       WHERE i.product_id = (SELECT id FROM products WHERE sku = ${sku})`;
    return { sku: product.sku, stock: product.stock, ...counts };
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
      // P2020 (out of range): stock is a PostgreSQL integer; refuse a restock that would overflow it, not a 500.
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2020') {
        throw validationFailed('request body', [
          { field: 'quantity', code: 'too_big', message: 'would raise the stock above 2147483647' },
        ]);
      }
      throw error;
    }
  }
}

function unknownSku(sku: string): ApiError {
  return new ApiError(HttpStatus.NOT_FOUND, 'UNKNOWN_SKU', `No product has sku ${sku}.`, { skus: [sku] });
}
