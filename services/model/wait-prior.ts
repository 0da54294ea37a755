/**
 * The queueing prior of the telemetry latency model: a request's latency is
 * its wait in the server's queue plus its own service (i/o + compute), and
 * the two are independent — under FCFS a request's wait depends only on the
 * work ahead of it when it arrives, not on its own model (Kleinrock,
 * Queueing Systems Vol. 1, 1975, §1.1 and §4 for the G/G/c waiting time;
 * arrivals of a thinned stream see the same queue as all arrivals: PASTA,
 * Wolff, "Poisson arrivals see time averages", Oper. Res. 30(2), 1982).
 *
 * So the distribution of the total of a (model, chip) pair the fleet has never
 * run is the convolution of the waits its server's other requests saw at the
 * same load (an empirical distribution, {@link WAIT_GRID} quantiles) and of
 * its service: i/o plus lognormal compute (the usual model of inference
 * latency noise; the benchmark's p90/p50 gives σ). {@link sumQuantile}
 * computes quantiles of that sum.
 *
 * Pure functions without imports (shared by services/model/telemetry.ts).
 */

/** Number of utilisation buckets: deciles of a busy fraction 0..1. */
export const UTIL_BUCKETS = 10;

/**
 * Bucket of a utilisation: ⌊10·u⌋ clamped to 0..9 (deciles of the busy-worker fraction).
 * @param util  Utilisation, fraction 0..1 (values outside are clamped).
 */
export function utilBucket(util: number): number {
  return Math.max(0, Math.min(UTIL_BUCKETS - 1, Math.floor((Number.isFinite(util) ? util : 0) * UTIL_BUCKETS)));
}

const EDGES = [
  ...Array.from({ length: 19 }, (_, i) => i * 0.05), // 0 .. 0.9
  0.92, 0.94, 0.96, 0.97, 0.98, 0.985, 0.99, 0.993, 0.996, 0.998, 1,
];

/**
 * Quantile grid of a stored wait distribution: probabilities (bin midpoints)
 * and weights (bin widths, summing to 1). Finer in the tail so that a p99 of
 * the total is resolved (bins of 0.002–0.005 above 0.98).
 */
export const WAIT_GRID: QuantileGrid = {
  p: EDGES.slice(1).map((e, i) => (e + EDGES[i]!) / 2),
  w: EDGES.slice(1).map((e, i) => e - EDGES[i]!),
};

/**
 * Empirical quantiles of values at the {@link WAIT_GRID} probabilities
 * (nearest rank, ⌈p·n⌉), rounded to 1 µs.
 * @throws {RangeError} on no values.
 */
export function quantileGrid(values: readonly number[]): number[] {
  if (values.length === 0) throw new RangeError('quantileGrid: no values');
  const s = [...values].sort((a, b) => a - b);
  return WAIT_GRID.p.map((p) => Math.round(s[Math.min(s.length, Math.max(1, Math.ceil(p * s.length))) - 1]! * 1000) / 1000);
}

/**
 * Standard normal CDF Φ(z), from erfc by Abramowitz & Stegun, Handbook of
 * Mathematical Functions (1964), formula 7.1.26 (|error| < 1.5e-7).
 */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x * x);
  return z >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/** A quantile grid: probabilities (bin midpoints, ascending) and weights (bin widths, summing to 1). */
export interface QuantileGrid {
  readonly p: readonly number[];
  readonly w: readonly number[];
}

/**
 * α-quantile of T = W + io + C, W from a wait grid (values at the grid's
 * probabilities, non-decreasing, ms), io fixed (ms), C ~ lognormal with
 * median computeMs and log-sd σ, W and C independent:
 * P(T ≤ t) = Σ_k w_k · Φ((ln(t − io − W_k) − ln computeMs)/σ), solved for t by
 * bisection on ln t (36 steps). Each bin of the grid is a point mass at its
 * midpoint, so with a narrow σ a quantile at a bin's edge is the wait at the
 * midpoint below it (WAIT_GRID's 0.9 is its 0.875): a grid meant for given
 * quantiles puts them inside bins (services/predictor/queueing-law.ts `LAW_GRID`).
 * @param wait       Wait quantiles, ms, one per grid bin (any other length, or all 0: no queueing).
 * @param ioMs       i/o time, ms (≥ 0).
 * @param computeMs  Median compute time, ms (> 0).
 * @param sigma      Log-sd of compute (≥ 0; 0 = deterministic).
 * @param alpha      Quantile fraction, 0 < α < 1.
 * @param grid       The grid `wait` is on. @default WAIT_GRID
 * @returns          The quantile, ms.
 */
export function sumQuantile(wait: readonly number[], ioMs: number, computeMs: number, sigma: number, alpha: number, grid: QuantileGrid = WAIT_GRID): number {
  const w = wait.length === grid.p.length ? wait : grid.p.map(() => 0);
  const mu = Math.log(computeMs);
  const s = Math.max(sigma, 1e-6);
  const cdf = (t: number): number => {
    let f = 0;
    for (let k = 0; k < w.length; k++) {
      const rest = t - ioMs - w[k]!;
      if (rest > 0) f += grid.w[k]! * normalCdf((Math.log(rest) - mu) / s);
    }
    return f;
  };
  let lo = Math.log(ioMs + w[0]! + computeMs * Math.exp(-8 * s));
  let hi = Math.log(ioMs + w[w.length - 1]! + computeMs * Math.exp(8 * s));
  for (let i = 0; i < 36; i++) {
    const mid = (lo + hi) / 2;
    if (cdf(Math.exp(mid)) < alpha) lo = mid;
    else hi = mid;
  }
  return Math.exp(hi);
}
