import { logRoutingKeyOf } from '../../names';
import { validateMessage } from '../validate-message';
import { boundedLogRecord, LOG_RECORD_LIMITS, LogRecordV1 } from './log-record.v1';

const record = {
  time: '2025-05-01T08:30:00.000Z',
  service: 'notify-worker',
  level: 'error',
  context: 'OrderPlacedNotifyHandler',
  message: 'order 7d0f: SMTP refused w***@example.cn',
  correlationId: 'corr-xyz',
  stack: 'Error: refused\n    at send',
};

describe('LogRecordV1', () => {
  it('accepts a full record and one with only the required fields', () => {
    expect(validateMessage(LogRecordV1, Buffer.from(JSON.stringify(record)))).toEqual({
      ok: true,
      message: record,
    });
    const { time, service, level, message } = record;
    expect(LogRecordV1.safeParse({ time, service, level, message }).success).toBe(true);
  });

  it('refuses an unknown level and a service name that is not one routing-key word', () => {
    expect(LogRecordV1.safeParse({ ...record, level: 'verbose' }).success).toBe(false);
    expect(LogRecordV1.safeParse({ ...record, service: 'order.api' }).success).toBe(false);
    expect(LogRecordV1.safeParse({ ...record, time: 'yesterday' }).success).toBe(false);
  });

  it('routes by <service>.<level>', () => {
    expect(logRoutingKeyOf('order-api', 'info')).toBe('order-api.info');
  });

  it('refuses a message or stack beyond its limit, and boundedLogRecord cuts them to a valid record', () => {
    const huge = {
      ...record,
      message: 'm'.repeat(LOG_RECORD_LIMITS.message + 1),
      stack: 's'.repeat(100_000),
      context: 'c'.repeat(1_000),
    };
    expect(LogRecordV1.safeParse(huge).success).toBe(false);
    const bounded = boundedLogRecord(huge);
    expect(LogRecordV1.safeParse(bounded).success).toBe(true);
    expect(bounded.message).toHaveLength(LOG_RECORD_LIMITS.message);
    expect(bounded.message).toMatch(/… \[\d+ more characters cut\]$/);
    expect(bounded.stack).toHaveLength(LOG_RECORD_LIMITS.stack);
    expect(boundedLogRecord(record)).toBe(record);
  });
});
