import {
  applyDecorators,
  Body,
  Controller,
  Get,
  Headers,
  HttpStatus,
  Inject,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiHeader,
  ApiOperation,
  ApiProduces,
  ApiQuery,
  ApiResponse,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import { ApiError, authenticationRequired, correlationIdOf, forbidden } from '@shop/service-kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ORDER_API_CONFIG, type OrderApiConfig } from '../config/order-api.config';
import { AuthSchemes } from '../auth/auth-schemes';
import { PrincipalResolver, type Principal } from '../auth/principal.resolver';
import { errorResponseSchema, openApiSchemaOf } from '../common/openapi-schema';
import { requireJsonContentType } from '../common/request-headers';
import { parseOrReject } from '../common/zod-validation';
import { CreateOrderRequest, IdempotencyKey, normaliseOrder } from './create-order.request';
import { ReportRpcClient } from '../reports/report-rpc.client';
import { RateLimited } from '../rate-limits/order-rate-limits';
import { decodeCursor, encodeCursor, ListOrdersQuery } from './list-orders.query';
import { OrderAccess, orderNotFound } from './order-access';
import { orderLocation, toOrderPlacedData, type OrderView } from './order.view';
import { OrdersService, type OrderOwner } from './orders.service';
import type { QueuedTicket } from '../admission/waiting-room';

/** An order as POST /orders and the reads answer it: with its access token, to read it again. */
export type OrderWithAccessToken = OrderView & { accessToken: string };

export interface OrderListPage {
  orders: OrderWithAccessToken[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

const ACCESS_TOKEN_QUERY = {
  name: 'accessToken',
  required: false,
  description:
    "The order's access token, for a link opened in a browser (no header can be set there); " +
    'Authorization: Bearer <accessToken> does the same.',
} as const;

/** How GET /orders/:id and its report are opened, and the refusals that follow, in the OpenAPI document. */
const ApiOrderReadAccess = () =>
  applyDecorators(
    ApiBearerAuth(AuthSchemes.orderAccessToken),
    ApiBearerAuth(AuthSchemes.customer),
    ApiBearerAuth(AuthSchemes.operator),
    ApiQuery(ACCESS_TOKEN_QUERY),
    ApiResponse({ status: 400, description: 'INVALID_ORDER_ID', schema: errorResponseSchema }),
    ApiResponse({
      status: 401,
      description: 'AUTHENTICATION_REQUIRED: no credential',
      schema: errorResponseSchema,
    }),
    ApiResponse({
      status: 404,
      description: 'ORDER_NOT_FOUND: no such order, or the credential does not open it (the same answer)',
      schema: errorResponseSchema,
    }),
  );

const orderReadDescription =
  "Needs one of: the order's accessToken (from POST /orders: Authorization: Bearer <accessToken>, or " +
  '?accessToken=), the JWT of the customer who placed it, or the operator token.';

@ApiTags('orders')
@Controller('orders')
export class OrdersController {
  constructor(
    private readonly orders: OrdersService,
    private readonly reports: ReportRpcClient,
    private readonly principals: PrincipalResolver,
    private readonly access: OrderAccess,
    @Inject(ORDER_API_CONFIG) private readonly config: OrderApiConfig,
  ) {}

  private withAccessToken(order: OrderView): OrderWithAccessToken {
    return { ...order, accessToken: this.principals.accessTokenOf(order.id) };
  }

  @Post()
  @ApiOperation({
    summary:
      'Place an order: takes the stock and queues the email and the PDF report (or, in a queued sale, a ticket)',
    description:
      'As a guest (no Authorization), or signed in with a customer JWT from identity: the order then ' +
      "belongs to that customer and is sent to the token's email, so customer.email must be that " +
      'address (any other gets 422 CUSTOMER_EMAIL_MISMATCH rather than an email sent somewhere the ' +
      'customer did not ask for). The answer carries accessToken, which reads the order and its PDF ' +
      '(GET /orders/:id, GET /orders/:id/report); a replay answers the same one. An Idempotency-Key ' +
      "belongs to its sender (the customer, or the guest's email): another client's same key is " +
      'another order.',
  })
  @ApiBearerAuth(AuthSchemes.customer)
  @ApiSecurity({})
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
  @ApiResponse({ status: 201, description: 'Order placed, with its accessToken; Location names it' })
  @ApiResponse({
    status: 200,
    description:
      'Same Idempotency-Key and body again from the same sender: the order placed before, same accessToken',
  })
  @ApiResponse({ status: 400, description: 'VALIDATION_FAILED, MALFORMED_JSON', schema: errorResponseSchema })
  @ApiResponse({
    status: 401,
    description:
      'AUTHENTICATION_REQUIRED: a bearer token that is not a valid customer JWT; SIGN_IN_REQUIRED: a product ' +
      'on sale, ordered as a guest',
    schema: errorResponseSchema,
  })
  @ApiResponse({
    status: 202,
    description:
      'A sale with queued admission: { ticket, status: "waiting", position }, Location /orders/requests/<ticket> ' +
      '(follow it there, or over server-sent events)',
  })
  @ApiResponse({
    status: 409,
    description:
      'OUT_OF_STOCK; a sale: SALE_NOT_OPEN (with opensAt and Retry-After), SALE_CLOSED, LIMIT_PER_CUSTOMER ' +
      '(nothing was written)',
    schema: errorResponseSchema,
  })
  @ApiResponse({ status: 413, description: 'PAYLOAD_TOO_LARGE (over 64 KB)', schema: errorResponseSchema })
  @ApiResponse({ status: 415, description: 'UNSUPPORTED_MEDIA_TYPE', schema: errorResponseSchema })
  @ApiResponse({
    status: 422,
    description:
      'UNKNOWN_SKU, IDEMPOTENCY_KEY_REUSED (the key was used for a different order; it names no order), ' +
      "CUSTOMER_EMAIL_MISMATCH (signed in, customer.email is not the token's email)",
    schema: errorResponseSchema,
  })
  @ApiResponse({
    status: 503,
    description:
      'DATABASE_UNAVAILABLE, IDENTITY_UNAVAILABLE (a customer JWT cannot be checked now), WAITING_ROOM_FULL ' +
      '(a queued sale whose waiting room is full; Retry-After)',
    schema: errorResponseSchema,
  })
  @RateLimited('orders')
  async placeOrder(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKeyHeader: string | undefined,
  ): Promise<OrderWithAccessToken | QueuedTicket> {
    requireJsonContentType(request);
    const idempotencyKey = parseOrReject(IdempotencyKey, idempotencyKeyHeader, 'Idempotency-Key header');
    const order = normaliseOrder(parseOrReject(CreateOrderRequest, body));
    const owner = ownerOf(await this.principals.resolve(request));
    const correlationId = correlationIdOf(request);
    const result = await this.orders.admitOrder(order, idempotencyKey, correlationId, owner);
    void reply.header('x-correlation-id', correlationId);
    if (result.kind === 'queued') {
      void reply.status(HttpStatus.ACCEPTED).header('location', result.ticket.location);
      return result.ticket;
    }
    void reply
      .status(result.created ? HttpStatus.CREATED : HttpStatus.OK)
      .header('location', orderLocation(result.order.id));
    return this.withAccessToken(result.order);
  }

  @Get()
  @ApiOperation({
    summary: 'Orders, newest first, a page at a time',
    description:
      "A customer (their JWT) gets their own orders only; the operator gets everyone's, or one " +
      "customer's with customerId. Guest orders are not listed for anyone but the operator.",
  })
  @ApiBearerAuth(AuthSchemes.customer)
  @ApiBearerAuth(AuthSchemes.operator)
  @ApiQuery({ name: 'limit', required: false, description: 'Orders per page, 1-100 (default 20)' })
  @ApiQuery({ name: 'cursor', required: false, description: 'nextCursor of the previous page' })
  @ApiQuery({ name: 'customerId', required: false, description: "Operator only: one customer's orders" })
  @ApiResponse({ status: 200, description: '{ orders: [order, ...], nextCursor: string | null }' })
  @ApiResponse({
    status: 400,
    description: 'VALIDATION_FAILED (limit, cursor, customerId), INVALID_CURSOR',
    schema: errorResponseSchema,
  })
  @ApiResponse({
    status: 401,
    description: 'AUTHENTICATION_REQUIRED: no token, or not a valid customer JWT or operator token',
    schema: errorResponseSchema,
  })
  @ApiResponse({
    status: 403,
    description: "FORBIDDEN: a customer asking for another customer's orders",
    schema: errorResponseSchema,
  })
  @ApiResponse({ status: 503, description: 'IDENTITY_UNAVAILABLE', schema: errorResponseSchema })
  async listOrders(@Req() request: FastifyRequest, @Query() rawQuery: unknown): Promise<OrderListPage> {
    const query = parseOrReject(ListOrdersQuery, rawQuery, 'query string');
    const principal = await this.principals.resolve(request);
    let customerId: string | undefined;
    switch (principal.kind) {
      case 'operator':
        customerId = query.customerId;
        break;
      case 'customer':
        if (query.customerId !== undefined && query.customerId !== principal.sub) {
          throw forbidden('A customer sees their own orders only; leave customerId out.');
        }
        customerId = principal.sub;
        break;
      default:
        throw authenticationRequired(
          "Listing orders needs a customer's token (sign in at identity) or the operator token.",
        );
    }
    const page = await this.orders.listOrders({
      customerId,
      limit: query.limit,
      after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
    });
    return {
      orders: page.orders.map((order) => this.withAccessToken(order)),
      nextCursor: page.next ? encodeCursor(page.next) : null,
    };
  }

  @Get(':id')
  @ApiOperation({ summary: 'An order with its items and status', description: orderReadDescription })
  @ApiOrderReadAccess()
  @ApiResponse({ status: 200, description: 'The order' })
  async getOrder(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Param('id') id: string,
    @Query('accessToken') accessToken: unknown,
  ): Promise<OrderWithAccessToken> {
    const order = await this.access.open(request, id, 'Reading an order', accessToken);
    void reply.header('cache-control', 'private, no-store');
    return this.withAccessToken(order);
  }

  @Get(':id/report')
  @ApiOperation({
    summary: "The order's PDF report, from report-worker over RPC (rendered on demand if not written yet)",
  })
  @ApiProduces('application/pdf')
  @ApiOrderReadAccess()
  @ApiResponse({ status: 200, description: 'The PDF (application/pdf)' })
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
  async getReport(
    @Req() request: FastifyRequest,
    @Param('id') id: string,
    @Query('accessToken') accessToken: unknown,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const order = await this.access.open(request, id, 'Reading an order', accessToken);
    const result = await this.reports.fetchReport(
      toOrderPlacedData(order),
      this.config.REPORT_RPC_TIMEOUT_MS,
    );
    switch (result.kind) {
      case 'pdf':
        void reply
          .header('content-type', 'application/pdf')
          .header('cache-control', 'private, no-store')
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

/** Whose order a POST /orders places: signed in, the customer's; without a token (or as operator), a guest's. */
function ownerOf(principal: Principal): OrderOwner {
  switch (principal.kind) {
    case 'customer':
      return { kind: 'customer', customerId: principal.sub, email: principal.email };
    case 'operator':
    case 'none':
      return { kind: 'guest' };
    case 'token':
    case 'invalid':
      throw authenticationRequired(
        'The bearer token is not a valid customer token: sign in again, or send no Authorization to order as a guest.',
      );
  }
}
