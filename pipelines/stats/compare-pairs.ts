/**
 * The paired comparison of one shadow-verdict window (shadow-compare.ts): each side's nearest-rank
 * percentiles, the Hodges–Lehmann ratio and its CI, the Wilcoxon signed-rank test, and the verdict.
 */
import type { ShadowVerdict, ShadowVerdictName } from '../../schemas/types.ts';
import { hodgesLehmann, wilcoxonSignedRank } from './signed-rank.ts';
import { assertFiniteSample } from './samples.ts';

/** The statistics of a window's pairs, as in the verdict (null below minPairs). */
export type PairStats = Pick<ShadowVerdict,
  'production_p50_ms' | 'production_p90_ms' | 'production_p99_ms' | 'shadow_p50_ms' | 'shadow_p90_ms' | 'shadow_p99_ms'
  | 'ratio' | 'ratio_ci_low' | 'ratio_ci_high' | 'wilcoxon_w_plus' | 'wilcoxon_p'>;

/** Latencies at or below this are taken as this, ms, so a ratio stays finite. */
const FLOOR_MS = 1e-3;

const nearestRank = (sorted: readonly number[], pct: number): number => sorted[Math.ceil((pct * sorted.length) / 100) - 1]!;

/**
 * ln(a / b) as ±ln(larger / smaller), ms over ms: a pair and its reciprocal then give exactly opposite values, tied in
 * |d| for the signed-rank test, and a ratio of exactly 1/(1 + t) gives exactly −ln(1 + t). As ln(a / b), ln(2/3) and
 * ln(3/2) differ in size by one ulp (a trial: 15 pairs 2 → 3 ms and 15 pairs 3 → 2 ms ranked apart, W+ 120 and
 * p 0.016 where they tie, W+ 232.5 and p 1; and 1.5 → 1 ms at a tolerance of 0.5 read BETTER, not EQUIVALENT).
 */
function logRatio(a: number, b: number): number {
  return a >= b ? Math.log(a / b) : -Math.log(b / a);
}

/** larger / smaller of two latencies (> 0 ms): |logRatio(a, b)| before the log, ≥ 1. */
function sizeRatio(a: number, b: number): number {
  return a >= b ? a / b : b / a;
}

/**
 * Statistics and verdict of one window's pairs (production_ms[i], shadow_ms[i] of the same request).
 *
 * Percentiles: nearest rank of each side. Ratio: exp of the Hodges–Lehmann estimate of
 * d = ln(shadow / production) and of its CI at `confidence` (stats/signed-rank.ts); Wilcoxon
 * signed-rank test of d. Verdict with m = ln(1 + tolerance): INCONCLUSIVE below `minPairs` or
 * without an interval; BETTER when the interval is below 0 and the estimate below −m; WORSE when
 * it is above 0 and the estimate above m; EQUIVALENT when the interval lies within [−m, m];
 * otherwise INCONCLUSIVE.
 * @throws {RangeError} when the two arrays differ in length, or a latency is not a finite number ≥ 0 ms.
 */
export function comparePairs(production: readonly number[], shadow: readonly number[], o: { tolerance: number; confidence: number; minPairs: number }): PairStats & { verdict: ShadowVerdictName } {
  if (production.length !== shadow.length) throw new RangeError(`comparePairs: ${production.length} production and ${shadow.length} shadow latencies`);
  assertFiniteSample(production, 'comparePairs (production latencies, ms)', 0);
  assertFiniteSample(shadow, 'comparePairs (shadow latencies, ms)', 0);
  const n = production.length;
  if (n === 0 || n < o.minPairs) {
    return {
      production_p50_ms: null, production_p90_ms: null, production_p99_ms: null, shadow_p50_ms: null, shadow_p90_ms: null, shadow_p99_ms: null,
      ratio: null, ratio_ci_low: null, ratio_ci_high: null, wilcoxon_w_plus: null, wilcoxon_p: null, verdict: 'INCONCLUSIVE',
    };
  }
  const p = [...production].sort((a, b) => a - b);
  const s = [...shadow].sort((a, b) => a - b);
  const d = production.map((x, i) => logRatio(Math.max(shadow[i]!, FLOOR_MS), Math.max(x, FLOOR_MS)));
  const hl = hodgesLehmann(d, o.confidence);
  // Ranked by larger/smaller (correctly rounded), of which |d| is the log: Math.log ties some ratios that differ.
  const w = wilcoxonSignedRank(d, production.map((x, i) => sizeRatio(Math.max(shadow[i]!, FLOOR_MS), Math.max(x, FLOOR_MS))));
  const m = Math.log(1 + o.tolerance);
  let verdict: ShadowVerdictName = 'INCONCLUSIVE';
  if (hl.low !== null && hl.high !== null) {
    if (hl.high < 0 && hl.estimate < -m) verdict = 'BETTER';
    else if (hl.low > 0 && hl.estimate > m) verdict = 'WORSE';
    else if (hl.low >= -m && hl.high <= m) verdict = 'EQUIVALENT';
  }
  return {
    production_p50_ms: nearestRank(p, 50), production_p90_ms: nearestRank(p, 90), production_p99_ms: nearestRank(p, 99),
    shadow_p50_ms: nearestRank(s, 50), shadow_p90_ms: nearestRank(s, 90), shadow_p99_ms: nearestRank(s, 99),
    ratio: Math.exp(hl.estimate), ratio_ci_low: hl.low === null ? null : Math.exp(hl.low), ratio_ci_high: hl.high === null ? null : Math.exp(hl.high),
    wilcoxon_w_plus: w.wPlus, wilcoxon_p: w.pValue, verdict,
  };
}
