import { ApiError } from '@shop/service-kit';
import { decodeCursor, encodeCursor, ListOrdersQuery } from './list-orders.query';

describe('GET /orders query', () => {
  it('defaults limit to 20 and takes 1-100', () => {
    expect(ListOrdersQuery.parse({})).toEqual({ limit: 20 });
    expect(ListOrdersQuery.parse({ limit: '100' }).limit).toBe(100);
    for (const limit of ['0', '101', '1.5', 'ten', ''])
      expect(ListOrdersQuery.safeParse({ limit }).success).toBe(false);
    expect(ListOrdersQuery.safeParse({ colour: 'red' }).success).toBe(false);
  });

  it('gives out a cursor that reads back as the same position, and refuses any other', () => {
    const position = {
      createdAt: new Date('2026-12-07T01:02:03.456Z'),
      id: '2b1f6ad9-9b5e-4a57-8c57-0e7a2f1c9d11',
    };
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
    for (const cursor of ['', 'not base64 json', Buffer.from('{"t":"x","id":"y"}').toString('base64url')]) {
      expect(() => decodeCursor(cursor)).toThrow(ApiError);
    }
  });
});
