import { HttpException, HttpStatus, NotFoundException } from '@nestjs/common';
import { ApiError } from './api-error';
import { toApiErrorResponse } from './api-exception.filter';

describe('toApiErrorResponse', () => {
  it('keeps an ApiError as it is', () => {
    const error = new ApiError(HttpStatus.CONFLICT, 'OUT_OF_STOCK', 'Not enough stock.', { sku: 'A' });
    expect(toApiErrorResponse(error)).toEqual({
      status: 409,
      body: { code: 'OUT_OF_STOCK', message: 'Not enough stock.', sku: 'A' },
    });
  });

  it('gives Fastify request errors, wrapped by Nest, a code from their status', () => {
    expect(toApiErrorResponse(new HttpException('Unsupported Media Type', 415))).toMatchObject({
      status: 415,
      body: { code: 'UNSUPPORTED_MEDIA_TYPE' },
    });
    expect(toApiErrorResponse(new HttpException('Request body is too large', 413))).toMatchObject({
      status: 413,
      body: { code: 'PAYLOAD_TOO_LARGE' },
    });
  });

  it('gives Nest HTTP exceptions a code from their status', () => {
    expect(toApiErrorResponse(new NotFoundException('Cannot GET /nope'))).toEqual({
      status: 404,
      body: { code: 'NOT_FOUND', message: 'Cannot GET /nope' },
    });
  });

  it('lets classifiers claim errors before the generic mapping', () => {
    const unavailable = new ApiError(HttpStatus.SERVICE_UNAVAILABLE, 'DATABASE_UNAVAILABLE', 'Try again.');
    const classify = (error: unknown) =>
      (error as { code?: string }).code === 'ECONNREFUSED' ? unavailable : undefined;
    expect(toApiErrorResponse({ code: 'ECONNREFUSED' }, [classify]).status).toBe(503);
  });

  it('hides unknown errors behind a 500 INTERNAL_ERROR', () => {
    expect(toApiErrorResponse(new Error('secret details'))).toEqual({
      status: 500,
      body: { code: 'INTERNAL_ERROR', message: 'Something went wrong on our side.' },
    });
  });
});
