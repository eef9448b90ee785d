import { runWithCorrelationId } from './correlation-context';
import { JsonLogger, maskEmails } from './json-logger';

function capture(minLevel?: 'debug' | 'info') {
  const lines: Record<string, unknown>[] = [];
  const logger = new JsonLogger('order-api', { minLevel, write: (line) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe('JsonLogger', () => {
  it('writes one JSON record with service, level, context and correlation id', () => {
    const { logger, lines } = capture();
    runWithCorrelationId('req-42', () => logger.log('order placed', 'OrdersService'));
    expect(lines).toEqual([
      expect.objectContaining({
        service: 'order-api',
        level: 'info',
        context: 'OrdersService',
        message: 'order placed',
        correlationId: 'req-42',
      }),
    ]);
    expect(Date.parse(lines[0].time as string)).not.toBeNaN();
  });

  it('keeps the stack of errors and drops records below the minimum level', () => {
    const { logger, lines } = capture('info');
    logger.debug('noise');
    logger.error('boom', 'Error: boom\n    at x', 'Relay');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', context: 'Relay', stack: 'Error: boom\n    at x' });
  });

  it('masks email addresses', () => {
    expect(maskEmails('sent to wang.xiaoming@example.cn and kim@shop.kr')).toBe(
      'sent to w***@example.cn and k***@shop.kr',
    );
  });
});
