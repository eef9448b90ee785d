import { parseFlashSaleArgs } from './flash-sale.cli';

const optionsOf = (argv: string[]) => {
  const parsed = parseFlashSaleArgs(argv);
  if (parsed === 'help') throw new Error('parsed as --help');
  return parsed.options;
};

describe('flash-sale command line: the sale’s rules', () => {
  it('puts one unit per customer on sale, opening 1.5 s after it is created, unless told otherwise', () => {
    expect(optionsOf([])).toMatchObject({ admission: 'direct', limitPerCustomer: 1, opensInMs: 1_500 });
    expect(
      optionsOf(['--admission', 'queued', '--limit-per-customer', '3', '--opens-in-ms', '0']),
    ).toMatchObject({ admission: 'queued', limitPerCustomer: 3, opensInMs: 0 });
  });

  it('refuses a limit or an opening delay that is not a whole number in bounds', () => {
    expect(() => optionsOf(['--limit-per-customer', '0'])).toThrow(
      '--limit-per-customer must be a whole number from 1 to 1000 (got 0)',
    );
    expect(() => optionsOf(['--limit-per-customer', '1.5'])).toThrow(/--limit-per-customer/);
    expect(() => optionsOf(['--opens-in-ms=-1'])).toThrow(/--opens-in-ms must be a whole number from 0/);
    expect(() => optionsOf(['--opens-in-ms', '3600001'])).toThrow(/--opens-in-ms/);
  });

  it('has no sale, so no rules, without admission', () => {
    const options = optionsOf(['--admission', 'none', '--limit-per-customer', '2']);
    expect(options.admission).toBeUndefined();
    expect(options.limitPerCustomer).toBeUndefined();
    expect(options.opensInMs).toBeUndefined();
  });
});
