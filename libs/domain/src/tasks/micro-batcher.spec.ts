import { MicroBatcher } from './micro-batcher';

describe('MicroBatcher', () => {
  const deferred = () => {
    let release!: () => void;
    const promise = new Promise<void>((resolve) => (release = resolve));
    return { promise, release };
  };

  it(
    'runs a lone call at once, and what is submitted together as one batch, ' + 'each caller getting its own result',
    async () => {
      const batches: number[][] = [];
      const batcher = new MicroBatcher(
        async (items: number[]) => {
          batches.push(items);
          return items.map((n) => n * 10);
        },
        { maxBatch: 100, maxInFlight: 1 },
      );
      expect(await batcher.submit(1)).toBe(10);
      expect(await Promise.all([batcher.submit(2), batcher.submit(3), batcher.submit(4)])).toEqual([20, 30, 40]);
      expect(batches).toEqual([[1], [2, 3, 4]]);
    },
  );

  it('while the limit of batches is running, gathers what comes next, in batches of at most maxBatch', async () => {
    const batches: number[][] = [];
    const gate = deferred();
    const batcher = new MicroBatcher(
      async (items: number[]) => {
        batches.push(items);
        if (batches.length === 1) await gate.promise;
        return items;
      },
      { maxBatch: 2, maxInFlight: 1 },
    );
    const first = batcher.submit(1);
    await new Promise((resolve) => setImmediate(resolve));
    const later = [2, 3, 4, 5, 6].map((n) => batcher.submit(n));
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([[1]]);
    gate.release();
    expect(await Promise.all([first, ...later])).toEqual([1, 2, 3, 4, 5, 6]);
    expect(batches).toEqual([[1], [2, 3], [4, 5], [6]]);
  });

  it('runs the items of a failed batch again one by one, so only the bad one fails', async () => {
    const batches: string[][] = [];
    const batcher = new MicroBatcher(
      async (items: string[]) => {
        batches.push(items);
        if (items.includes('bad')) throw new Error(`cannot store ${items.join(', ')}`);
        return items.map((item) => item.toUpperCase());
      },
      { maxBatch: 10, maxInFlight: 1 },
    );
    const results = await Promise.allSettled([batcher.submit('a'), batcher.submit('bad'), batcher.submit('c')]);
    expect(results).toEqual([
      { status: 'fulfilled', value: 'A' },
      { status: 'rejected', reason: new Error('cannot store bad') },
      { status: 'fulfilled', value: 'C' },
    ]);
    expect(batches).toEqual([['a', 'bad', 'c'], ['a'], ['bad'], ['c']]);
    expect(await batcher.submit('d')).toBe('D');
  });
});
