/**
 * The p99 at a day's peak, as the deployment gate and the simulated rollback rule read it: the
 * busiest window of the server's requests (widened until it holds enough of the model's), and the
 * nearest-rank p99 with its distribution-free bands (order statistics).
 */
import { assertFiniteSample } from '../../pipelines/stats/samples.ts';

/** The busiest window of a request stream. Times epoch ms. */
export interface PeakWindow {
  startMs: number;
  endMs: number;
  /** Requests of the server in the window. */
  requests: number;
}

/**
 * The window of `widthMs` starting on a whole minute (of epoch time) with the most arrivals;
 * the earliest on ties. A stream shorter than the width gives its whole span.
 * @param ts       Arrival times, epoch ms, non-decreasing.
 * @param widthMs  Window width, ms (> 0).
 * @throws {RangeError} on an empty stream or a width ≤ 0.
 */
export function peakWindow(ts: ArrayLike<number>, widthMs: number): PeakWindow {
  if (ts.length === 0) throw new RangeError('peakWindow: no requests');
  if (!(widthMs > 0)) throw new RangeError(`peakWindowMs: expected > 0, got ${JSON.stringify(widthMs)}`);
  const first = ts[0]!;
  const last = ts[ts.length - 1]!;
  if (last - first < widthMs) return { startMs: first, endMs: last + 1, requests: ts.length };
  let best: PeakWindow = { startMs: first, endMs: first + widthMs, requests: -1 };
  let lo = 0;
  let hi = 0;
  for (let start = Math.ceil(first / 60_000) * 60_000; start + widthMs <= last + 1; start += 60_000) {
    while (lo < ts.length && ts[lo]! < start) lo++;
    while (hi < ts.length && ts[hi]! < start + widthMs) hi++;
    if (hi - lo > best.requests) best = { startMs: start, endMs: start + widthMs, requests: hi - lo };
  }
  return best.requests < 0 ? { startMs: first, endMs: last + 1, requests: ts.length } : best;
}

/**
 * Fewest requests a p99 at peak is read over: below 100 the nearest rank ⌈0.99·n⌉ is n, so the
 * "p99" is the slowest request, one request's luck rather than a tail.
 */
export const MIN_PEAK_REQUESTS = 100;

/**
 * The peak window of one model's p99 at peak: the server's busiest window (`peakWindow` over
 * `serverTs`) grown by a whole minute on each side, while the model has requests beyond it,
 * until it holds at least `minRequests` of the model's requests. The rollback rule of the
 * simulated deployments and the gate read a p99 at peak over the same window.
 * @param serverTs     All of the server's arrivals that day, epoch ms, non-decreasing (not empty).
 * @param modelTs      The model's arrivals (on the device judged), epoch ms, non-decreasing.
 * @param widthMs      Width of the busiest window, ms (> 0).
 * @param minRequests  Requests of the model to reach. @default MIN_PEAK_REQUESTS
 * @returns            The window; `requests` counts the server's arrivals in it. It holds fewer than
 *                     `minRequests` of the model's only when the model has fewer that day.
 * @throws {RangeError} as `peakWindow`.
 */
export function modelPeakWindow(serverTs: ArrayLike<number>, modelTs: ArrayLike<number>, widthMs: number, minRequests = MIN_PEAK_REQUESTS): PeakWindow {
  const peak = peakWindow(serverTs, widthMs);
  if (modelTs.length === 0) return peak;
  let { startMs, endMs } = peak;
  const first = modelTs[0]!;
  const last = modelTs[modelTs.length - 1]!;
  while (countIn(modelTs, startMs, endMs) < minRequests) {
    const earlier = startMs > first;
    const later = endMs <= last;
    if (!earlier && !later) break;
    if (earlier) startMs -= 60_000;
    if (later) endMs += 60_000;
  }
  return startMs === peak.startMs && endMs === peak.endMs ? peak : { startMs, endMs, requests: countIn(serverTs, startMs, endMs) };
}

/** Elements of a non-decreasing array in [from, to). */
function countIn(ts: ArrayLike<number>, from: number, to: number): number {
  return lowerBound(ts, to) - lowerBound(ts, from);
}

