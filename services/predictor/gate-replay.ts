/**
 * The deployment gate's latency estimate (issue 7, F3): the p99 one model
 * would have at a server's observed peak load after a change of its service
 * time or of its chip, by a trace-driven replay of the server's own requests.
 *
 * Method:
 * - Demand: the device's measured requests (arrival times, i/o and compute
 *   parts, the busy-worker fraction u in force at each), in order.
 * - Unloaded parts: part / (1 + k·ρ₀), with ρ₀ the busy-worker fraction
 *   each request started under by the measured schedule, read as the replay
 *   reads it (`measuredContention`; the load samples' u where latencies are
 *   unknown, as after a move to another device), so that a replay of what
 *   runs now gives back what was measured; the load sensitivity k fitted on
 *   the same rows (load-sensitivity.ts `fitLoadSensitivity`, a line through the medians of part /
 *   model median in 10 bins of u); when they carry no load signal (the device
 *   never ran loaded), the fleet's (`fleetLoadSensitivity`).
 * - Change: the changed model's unloaded parts are multiplied by the
 *   candidate's factors (compute and i/o, new / now).
 * - Replay: an exact FCFS queue with the target's workers
 *   (simulator/queueing.ts); each service is loaded again by 1 + k·ρ with ρ
 *   the busy-worker fraction of the replay itself in the previous second, so
 *   a heavier model raises everyone's contention as it does on the server.
 * - A load `scale` > 1 compresses the arrival times (the same requests, closer
 *   together): the margin for a peak higher than the one observed.
 * - Peak: the window of `peakWindowMs` (starts on a whole minute) holding the
 *   most requests of the server, widened by whole minutes until it holds
 *   `MIN_PEAK_REQUESTS` of the changed model's (peak-p99.ts `modelPeakWindow`); p99 is
 *   nearest-rank over the model's requests in it, with a distribution-free confidence interval from
 *   order statistics (ranks n·p ± z·√(n·p·(1−p)); Conover, Practical
 *   Nonparametric Statistics, 3rd ed. 1999, §3.2).
 */
import { simulateFcfsQueue } from '../simulator/queueing.ts';
import type { ServerObservations } from './whatif.ts';
import { lowerQuantile } from '../../pipelines/stats/samples.ts';
import { deviceLoadSensitivity, type LoadSensitivity } from './load-sensitivity.ts';
import type { PeakWindow } from './peak-p99.ts';

/** Width of the bucket the replay reads its utilisation ρ from, ms. */
const RHO_BUCKET_MS = 1000;

/** How the replay changes the device. */
export interface ReplayChange {
  /** The model whose service changes. */
  model: string;
  /** Multipliers of its unloaded compute and i/o time (new / now). */
  compute: number;
  io: number;
  /** Added to each of its unloaded i/o times after the multiplier, ms (the result is kept ≥ 0). @default 0 */
  ioOffset?: number;
  /**
   * Log-spread multiplier of the model's unloaded compute (new / now, > 0): each request's unloaded
   * compute c becomes m·(c/m)^spread before the multiplier, m the median over the model's requests (a
   * lognormal's σ scaled, its median kept: a chip with a steadier or a more variable kernel time).
   * @default 1
   */
  spread?: number;
  /** Parallel workers of the target device. */
  workers: number;
  /** Arrival-rate multiplier (> 0): times are compressed by it. @default 1 */
  loadScale?: number;
  /**
   * Load sensitivities for a part whose rows carry no load signal (a device that never ran loaded
   * cannot tell how its service slows under load; the fleet's devices that did tell it:
   * {@link fleetLoadSensitivity}). @default none (0)
   */
  sensitivityPrior?: LoadSensitivity | null;
}

/**
 * Replay a device's requests with one model changed and return that model's latencies at the
 * peak window of the observations (see the module doc).
 * @param o       The device's requests before the change (≥ 1 of `change.model`).
 * @param change  The change.
 * @param peak    The window to read, on the observations' clock (before any load scaling).
 * @returns       Latencies (wait + service), ms, of the model's requests that arrived in the window.
 * @throws {RangeError} when the observations hold no request of the model.
 */
