import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Inject,
  Param,
  Put,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { SaleView } from '@shop/contracts';
import { ApiError, OperatorGuard } from '@shop/service-kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { WaitingRoomDepth } from '../admission/waiting-room-depth';
import { AuthSchemes } from '../auth/auth-schemes';
import { errorResponseSchema, openApiSchemaOf } from '../common/openapi-schema';
import { requireJsonContentType } from '../common/request-headers';
import { parseOrReject } from '../common/zod-validation';
import { ORDER_API_CONFIG, type OrderApiConfig } from '../config/order-api.config';
import { PaymentWindowQueues } from './payment-window-queues';
import { SaleCatalog } from './sale-catalog';
import { PutSaleRequest, SaleId } from './sale.requests';
import { SaleRepository } from './sale.repository';
import { toSaleView } from './sale.view';
import type { Sale } from './sale';

const saleNotFound = (id: string) =>
  new ApiError(HttpStatus.NOT_FOUND, 'SALE_NOT_FOUND', `No sale has id ${id}.`);

@ApiTags('sales')
@Controller('sales')
export class SalesController {
  constructor(
    private readonly sales: SaleRepository,
    private readonly catalog: SaleCatalog,
    private readonly windows: PaymentWindowQueues,
    private readonly waitingRoom: WaitingRoomDepth,
    @Inject(ORDER_API_CONFIG) private readonly config: OrderApiConfig,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Every sale, with its state now (scheduled, open, closed)' })
  async list(): Promise<SaleView[]> {
    const sales = await this.sales.all();
    return Promise.all(sales.map((sale) => this.view(sale)));
  }

  @Get(':id')
  @ApiOperation({ summary: 'One sale: its window, limit, admission, state and waiting room' })
  @ApiResponse({ status: 404, description: 'SALE_NOT_FOUND', schema: errorResponseSchema })
  async get(@Param('id') id: string): Promise<SaleView> {
    const sale = await this.sales.findById(parseOrReject(SaleId, id, 'sale id'));
    if (!sale) throw saleNotFound(id);
    return this.view(sale);
  }

  @Put(':id')
  @UseGuards(OperatorGuard)
  @ApiOperation({
    summary: 'Create a sale of one product or replace it; operators only',
    description:
      'Orders for the product then need a signed-in customer, are refused before opensAt (409 SALE_NOT_OPEN) ' +
      'and after closesAt (409 SALE_CLOSED), hold at most limitPerCustomer units per customer (409 ' +
      'LIMIT_PER_CUSTOMER; a cancelled or expired order gives its units back), keep their stock for ' +
      'paymentWindowMs, and are answered at once (admission "direct") or through the waiting room ' +
      '("queued": 202 and a ticket).',
  })
  @ApiBearerAuth(AuthSchemes.operator)
  @ApiBody({ schema: openApiSchemaOf(PutSaleRequest) })
  @ApiResponse({ status: 201, description: 'Created' })
  @ApiResponse({ status: 200, description: 'Replaced' })
  @ApiResponse({ status: 400, description: 'VALIDATION_FAILED', schema: errorResponseSchema })
  @ApiResponse({ status: 401, description: 'AUTHENTICATION_REQUIRED', schema: errorResponseSchema })
  @ApiResponse({ status: 403, description: 'FORBIDDEN', schema: errorResponseSchema })
  @ApiResponse({
    status: 409,
    description: 'SALE_EXISTS_FOR_SKU: another sale holds that product',
    schema: errorResponseSchema,
  })
  @ApiResponse({ status: 422, description: 'UNKNOWN_SKU', schema: errorResponseSchema })
  async put(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Param('id') id: string,
    @Body() body: unknown,
  ): Promise<SaleView> {
    requireJsonContentType(request);
    const saleId = parseOrReject(SaleId, id, 'sale id');
    const put = parseOrReject(PutSaleRequest, body);
    const sale: Sale = {
      id: saleId,
      sku: put.sku,
      opensAt: new Date(put.opensAt),
      closesAt: new Date(put.closesAt),
      limitPerCustomer: put.limitPerCustomer,
      paymentWindowMs: put.paymentWindowMs ?? this.config.PAYMENT_WINDOW_MS,
      admission: put.admission,
    };
    // The window's delay queue first: an order of the sale may be placed the moment the row commits.
    await this.windows.ensure(sale.paymentWindowMs);
    const saved = await this.sales.save(sale);
    switch (saved.kind) {
      case 'unknown-sku':
        throw new ApiError(
          HttpStatus.UNPROCESSABLE_ENTITY,
          'UNKNOWN_SKU',
          `No product has sku ${sale.sku}.`,
          {
            skus: [sale.sku],
          },
        );
      case 'sku-taken':
        throw new ApiError(
          HttpStatus.CONFLICT,
          'SALE_EXISTS_FOR_SKU',
          `Sale ${saved.by} already holds ${sale.sku}: change or delete that one.`,
          { saleId: saved.by },
        );
      case 'saved':
        this.catalog.saved(saved.sale);
        void reply
          .status(saved.created ? HttpStatus.CREATED : HttpStatus.OK)
          .header('location', `/sales/${saleId}`);
        return this.view(saved.sale);
    }
  }

  @Delete(':id')
  @UseGuards(OperatorGuard)
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'End a sale: its product sells as before; orders placed keep their rows' })
  @ApiBearerAuth(AuthSchemes.operator)
  @ApiResponse({ status: 204, description: 'Deleted' })
  @ApiResponse({ status: 404, description: 'SALE_NOT_FOUND', schema: errorResponseSchema })
  async delete(@Param('id') id: string): Promise<void> {
    const saleId = parseOrReject(SaleId, id, 'sale id');
    if (!(await this.sales.delete(saleId))) throw saleNotFound(saleId);
    this.catalog.deleted(saleId);
  }

  private async view(sale: Sale): Promise<SaleView> {
    const depth = sale.admission === 'queued' ? await this.waitingRoom.now() : undefined;
    return toSaleView(sale, Date.now(), depth);
  }
}
