/**
 * Mergeable bivariate moments and the Pearson correlation report built on them.
 *
 * A pane's points are shifted by a reference value (the pane's first x and y)
 * before any arithmetic: for nearby floats `x − ref` is exact (Sterbenz), so
 * values like 4294967296 + u or 1e9 + u keep all the digits of u, and a constant
 * series gives M2 = 0 exactly. Panes merge with Chan, Golub & LeVeque's pairwise
 * update; there is no subtract-on-evict anywhere (windows slide by re-merging,
 * see `pipelines/windows/two-stacks.ts`).
 */

import { incompleteBetaWithComplement } from './special-functions.ts';

/**
 * Bivariate second-order moments of a set of (x, y) points, relative to a reference.
 *
 * Shape: every field is a finite float64 for finite inputs. Units are those of x
 * and y (m2x in x², cxy in x·y). For `n === 0` every field is 0.
 * Mean of x in original units is `refX + meanX` (same for y).
 */
export interface Moments {
  /** Number of points. */
  n: number;
  /** Reference subtracted from every x: the first x added to the oldest merged pane. */
  refX: number;
  /** Reference subtracted from every y. */
  refY: number;
  /** Mean of (x − refX). */
  meanX: number;
  /** Mean of (y − refY). */
  meanY: number;
  /** Σ (x − x̄)², exactly 0 when every x is equal. */
  m2x: number;
  /** Σ (y − ȳ)², exactly 0 when every y is equal. */
  m2y: number;
  /** Σ (x − x̄)(y − ȳ). */
  cxy: number;
}

/** Why a correlation statistic is null. `non_finite`: the sums overflowed float64. */
/**
 * Why a window's statistics are null. `no_rows` is the rolling correlation's closing window of a key that went quiet
 * (pipelines/rolling-correlation.ts), never a result of {@link correlationResult}.
 */
export type CorrelationNullReason = 'n_lt_3' | 'x_constant' | 'y_constant' | 'non_finite' | 'no_rows';

/**
 * Pearson correlation of a window with its 95 % CI, OLS line and p-value.
 * Statistics are null (never NaN or ±Infinity) when undefined; `null_reason` says why
 * `pearson_r` is null and is null whenever `pearson_r` is a number.
 */
export interface CorrelationResult {
  /** Number of points in the window. */
  n: number;
  /** Pearson r in [−1, 1]. */
  pearson_r: number | null;
  /** Lower end of the 95 % Fisher-z interval; null when n ≤ 3. */
  ci_low: number | null;
  /** Upper end of the 95 % Fisher-z interval; null when n ≤ 3. */
  ci_high: number | null;
  /** OLS slope of y on x, units y per x. */
  slope: number | null;
  /** OLS intercept, units of y (original, un-shifted units). */
  intercept: number | null;
  /** Two-sided p-value of H0: ρ = 0 (t-test with n − 2 df). */
  p_value: number | null;
  null_reason: CorrelationNullReason | null;
}

/** Two-sided 97.5 % quantile of the standard normal distribution. */
export const Z_975 = 1.959963984540054;

/** Return a new empty `Moments` (n = 0, every field 0). */
export function emptyMoments(): Moments {
  return { n: 0, refX: 0, refY: 0, meanX: 0, meanY: 0, m2x: 0, m2y: 0, cxy: 0 };
}

/**
 * Add one point to `m` **in place** (Welford 1962 update, co-moment form) and return `m`.
 *
 * The first point of an empty `m` becomes its reference (refX, refY).
 * @param m  Moments to update; mutated.
 * @param x  Load metric value, any unit. Must be finite.
 * @param y  Latency metric value, any unit. Must be finite.
 * @returns  The same object `m`.
 * @throws {RangeError} if `x` or `y` is NaN or ±Infinity.
 * @see B. P. Welford, "Note on a method for calculating corrected sums of squares
 *      and products", Technometrics 4(3), 1962.
 */
