/**
 * Sample functions name a value that is not finite instead of returning a plausible wrong figure (a trial:
 * `median([3, NaN, 1])` was NaN, `nearestRankQuantile([3, NaN, 1, 2], 0.5)` quietly 2, `p99Band` NaN bounds,
 * `lowerQuantile([])` undefined, `comparePairs` of negative latencies a verdict).
 */
import { describe, expect, it } from 'vitest';
import { comparePairs } from '../../../pipelines/stats/compare-pairs.ts';
import { assertFiniteSample, lowerQuantile, lowerQuantileSql } from '../../../pipelines/stats/samples.ts';
import { createTestDatabase } from '../../helpers/warehouse.ts';
import { nearestRankQuantile } from '../../../services/model/gbt.ts';
import { coverage, mape, median, withinTolerance } from '../../../services/model/metrics.ts';
import { dayP99Band, p99Band } from '../../../services/predictor/peak-p99.ts';

describe('finite samples', () => {
  it('assertFiniteSample names the first bad value and its index', () => {
    expect(() => assertFiniteSample([1, 2, Number.NaN, Infinity], 'f')).toThrow(new RangeError('f: value 2 is NaN, expected a finite number'));
    expect(() => assertFiniteSample(Float64Array.of(1, -Infinity), 'g')).toThrow(new RangeError('g: value 1 is -Infinity, expected a finite number'));
    expect(() => assertFiniteSample([0, -3], 'h', 0)).toThrow(new RangeError('h: value 1 is -3, expected at least 0'));
    expect(() => assertFiniteSample([], 'e')).not.toThrow();
    expect(() => assertFiniteSample([0, 1e308, -1e-300], 'ok')).not.toThrow();
  });

  it('quantiles, medians and bands refuse NaN and Infinity, and an empty sample', () => {
    expect(() => median([3, Number.NaN, 1])).toThrow(/^median: value 1 is NaN/);
    expect(median([3, 1, 2, 10])).toBe(2.5);
    expect(() => nearestRankQuantile([3, Number.NaN, 1, 2], 0.5)).toThrow(/^nearestRankQuantile: value 1 is NaN/);
    expect(nearestRankQuantile([3, 4, 1, 2], 0.5)).toBe(2);
    expect(() => lowerQuantile([], 0.5)).toThrow(/^lowerQuantile: empty sample$/);
    expect(() => lowerQuantile([1, Infinity], 0.5)).toThrow(/^lowerQuantile: value 1 is Infinity/);
    expect(lowerQuantile([4, 1, 3, 2], 0.5)).toBe(2);
    expect(() => p99Band([1, 2, Number.NaN, 4], 1.645)).toThrow(/^p99Band: value 2 is NaN/);
    expect(() => dayP99Band([Number.NaN, 1, 2], 10, 1)).toThrow(/^dayP99Band: value 0 is NaN/);
    // The level arguments too (a re-test: undefined, or a band with low above high, came back).
    expect(() => nearestRankQuantile([1, 2, 3], Number.NaN)).toThrow(/^nearestRankQuantile: alpha must be in \(0, 1\], got NaN$/);
    expect(() => lowerQuantile([1, 2, 3], 1.5)).toThrow(/^lowerQuantile: q must be in \[0, 1\], got 1.5$/);
    expect(() => p99Band([1, 2, 3], -3)).toThrow(/^p99Band: z must be a finite number ≥ 0, got -3$/);
    expect(() => dayP99Band([1, 2, 3], 10, Number.NaN)).toThrow(/^dayP99Band: z must be a finite number ≥ 0, got NaN$/);
    // Halved before adding: the median of two values near the largest double is finite.
    expect(median([1e308, 1.5e308])).toBe(1.25e308);
    expect(median([Number.MAX_VALUE, Number.MAX_VALUE])).toBe(Number.MAX_VALUE);
  });

  it('accuracy metrics refuse a prediction or truth that is not finite (a NaN had counted as a miss, 0.5)', () => {
    expect(() => mape([Number.NaN, 1], [1, 1])).toThrow(/^mape \(predictions\): value 0 is NaN/);
    expect(() => coverage([2, 2], [1, Number.NaN])).toThrow(/^coverage \(truths\): value 1 is NaN/);
    expect(() => withinTolerance([1, Infinity], [1, 1])).toThrow(/^withinTolerance \(predictions\): value 1 is Infinity/);
    expect(mape([1.1, 0.9], [1, 1])).toBeCloseTo(0.1, 12);
  });

  it('comparePairs refuses a negative or non-finite latency', () => {
    const o = { tolerance: 0.25, confidence: 0.95, minPairs: 20 };
    expect(() => comparePairs(Array(25).fill(0), Array(25).fill(-3), o)).toThrow(/^comparePairs \(shadow latencies, ms\): value 0 is -3, expected at least 0$/);
    expect(() => comparePairs([Number.NaN], [1], o)).toThrow(/^comparePairs \(production latencies, ms\): value 0 is NaN/);
    expect(comparePairs(Array(25).fill(10), Array(25).fill(10), o).verdict).toBe('EQUIVALENT');
  });
});

describe('lowerQuantileSql', () => {
  it('is lowerQuantile in ClickHouse (a trial: the live gate\'s compute p90 was quantileExactLow(0.9), one place above the backtest\'s)', async () => {
    const w = await createTestDatabase('lowerq');
    try {
      // 1..10 and [1, 2, 3, 100]: ⌊0.9·9⌋ = 8 → 9 and ⌊0.9·3⌋ = 2 → 3, where quantileExactLow(0.9) takes ⌊0.9·n⌋: 10 and 100.
      const samples = [Array.from({ length: 10 }, (_, i) => i + 1), [1, 2, 3, 100], [7], ...Array.from({ length: 30 }, (_, k) => Array.from({ length: 1 + ((k * 37) % 61) }, (_, i) => ((i * 7919 + k * 104729) % 1000) / 8))];
      for (const v of samples) {
        const [row] = await w.query<{ p50: number; p90: number; p99: number; low90: number }>(
          `SELECT ${lowerQuantileSql('x', 0.5)} AS p50, ${lowerQuantileSql('x', 0.9)} AS p90, ${lowerQuantileSql('x', 0.99)} AS p99, quantileExactLow(0.9)(x) AS low90
           FROM (SELECT arrayJoin({v:Array(Float64)}) AS x)`, { v });
        expect([row!.p50, row!.p90, row!.p99]).toEqual([lowerQuantile(v, 0.5), lowerQuantile(v, 0.9), lowerQuantile(v, 0.99)]);
        if (v.length === 10) expect([row!.p90, row!.low90]).toEqual([9, 10]);
        if (v.length === 4) expect([row!.p90, row!.low90]).toEqual([3, 100]);
      }
      const [none] = await w.query<{ q: number | null }>(`SELECT ${lowerQuantileSql('x', 0.9)} AS q FROM (SELECT arrayJoin(CAST([], 'Array(Float64)')) AS x)`);
      expect(none!.q).toBeNull();
      expect(() => lowerQuantileSql('x', 2)).toThrow(/^lowerQuantileSql: q must be in \[0, 1\], got 2$/);
    } finally {
      await w.close();
    }
  });
});
