// The entry behind `@shop/messaging/dead-letters` (package.json `exports`, tsconfig paths, jest's mapper).
import { listParked } from './index';

const loaded = () => Object.keys(require.cache);
const nest = () => loaded().filter((path) => path.includes('/node_modules/@nestjs/'));

describe('@shop/messaging/dead-letters', () => {
  it('loads without Nest, so the load test and the dashboard can import it', () => {
    expect(typeof listParked).toBe('function');
    // The cache does list what the entry loaded: an empty one would prove nothing.
    expect(loaded().some((path) => path.endsWith('dead-letters/dead-letter-queue.ts'))).toBe(true);
    expect(nest()).toEqual([]);
  });

  it('is what keeps Nest out: the package root loads it', () => {
    let root: string[] = [];
    jest.isolateModules(() => {
      jest.requireActual('../index');
      root = nest();
    });
    expect(root.some((path) => path.includes('/@nestjs/core/'))).toBe(true);
  });
});
