/**
 * The latency-versus-load law of the chip recommender: an M/G/c queue.
 *
 * A chip with c parallel inference workers receives Poisson arrivals at λ
 * requests/s; a request's service time S = io + C, io fixed and C lognormal
 * (median m, log-sd σ). Its latency is T = W + S, W its FCFS wait:
 * - P(W > 0) = Erlang C(c, a), a = λ·E[S] (the M/M/c waiting probability);
 * - given W > 0, W is exponential with mean E[S]·(1 + cs²)/2 / (c − a),
 *   cs² = Var S / E[S]² (the Allen–Cunneen approximation of the M/G/c mean
 *   wait, divided by the waiting probability; exact for M/M/c, and for M/G/1
 *   the Pollaczek–Khinchine mean).
 * Quantiles of T come from {@link sumQuantile} (W on the quantile grid
 * {@link LAW_GRID}, C lognormal). Sources: Kleinrock, Queueing Systems Vol. 1 (1975) §3.5
 * (Erlang C) and §5.7 (P-K); Allen, Probability, Statistics and Queueing
 * Theory (1990) §6 (Allen–Cunneen); Gross & Harris, Fundamentals of Queueing
 * Theory (1998) §2.3. At a ≥ c (saturation) every quantile is +∞.
 */
import { erlangC } from '../simulator/queueing.ts';
import { sumQuantile, type QuantileGrid } from '../model/wait-prior.ts';

/** The law in one line, returned with every recommendation. */
export const QUEUEING_LAW = 'M/G/c: P(wait) = Erlang C(c, λ·E[S]); wait | wait > 0 ~ exponential with mean E[S]·(1+cs²)/2/(c − λ·E[S]) '
  + '(Allen–Cunneen); latency = wait + io + lognormal compute; calibrated to the fleet where it measured the pair';

/** Service time of one request on one chip. Times in ms. */
export interface ServiceTime {
  /** Fixed i/o part, ms ≥ 0. */
  ioMs: number;
  /** Median compute time, ms > 0. */
  computeMedianMs: number;
  /** Log-sd of compute, ≥ 0. */
  sigma: number;
}

const LAW_EDGES = [0, ...Array.from({ length: 80 }, (_, j) => 1 - 10 ** (-(j + 0.5) / 20)), 1];

/**
 * The quantile grid of the law's wait: 81 bins, even in ln(1 − p) (20 a decade, to 1 − 10^−3.975), so
 * that p50, p90, p99 and p99.9 fall inside bins near their midpoints (0.8998 for 0.9, 0.98998 for 0.99),
 * not on edges. With a narrow compute σ a quantile of the sum is the wait at a bin's midpoint: on the
 * telemetry model's WAIT_GRID (services/model/wait-prior.ts), whose edges are 0.9 and 0.99, p90 was the wait at 0.875 and p99 at
 * 0.9875 (8.6 % and 4.5 % low at ρ 0.5 with deterministic compute; a trial).
 */
export const LAW_GRID: QuantileGrid = {
  p: LAW_EDGES.slice(1).map((e, i) => (e + LAW_EDGES[i]!) / 2),
  w: LAW_EDGES.slice(1).map((e, i) => e - LAW_EDGES[i]!),
};

/** z of the 90th percentile of N(0,1). */
export const Z90 = 1.2815515655446004;

/**
 * Service time from its p50 and p90 (lognormal compute, σ = ln(p90/p50)/z90, floored at `sigmaFloor`).
 * @throws {RangeError} unless 0 < p50 ≤ p90 (finite) and 0 ≤ ioMs < p50.
 */
export function serviceFromPercentiles(p50Ms: number, p90Ms: number, ioMs = 0, sigmaFloor = 0.05): ServiceTime {
  if (!(p50Ms > 0 && p90Ms >= p50Ms && Number.isFinite(p90Ms))) throw new RangeError(`service percentiles: expected 0 < p50 ≤ p90, got p50 ${JSON.stringify(p50Ms)}, p90 ${JSON.stringify(p90Ms)}`);
  if (!(ioMs >= 0 && ioMs < p50Ms)) throw new RangeError(`service io: expected 0 ≤ io < p50, got ${JSON.stringify(ioMs)}`);
  const c50 = p50Ms - ioMs;
  const c90 = Math.max(p90Ms - ioMs, c50);
  return { ioMs, computeMedianMs: c50, sigma: Math.max(sigmaFloor, Math.log(c90 / c50) / Z90) };
}

/** Mean and squared coefficient of variation of S = io + lognormal(ln m, σ). */
export function serviceMoments(s: ServiceTime): { meanMs: number; cs2: number } {
  const mc = s.computeMedianMs * Math.exp((s.sigma * s.sigma) / 2);
  const varC = mc * mc * (Math.exp(s.sigma * s.sigma) - 1);
  const mean = s.ioMs + mc;
  return { meanMs: mean, cs2: varC / (mean * mean) };
}

/**
 * Wait quantiles of the M/G/c law at the {@link LAW_GRID} probabilities, ms.
 * @param ratePerS  Arrival rate λ, requests/s ≥ 0.
 * @param workers   c, integer ≥ 1.
 * @returns the grid, or null when the queue is saturated (λ·E[S] ≥ c).
 * @throws {RangeError} on a negative rate or workers < 1.
 */
export function waitGrid(s: ServiceTime, ratePerS: number, workers: number): number[] | null {
  if (!(ratePerS >= 0) || !Number.isFinite(ratePerS)) throw new RangeError(`rate: expected requests/s ≥ 0, got ${JSON.stringify(ratePerS)}`);
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers: expected an integer ≥ 1, got ${JSON.stringify(workers)}`);
  const { meanMs, cs2 } = serviceMoments(s);
  const a = (ratePerS / 1000) * meanMs;
  if (a >= workers) return null;
  if (a === 0) return LAW_GRID.p.map(() => 0);
  const pWait = erlangC(workers, a);
  const theta = (meanMs * (1 + cs2)) / 2 / (workers - a);
  // P(W > t) = pWait·e^{−t/θ}  ⇒  q(p) = θ·ln(pWait/(1 − p)) for p > 1 − pWait.
  return LAW_GRID.p.map((p) => (p <= 1 - pWait ? 0 : theta * Math.log(pWait / (1 - p))));
}

/**
 * α-quantile of the latency at an arrival rate, ms (+∞ when saturated).
 * @param alpha  Quantile fraction, 0 < α < 1.
 */
export function latencyQuantile(s: ServiceTime, ratePerS: number, workers: number, alpha: number): number {
  const grid = waitGrid(s, ratePerS, workers);
  if (grid === null) return Number.POSITIVE_INFINITY;
  return sumQuantile(grid, s.ioMs, s.computeMedianMs, s.sigma, alpha, LAW_GRID);
}

/**
 * Highest arrival rate whose α-quantile latency · `scale` is ≤ `sloMs`, requests/s (bisection, 40 steps,
 * on [0, c/E[S])); 0 when even an idle chip misses.
 * @param scale  Multiplier of the law's latency (fleet calibration), > 0. @default 1
 */
export function maxRateWithin(s: ServiceTime, workers: number, alpha: number, sloMs: number, scale = 1): number {
  if (latencyQuantile(s, 0, workers, alpha) * scale > sloMs) return 0;
  let lo = 0;
  let hi = (workers / serviceMoments(s).meanMs) * 1000;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (latencyQuantile(s, mid, workers, alpha) * scale <= sloMs) lo = mid;
    else hi = mid;
  }
  return lo;
}
