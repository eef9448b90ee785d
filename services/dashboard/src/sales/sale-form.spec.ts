import { ApiError } from '@shop/service-kit';
import { parseSaleForm } from './sale-form';

/** The sale's rules when the form leaves them out: the load test's defaults, order-api's payment window. */
const SALE_DEFAULTS = {
  admission: 'direct',
  limitPerCustomer: 1,
  opensInSeconds: 1.5,
  payShare: 0.5,
  latePayShare: 0.1,
  cancelShare: 0.1,
  secondAttemptShare: 0.02,
};

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
      ...SALE_DEFAULTS,
      stock: 100,
      requests: 2_000,
      connections: 50,
      retryShare: 0.1,
    });
    expect(parseSaleForm({})).toEqual({
      stock: 500,
      requests: 20_000,
      connections: 200,
      retryShare: 0.05,
      ...SALE_DEFAULTS,
    });
  });

  it('takes the sale’s rules: queued admission, a limit per customer, when it opens, its payment window, the shares', () => {
    const rules = {
      admission: 'queued',
      limitPerCustomer: 3,
      opensInSeconds: 0,
      paymentWindowSeconds: 2.5,
      payShare: 0.7,
      latePayShare: 0.2,
      cancelShare: 0.1,
      secondAttemptShare: 1,
    };
    expect(parseSaleForm(rules)).toEqual({
      stock: 500,
      requests: 20_000,
      connections: 200,
      retryShare: 0.05,
      ...rules,
    });
    // Left out or null: order-api's own window.
    expect(parseSaleForm({ paymentWindowSeconds: null })).not.toHaveProperty('paymentWindowSeconds');
    expect(parseSaleForm({ opensInSeconds: 600, limitPerCustomer: 10 })).toMatchObject({
      opensInSeconds: 600,
      limitPerCustomer: 10,
    });
  });

  it('refuses rules out of bounds, each field with its own entry', () => {
    expect(
      errorsOf({
        admission: 'lottery',
        limitPerCustomer: 11,
        opensInSeconds: -1,
        paymentWindowSeconds: 0.5,
        secondAttemptShare: '0.1',
      }),
    ).toEqual([
      { field: 'admission', code: 'NOT_ONE_OF', message: 'must be direct or queued' },
      { field: 'limitPerCustomer', code: 'OUT_OF_RANGE', message: 'must be from 1 to 10' },
      { field: 'opensInSeconds', code: 'OUT_OF_RANGE', message: 'must be from 0 to 600' },
      { field: 'paymentWindowSeconds', code: 'OUT_OF_RANGE', message: 'must be from 1 to 604,800' },
      { field: 'secondAttemptShare', code: 'NOT_A_NUMBER', message: 'must be a number from 0 to 1' },
    ]);
    expect(errorsOf({ limitPerCustomer: 1.5, opensInSeconds: 601, paymentWindowSeconds: 604_801 })).toEqual([
      expect.objectContaining({ field: 'limitPerCustomer', code: 'NOT_A_WHOLE_NUMBER' }),
      expect.objectContaining({ field: 'opensInSeconds', code: 'OUT_OF_RANGE' }),
      expect.objectContaining({ field: 'paymentWindowSeconds', code: 'OUT_OF_RANGE' }),
    ]);
    expect(errorsOf({ admission: null })).toEqual([expect.objectContaining({ field: 'admission' })]);
  });

  it('refuses shares the load test cannot split among the orders', () => {
    expect(errorsOf({ payShare: 0.9 })).toEqual([
      {
        field: 'cancelShare',
        code: 'SHARES_OVER_ONE',
        message: 'with payShare and latePayShare must add up to at most 1 (0.9 + 0.1 + 0.1)',
      },
    ]);
    expect(parseSaleForm({ payShare: 0.8, latePayShare: 0.1, cancelShare: 0.1 })).toMatchObject({
      payShare: 0.8,
    });
    // A share out of range is its own error, not also a sum.
    expect(errorsOf({ payShare: 1.5 })).toEqual([
      expect.objectContaining({ field: 'payShare', code: 'OUT_OF_RANGE' }),
    ]);
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
