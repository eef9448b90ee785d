import { ApiError } from '@shop/service-kit';
import { parseLogsQuery } from './logs.query';

const fieldsOf = (query: Record<string, unknown>) => {
  try {
    parseLogsQuery(query);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).getStatus()).toBe(400);
    expect((error as ApiError).body.code).toBe('VALIDATION_FAILED');
    return ((error as ApiError).body.errors ?? []).map((e) => e.field).sort();
  }
  throw new Error('expected a 400');
};

describe('parseLogsQuery', () => {
  it('defaults the limit to 100 and treats empty parameters as absent', () => {
    expect(parseLogsQuery({})).toEqual({ limit: 100 });
    expect(parseLogsQuery({ service: '', level: '', limit: '' })).toEqual({ limit: 100 });
  });

  it('reads every filter, since as epoch milliseconds', () => {
    expect(
      parseLogsQuery({
        service: 'order-api',
        level: 'error',
        correlationId: 'req-1',
        since: '2026-11-23T12:00:00+02:00',
        limit: '1000',
      }),
    ).toEqual({
      service: 'order-api',
      level: 'error',
      correlationId: 'req-1',
      sinceMs: Date.parse('2026-11-23T10:00:00Z'),
      limit: 1000,
    });
  });

  it('names every bad or unknown parameter', () => {
    expect(fieldsOf({ limit: '0', level: 'loud', since: 'today', service: 'Order API', x: '1' })).toEqual([
      'level',
      'limit',
      'service',
      'since',
      'x',
    ]);
    expect(fieldsOf({ limit: '1001' })).toEqual(['limit']);
    expect(fieldsOf({ limit: '2.5' })).toEqual(['limit']);
    expect(fieldsOf({ service: ['a', 'b'] })).toEqual(['service']);
  });
});
