import { MessageTypes } from '../names';
import { envelopeOf, versionOf } from './envelope';
import { OrderNotifiedV1 } from './order-status/order-status.v1';

describe('envelopeOf', () => {
  const origin = {
    messageId: '0b7e6f7c-4d1a-4f3e-9a57-3c2b1d0e9f8a',
    occurredAt: new Date('2026-12-07T10:15:30.123Z'),
    correlationId: 'corr-1',
  };

  it('builds a body the message schema accepts, with the version its type names', () => {
    const data = { orderId: '7d2a0b8e-1c3f-4e5a-8b6d-2f4e6a8c0b12', notifiedAt: '2026-12-07T10:15:30.000Z' };
    const body = envelopeOf<OrderNotifiedV1>({ ...origin, type: MessageTypes.orderNotifiedV1, data });

    expect(OrderNotifiedV1.parse(JSON.parse(JSON.stringify(body)))).toEqual(body);
    expect(body).toEqual({
      messageId: origin.messageId,
      type: 'order.notified.v1',
      version: 1,
      occurredAt: '2026-12-07T10:15:30.123Z',
      correlationId: 'corr-1',
      data,
    });
  });

  it('refuses a type that names no version', () => {
    expect(() => envelopeOf({ ...origin, type: 'order.notified', data: {} })).toThrow(/names no version/);
    expect(versionOf('payment.refund-requested.v12')).toBe(12);
  });
});
