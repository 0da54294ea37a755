/**
 * Paired comparison statistics for shadow deployments: the Wilcoxon
 * signed-rank test and the Hodges–Lehmann estimate of the shift with its
 * confidence interval.
 *
 * Sources: F. Wilcoxon (1945), "Individual comparisons by ranking methods";
 * J. L. Hodges & E. L. Lehmann (1963), "Estimates of location based on rank
 * tests"; M. Hollander, D. A. Wolfe & E. Chicken, Nonparametric Statistical
 * Methods, 3rd ed. (2014), §3.1–3.3 (zeros dropped, midranks for ties, the
 * tie-corrected normal approximation, the CI from ordered Walsh averages).
 */
import { normalUpperTail } from './special-functions.ts';

/** Largest n (non-zero differences) whose p-value uses the exact distribution. */
export const EXACT_MAX_N = 50;

/** Result of {@link wilcoxonSignedRank}. */
export interface SignedRankResult {
  /** Non-zero differences ranked. */
  n: number;
  /** Zero differences, dropped before ranking (Wilcoxon's method). */
  zeros: number;
  /** Sum of the (mid)ranks of |d| over positive differences. */
  wPlus: number;
  /** Sum over negative differences; wPlus + wMinus = n(n+1)/2. */
  wMinus: number;
  /** Two-sided p-value: 2·min(P(W+ ≤ w), P(W+ ≥ w)), capped at 1; 1 when n = 0. */
  pValue: number;
  /** True when the p-value comes from the exact permutation distribution of the observed (mid)ranks. */
  exact: boolean;
}

/** Midranks (1-based) of values, ties sharing the mean of their ranks. */
export function midranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) ranks[order[k]![1]] = (i + j + 2) / 2;
    i = j + 1;
  }
  return ranks;
}

/**
 * Wilcoxon signed-rank test of "the differences are symmetric about 0".
 *
 * Zeros are dropped; |d| are ranked with midranks. For n ≤ {@link EXACT_MAX_N}
 * the p-value is exact: the distribution of W+ over all 2^n sign patterns of
 * the observed ranks (ties included), by dynamic programming over doubled
 * ranks. Above, the normal approximation with the tie correction of the
 * variance, n(n+1)(2n+1)/24 − Σ(t³ − t)/48, and a continuity correction of ½.
 *
 * @param d         Paired differences (e.g. ln shadow − ln production).
 * @param rankKeys  What |d| is ranked by, one per difference: any values in the order of |d|, equal where the sizes
 *                  tie (default |d|). A difference computed through a function that is not correctly rounded can tie
 *                  sizes that differ: V8's Math.log(3) is one ulp below ln 3, equal to Math.log(2.9999999999999996)
 *                  (a trial); the shadow comparison ranks by larger/smaller, correctly rounded, instead, which ties
 *                  only ratios within half an ulp of each other (a review: none among latencies of 3 decimals).
 * @throws {RangeError} on a non-finite difference (names its index), or rankKeys of another length.
 */
export function wilcoxonSignedRank(d: readonly number[], rankKeys?: readonly number[]): SignedRankResult {
  d.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new RangeError(`wilcoxonSignedRank: difference ${i} is ${String(v)}, expected a finite number`);
  });
  if (rankKeys !== undefined && rankKeys.length !== d.length) throw new RangeError(`wilcoxonSignedRank: ${rankKeys.length} rank keys for ${d.length} differences`);
  const kept = d.flatMap((v, i) => (v !== 0 ? [i] : []));
  const nz = kept.map((i) => d[i]!);
  const n = nz.length;
  const zeros = d.length - n;
  if (n === 0) return { n, zeros, wPlus: 0, wMinus: 0, pValue: 1, exact: true };
  const ranks = midranks(rankKeys === undefined ? nz.map(Math.abs) : kept.map((i) => rankKeys[i]!));
  let wPlus = 0;
  nz.forEach((v, i) => {
    if (v > 0) wPlus += ranks[i]!;
  });
  const total = (n * (n + 1)) / 2;
  const wMinus = total - wPlus;
  if (n <= EXACT_MAX_N) {
    // Doubled ranks are integers; P(T = t) over independent fair signs, t = 2·W+.
    const r2 = ranks.map((r) => Math.round(2 * r));
    const max = r2.reduce((a, b) => a + b, 0);
    let dist = new Float64Array(max + 1);
    dist[0] = 1;
    let reach = 0;
    for (const r of r2) {
      const next = new Float64Array(max + 1);
      for (let t = 0; t <= reach; t++) {
        const p = dist[t]! / 2;
        if (p === 0) continue;
        next[t] += p;
        next[t + r] += p;
      }
      reach += r;
      dist = next;
    }
    const t = Math.round(2 * wPlus);
    let lower = 0;
    let upper = 0;
    for (let k = 0; k <= max; k++) {
      if (k <= t) lower += dist[k]!;
      if (k >= t) upper += dist[k]!;
    }
    return { n, zeros, wPlus, wMinus, pValue: Math.min(1, 2 * Math.min(lower, upper)), exact: true };
  }
  const ties = new Map<number, number>();
  for (const r of ranks) ties.set(r, (ties.get(r) ?? 0) + 1);
  let tieSum = 0;
  for (const t of ties.values()) tieSum += t ** 3 - t;
  const variance = (n * (n + 1) * (2 * n + 1)) / 24 - tieSum / 48;
  const z = variance > 0 ? Math.max(0, Math.abs(wPlus - total / 2) - 0.5) / Math.sqrt(variance) : 0;
  return { n, zeros, wPlus, wMinus, pValue: Math.min(1, 2 * normalUpperTail(z)), exact: false };
}

