/**
 * Accuracy metrics of latency predictions (DESIGN §5): MAPE, ±10 % accuracy
 * (nn-Meter's metric), Spearman rank correlation, RMSE of log latency, and
 * coverage of an upper quantile.
 *
 * All take predictions and truths aligned by index, latencies in ms (> 0),
 * and throw a RangeError on length mismatch, on no values or on a value that is not finite.
 */
import { assertFiniteSample } from '../../pipelines/stats/samples.ts';

function check(pred: ArrayLike<number>, truth: ArrayLike<number>, what: string): void {
  if (pred.length !== truth.length) throw new RangeError(`${what}: ${pred.length} predictions for ${truth.length} truths`);
  if (pred.length === 0) throw new RangeError(`${what}: no values`);
  assertFiniteSample(pred, `${what} (predictions)`);
  assertFiniteSample(truth, `${what} (truths)`);
}

/**
 * Share of predictions within ±`tolerance` of the truth: |p − t| ≤ tol·t
 * (nn-Meter, Zhang et al. MobiSys 2021, "±10 % accuracy").
 * @returns a fraction 0..1.
 */
export function withinTolerance(pred: ArrayLike<number>, truth: ArrayLike<number>, tolerance = 0.1): number {
  check(pred, truth, 'withinTolerance');
  let hit = 0;
  // 1e-12 relative slack: a prediction exactly 10 % off must count whatever the rounding of 1.1·t.
  for (let i = 0; i < pred.length; i++) if (Math.abs(pred[i]! - truth[i]!) <= tolerance * truth[i]! * (1 + 1e-12)) hit++;
  return hit / pred.length;
}

/** Mean absolute percentage error, mean of |p − t| / t, as a fraction (0.1 = 10 %). @throws {RangeError} if a truth is not > 0. */
export function mape(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  check(pred, truth, 'mape');
  let s = 0;
  for (let i = 0; i < pred.length; i++) {
    if (!(truth[i]! > 0)) throw new RangeError(`mape: truth[${i}] = ${truth[i]} is not > 0`);
    s += Math.abs(pred[i]! - truth[i]!) / truth[i]!;
  }
  return s / pred.length;
}

/** Root mean square error of ln(p) − ln(t). @throws {RangeError} if a value is not > 0. */
export function rmseLog(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  check(pred, truth, 'rmseLog');
  let s = 0;
  for (let i = 0; i < pred.length; i++) {
    if (!(pred[i]! > 0) || !(truth[i]! > 0)) throw new RangeError(`rmseLog: value ${i} is not > 0 (p=${pred[i]}, t=${truth[i]})`);
    s += (Math.log(pred[i]!) - Math.log(truth[i]!)) ** 2;
  }
  return Math.sqrt(s / pred.length);
}

/** Share of truths at or below their predicted upper quantile (e.g. a p99 model's coverage), fraction 0..1. */
export function coverage(upper: ArrayLike<number>, truth: ArrayLike<number>): number {
  check(upper, truth, 'coverage');
  let hit = 0;
  for (let i = 0; i < upper.length; i++) if (truth[i]! <= upper[i]!) hit++;
  return hit / upper.length;
}

/** Ranks 1..n with ties given their average rank (the "fractional ranking" Spearman's ρ uses). */
export function averageRanks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Float64Array(n);
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && values[order[j + 1]!] === values[order[i]!]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = r;
    i = j + 1;
  }
  return ranks;
}

/**
 * Pearson correlation of two equal-length samples (two-pass, centred sums).
 * @returns r in [−1, 1], or NaN when either sample is constant.
 */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  check(a, b, 'pearson');
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa === 0 || sbb === 0 ? Number.NaN : sab / Math.sqrt(saa * sbb);
}

/** Spearman's rank correlation: Pearson's r of the average ranks (ties handled). NaN when a side is constant. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  check(a, b, 'spearman');
  return pearson(averageRanks(a), averageRanks(b));
}

/** Median of a sample (mean of the two middle values for even n). @throws {RangeError} on no values or a value that is not finite. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median: no values');
  assertFiniteSample(values, 'median');
  const s = [...values].sort((x, y) => x - y);
  const m = s.length >> 1;
  // Halved before adding: (a + b) / 2 overflows near the largest double (a re-test: median([1e308, 1.5e308]) was Infinity).
  return s.length % 2 === 1 ? s[m]! : s[m - 1]! / 2 + s[m]! / 2;
}
