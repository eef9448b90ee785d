import {
  assertMessageSize,
  copiedMessageProperties,
  jsonMessageProperties,
  MAX_MESSAGE_BYTES,
  PublisherHeaders,
  publisherOf,
} from './message-properties';

describe('message properties', () => {
  const occurredAt = new Date('2026-12-03T10:00:00.999Z');

  it('a new message is persistent UTF-8 JSON with its ids, type, time in whole seconds and app', () => {
    expect(
      jsonMessageProperties({
        messageId: 'm-1',
        correlationId: 'c-1',
        type: 'order.placed.v1',
        occurredAt,
        appId: 'order-api',
      }),
    ).toEqual({
      persistent: true,
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      messageId: 'm-1',
      correlationId: 'c-1',
      type: 'order.placed.v1',
      timestamp: Date.parse('2026-12-03T10:00:00Z') / 1000,
      appId: 'order-api',
    });
  });

  it('leaves out a missing correlation id, and takes headers, another content type and transience', () => {
    expect(
      jsonMessageProperties({
        messageId: 'm-2',
        type: 'report.pdf.v1',
        occurredAt,
        appId: 'report-worker',
        contentType: 'application/pdf',
        persistent: false,
        headers: { 'x-deadline-at': 5 },
      }),
    ).toEqual({
      persistent: false,
      contentType: 'application/pdf',
      messageId: 'm-2',
      type: 'report.pdf.v1',
      timestamp: Date.parse('2026-12-03T10:00:00Z') / 1000,
      appId: 'report-worker',
      headers: { 'x-deadline-at': 5 },
    });
  });

  it('a forwarded copy keeps the original’s properties with the headers given', () => {
    const original = {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      messageId: 'm-3',
      correlationId: 'c-3',
      type: 'order.placed.v1',
      timestamp: 1_700_000_000,
      appId: 'order-api',
      headers: { old: 1 },
    };
    expect(copiedMessageProperties(original, { 'x-retry-count': 1 }, undefined)).toEqual({
      ...original,
      persistent: true,
      headers: { 'x-retry-count': 1 },
    });
  });

  it('a forwarded copy carries the forwarder’s user_id and the checked first publisher in a header', () => {
    const published = { messageId: 'm-4', userId: 'notify-worker', headers: {} };
    const retried = copiedMessageProperties(published, { 'x-retry-count': 1 }, 'order-api');
    expect(retried).toMatchObject({
      userId: 'order-api',
      headers: { 'x-retry-count': 1, [PublisherHeaders.originalUserId]: 'notify-worker' },
    });
    // Forwarded again by the same consumer: the header is its own, so it is believed and kept.
    expect(publisherOf(retried, 'order-api')).toBe('notify-worker');
    const parked = copiedMessageProperties(retried, { ...retried.headers, 'x-retry-count': 2 }, 'order-api');
    expect(parked.headers[PublisherHeaders.originalUserId]).toBe('notify-worker');
  });

  it('believes x-original-user-id only from the consumer’s own user: anyone else’s is their user_id', () => {
    const forged = {
      userId: 'notify-worker',
      headers: { [PublisherHeaders.originalUserId]: 'report-worker' },
    };
    expect(publisherOf(forged, 'order-api')).toBe('notify-worker');
    expect(copiedMessageProperties(forged, { ...forged.headers }, 'order-api').headers).toEqual({
      [PublisherHeaders.originalUserId]: 'notify-worker',
    });
    expect(publisherOf({ headers: forged.headers }, 'order-api')).toBeUndefined();
    expect(copiedMessageProperties({ headers: forged.headers }, { ...forged.headers }, 'x').headers).toEqual(
      {},
    );
  });

  it('refuses a body larger than MAX_MESSAGE_BYTES with a clear error', () => {
    expect(() => assertMessageSize(Buffer.alloc(MAX_MESSAGE_BYTES), 'a body')).not.toThrow();
    expect(() => assertMessageSize(Buffer.alloc(MAX_MESSAGE_BYTES + 1), 'a body')).toThrow(
      expect.objectContaining({
        code: 'MESSAGE_TOO_LARGE',
        message: expect.stringContaining('MAX_MESSAGE_BYTES'),
      }),
    );
  });
});