/** 2^1022: below it in size, a + b of two doubles cannot overflow. */
const HALF_OVERFLOW = 2 ** 1022;

/**
 * (a + b) / 2 rounded once, without overflow: (a + b) / 2 below 2^1022 in size (a sum that small near zero is exact,
 * so only the halving rounds), else a/2 + b/2 (halving is exact there). a/2 + b/2 alone rounded twice among the
 * subnormals (a trial: 2.5e-323 for 2e-323); (a + b) / 2 alone gave Infinity for 1e308 and 1e308.
 */
function mean2(a: number, b: number): number {
  return Math.abs(a) < HALF_OVERFLOW && Math.abs(b) < HALF_OVERFLOW ? (a + b) / 2 : a / 2 + b / 2;
}

const bits = new DataView(new ArrayBuffer(8));
const SIGN = 0x8000000000000000n;

/** A finite double's place among the doubles, as an integer: increasing with the value, adjacent doubles one apart (−0 as 0). */
function orderKey(x: number): bigint {
  bits.setFloat64(0, x);
  const u = bits.getBigUint64(0);
  return u & SIGN ? -(u & ~SIGN) : u;
}

/** The double at an {@link orderKey}. */
function fromOrderKey(key: bigint): number {
  bits.setBigUint64(0, key < 0n ? -key | SIGN : key);
  return bits.getFloat64(0);
}

/**
 * The k-th smallest Walsh average (d_i + d_j)/2, i ≤ j, of sorted values, 1 ≤ k ≤ n(n+1)/2,
 * in O(64 n) time and O(1) extra space: bisection over the doubles (at most 64 steps) with a two-pointer count,
 * down to two adjacent doubles, the upper of which is the k-th average.
 */
export function kthWalshAverage(sorted: readonly number[], k: number): number {
  const n = sorted.length;
  const m = (n * (n + 1)) / 2;
  if (!(Number.isInteger(k) && k >= 1 && k <= m)) throw new RangeError(`kthWalshAverage: k must be an integer in 1..${m}, got ${String(k)}`);
  /** Number of Walsh averages ≤ v. */
  const countAtMost = (v: number): number => {
    let count = 0;
    let j = n - 1;
    for (let i = 0; i < n; i++) {
      // For this i, j runs down: the largest j ≥ i with (s_i + s_j)/2 ≤ v.
      while (j >= i && mean2(sorted[i]!, sorted[j]!) > v) j--;
      if (j < i) break;
      count += j - i + 1;
    }
    return count;
  };
  let lo = sorted[0]!; // countAtMost(lo) may already be ≥ k
  if (countAtMost(lo) >= k) return lo;
  // Bisection over the doubles themselves (their order keys), not over the reals: at most 64 steps whatever the range.
  // Halving the value took ~2,000 steps from 1e308 down to 1e-300, and a cap there returned the wrong average (a trial).
  let loKey = orderKey(lo);
  let hiKey = orderKey(sorted[n - 1]!);
  while (hiKey - loKey > 1n) {
    const midKey = loKey + (hiKey - loKey) / 2n;
    if (countAtMost(fromOrderKey(midKey)) >= k) hiKey = midKey;
    else loKey = midKey;
  }
  // countAtMost(lo) < k ≤ countAtMost(hi) with lo and hi adjacent doubles: the k-th Walsh average, a double above lo
  // and at most hi, is hi.
  return fromOrderKey(hiKey);
}

