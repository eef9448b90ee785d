import { copiedMessageProperties, jsonMessageProperties } from './message-properties';

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
    expect(copiedMessageProperties(original, { 'x-retry-count': 1 })).toEqual({
      ...original,
      persistent: true,
      headers: { 'x-retry-count': 1 },
    });
  });
});