export function replayPeakLatencies(o: ServerObservations, change: ReplayChange, peak: PeakWindow): number[] {
  return replayParts(o, change, peak, unloaded(o, change)).total;
}

/** The changed model's requests in the peak window after a replay: latency (wait + service) and service alone, ms, in arrival order. */
export interface PeakReplay { total: number[]; service: number[] }

/** A device's requests with one model changed, ready to replay: their unloaded parts, and the busy fraction they need. */
export interface PreparedReplay {
  /** {@link offeredUtilisation} of these requests: ≥ 1, the queue cannot drain (do not replay it). */
  readonly offered: number;
  readonly parts: ReturnType<typeof unloaded>;
}

/**
 * Unload a device's requests with the change once, for both the saturation check and the replay.
 * @throws {RangeError} when the observations hold no request of the model.
 */
export function prepareReplay(o: ServerObservations, change: ReplayChange): PreparedReplay {
  const parts = unloaded(o, change);
  return { offered: offeredOf(parts, change.workers), parts };
}

/**
 * {@link replayPeakLatencies} with the service parts, from prepared requests. The caller checks
 * `prepared.offered` < 1 first: a queue that cannot drain is not replayed (its state would grow with the backlog).
 */
export function replayPrepared(o: ServerObservations, change: ReplayChange, peak: PeakWindow, prepared: PreparedReplay): PeakReplay {
  return replayParts(o, change, peak, prepared.parts);
}

/**
 * Replay requests through an FCFS queue of `workers` with contention: each service time is set when
 * it starts, from its unloaded parts loaded by the busy-worker fraction ρ of the replay's own
 * previous 1-s bucket, io·(1 + k_io·ρ) + compute·(1 + k_c·ρ) (the law the load sensitivity is fitted
 * to, with ρ what this capacity gives, not what was measured at another one).
 * The queue runs on the clock of the first arrival: on epoch ms (~1.7e12) a float64 holds times only to 2^-12 ms, and
 * a replay of what runs now had given 112.31884765625 ms for a measured 112.319 (a trial).
 * @param arrivals  Arrival times, ms, non-decreasing (the first one is the buckets' origin).
 * @param baseIo    Unloaded i/o per request, ms.
 * @param baseC     Unloaded compute per request, ms.
 * @param k         Load sensitivities (per unit of ρ).
 * @param workers   Parallel workers (integer ≥ 1).
 * @returns         Per request, ms: completion time (on the arrivals' clock), latency (wait + service) and service time.
 * @throws {RangeError} as `simulateFcfsQueue` (workers < 1, decreasing arrivals, negative service).
 */
export function replayWithContention(arrivals: Float64Array, baseIo: readonly number[], baseC: readonly number[], k: LoadSensitivity, workers: number): { endMs: Float64Array; latencyMs: Float64Array; serviceMs: Float64Array } {
  const t0 = arrivals[0] ?? 0;
  const rel = Float64Array.from(arrivals, (a) => a - t0);
  const busy: number[] = [];
  const serviceMs = new Float64Array(arrivals.length);
  const q = simulateFcfsQueue(rel, (j, start) => {
    const rho = busyBefore(busy, start, workers);
    const s = baseIo[j]! * (1 + k.io * rho) + baseC[j]! * (1 + k.compute * rho);
    addBusy(busy, start, start + s);
    serviceMs[j] = s;
    return s;
  }, workers);
  return { endMs: Float64Array.from(q.endMs, (e) => e + t0), latencyMs: Float64Array.from(q.waitMs, (w, i) => w + serviceMs[i]!), serviceMs };
}

/**
 * The busy-worker fraction each measured request started under, as `replayWithContention` reads it:
 * the server's busy time in the 1-s bucket before the request's start over workers × 1 s, with each
 * request busy from its start (arrival + total − io − compute) to its end (arrival + total). Unloading
 * by the same ρ the replay loads by makes a replay at today's capacity give back today's service times;
 * the load samples' utilisation (a longer interval's mean) lags a burst and is low inside one.
 * @param o  Observations with measured latencies (`total`).
 * @returns  ρ per request (0..1), or null without `total`.
 */