export function addPoint(m: Moments, x: number, y: number): Moments {
  if (!Number.isFinite(x) || !Number.isFinite(y)) {
    throw new RangeError(`addPoint: x and y must be finite numbers, got x=${String(x)} y=${String(y)}`);
  }
  if (m.n === 0) {
    m.refX = x;
    m.refY = y;
  }
  const dx = x - m.refX;
  const dy = y - m.refY;
  const n = m.n + 1;
  const ddx = dx - m.meanX;
  const ddy = dy - m.meanY;
  m.meanX += ddx / n;
  m.meanY += ddy / n;
  m.m2x += ddx * (dx - m.meanX);
  m.m2y += ddy * (dy - m.meanY);
  m.cxy += ddx * (dy - m.meanY);
  m.n = n;
  return m;
}

/**
 * Build the moments of paired arrays (a pane) with `addPoint`.
 *
 * @param xs  x values; must have the same length as `ys`.
 * @param ys  y values.
 * @returns   A new `Moments`.
 * @throws {RangeError} on a length mismatch or a non-finite value.
 */
export function momentsOf(xs: ArrayLike<number>, ys: ArrayLike<number>): Moments {
  if (xs.length !== ys.length) {
    throw new RangeError(`momentsOf: xs and ys differ in length (${xs.length} vs ${ys.length})`);
  }
  const m = emptyMoments();
  for (let i = 0; i < xs.length; i++) addPoint(m, xs[i] as number, ys[i] as number);
  return m;
}

/**
 * Merge two sets of moments (pairwise update of Chan, Golub & LeVeque 1979). Pure.
 *
 * The result uses `a`'s references; `b`'s means are re-expressed relative to them
 * as `(b.ref − a.ref) + b.mean`, so the offset never enters the M2/C sums.
 * Associative (up to rounding), not commutative in its references: pass the older side as `a`.
 * @param a  Moments of the older points (not mutated).
 * @param b  Moments of the newer points (not mutated).
 * @returns  A new object; a copy of the other side when one side is empty.
 * @see T. F. Chan, G. H. Golub, R. J. LeVeque, "Updating formulae and a pairwise
 *      algorithm for computing sample variances", Stanford CS tech. report
 *      STAN-CS-79-773, 1979.
 */
export function mergeMoments(a: Moments, b: Moments): Moments {
  if (b.n === 0) return { ...a };
  if (a.n === 0) return { ...b };
  const n = a.n + b.n;
  const dX = (b.refX - a.refX) + (b.meanX - a.meanX);
  const dY = (b.refY - a.refY) + (b.meanY - a.meanY);
  const fb = b.n / n;
  const w = (a.n * b.n) / n;
  return {
    n,
    refX: a.refX,
    refY: a.refY,
    meanX: a.meanX + dX * fb,
    meanY: a.meanY + dY * fb,
    m2x: a.m2x + b.m2x + dX * dX * w,
    m2y: a.m2y + b.m2y + dY * dY * w,
    cxy: a.cxy + b.cxy + dX * dY * w,
  };
}

/**
 * Sample covariance Σ(x − x̄)(y − ȳ)/(n − 1), units x·y.
 * @returns null when n < 2.
 */
export function sampleCovariance(m: Moments): number | null {
  return m.n < 2 ? null : m.cxy / (m.n - 1);
}

/**
 * Mean and sample standard deviation (denominator n − 1) of `values`, computed with
 * the same code as the correlation: panes of `paneSize` points built with
 * `addPoint` (y = 0), merged oldest first with `mergeMoments`.
 *
 * @param values    Finite numbers, any unit.
 * @param paneSize  Points per pane. @default 16
 * @returns  `{ n, mean, stdDev }`; mean null when n = 0, stdDev null when n < 2.
 * @throws {RangeError} on a non-finite value or if `paneSize` is not an integer ≥ 1.
 */
export function meanAndStdDev(
  values: ArrayLike<number>,
  paneSize = 16,
): { n: number; mean: number | null; stdDev: number | null } {
  if (!Number.isInteger(paneSize) || paneSize < 1) {
    throw new RangeError(`meanAndStdDev: paneSize must be an integer >= 1, got ${String(paneSize)}`);
  }
  let total = emptyMoments();
  for (let start = 0; start < values.length; start += paneSize) {
    const pane = emptyMoments();
    const end = Math.min(values.length, start + paneSize);
    for (let i = start; i < end; i++) addPoint(pane, values[i] as number, 0);
    total = mergeMoments(total, pane);
  }
  if (total.n === 0) return { n: 0, mean: null, stdDev: null };
  const mean = total.refX + total.meanX;
  return { n: total.n, mean, stdDev: total.n < 2 ? null : Math.sqrt(total.m2x / (total.n - 1)) };
}

