import {
  Body,
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Put,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { OperatorGuard } from '@shop/service-kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuthSchemes } from '../auth/auth-schemes';
import { errorResponseSchema, openApiSchemaOf } from '../common/openapi-schema';
import { requireJsonContentType } from '../common/request-headers';
import { parseOrReject } from '../common/zod-validation';
import { PutProductRequest, RestockRequest, Sku } from './product.requests';
import { ProductsService, type ProductSales, type ProductView } from './products.service';

const OPERATOR_ONLY_401 = {
  status: 401,
  description: 'AUTHENTICATION_REQUIRED: no Authorization: Bearer <OPS_TOKEN>',
  schema: errorResponseSchema,
};
const OPERATOR_ONLY_403 = {
  status: 403,
  description: 'FORBIDDEN: a token that is not the operator token (a customer JWT included)',
  schema: errorResponseSchema,
};

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
  @UseGuards(OperatorGuard)
  @ApiOperation({
    summary: 'Create a product or replace its name, price and stock (demos, load tests); operators only',
  })
  @ApiBearerAuth(AuthSchemes.operator)
  @ApiBody({ schema: openApiSchemaOf(PutProductRequest) })
  @ApiResponse({ status: 201, description: 'Created' })
  @ApiResponse({ status: 200, description: 'Replaced' })
  @ApiResponse({ status: 400, description: 'VALIDATION_FAILED', schema: errorResponseSchema })
  @ApiResponse(OPERATOR_ONLY_401)
  @ApiResponse(OPERATOR_ONLY_403)
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
  @UseGuards(OperatorGuard)
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Add units to the stock; operators only' })
  @ApiBearerAuth(AuthSchemes.operator)
  @ApiBody({ schema: openApiSchemaOf(RestockRequest) })
  @ApiResponse({ status: 404, description: 'UNKNOWN_SKU', schema: errorResponseSchema })
  @ApiResponse(OPERATOR_ONLY_401)
  @ApiResponse(OPERATOR_ONLY_403)
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