export function measuredContention(o: ServerObservations): number[] | null {
  if (!o.total || o.total.length !== o.ts.length || o.ts.length === 0) return null;
  const t0 = o.ts[0]!;
  const start = o.ts.map((t, i) => t + Math.max(0, o.total![i]! - o.io[i]! - o.compute[i]!));
  const busy: number[] = [];
  for (let i = 0; i < o.ts.length; i++) addBusy(busy, Math.max(0, start[i]! - t0), Math.max(0, o.ts[i]! + o.total[i]! - t0));
  return start.map((s) => busyBefore(busy, s - t0, o.workersPerReplica));
}

/** Busy-worker fraction (0..1) of the bucket before the one holding `atMs` (ms from the buckets' origin); 0 in the first. */
function busyBefore(busy: readonly number[], atMs: number, workers: number): number {
  const b = Math.floor(atMs / RHO_BUCKET_MS);
  return b >= 1 && b - 1 < busy.length ? Math.min(1, busy[b - 1]! / (workers * RHO_BUCKET_MS)) : 0;
}

function replayParts(o: ServerObservations, change: ReplayChange, peak: PeakWindow, parts: ReturnType<typeof unloaded>): PeakReplay {
  const { arrivals, baseIo, baseC, kio, kc } = parts;
  const q = replayWithContention(arrivals, baseIo, baseC, { compute: kc, io: kio }, change.workers);
  const service = q.serviceMs;
  const out: PeakReplay = { total: [], service: [] };
  for (let i = 0; i < o.ts.length; i++) {
    if (o.model[i] === change.model && o.ts[i]! >= peak.startMs && o.ts[i]! < peak.endMs) {
      out.total.push(q.latencyMs[i]!);
      out.service.push(service[i]!);
    }
  }
  return out;
}

/** Utilisation each request started under, per observations object (replays of one device reuse it). */
const startedUnderCache = new WeakMap<ServerObservations, readonly number[]>();

/**
 * The busy-worker fraction (0..1) each request started under: {@link measuredContention} where the
 * latencies are known, else the load samples' utilisation (cached per observations object).
 */
export function startedUnder(o: ServerObservations): readonly number[] {
  let rho = startedUnderCache.get(o);
  if (!rho) startedUnderCache.set(o, (rho = measuredContention(o) ?? o.util));
  return rho;
}

/** A device's requests with one model changed: arrival times (load-scaled) and unloaded service parts, ms. */
function unloaded(o: ServerObservations, change: ReplayChange): { arrivals: Float64Array; baseIo: number[]; baseC: number[]; kio: number; kc: number; t0: number } {
  if (!o.model.includes(change.model)) throw new RangeError(`model ${JSON.stringify(change.model)}: no request of it on ${JSON.stringify(o.server)}`);
  const k = deviceLoadSensitivity(o, change.sensitivityPrior);
  const scale = change.loadScale ?? 1;
  const t0 = o.ts[0]!;
  const rho = startedUnder(o);
  return {
    arrivals: Float64Array.from(o.ts, (t) => t0 + (t - t0) / scale),
    baseIo: o.io.map((x, i) => {
      const base = x / (1 + k.io * rho[i]!);
      return o.model[i] === change.model ? Math.max(0, base * change.io + (change.ioOffset ?? 0)) : base;
    }),
    baseC: spreadCompute(o.compute.map((x, i) => x / (1 + k.compute * rho[i]!)), o.model, change),
    kio: k.io,
    kc: k.compute,
    t0,
  };
}

/** Unloaded compute with the change: the model's requests spread about their median by `change.spread`, then scaled by `change.compute`. */
function spreadCompute(base: number[], models: readonly string[], change: ReplayChange): number[] {
  const spread = spreadAboutMedian(base, models, (m) => (m === change.model ? change.spread ?? 1 : 1));
  return spread.map((x, i) => (models[i] !== change.model ? x : change.compute * x));
}

