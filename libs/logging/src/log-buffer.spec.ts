import { LogBuffer } from './log-buffer';

describe('LogBuffer', () => {
  it('keeps at most `capacity` items and counts every one it drops', () => {
    const buffer = new LogBuffer<number>(3);
    const kept = [1, 2, 3, 4, 5].map((n) => buffer.push(n));
    expect(kept).toEqual([true, true, true, false, false]);
    expect(buffer.size).toBe(3);
    expect(buffer.dropped).toBe(2);
    expect(buffer.takeDropped()).toBe(2);
    expect(buffer.takeDropped()).toBe(0);
  });

  it('counts items in flight against the capacity until they are settled', () => {
    const buffer = new LogBuffer<string>(3);
    ['a', 'b', 'c'].forEach((item) => buffer.push(item));
    expect(buffer.take(2)).toEqual(['a', 'b']);
    expect(buffer.waiting).toBe(1);
    expect(buffer.push('d')).toBe(false);
    buffer.settle(2);
    expect(buffer.push('e')).toBe(true);
    expect(buffer.take(10)).toEqual(['c', 'e']);
  });

  it('puts failed items back at the front, oldest first', () => {
    const buffer = new LogBuffer<string>(10);
    ['a', 'b', 'c', 'd'].forEach((item) => buffer.push(item));
    const batch = buffer.take(3);
    buffer.push('e');
    buffer.settle(batch.length, ['a', 'c']);
    expect(buffer.size).toBe(4);
    expect(buffer.take(10)).toEqual(['a', 'c', 'd', 'e']);
  });

  it('takes the drop report even when full', () => {
    const buffer = new LogBuffer<string>(1);
    buffer.push('a');
    buffer.pushBeyondCapacity('1 dropped');
    expect(buffer.take(10)).toEqual(['a', '1 dropped']);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new LogBuffer(0)).toThrow('capacity');
  });
});