/** Hodges–Lehmann estimate with its confidence interval. */
export interface HodgesLehmann {
  /** Median of the Walsh averages. */
  estimate: number;
  /** CI bounds: the k-th smallest and k-th largest Walsh averages (k from the signed-rank distribution); null when n is too small for the confidence. */
  low: number | null;
  high: number | null;
  /** Confidence reached at the interval's k, ≥ the requested one (above {@link EXACT_MAX_N} as the Edgeworth series or, past a confidence of 0.9995, the normal approximation gives it), fraction 0..1. */
  confidence: number | null;
}

/** Largest normal quantile of the interval's tail at which the Edgeworth series chooses its k (two-sided confidence 0.9995). */
const EDGEWORTH_MAX_Z = 3.5;

/** Exact null distribution of W+ without ties: counts over 2^n sign patterns, as probabilities. */
function signedRankCdf(n: number): Float64Array {
  const max = (n * (n + 1)) / 2;
  let dist = new Float64Array(max + 1);
  dist[0] = 1;
  for (let r = 1; r <= n; r++) {
    const next = new Float64Array(max + 1);
    for (let t = 0; t <= (r * (r - 1)) / 2; t++) {
      const p = dist[t]! / 2;
      next[t] += p;
      next[t + r] += p;
    }
    dist = next;
  }
  for (let t = 1; t <= max; t++) dist[t] += dist[t - 1]!;
  return dist;
}

/**
 * P(W+ ≤ w) under the no-ties null distribution of n ranks, by the Edgeworth series to second order with a continuity
 * correction: x = (w + ½ − μ)/σ, Φ(x) − φ(x)·[γ4/24·He3(x) + γ6/720·He5(x) + γ4²/1152·He7(x)], with γ4 = κ4/σ⁴,
 * γ6 = κ6/σ⁶ and the Hermite polynomials He3 = x³ − 3x, He5 = x⁵ − 10x³ + 15x, He7 = x⁷ − 21x⁵ + 105x³ − 105x (the
 * odd cumulants are 0: W+ is symmetric). W+ = Σ r·B_r with independent fair Bernoulli B_r, whose cumulants are
 * κ2 = 1/4, κ4 = −1/8, κ6 = 1/4; cumulants of a sum of independent terms add, so σ² = Σr²/4 = n(n+1)(2n+1)/24,
 * κ4 = −Σr⁴/8 and κ6 = Σr⁶/4, with Σr⁴ = n(n+1)(2n+1)(3n²+3n−1)/30 and Σr⁶ = n(n+1)(2n+1)(3n⁴+6n³−3n+1)/42.
 * Source: M. G. Kendall & A. Stuart, The Advanced Theory of Statistics, vol. 1, §6.14–6.18 (the Edgeworth series).
 * Checked against the exact distribution (tests; a review over n 51–1000): the k of the CI equals the exact one at
 * confidences 0.5–0.9995 but in a few cases in a thousand, one off either way where the exact tail is within 3 % of alpha
 * (the first-order series was one above in 95 of 8,550, a trial).
 * @param n  Ranks (> 0).
 * @param w  Value of W+.
 * @returns  Probability, fraction 0..1 (clamped).
 */
export function signedRankCdfEdgeworth(n: number, w: number): number {
  const mu = (n * (n + 1)) / 4;
  const base = n * (n + 1) * (2 * n + 1);
  const variance = base / 24;
  const gamma4 = -(base * (3 * n * n + 3 * n - 1)) / 240 / (variance * variance);
  const gamma6 = (base * (3 * n ** 4 + 6 * n ** 3 - 3 * n + 1)) / 168 / variance ** 3;
  const x = (w + 0.5 - mu) / Math.sqrt(variance);
  const phi = Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
  const he3 = x ** 3 - 3 * x;
  const he5 = x ** 5 - 10 * x ** 3 + 15 * x;
  const he7 = x ** 7 - 21 * x ** 5 + 105 * x ** 3 - 105 * x;
  const cdf = x <= 0 ? normalUpperTail(-x) : 1 - normalUpperTail(x);
  return Math.min(1, Math.max(0, cdf - phi * ((gamma4 / 24) * he3 + (gamma6 / 720) * he5 + ((gamma4 * gamma4) / 1152) * he7)));
}