/**
 * Service times moved to a chip with a steadier or a more variable kernel time, per model: each of
 * a model's values x becomes m·(x/m)^s, m the lower median of that model's values and s its spread
 * ratio (`spreadRatio`). For a lognormal time this is quantile mapping (Panofsky & Brier, Some
 * Applications of Statistics to Meteorology, 1968: the value at the same quantile of the
 * other distribution): ln x = ln m + σ·z becomes ln m + s·σ·z, the median kept and σ scaled by s.
 * @param values  Times, ms (≥ 0), one per request.
 * @param models  Each request's model (aligned with `values`).
 * @param spread  A model's spread ratio (> 0; 1 leaves its values as they are).
 * @returns       The mapped times, ms; a value ≤ 0, or a model whose median is 0, is left as it is.
 */
export function spreadAboutMedian(values: readonly number[], models: readonly string[], spread: (model: string) => number): number[] {
  const medians = new Map<string, number>();
  for (const m of new Set(models)) {
    if (spread(m) !== 1) medians.set(m, lowerQuantile(values.filter((_, i) => models[i] === m), 0.5));
  }
  return values.map((x, i) => {
    const m = medians.get(models[i]!);
    return m === undefined || !(m > 0) || !(x > 0) ? x : m * (x / m) ** spread(models[i]!);
  });
}

/** Bounds of a compute-spread ratio (two p90 / p50 ratios of noisy samples: a wilder ratio is not believed). */
const SPREAD_BOUNDS = [0.25, 4] as const;

/**
 * The spread ratio of a model's compute on a new chip over the running one: ln(p90/p50) there over
 * ln(p90/p50) here, clamped to [0.25, 4].
 * @param next  ln(p90/p50) on the new chip (null when unknown).
 * @param now   ln(p90/p50) on the running chip (null when unknown).
 * @returns     The ratio; 1 when either is unknown or ≤ 0.
 */
export function spreadRatio(next: number | null, now: number | null): number {
  if (next === null || now === null || !(next > 0) || !(now > 0)) return 1;
  return Math.min(SPREAD_BOUNDS[1], Math.max(SPREAD_BOUNDS[0], next / now));
}

/**
 * The spread ratio of a model's compute on a new chip over the running one from benchmarks, with the
 * running deployment's measured spread where the fleet has it. A benchmark's ln(p90/p50) is its kernel
 * time's spread on a quiet lab system; in service, other independent sources (the runtime, the input,
 * the host) multiply into it, and for independent log-normal factors the variances of the logs add:
 * (ln p90/p50)² = z₉₀²·(σ_kernel² + σ_host²) (the reproductive property of the lognormal: Aitchison
 * & Brown, The Lognormal Distribution, 1957). So the host's part is read from the running chip,
 * s_host² = max(0, s_measured² − s_bench,now²), and the new chip's spread is √(s_bench,new² + s_host²)
 * (ln p90/p50 each). A trial: resnet50's benchmarks spread 0.051 on
 * rpi4 and 0.018 on odroid (×2.83), while the fleet measured 0.10 on odroid; the ratio of the benchmarks
 * alone widened the moved model's compute tail ×2.83 and the gate's p99 came out 862 ms against 593
 * measured after the move (the model alone on the new device, as before).
 * @param next      ln(p90/p50) of the benchmark on the new chip (null when unknown).
 * @param now       ln(p90/p50) of the benchmark on the running chip (null when unknown).
 * @param measured  ln(p90/p50) of the running deployment's unloaded compute in the fleet (null when unknown).
 * @returns The ratio (clamped as {@link spreadRatio}; 1 when a benchmark is unknown) and how it was formed.
 */
export function benchmarkSpreadRatio(next: number | null, now: number | null, measured: number | null): { ratio: number; how: string } {
  if (measured === null || !(measured > 0) || next === null || now === null || !(next >= 0) || !(now >= 0)) {
    return { ratio: spreadRatio(next, now), how: 'benchmark p90 / p50' };
  }
  const host = Math.max(0, measured ** 2 - now ** 2);
  return { ratio: spreadRatio(Math.sqrt(next ** 2 + host), measured), how: 'benchmark p90 / p50 with the spread measured in service' };
}

