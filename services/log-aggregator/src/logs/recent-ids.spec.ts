import { RecentIds } from './recent-ids';

describe('RecentIds', () => {
  it('remembers the last ids up to its capacity, forgetting the least recently added first', () => {
    const ids = new RecentIds(2);
    ids.add('a');
    ids.add('b');
    ids.add('a'); // refreshed: b is now the oldest
    ids.add('c');
    expect(['a', 'b', 'c'].filter((id) => ids.has(id))).toEqual(['a', 'c']);
  });
});
