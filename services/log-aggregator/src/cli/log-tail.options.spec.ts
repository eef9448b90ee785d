import { describeBindings, parseTailArgs } from './log-tail.options';

describe('logs:tail options', () => {
  it('without keys binds to the fanout, which carries everything', () => {
    expect(parseTailArgs([])).toEqual({
      bindings: [{ exchange: 'logs.broadcast', routingKey: '' }],
      json: false,
      warnings: [],
    });
  });

  it('with keys binds each to the topic exchange, once', () => {
    const options = parseTailArgs(['*.error', 'order-api.*', '--json', '*.error']);
    expect(options.bindings).toEqual([
      { exchange: 'logs', routingKey: '*.error' },
      { exchange: 'logs', routingKey: 'order-api.*' },
    ]);
    expect(options.json).toBe(true);
    expect(describeBindings(options.bindings)).toBe('logs "*.error", logs "order-api.*"');
  });

  it('warns about a wildcard inside a word, which RabbitMQ takes literally', () => {
    expect(parseTailArgs(['order-api*']).warnings).toEqual([
      '"order-api*": * and # are wildcards only as a whole word; "order-api*" matches that literal text',
    ]);
    expect(parseTailArgs(['#', '*.*.x', '#.error']).warnings).toEqual([]);
  });

  it('--order binds to the headers exchange on order-id alone, --correlation on correlation-id', () => {
    const order = parseTailArgs(['--order', '7d0f2c1e-2b1a-4c3d-9e8f-0a1b2c3d4e5f', '--json']);
    expect(order).toEqual({
      bindings: [
        {
          exchange: 'logs.follow',
          routingKey: '',
          arguments: { 'x-match': 'all', 'order-id': '7d0f2c1e-2b1a-4c3d-9e8f-0a1b2c3d4e5f' },
        },
      ],
      json: true,
      warnings: [],
    });
    expect(describeBindings(order.bindings)).toBe(
      'logs.follow order-id=7d0f2c1e-2b1a-4c3d-9e8f-0a1b2c3d4e5f',
    );
    expect(parseTailArgs(['--correlation=req-42']).bindings).toEqual([
      {
        exchange: 'logs.follow',
        routingKey: '',
        arguments: { 'x-match': 'all', 'correlation-id': 'req-42' },
      },
    ]);
  });

  it('refuses a follow with keys, with both ids, without a value or with one no record can carry', () => {
    expect(() => parseTailArgs(['--order', 'o-1', 'order-api.*'])).toThrow(
      /take no binding keys[\s\S]*usage/,
    );
    expect(() => parseTailArgs(['--order', 'o-1', '--correlation', 'c-1'])).toThrow(/not both/);
    expect(() => parseTailArgs(['--order'])).toThrow(/argument missing[\s\S]*usage/);
    expect(() => parseTailArgs(['--order', ' '])).toThrow(/--order must be 1 to 100 characters/);
    expect(() => parseTailArgs(['--correlation', 'c'.repeat(201)])).toThrow(/--correlation must be 1 to 200/);
  });

  it('refuses unknown options and empty keys with the usage', () => {
    expect(() => parseTailArgs(['--colour'])).toThrow(
      /Unknown option '--colour'[\s\S]*usage: npm run logs:tail/,
    );
    expect(() => parseTailArgs([''])).toThrow(/1 to 255 bytes/);
    expect(() => parseTailArgs(['--help'])).toThrow(/^usage: npm run logs:tail/);
  });
});