/**
 * Offered load of a replay: the busy fraction of the workers that the requests after the change need
 * over the replayed span (first to last arrival, compressed by the load scale), each service slowed
 * by the contention the replay applies ({@link loadedUtilisation} with the device's load
 * sensitivity: the what-if's criterion too). At ≥ 1 the queue cannot drain within the span and the
 * waits grow with its length (utilisation law, ρ = λ·E[S]/c; Harchol-Balter, Performance Modeling
 * and Design of Computer Systems, 2013, §6.2), so a replay's "p99" would be the backlog's age at the
 * peak, not a p99 the queue has. (A trial: a gate replay printed p99 302,626 ms, about the peak
 * window's length, where the what-if said saturated.)
 * @returns ρ ≥ 0 (fraction of the workers' time; 0 for a span of one instant; ≥ 1: saturated).
 * @throws {RangeError} when the observations hold no request of the model.
 */
export function offeredUtilisation(o: ServerObservations, change: ReplayChange): number {
  return prepareReplay(o, change).offered;
}

function offeredOf({ arrivals, baseIo, baseC, kio, kc }: ReturnType<typeof unloaded>, workers: number): number {
  return busiestUtilisation(arrivals, baseIo, baseC, { compute: kc, io: kio }, workers);
}

/** An idle stretch longer than this (no arrival) splits a trace into busy periods ({@link busiestUtilisation}), ms: the gate's days. */
export const IDLE_GAP_MS = 600_000;
/** Shortest idle gap {@link traceIdleGapMs} gives, ms. */
export const MIN_IDLE_GAP_MS = 60_000;

/**
 * The idle gap that splits a request trace into busy periods: 20 median inter-arrival times, at least
 * {@link MIN_IDLE_GAP_MS}. Relative to the trace's own rate, so a trickle of requests minutes apart before a busy
 * stretch is not chained onto it (a trial: 20 requests 9 minutes apart, 0.3 % more demand, diluted a saturated
 * what-if to 0.098), while a steady stream's exponential gaps never reach it (a gap of 20 means has probability e⁻²⁰).
 * @param arrivals  Arrival times, ms, non-decreasing.
 * @returns ms.
 */
export function traceIdleGapMs(arrivals: ArrayLike<number>): number {
  const gaps: number[] = [];
  for (let i = 1; i < arrivals.length; i++) gaps.push(arrivals[i]! - arrivals[i - 1]!);
  if (gaps.length === 0) return MIN_IDLE_GAP_MS;
  const sorted = Float64Array.from(gaps).sort();
  return Math.max(MIN_IDLE_GAP_MS, 20 * sorted[(sorted.length - 1) >> 1]!);
}
/** Fewest requests of a busy period whose utilisation counts in {@link busiestUtilisation}. */
export const MIN_BUSY_REQUESTS = 100;

/**
 * {@link loadedUtilisation} of the busiest busy period of a trace: the arrivals are split where no request
 * arrived for more than `gapMs`, and each stretch of at least {@link MIN_BUSY_REQUESTS} requests
 * is measured over its own span (all of them when none has that many). Over the whole span, a night or a
 * day without traffic dilutes the load: a trial added one request a day before a saturated server's trace,
 * and its utilisation fell from 1.25 to 0.013, so the what-if replayed a queue that could not drain and
 * printed the backlog's age (p50 194 s) as a latency.
 * @param arrivals  Arrival times, ms, non-decreasing (aligned with the parts).
 * @param gapMs     Idle gap that splits periods, ms. @default {@link IDLE_GAP_MS} (the what-if passes {@link traceIdleGapMs})
 * @returns ρ, fraction (≥ 1 when the queue cannot drain in some busy period); 0 for fewer than 2 arrivals.
 */
export function busiestUtilisation(arrivals: ArrayLike<number>, baseIo: readonly number[], baseC: readonly number[], k: LoadSensitivity, workers: number, gapMs = IDLE_GAP_MS): number {
  const n = arrivals.length;
  if (n < 2) return 0;
  const cuts = [0];
  for (let i = 1; i < n; i++) if (arrivals[i]! - arrivals[i - 1]! > gapMs) cuts.push(i);
  cuts.push(n);
  const periods = cuts.slice(1).map((end, j) => [cuts[j]!, end] as const);
  const counted = periods.filter(([a, b]) => b - a >= MIN_BUSY_REQUESTS);
  let top = 0;
  for (const [a, b] of counted.length > 0 ? counted : periods) {
    top = Math.max(top, loadedUtilisation(baseIo.slice(a, b), baseC.slice(a, b), k, workers, arrivals[b - 1]! - arrivals[a]!));
  }
  return top;
}

