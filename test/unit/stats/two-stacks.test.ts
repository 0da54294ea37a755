import { describe, expect, it } from 'vitest';
import { TwoStacks } from '../../../pipelines/windows/two-stacks.ts';
import { emptyMoments, mergeMoments, momentsOf, type Moments } from '../../../pipelines/stats/moments.ts';
import { prng } from '../../helpers/factories.ts';


const concat = (a: string, b: string): string => a + b;

describe('TwoStacks', () => {
  it('returns the identity and undefined on an empty queue', () => {
    const q = new TwoStacks(concat, () => '');
    expect(q.size).toBe(0);
    expect(q.query()).toBe('');
    expect(q.shift()).toBeUndefined();
    q.push('a');
    expect(q.query()).toBe('a');
    expect(q.shift()).toBe('a');
    expect(q.query()).toBe('');
    expect(q.size).toBe(0);
  });

  // Table: seed, number of operations, probability of push, max window length.
  const table: [number, number, number, number][] = [
    [1, 200, 0.5, Infinity],
    [2, 500, 0.6, 7],
    [3, 500, 0.75, 40],
    [4, 1000, 0.55, 3],
    [5, 300, 0.9, Infinity],
    [6, 300, 0.3, Infinity],
  ];
  it.each(table)('matches a naive recompute (seed %i, %i ops, p(push)=%f, max %f)', (seed, ops, pPush, maxLen) => {
    const rand = prng(seed);
    const q = new TwoStacks(concat, () => '');
    const naive: string[] = [];
    let next = 0;
    for (let i = 0; i < ops; i++) {
      if (rand() < pPush || naive.length === 0) {
        const token = `<${next++}>`; // non-commutative, and every token is distinct
        q.push(token);
        naive.push(token);
        if (naive.length > maxLen) expect(q.shift()).toBe(naive.shift());
      } else {
        expect(q.shift()).toBe(naive.shift());
      }
      expect(q.size).toBe(naive.length);
      expect(q.query()).toBe(naive.join(''));
    }
    q.clear();
    expect(q.size).toBe(0);
    expect(q.query()).toBe('');
  });

  it('only ever combines adjacent ranges, older on the left', () => {
    type Range = readonly [number, number] | null; // [first, last] index, null = identity
    const combine = (a: Range, b: Range): Range => {
      if (a === null) return b;
      if (b === null) return a;
      if (a[1] + 1 !== b[0]) throw new Error(`non-adjacent combine ${JSON.stringify(a)} + ${JSON.stringify(b)}`);
      return [a[0], b[1]];
    };
    const q = new TwoStacks<Range>(combine, () => null);
    let head = 0;
    for (let i = 0; i < 300; i++) {
      q.push([i, i]);
      if (i % 3 === 2 || q.size > 11) {
        q.shift();
        head++;
      }
      expect(q.query()).toEqual([head, i]);
    }
  });

  it('never mutates pushed moments panes (frozen panes, merge monoid)', () => {
    const rand = prng(42);
    const q = new TwoStacks<Moments>(mergeMoments, emptyMoments);
    const panes: Moments[] = [];
    for (let i = 0; i < 60; i++) {
      const xs = [rand(), rand(), rand()].map((u) => 4294967296 + u);
      const ys = xs.map((x) => 2 * (x - 4294967296) + rand());
      const pane = Object.freeze(momentsOf(xs, ys));
      panes.push(pane);
      q.push(pane); // any write to a frozen pane throws in strict mode (ESM)
      if (q.size > 8) q.shift();
      const window = panes.slice(Math.max(0, panes.length - 8));
      const naive = window.reduce(mergeMoments, emptyMoments());
      const got = q.query();
      expect(got.n).toBe(naive.n);
      expect(got.m2x).toBeCloseTo(naive.m2x, 12);
      expect(got.cxy).toBeCloseTo(naive.cxy, 12);
    }
  });
});
