import { Body, Controller, Get, Headers, HttpStatus, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiError, correlationIdOf } from '@shop/service-kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ORDER_API_CONFIG, type OrderApiConfig } from '../config/order-api.config';
import { errorResponseSchema, openApiSchemaOf } from '../common/openapi-schema';
import { requireJsonContentType } from '../common/request-headers';
import { parseOrReject } from '../common/zod-validation';
import { CreateOrderRequest, IdempotencyKey, normaliseOrder } from './create-order.request';
import { ReportRpcClient } from '../reports/report-rpc.client';
import { orderLocation, toOrderPlacedData, type OrderView } from './order.view';
import { OrdersService } from './orders.service';

const OrderId = z.uuid({ message: 'must be a UUID' });

function validOrderId(id: string): string {
  if (!OrderId.safeParse(id).success) {
    throw new ApiError(HttpStatus.BAD_REQUEST, 'INVALID_ORDER_ID', 'The order id must be a UUID.');
  }
  return id;
}

const orderNotFound = (id: string) =>
  new ApiError(HttpStatus.NOT_FOUND, 'ORDER_NOT_FOUND', `No order has id ${id}.`);

@ApiTags('orders')
@Controller('orders')
export class OrdersController {
  constructor(
    private readonly orders: OrdersService,
    private readonly reports: ReportRpcClient,
    @Inject(ORDER_API_CONFIG) private readonly config: OrderApiConfig,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Place an order: takes the stock and queues the email and the PDF report' })
  @ApiBody({ schema: openApiSchemaOf(CreateOrderRequest) })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Retry with the same key to get the same order',
  })
  @ApiHeader({
    name: 'X-Correlation-Id',
    required: false,
    description: 'Follows the order through every service',
  })
  @ApiResponse({ status: 201, description: 'Order placed; Location names it' })
  @ApiResponse({ status: 200, description: 'Same Idempotency-Key and body again: the order placed before' })
  @ApiResponse({ status: 400, description: 'VALIDATION_FAILED, MALFORMED_JSON', schema: errorResponseSchema })
  @ApiResponse({
    status: 409,
    description: 'OUT_OF_STOCK (nothing was written)',
    schema: errorResponseSchema,
  })
  @ApiResponse({ status: 413, description: 'PAYLOAD_TOO_LARGE (over 64 KB)', schema: errorResponseSchema })
  @ApiResponse({ status: 415, description: 'UNSUPPORTED_MEDIA_TYPE', schema: errorResponseSchema })
  @ApiResponse({
    status: 422,
    description: 'UNKNOWN_SKU, IDEMPOTENCY_KEY_REUSED',
    schema: errorResponseSchema,
  })
  @ApiResponse({ status: 503, description: 'DATABASE_UNAVAILABLE', schema: errorResponseSchema })
  async placeOrder(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKeyHeader: string | undefined,
  ): Promise<OrderView> {
    requireJsonContentType(request);
    const idempotencyKey = parseOrReject(IdempotencyKey, idempotencyKeyHeader, 'Idempotency-Key header');
    const order = normaliseOrder(parseOrReject(CreateOrderRequest, body));
    const correlationId = correlationIdOf(request);
    const result = await this.orders.placeOrder(order, idempotencyKey, correlationId);
    void reply
      .status(result.created ? HttpStatus.CREATED : HttpStatus.OK)
      .header('location', orderLocation(result.order.id))
      .header('x-correlation-id', correlationId);
    return result.order;
  }

  @Get(':id')
  @ApiOperation({ summary: 'An order with its items and status' })
  @ApiResponse({ status: 200, description: 'The order' })
  @ApiResponse({ status: 400, description: 'INVALID_ORDER_ID', schema: errorResponseSchema })
  @ApiResponse({ status: 404, description: 'ORDER_NOT_FOUND', schema: errorResponseSchema })
  async getOrder(@Param('id') id: string): Promise<OrderView> {
    const order = await this.orders.findOrder(validOrderId(id));
    if (!order) throw orderNotFound(id);
    return order;
  }

  @Get(':id/report')
  @ApiOperation({
    summary: "The order's PDF report, from report-worker over RPC (rendered on demand if not written yet)",
  })
  @ApiProduces('application/pdf')
  @ApiResponse({ status: 200, description: 'The PDF (application/pdf)' })
  @ApiResponse({ status: 404, description: 'ORDER_NOT_FOUND', schema: errorResponseSchema })
  @ApiResponse({
    status: 502,
    description: 'REPORT_FAILED: report-worker answered with an error',
    schema: errorResponseSchema,
  })
  @ApiResponse({
    status: 504,
    description: 'REPORT_TIMEOUT: no answer within REPORT_RPC_TIMEOUT_MS',
    schema: errorResponseSchema,
  })
  async getReport(@Param('id') id: string, @Res() reply: FastifyReply): Promise<void> {
    const order = await this.orders.findOrder(validOrderId(id));
    if (!order) throw orderNotFound(id);
    const result = await this.reports.fetchReport(
      toOrderPlacedData(order),
      this.config.REPORT_RPC_TIMEOUT_MS,
    );
    switch (result.kind) {
      case 'pdf':
        void reply
          .header('content-type', 'application/pdf')
          .header('content-disposition', `inline; filename="order-${id}.pdf"`)
          .send(result.pdf);
        return;
      case 'timeout':
        throw new ApiError(
          HttpStatus.GATEWAY_TIMEOUT,
          'REPORT_TIMEOUT',
          `report-worker did not answer within ${this.config.REPORT_RPC_TIMEOUT_MS} ms; try again shortly.`,
        );
      case 'error':
        if (result.code === 'ORDER_NOT_FOUND') throw orderNotFound(id);
        throw new ApiError(
          HttpStatus.BAD_GATEWAY,
          'REPORT_FAILED',
          `report-worker could not make the report: ${result.message}`,
          {
            reason: result.code,
          },
        );
      case 'failed':
        throw new ApiError(
          HttpStatus.BAD_GATEWAY,
          'REPORT_FAILED',
          `The report could not be asked for: ${result.message}`,
        );
    }
  }
}