/**
 * Busy fraction of `workers` that requests need over `span` ms when each service slows with it: the
 * utilisation law (ρ = λ·E[S]/c; Harchol-Balter, Performance Modeling and Design of Computer Systems,
 * 2013, §6.2) with services io·(1 + k_io·ρ) + compute·(1 + k_c·ρ), i.e. the fixed point
 * ρ = (ρ_io + ρ_c) / (1 − k_io·ρ_io − k_c·ρ_c), ρ_part = Σ unloaded part / (workers·span).
 * A fixed point below 1 exists iff the work at ρ = 1, ρ_io·(1 + k_io) + ρ_c·(1 + k_c), is below 1;
 * otherwise that value (≥ 1: saturated) is returned.
 * @param baseIo   Unloaded i/o per request, ms.
 * @param baseC    Unloaded compute per request, ms.
 * @param k        Load sensitivities (per unit of ρ, ≥ 0).
 * @param workers  Parallel workers (≥ 1).
 * @param span     First to last arrival, ms (0: one instant, ρ = 0).
 * @returns ρ, fraction (≥ 1 when the queue cannot drain).
 */
export function loadedUtilisation(baseIo: readonly number[], baseC: readonly number[], k: LoadSensitivity, workers: number, span: number): number {
  if (!(span > 0)) return 0;
  let io = 0;
  let c = 0;
  for (let i = 0; i < baseIo.length; i++) {
    io += baseIo[i]!;
    c += baseC[i]!;
  }
  const rhoIo = io / (workers * span);
  const rhoC = c / (workers * span);
  const atFull = rhoIo * (1 + k.io) + rhoC * (1 + k.compute);
  return atFull >= 1 ? atFull : (rhoIo + rhoC) / (1 - k.io * rhoIo - k.compute * rhoC);
}

/**
 * The device a model would run on after moving to another chip: the model's requests from the
 * device it runs on now, merged by arrival time with the requests of the server's device of the
 * new chip when it has one (`target`), on that chip's workers.
 * @param from     The device running the model now.
 * @param model    The model that moves.
 * @param target   The server's device of the new chip (same period), or null for a new device.
 * @param chip     The new chip.
 * @param workers  Workers of a device of the new chip (used when `target` is null).
 */
export function movedDevice(from: ServerObservations, model: string, target: ServerObservations | null, chip: string, workers: number): ServerObservations {
  const rows: { ts: number; io: number; compute: number; util: number; model: string }[] = [];
  const take = (o: ServerObservations, keep: (i: number) => boolean) => {
    for (let i = 0; i < o.ts.length; i++) if (keep(i)) rows.push({ ts: o.ts[i]!, io: o.io[i]!, compute: o.compute[i]!, util: o.util[i]!, model: o.model[i]! });
  };
  take(from, (i) => from.model[i] === model);
  if (target) take(target, () => true);
  rows.sort((a, b) => a.ts - b.ts);
  return {
    server: from.server, chip, workersPerReplica: target ? target.workersPerReplica : workers,
    ts: rows.map((r) => r.ts), io: rows.map((r) => r.io), compute: rows.map((r) => r.compute), util: rows.map((r) => r.util), model: rows.map((r) => r.model),
    // No measured schedule: the moved model's latencies were measured on another device.
    measured: { p50: NaN, p99: NaN, n: rows.length },
  };
}

function addBusy(buckets: number[], fromMs: number, toMs: number): void {
  const last = Math.floor(toMs / RHO_BUCKET_MS);
  while (buckets.length <= last) buckets.push(0);
  for (let b = Math.floor(fromMs / RHO_BUCKET_MS); b <= last; b++) {
    const lo = Math.max(fromMs, b * RHO_BUCKET_MS);
    const hi = Math.min(toMs, (b + 1) * RHO_BUCKET_MS);
    if (hi > lo) buckets[b]! += hi - lo;
  }
}
