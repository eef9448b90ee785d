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

  it('refuses unknown options and empty keys with the usage', () => {
    expect(() => parseTailArgs(['--colour'])).toThrow(
      /Unknown option '--colour'[\s\S]*usage: npm run logs:tail/,
    );
    expect(() => parseTailArgs([''])).toThrow(/1 to 255 bytes/);
    expect(() => parseTailArgs(['--help'])).toThrow(/^usage: npm run logs:tail/);
  });
});
