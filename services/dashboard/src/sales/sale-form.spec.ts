import { ApiError } from '@shop/service-kit';
import { parseSaleForm } from './sale-form';

const errorsOf = (body: unknown) => {
  try {
    parseSaleForm(body);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).getStatus()).toBe(400);
    expect((error as ApiError).body.code).toBe('VALIDATION_FAILED');
    return (error as ApiError).body.errors;
  }
  throw new Error('the form was accepted');
};

describe('parseSaleForm', () => {
  it('accepts the options within the load test’s bounds, and fills in its defaults', () => {
    expect(parseSaleForm({ stock: 100, requests: 2_000, connections: 50, retryShare: 0.1 })).toEqual({
      stock: 100,
      requests: 2_000,
      connections: 50,
      retryShare: 0.1,
    });
    expect(parseSaleForm({})).toEqual({ stock: 500, requests: 20_000, connections: 200, retryShare: 0.05 });
  });

  it('gives each bad field its own code', () => {
    expect(errorsOf({ stock: -1, requests: 2.5, connections: '50', retryShare: 1.5, colour: 'red' })).toEqual(
      [
        { field: 'colour', code: 'UNKNOWN_FIELD', message: expect.stringContaining('is not an option') },
        { field: 'stock', code: 'OUT_OF_RANGE', message: 'must be from 0 to 50,000' },
        {
          field: 'requests',
          code: 'NOT_A_WHOLE_NUMBER',
          message: 'must be a whole number from 1 to 200,000',
        },
        { field: 'connections', code: 'NOT_A_NUMBER', message: 'must be a number from 1 to 1,000' },
        { field: 'retryShare', code: 'OUT_OF_RANGE', message: 'must be from 0 to 1' },
      ],
    );
    expect(errorsOf({ connections: 1_001 })).toEqual([
      expect.objectContaining({ field: 'connections', code: 'OUT_OF_RANGE' }),
    ]);
  });

  it('bounds a sale to what one machine runs: the command line’s 10,000,000 requests are refused here', () => {
    expect(errorsOf({ requests: 10_000_000, stock: 1_000_000 })).toEqual([
      expect.objectContaining({ field: 'stock', code: 'OUT_OF_RANGE' }),
      expect.objectContaining({ field: 'requests', code: 'OUT_OF_RANGE' }),
    ]);
    expect(parseSaleForm({ requests: 200_000, stock: 50_000, connections: 1_000 })).toMatchObject({
      requests: 200_000,
    });
  });

  it('refuses a body that is not an object', () => {
    for (const body of [null, [], 'stock=5', 7]) {
      expect(errorsOf(body)).toEqual([
        { field: '(root)', code: 'NOT_AN_OBJECT', message: 'must be a JSON object' },
      ]);
    }
  });
});
