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

  it('ratios that differ rank apart though Math.log ties them (a trial: V8\'s Math.log(3) is one ulp low)', () => {
    // 4.715999999999999 / 1.572 = 2.9999999999999996 and 3.309 / 1.103 = 3 in doubles; V8 gives both the same log.
    expect(Math.log(4.715999999999999 / 1.572) === Math.log(3.309 / 1.103) && 4.715999999999999 / 1.572 < 3.309 / 1.103).toBe(true);
    const o = { tolerance: 0.1, confidence: 0.95, minPairs: 1 };
    // Shadow slower by 2.9999999999999996 (rank 1), faster by 3 (rank 2): W+ = 1, where a tie gave 1.5. Exact p over
    // the 4 sign patterns of ranks {1, 2} (W+ 0, 1, 2, 3): 2 · min(P(W+ ≤ 1), P(W+ ≥ 1)) = 2 · 2/4 = 1.
    const r = comparePairs([1.572, 3.309], [4.715999999999999, 1.103], o);
    expect([r.wilcoxon_w_plus, r.wilcoxon_p]).toEqual([1, 1]);
    // A third pair of ratio 2, shadow faster, takes rank 1; the two above ranks 2 and 3: W+ = 2 (tied: 2.5). The 8 sign
    // patterns of ranks {1, 2, 3} give W+ 0, 1, 2, 3, 3, 4, 5, 6: P(W+ ≤ 2) = 3/8, p = 2 · 3/8 = 0.75.
    const r3 = comparePairs([1.572, 3.309, 2], [4.715999999999999, 1.103, 1], o);
    expect([r3.wilcoxon_w_plus, r3.wilcoxon_p]).toEqual([2, 0.75]);
  });
});
