import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Put, Req, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorResponseSchema, openApiSchemaOf } from '../common/openapi-schema';
import { requireJsonContentType } from '../common/request-headers';
import { parseOrReject } from '../common/zod-validation';
import { PutProductRequest, RestockRequest, Sku } from './product.requests';
import { ProductsService, type ProductSales, type ProductView } from './products.service';

@ApiTags('products')
@Controller('products')
export class ProductsController {
  constructor(private readonly products: ProductsService) {}

  @Get()
  @ApiOperation({ summary: 'The catalogue with current stock' })
  list(): Promise<ProductView[]> {
    return this.products.list();
  }

  @Get(':sku')
  @ApiOperation({ summary: 'One product' })
  @ApiResponse({ status: 404, description: 'UNKNOWN_SKU', schema: errorResponseSchema })
  get(@Param('sku') sku: string): Promise<ProductView> {
    return this.products.get(parseOrReject(Sku, sku, 'sku'));
  }

  @Get(':sku/sales')
  @ApiOperation({
    summary:
      "What a product sold and how far its orders got: emails sent, PDFs written (a flash sale's dashboard)",
  })
  @ApiResponse({ status: 200, description: 'Orders, units and pipeline progress, counted by the database' })
  @ApiResponse({ status: 404, description: 'UNKNOWN_SKU', schema: errorResponseSchema })
  sales(@Param('sku') sku: string): Promise<ProductSales> {
    return this.products.sales(parseOrReject(Sku, sku, 'sku'));
  }

  @Put(':sku')
  @ApiOperation({ summary: 'Create a product or replace its name, price and stock (demos, load tests)' })
  @ApiBody({ schema: openApiSchemaOf(PutProductRequest) })
  @ApiResponse({ status: 201, description: 'Created' })
  @ApiResponse({ status: 200, description: 'Replaced' })
  @ApiResponse({ status: 400, description: 'VALIDATION_FAILED', schema: errorResponseSchema })
  async put(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Param('sku') sku: string,
    @Body() body: unknown,
  ): Promise<ProductView> {
    requireJsonContentType(request);
    const validSku = parseOrReject(Sku, sku, 'sku');
    const { product, created } = await this.products.put(validSku, parseOrReject(PutProductRequest, body));
    void reply
      .status(created ? HttpStatus.CREATED : HttpStatus.OK)
      .header('location', `/products/${validSku}`);
    return product;
  }

  @Post(':sku/restock')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Add units to the stock' })
  @ApiBody({ schema: openApiSchemaOf(RestockRequest) })
  @ApiResponse({ status: 404, description: 'UNKNOWN_SKU', schema: errorResponseSchema })
  restock(
    @Req() request: FastifyRequest,
    @Param('sku') sku: string,
    @Body() body: unknown,
  ): Promise<ProductView> {
    requireJsonContentType(request);
    const { quantity } = parseOrReject(RestockRequest, body);
    return this.products.restock(parseOrReject(Sku, sku, 'sku'), quantity);
  }
}
