import { logRoutingKeyOf } from '../../names';
import { validateMessage } from '../validate-message';
import { LogRecordV1 } from './log-record.v1';

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
});