/** Index of the first element ≥ x in a non-decreasing array (its length if none). */
function lowerBound(ts: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Nearest-rank p99 of a sample with its distribution-free confidence interval. Times in ms. */
export interface QuantileBand {
  p99: number;
  low: number;
  high: number;
  n: number;
}

/**
 * Nearest-rank p99 (rank ⌈0.99·n⌉) and the order statistics bounding it at normal quantile z.
 * @param values  Latencies, ms (any order; not modified).
 * @param z       Normal quantile of the interval (1.645 for a one-sided 95 % bound on each side).
 * @throws {RangeError} on an empty sample or a value that is not finite.
 */
export function p99Band(values: ArrayLike<number>, z: number): QuantileBand {
  const n = values.length;
  if (n === 0) throw new RangeError('p99Band: empty sample');
  if (!(z >= 0 && Number.isFinite(z))) throw new RangeError(`p99Band: z must be a finite number ≥ 0, got ${String(z)}`);
  assertFiniteSample(values, 'p99Band');
  const s = Float64Array.from(values).sort();
  const half = z * Math.sqrt(n * 0.99 * 0.01);
  const at = (rank: number): number => s[Math.min(n, Math.max(1, rank)) - 1]!;
  return { p99: at(Math.ceil(0.99 * n)), low: at(Math.floor(0.99 * n - half)), high: at(Math.ceil(0.99 * n + half) + 1), n };
}

/** Where one day's nearest-rank p99 over n requests lies in the distribution they are drawn from (`dayP99Level`). */
export interface DayP99Level {
  /** The median level, fraction 0..1: (k − 1/3) / (n + 1/3). */
  median: number;
  /** The mean level, fraction 0..1: k / (n + 1). */
  mean: number;
  /** The level's sd: √(mean·(1 − mean) / (n + 2)). */
  sd: number;
}

/**
 * The level (the fraction of the distribution below it) of one day's nearest-rank p99 over `n` requests. That p99
 * is the k-th order statistic, k = ⌈0.99·n⌉, and the fraction of the distribution below the k-th of n independent
 * draws is Beta(k, n − k + 1) distributed (David & Nagaraja, Order Statistics, 3rd ed., 2003, §2.1: the uniform's
 * order statistics): mean k / (n + 1), variance mean·(1 − mean) / (n + 2), median about (k − 1/3) / (n + 1/3)
 * (J. Kerman, "A closed-form approximation for the median of the beta distribution", 2011, for shapes ≥ 1). Below
 * 0.99 for the ~100 requests a peak holds: the "p99" of 100 requests is the 99th of them, at 0.980 on average (median
 * 0.983), and read at 0.99 of a large pooled sample it came out high where the tail is long (a review of the gate's
 * false blocks: CPU boards whose p99 at peak rests on a hundred requests).
 * @param n  Requests of the day (≥ 1; a fraction, a mean over days, is rounded).
 * @throws {RangeError} on n < 0.5 or not finite.
 */
export function dayP99Level(n: number): DayP99Level {
  if (!(n >= 0.5 && Number.isFinite(n))) throw new RangeError(`dayP99Level: n must be ≥ 1, got ${String(n)}`);
  const m = Math.round(n);
  const k = Math.ceil(0.99 * m);
  const mean = k / (m + 1);
  return { median: (k - 1 / 3) / (m + 1 / 3), mean, sd: Math.sqrt((mean * (1 - mean)) / (m + 2)) };
}

/** The nearest-rank value of a sorted sample at a level (fraction 0..1, clamped to its ranks). */
function atLevel(sorted: Float64Array, level: number): number {
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(level * sorted.length))) - 1]!;
}

/**
 * One day's nearest-rank p99 over `perDay` requests drawn from the distribution a pooled sample of latencies stands
 * for: the pooled sample read at the day's median level (`dayP99Level`), by nearest rank. The value a day's p99 at
 * peak (`modelPeakWindow`, the rollback rule's) is as likely to exceed as to fall below.
 * @param values  Pooled latencies, ms (any order; not modified).
 * @param perDay  Requests of one day at its peak (≥ 1 once rounded; the pooled count over the days pooled).
 * @throws {RangeError} on an empty sample, a value that is not finite or `perDay` < 0.5.
 */
export function dayP99(values: ArrayLike<number>, perDay: number): number {
  if (values.length === 0) throw new RangeError('dayP99: empty sample');
  assertFiniteSample(values, 'dayP99');
  return atLevel(Float64Array.from(values).sort(), dayP99Level(perDay).median);
}

/**
 * The range of one day's nearest-rank p99 over `perDay` requests drawn from the distribution a pooled
 * sample of latencies stands for: its level (`dayP99Level`, mean μ and sd σ of a Beta order statistic) ± z
 * sds, where the pooled sample's own reading at a level adds its binomial variance μ(1 − μ)/N over its N values:
 * μ ± z·√(σ² + μ(1 − μ)/N), read there by nearest rank. Where the tail is smooth this is a few per cent; where it
 * jumps (1.5 % of the requests waited behind a slow model, the rest did not), it spans the jump: a trial's resnet50
 * joining a device that serves retinanet was replayed at p99 6.6 ms, and its day measured 16.6 ms.
 * @param values  Pooled latencies, ms (any order; not modified).
 * @param perDay  Requests of one day at its peak (≥ 1 once rounded; the pooled count over the days pooled).
 * @param z       Multiple of the sd on each side.
 * @returns       The level's range read from the pooled sample (low ≤ high), ms.
 * @throws {RangeError} on an empty sample, a value that is not finite or `perDay` < 0.5.
 */
export function dayP99Band(values: ArrayLike<number>, perDay: number, z: number): { low: number; high: number } {
  const n = values.length;
  if (n === 0) throw new RangeError('dayP99Band: empty sample');
  if (!(z >= 0 && Number.isFinite(z))) throw new RangeError(`dayP99Band: z must be a finite number ≥ 0, got ${String(z)}`);
  assertFiniteSample(values, 'dayP99Band');
  if (!(perDay >= 0.5 && Number.isFinite(perDay))) throw new RangeError(`dayP99Band: perDay must be ≥ 1, got ${perDay}`);
  const s = Float64Array.from(values).sort();
  const level = dayP99Level(perDay);
  const half = z * Math.sqrt(level.sd ** 2 + (level.mean * (1 - level.mean)) / n);
  return { low: atLevel(s, level.mean - half), high: atLevel(s, level.mean + half) };
}
