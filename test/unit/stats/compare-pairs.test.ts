/**
 * The paired comparison of a shadow-verdict window against closed forms: nearest-rank percentiles,
 * the Hodges–Lehmann ratio, the exact Wilcoxon p of all-positive differences (2 / 2^n), and ties of a
 * pair and its reciprocal.
 */
import { describe, expect, it } from 'vitest';
import { comparePairs } from '../../../pipelines/stats/compare-pairs.ts';

describe('comparePairs', () => {
  it('nearest-rank percentiles, ratio = exp(HL of ln ratio), verdict by the tolerance; too few pairs is INCONCLUSIVE', () => {
    const prod = Array.from({ length: 30 }, (_, i) => 10 + i);
    const r = comparePairs(prod, prod.map((x) => x * 2), { tolerance: 0.1, confidence: 0.95, minPairs: 20 });
    expect(r).toMatchObject({ production_p50_ms: 24, production_p90_ms: 36, production_p99_ms: 39, shadow_p99_ms: 78, verdict: 'WORSE', wilcoxon_w_plus: 465 });
    expect(r.ratio).toBeCloseTo(2, 12);
    expect(r.wilcoxon_p).toBeCloseTo(2 / 2 ** 30, 20); // all 30 differences positive: one pattern of 2^30 each side
    expect(comparePairs(prod, prod.map((x) => x * 1.02), { tolerance: 0.1, confidence: 0.95, minPairs: 20 }).verdict).toBe('EQUIVALENT');
    expect(comparePairs(prod.slice(0, 5), prod.slice(0, 5), { tolerance: 0.1, confidence: 0.95, minPairs: 20 })).toMatchObject({ verdict: 'INCONCLUSIVE', ratio: null });
    expect(() => comparePairs([1], [], { tolerance: 0.1, confidence: 0.95, minPairs: 1 })).toThrow(/1 production and 0 shadow/);
  });

  it('a pair and its reciprocal tie in the signed-rank test, and a ratio of exactly 1/(1 + t) is within the tolerance (a trial: W+ 120, p 0.016; BETTER)', () => {
    const o = { tolerance: 0.1, confidence: 0.95, minPairs: 1 };
    // 15 pairs 2 → 3 ms and 15 pairs 3 → 2 ms: every |d| is ln 1.5, every rank 15.5; W+ = 15 × 15.5 = n(n+1)/4, p = 1.
    const r = comparePairs([...Array(15).fill(2), ...Array(15).fill(3)], [...Array(15).fill(3), ...Array(15).fill(2)], o);
    expect([r.wilcoxon_w_plus, r.wilcoxon_p, r.ratio]).toEqual([232.5, 1, 1]);
    expect([comparePairs([2, 3], [3, 2], o).wilcoxon_w_plus, comparePairs([2, 6], [3, 4], o).wilcoxon_w_plus]).toEqual([1.5, 1.5]); // 3/2 and 4/6 tie too
    // 1.5 → 1 ms is a ratio of exactly 1/1.5: EQUIVALENT at a tolerance of 0.5 ([1/(1 + t), 1 + t] is closed), as 1 → 1.5 is.
    const at = (t: number, prod: number, shadow: number) => comparePairs(Array(30).fill(prod), Array(30).fill(shadow), { tolerance: t, confidence: 0.95, minPairs: 20 }).verdict;
    expect([at(0.5, 1.5, 1), at(0.5, 1, 1.5), at(0.05, 1.05, 1), at(0.05, 1, 1.05), at(0.5, 1.6, 1)]).toEqual(['EQUIVALENT', 'EQUIVALENT', 'EQUIVALENT', 'EQUIVALENT', 'BETTER']);
  });
});