function nullResult(n: number, reason: CorrelationNullReason): CorrelationResult {
  return { n, pearson_r: null, ci_low: null, ci_high: null, slope: null, intercept: null, p_value: null, null_reason: reason };
}

function finiteOrNull(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/**
 * Pearson r, 95 % CI, OLS slope/intercept and two-sided p-value of a window's moments.
 *
 * - r = Cxy / √(M2x·M2y), clamped into [−1, 1].
 * - CI (Fisher 1915 z): z = atanh r, se = 1/√(n − 3), tanh(z ± 1.959963984540054·se);
 *   null when n ≤ 3; [r, r] when |r| = 1.
 * - slope = Cxy/M2x; intercept = ȳ − slope·x̄ in original units (references added back).
 * - p: t = r·√((n − 2)/(1 − r²)), p = I_{df/(df+t²)}(df/2, 1/2) with df = n − 2,
 *   evaluated as I_{1−r²}(df/2, 1/2) (no overflow of t); 0 when |r| = 1.
 * - Null everything with `null_reason` 'n_lt_3' (n < 3), 'x_constant' (M2x = 0),
 *   'y_constant' (M2y = 0) or 'non_finite' (sums overflowed float64).
 * @param m  Window moments (not mutated).
 * @returns  A new `CorrelationResult`; never NaN or ±Infinity.
 * @see R. A. Fisher, Biometrika 10(4), 1915, for the z transform.
 */
export function correlationResult(m: Moments): CorrelationResult {
  const n = m.n;
  if (n < 3) return nullResult(n, 'n_lt_3');
  const { m2x, m2y, cxy } = m;
  if (!Number.isFinite(m2x) || !Number.isFinite(m2y) || !Number.isFinite(cxy)) return nullResult(n, 'non_finite');
  if (!(m2x > 0)) return nullResult(n, 'x_constant');
  if (!(m2y > 0)) return nullResult(n, 'y_constant');
  const prod = m2x * m2y;
  const denom = Number.isFinite(prod) && prod > 0 ? Math.sqrt(prod) : Math.sqrt(m2x) * Math.sqrt(m2y);
  const raw = cxy / denom;
  if (Number.isNaN(raw)) return nullResult(n, 'non_finite');
  const r = Math.min(1, Math.max(-1, raw));
  let ciLow: number | null = null;
  let ciHigh: number | null = null;
  if (n > 3) {
    const z = Math.atanh(r);
    const half = Z_975 / Math.sqrt(n - 3);
    [ciLow, ciHigh] = Math.abs(r) === 1 ? [r, r] : [Math.tanh(z - half), Math.tanh(z + half)];
  }
  const slope = cxy / m2x;
  const intercept = m.refY + m.meanY - slope * (m.refX + m.meanX);
  return {
    n,
    pearson_r: r,
    ci_low: ciLow,
    ci_high: ciHigh,
    slope: finiteOrNull(slope),
    intercept: finiteOrNull(intercept),
    p_value: correlationPValue(r, n),
    null_reason: null,
  };
}

/**
 * Two-sided p-value of Pearson r under H0: ρ = 0 (Student t with n − 2 df).
 *
 * @param r  Correlation in [−1, 1].
 * @param n  Number of points, ≥ 3.
 * @returns  p in [0, 1]; 0 when |r| = 1.
 * @throws {RangeError} if n < 3 or r is outside [−1, 1] or NaN.
 */
export function correlationPValue(r: number, n: number): number {
  if (!(n >= 3)) throw new RangeError(`correlationPValue: n must be >= 3, got ${String(n)}`);
  if (!(r >= -1 && r <= 1)) throw new RangeError(`correlationPValue: r must be in [-1, 1], got ${String(r)}`);
  const ar = Math.abs(r);
  if (ar === 1) return 0;
  const p = incompleteBetaWithComplement((n - 2) / 2, 0.5, (1 - ar) * (1 + ar), ar * ar);
  return Math.min(1, Math.max(0, p));
}