/**
 * Hodges–Lehmann estimate of the centre of paired differences (zeros kept: every
 * difference is a sample) and its two-sided confidence interval: [W_(k), W_(M+1−k)]
 * of the M = n(n+1)/2 ordered Walsh averages, with k − 1 the largest value whose
 * lower-tail probability under the no-ties signed-rank distribution is ≤ (1 − confidence)/2
 * (exact for n ≤ {@link EXACT_MAX_N}, the Edgeworth series above: {@link signedRankCdfEdgeworth}); `confidence` is
 * the one reached at that k, 1 − 2·P(W+ ≤ k − 1), by the same distribution.
 *
 * @param d           Paired differences (finite).
 * @param confidence  Two-sided confidence, in (0, 1). @default 0.95
 * @throws {RangeError} on no differences, a non-finite difference or a confidence outside (0, 1).
 */
export function hodgesLehmann(d: readonly number[], confidence = 0.95): HodgesLehmann {
  if (d.length === 0) throw new RangeError('hodgesLehmann: no differences');
  d.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new RangeError(`hodgesLehmann: difference ${i} is ${String(v)}, expected a finite number`);
  });
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`hodgesLehmann: confidence must be in (0, 1), got ${String(confidence)}`);
  const s = [...d].sort((a, b) => a - b);
  const n = s.length;
  const m = (n * (n + 1)) / 2;
  const estimate = m % 2 === 1 ? kthWalshAverage(s, (m + 1) / 2) : mean2(kthWalshAverage(s, m / 2), kthWalshAverage(s, m / 2 + 1));
  const alpha = (1 - confidence) / 2;
  let k: number; // CI is [W_(k), W_(m+1-k)]
  let reached: number;
  if (n <= EXACT_MAX_N) {
    const cdf = signedRankCdf(n);
    // Largest c with P(W+ ≤ c) ≤ alpha; then k = c + 1.
    let c = -1;
    while (c + 1 <= m && cdf[c + 1]! <= alpha) c++;
    if (c < 0) return { estimate, low: null, high: null, confidence: null };
    k = c + 1;
    reached = 1 - 2 * cdf[c]!;
  } else {
    // Largest c with P(W+ ≤ c) ≤ alpha by the Edgeworth series, from the normal approximation's c (a trial: the normal
    // approximation alone took k 1–3 order statistics below the exact one for n 51–1000, reporting the nominal confidence).
    // Beyond z = EDGEWORTH_MAX_Z (confidence above 0.9995) the series' error outgrows the tail's steps and its interval
    // came out narrower than the exact one (the first-order series in every case at 0.99999, n 51–300; the second-order
    // one in 2 of 317 at 0.9999), so the normal approximation, which overstates this distribution's tails (κ4 < 0) and
    // errs wide, chooses there.
    const z = normalQuantileUpper(alpha);
    const sd = Math.sqrt((n * (n + 1) * (2 * n + 1)) / 24);
    const cdf = z <= EDGEWORTH_MAX_Z ? (w: number) => signedRankCdfEdgeworth(n, w) : (w: number) => normalUpperTail((m / 2 - w - 0.5) / sd);
    let c = Math.floor(m / 2 - z * sd - 0.5);
    while (c + 1 < m && cdf(c + 1) <= alpha) c++;
    while (c >= 0 && cdf(c) > alpha) c--;
    if (c < 0) return { estimate, low: null, high: null, confidence: null };
    k = c + 1;
    reached = 1 - 2 * cdf(c);
  }
  return { estimate, low: kthWalshAverage(s, k), high: kthWalshAverage(s, m + 1 - k), confidence: reached };
}

/** z with P(Z > z) = p for 0 < p < 1 (bisection on {@link normalUpperTail}; ~1e-12). */
export function normalQuantileUpper(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantileUpper: p must be in (0, 1), got ${String(p)}`);
  let lo = -40;
  let hi = 40;
  for (let i = 0; i < 200 && hi - lo > 1e-13; i++) {
    const mid = (lo + hi) / 2;
    if (normalUpperTail(mid) > p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
