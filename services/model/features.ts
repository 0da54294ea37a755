/**
 * Features of the telemetry latency model (issue 4 build item 2): the
 * feature row of a request — benchmark prior of its (model, chip), chip and
 * server encodings fitted on training rows (i/o line, compute ratios, the
 * queueing prior of wait-prior.ts), input size, batch and load — and the
 * encoding itself. Architecture features of benchmark tables are in help.ts
 * (HELP: one-hot op per edge/layer, op counts). The model that uses these
 * rows is telemetry.ts.
 */
import { nearestRankQuantile } from './gbt.ts';
import { quantileGrid, sumQuantile, utilBucket, UTIL_BUCKETS, WAIT_GRID } from './wait-prior.ts';
import { byCodeUnits } from '../names.ts';

/**
 * Feature names, in the order of a feature row (ONNX input column order).
 * `ln_wait_p*_ms` are ln(1 + wait quantile in ms) of the server's decile wait;
 * `ln_queued_total_p*_ms` the quantiles of wait + i/o + compute (the offsets
 * of the total models). @see featureRow
 */
export const TELEMETRY_FEATURES = [
  'ln_bench_p50_ms', 'ln_bench_p90_ms', 'ln_bench_p90_over_p50', 'ln_expected_io_ms', 'ln_expected_compute_ms', 'ln_expected_total_ms',
  'ln_expected_total_p90_ms', 'ln_expected_total_p99_ms',
  'ln_server_service_ms', 'ln_server_service_ratio', 'ln_expected_wait_ms',
  'ln_wait_p50_ms', 'ln_wait_p90_ms', 'ln_wait_p99_ms', 'ln_queued_total_p50_ms', 'ln_queued_total_p90_ms', 'ln_queued_total_p99_ms',
  'ln_input_bytes', 'batch_size', 'cpu_util', 'gpu_util', 'mem_util', 'queue_depth', 'concurrency', 'requests_per_s',
] as const;

/** Load feature names a prediction may set (`--load k=v`); unset ones are 0 (idle). */
export const LOAD_FEATURES = ['cpu_util', 'gpu_util', 'mem_util', 'queue_depth', 'concurrency', 'requests_per_s'] as const;

/** Load values of a request, aligned with {@link LOAD_FEATURES}. */
export type LoadVector = readonly number[];


/** Features that rise with the load (the decile tables behind them are isotonic in gpu_util). */
const RISING_WITH_LOAD: ReadonlySet<string> = new Set([
  ...LOAD_FEATURES, 'ln_expected_wait_ms', 'ln_expected_io_ms', 'ln_expected_compute_ms', 'ln_expected_total_ms', 'ln_expected_total_p90_ms',
  'ln_expected_total_p99_ms', 'ln_wait_p50_ms', 'ln_wait_p90_ms', 'ln_wait_p99_ms', 'ln_queued_total_p50_ms', 'ln_queued_total_p90_ms', 'ln_queued_total_p99_ms',
]);

/**
 * Monotone constraints of the trees, per feature: latency never falls as a
 * load feature rises, with everything else fixed — what users of a
 * load-versus-latency model expect, and it keeps the trees from extrapolating
 * dips into load they saw little of. The features built from the load's
 * decile rise with it too, and the server's service over the expected total
 * falls, so they are constrained the same way: with the load features alone,
 * a tree split on the decile's expected compute made the i/o prediction drop
 * by up to 5 % as gpu_util crossed 0.5.
 */
export const MONOTONE: readonly number[] = TELEMETRY_FEATURES.map((f) => (RISING_WITH_LOAD.has(f) ? 1 : f === 'ln_server_service_ratio' ? -1 : 0));

/** One request: what it ran, its benchmark prior, its load and its latencies (ms). */
export interface TelemetryRow {
  eventId: string;
  tsMs: number;
  modelId: string;
  chip: string;
  /** edge_server_id: its mean service time is context for queueing (requests wait behind other models). */
  server: string;
  prior: BenchmarkPrior;
  input_bytes: number;
  batch_size: number;
  /** Aligned with {@link LOAD_FEATURES}; a missing value is 0. */
  load: LoadVector;
  total_ms: number;
  /** Time waiting in the server's queue (total = queue + io + compute), ms. */
  queue_ms: number;
  io_ms: number;
  compute_ms: number;
}

/** Fleet statistics of one chip, learned from the training rows. */
export interface ChipStats {
  /** i/o time ≈ ioFixedMs + ioMsPerKib × input KiB (a line through the chip's per-model medians), ms. */
  ioFixedMs: number;
  ioMsPerKib: number;
  /** Median of compute_ms / benchmark p50: how the fleet's compute compares with the benchmark. */
  computeRatio: number;
  /** The same per utilisation decile of the joined gpu_util ({@link utilBucket}; sparse deciles pool their neighbours). */
  computeRatioByUtil: number[];
  /** Median of io_ms / the i/o line per utilisation decile (i/o slows under load). */
  ioRatioByUtil: number[];
  /** Per utilisation decile, quantiles at {@link WAIT_GRID} of queue_ms / the mean service time of the request's server (the chip's queueing, for a server without training rows). */
  waitNorm: number[][];
  /** Parallel workers c of its servers: the largest concurrency any of its load samples shows (median over chips for the fleet). */
  workers: number;
  /** Median over the chip's servers of their mean service time (io + compute), ms. */
  serviceMs: number;
  rows: number;
}

/** Fleet statistics of one server, learned from the training rows. */
export interface ServerStats {
  /** Mean service time (io + compute) of its requests, all models, ms. */
  serviceMs: number;
  rows: number;
  /** Per utilisation decile, quantiles at {@link WAIT_GRID} of its requests' queue_ms, ms (sparse deciles pool their neighbours). */
  wait: number[][];
}

/**
 * The chip encodings a telemetry model's features need (stored in its ONNX
 * metadata as `edgelat.encoding`): per chip, and over all chips for a chip
 * the training data does not have (target encoding by medians).
 */
export interface TelemetryEncoding {
  chips: Record<string, ChipStats>;
  servers: Record<string, ServerStats>;
  global: ChipStats;
  /** Field log-sd of compute beyond the benchmark's: σ_field² = σ_bench² + sigmaExtra² (median over training pairs). */
  sigmaExtra: number;
  /**
   * Per (model, chip) pair of the training rows, key `model|chip`: how its compute compares with its chip's (the
   * factor {@link pairComputeFactors} gives, 1 = as the chip's other models). Absent in models trained before it: 1.
   */
  pairs?: Record<string, number>;
  /**
   * Log-sd of the pairs' compute factors (root mean square of their ln, over pairs of at least {@link PAIR_SHRINK_ROWS}
   * rows): the compute of a pair the training rows lack spreads by it too, its factor being unknown. Absent: 0.
   */
  pairSigma?: number;
}

/** Benchmark prior of one (model, chip): medians over systems, ms. */
export interface BenchmarkPrior {
  p50: number;
  p90: number;
}

/** Floor applied before ln(): a 0 ms part (no i/o) is 1 µs. */
export const FLOOR_MS = 1e-3;
/** ln of a latency in ms, floored at {@link FLOOR_MS}. */
export const ln = (ms: number): number => Math.log(Math.max(ms, FLOOR_MS));

/** The lower median (nearest rank 0.5); NaN for no values. */
const medianOf = (v: number[]): number => (v.length ? nearestRankQuantile(v, 0.5) : Number.NaN);

function groupBy<K>(rows: readonly TelemetryRow[], key: (r: TelemetryRow) => K): Map<K, TelemetryRow[]> {
  const out = new Map<K, TelemetryRow[]>();
  for (const r of rows) {
    const k = key(r);
    const list = out.get(k) ?? [];
    list.push(r);
    out.set(k, list);
  }
  return out;
}

/** Fewest requests behind one utilisation decile's statistics (sparse deciles pool their nearest neighbours up to this). */
export const MIN_BUCKET_ROWS = 60;

/** Index of gpu_util (the busy-worker fraction) in a load vector. */
export const GPU_UTIL = LOAD_FEATURES.indexOf('gpu_util');
const bucketOfRow = (r: { load: LoadVector }): number => utilBucket(r.load[GPU_UTIL]!);

/**
 * One statistic per utilisation decile: decile b uses its rows, pooled with
 * deciles b−1, b+1, b−2, b+2, … (one at a time, the less loaded side first:
 * the top decile holds the saturated, unbounded queues) until at least
 * `minRows` rows (or all rows) are in.
 */
function perBucket<T>(rows: readonly TelemetryRow[], stat: (rows: TelemetryRow[]) => T, minRows = MIN_BUCKET_ROWS): T[] {
  const buckets: TelemetryRow[][] = Array.from({ length: UTIL_BUCKETS }, () => []);
  for (const r of rows) buckets[bucketOfRow(r)]!.push(r);
  return buckets.map((_, b) => {
    const pool = [...buckets[b]!];
    for (let d = 1; pool.length < minRows && d < UTIL_BUCKETS; d++) {
      if (b - d >= 0) pool.push(...buckets[b - d]!);
      if (pool.length < minRows && b + d < UTIL_BUCKETS) pool.push(...buckets[b + d]!);
    }
    return stat(pool);
  });
}

/**
 * Weighted isotonic regression (non-decreasing) by pool-adjacent-violators: the non-decreasing sequence
 * nearest `values` in weighted least squares. Source: Barlow, Bartholomew, Bremner & Brunk, "Statistical
 * Inference under Order Restrictions" (1972), the PAV algorithm.
 * @param values   One value per decile.
 * @param weights  Their weights (> 0), same length.
 * @returns        A new array, non-decreasing.
 */
export function isotonicRising(values: readonly number[], weights: readonly number[]): number[] {
  const blocks: { mean: number; w: number; n: number }[] = [];
  values.forEach((v, i) => {
    blocks.push({ mean: v, w: weights[i]!, n: 1 });
    while (blocks.length > 1 && blocks.at(-2)!.mean > blocks.at(-1)!.mean) {
      const b = blocks.pop()!;
      const a = blocks.at(-1)!;
      a.mean = (a.mean * a.w + b.mean * b.w) / (a.w + b.w);
      a.w += b.w;
      a.n += b.n;
    }
  });
  return blocks.flatMap((b) => Array.from({ length: b.n }, () => b.mean));
}

/**
 * Per-decile statistics made non-decreasing in the decile ({@link isotonicRising}, each decile weighted by its
 * own requests; quantile grids point by point, which keeps each grid sorted), so no prediction falls as
 * gpu_util rises: a decile's own rows dipped below the one under it by chance (40 dips in the demo's 17 pairs).
 */
function risingGrids(grids: number[][], w: readonly number[]): number[][] {
  const columns = grids[0]!.map((_, i) => isotonicRising(grids.map((g) => g[i]!), w));
  return grids.map((_, b) => columns.map((col) => col[b]!));
}
/** Requests per decile, at least 1 (a decile with none takes its pooled neighbours' statistic at a small weight). */
function bucketWeights(rows: readonly TelemetryRow[]): number[] {
  const w = new Array<number>(UTIL_BUCKETS).fill(1);
  for (const r of rows) w[bucketOfRow(r)]! += 1;
  return w;
}

function serverStatsOf(rows: readonly TelemetryRow[]): ServerStats {
  return {
    serviceMs: Math.max(rows.reduce((s, r) => s + r.io_ms + r.compute_ms, 0) / rows.length, 1e-6), rows: rows.length,
    wait: risingGrids(perBucket(rows, (list) => quantileGrid(list.map((r) => r.queue_ms))), bucketWeights(rows)),
  };
}

/**
 * i/o line of a set of requests, io_ms = fixed + perKib · KiB: the slope is
 * the pooled within-model least-squares slope over every request (each
 * model's own spread of input sizes: the "within" estimator of a fixed-effects
 * regression, so the models' different sizes and i/o paths do not confound
 * it), clamped at ≥ 0; the intercept is the median over models of (median
 * io_ms − slope · median KiB), clamped at ≥ 0. Requests of one input size
 * each model: the line through the per-model medians as before (least
 * squares, each model once), else through the origin. The medians-only line
 * had come out flat on the demo's rk3588 (its two models' medians gave a
 * negative slope, clamped to 0): `predict --input-bytes` 10 kB and 1 MB gave
 * the same total, where the fleet's i/o rises about 11 ms per MB there.
 */
function ioLine(rows: readonly TelemetryRow[]): { fixed: number; perKib: number } {
  const models = [...groupBy(rows, (r) => r.modelId).values()];
  const kibOf = (r: TelemetryRow): number => Math.max(1, r.input_bytes / 1024);
  let sxx = 0;
  let sxy = 0;
  for (const list of models) {
    const mk = list.reduce((t, r) => t + kibOf(r), 0) / list.length;
    const mi = list.reduce((t, r) => t + r.io_ms, 0) / list.length;
    for (const r of list) {
      sxx += (kibOf(r) - mk) ** 2;
      sxy += (kibOf(r) - mk) * (r.io_ms - mi);
    }
  }
  const points = models.map((list) => ({ kib: medianOf(list.map(kibOf)), io: medianOf(list.map((r) => r.io_ms)) }));
  if (sxx > 0) {
    const slope = Math.max(sxy / sxx, 0);
    const fixed = Math.max(medianOf(points.map((p) => p.io - slope * p.kib)), 0);
    if (slope > 0 || fixed > 0) return { fixed, perKib: slope };
  }
  const mx = points.reduce((t, p) => t + p.kib, 0) / points.length;
  const my = points.reduce((t, p) => t + p.io, 0) / points.length;
  const pxx = points.reduce((t, p) => t + (p.kib - mx) ** 2, 0);
  if (points.length < 2 || pxx === 0) return { fixed: 0, perKib: Math.max(my / mx, 1e-9) };
  const slope = Math.max(points.reduce((t, p) => t + (p.kib - mx) * (p.io - my), 0) / pxx, 0);
  const fixed = Math.max(my - slope * mx, 0);
  return { fixed, perKib: fixed === 0 && slope === 0 ? Math.max(my / mx, 1e-9) : slope };
}

const ioOfLine = (c: { ioFixedMs: number; ioMsPerKib: number }, inputBytes: number): number => Math.max(c.ioFixedMs + c.ioMsPerKib * Math.max(1, inputBytes / 1024), 1e-3);

function statsOf(rows: readonly TelemetryRow[], servers: ReadonlyMap<string, ServerStats>): ChipStats {
  const serverIds = [...new Set(rows.map((r) => r.server))];
  const io = ioLine(rows);
  const line = { ioFixedMs: io.fixed, ioMsPerKib: io.perKib };
  const w = bucketWeights(rows);
  return {
    ioFixedMs: io.fixed,
    ioMsPerKib: io.perKib,
    computeRatio: Math.max(medianOf(rows.map((r) => r.compute_ms / r.prior.p50)), 1e-6),
    computeRatioByUtil: isotonicRising(perBucket(rows, (list) => Math.max(medianOf(list.map((r) => r.compute_ms / r.prior.p50)), 1e-6)), w),
    ioRatioByUtil: isotonicRising(perBucket(rows, (list) => Math.max(medianOf(list.map((r) => r.io_ms / ioOfLine(line, r.input_bytes))), 1e-3)), w),
    waitNorm: risingGrids(perBucket(rows, (list) => quantileGrid(list.map((r) => r.queue_ms / servers.get(r.server)!.serviceMs))), w),
    serviceMs: medianOf(serverIds.map((id) => servers.get(id)!.serviceMs)),
    workers: rows.reduce((m, r) => Math.max(m, r.load[CONCURRENCY]!), 1),
    rows: rows.length,
  };
}

/**
 * Field log-sd of compute beyond the benchmark's, over the training pairs:
 * per pair, σ_obs = (q90 − q50 of ln(compute / its chip's decile ratio)) / z₀.₉;
 * the median of √max(0, σ_obs² − σ_bench²).
 */
function sigmaExtraOf(rows: readonly TelemetryRow[], chips: Record<string, ChipStats>): number {
  const extra = [...groupBy(rows, (r) => `${r.modelId}|${r.chip}`).values()].map((list) => {
    const c = chips[list[0]!.chip]!;
    const res = list.map((r) => Math.log(Math.max(r.compute_ms, FLOOR_MS) / (r.prior.p50 * c.computeRatioByUtil[bucketOfRow(r)]!))).sort((a, b) => a - b);
    const q = (p: number): number => res[Math.ceil(p * res.length) - 1]!;
    const sObs = (q(0.9) - q(0.5)) / Z['0.9']!;
    return Math.sqrt(Math.max(0, sObs ** 2 - benchSigma(list[0]!.prior) ** 2));
  });
  return medianOf(extra);
}

/**
 * Rows at which a pair's own compute factor counts as much as its chip's (1): the factor is shrunk toward 1 in logs
 * by n / (n + PAIR_SHRINK_ROWS), so a pair of a few requests keeps about its chip's ratio.
 */
export const PAIR_SHRINK_ROWS = 30;

/**
 * Per (model, chip) of the training rows: the median over its rows of compute / (benchmark p50 × its chip's decile
 * compute ratio), shrunk toward 1 in logs by n / (n + {@link PAIR_SHRINK_ROWS}) (a random-effects style shrinkage of
 * a group's offset toward the pooled one). The chip's ratio is a median over all its models: a model whose kernels
 * run slower on the chip than its benchmark says than the chip's other models do had every total quantile low
 * (a trial: retinanet on jetson-agx-orin, benchmark 18.0 ms against 22.4 ms of compute in the fleet, its p90 of the
 * total below 56 % of its requests). Pairs the fleet has not run keep their chip's ratio (no factor), their compute
 * spread by the factors' log-sd (`pairSigma`) instead: fitted on residuals within pairs, the total's constant had
 * otherwise lost the pair-to-pair spread it covered (held-out pairs' p90 coverage 0.912 → 0.888 on seed 3).
 * @returns `pairs`: factor by key `model|chip`, > 0; `pairSigma`: the root mean square of the unshrunk ln factors of
 *   pairs of at least {@link PAIR_SHRINK_ROWS} rows (0 without any).
 */
function pairComputeFactors(rows: readonly TelemetryRow[], chips: Record<string, ChipStats>): { pairs: Record<string, number>; pairSigma: number } {
  const pairs: Record<string, number> = {};
  const lnRatios: number[] = [];
  const groups = [...groupBy(rows, (r) => `${r.modelId}|${r.chip}`)].sort(([a], [b]) => byCodeUnits(a, b));
  for (const [key, list] of groups) {
    const c = chips[list[0]!.chip]!;
    const lnRatio = Math.log(medianOf(list.map((r) => Math.max(r.compute_ms, FLOOR_MS) / (r.prior.p50 * c.computeRatioByUtil[bucketOfRow(r)]!))));
    pairs[key] = Math.exp((list.length / (list.length + PAIR_SHRINK_ROWS)) * lnRatio);
    if (list.length >= PAIR_SHRINK_ROWS) lnRatios.push(lnRatio);
  }
  const pairSigma = lnRatios.length === 0 ? 0 : Math.sqrt(lnRatios.reduce((t, x) => t + x * x, 0) / lnRatios.length);
  return { pairs, pairSigma };
}

/**
 * Fit the chip and server encodings on training rows (nearest-rank medians
 * and quantiles): per chip the i/o line, compute/benchmark ratios and wait
 * per unit of service by gpu_util decile; per server its mean service time
 * and its queue_ms quantiles ({@link WAIT_GRID}) by decile; the fleet's
 * extra compute log-sd; per (model, chip) its compute factor ({@link pairComputeFactors}).
 * @throws {RangeError} on no rows.
 */
export function fitEncoding(rows: readonly TelemetryRow[]): TelemetryEncoding {
  if (rows.length === 0) throw new RangeError('telemetry encoding: no training rows');
  const sorted = <V>(m: Map<string, V>): [string, V][] => [...m].sort(([a], [b]) => byCodeUnits(a, b));
  const servers = new Map(sorted(groupBy(rows, (r) => r.server)).map(([id, list]) => [id, serverStatsOf(list)]));
  const chips = Object.fromEntries(sorted(groupBy(rows, (r) => r.chip)).map(([c, list]) => [c, statsOf(list, servers)]));
  const global = { ...statsOf(rows, servers), workers: medianOf(Object.values(chips).map((c) => c.workers)) };
  return { chips, servers: Object.fromEntries(servers), global, sigmaExtra: sigmaExtraOf(rows, chips), ...pairComputeFactors(rows, chips) };
}

const QUEUE_DEPTH = LOAD_FEATURES.indexOf('queue_depth');
const CONCURRENCY = LOAD_FEATURES.indexOf('concurrency');
const REQUESTS_PER_S = LOAD_FEATURES.indexOf('requests_per_s');

/**
 * Mean service time of a server implied by one load sample, ms: busy
 * worker-time over the interval / arrivals in it = util·c·1000 / requests_per_s
 * (the utilisation law U = λ·E[S]/c; Denning & Buzen, "The operational
 * analysis of queueing network models", ACM Computing Surveys 10(3), 1978).
 * @returns undefined when the sample has no arrivals or no busy time.
 */
export function loadImpliedServiceMs(load: LoadVector, workers: number): number | undefined {
  const util = load[GPU_UTIL]!;
  const rps = load[REQUESTS_PER_S]!;
  return util > 0 && rps > 0 ? (util * workers * 1000) / rps : undefined;
}

/** Standard normal quantiles z_α used by {@link unloadedQuantileFactor}. */
const Z: Readonly<Record<string, number>> = { '0.5': 0, '0.9': 1.2815515655446004, '0.99': 2.3263478740408408 };

/**
 * Unloaded α-quantile of compute over its median implied by the benchmark:
 * with lognormal service noise (a common model of inference latency), the
 * log-sd is σ = ln(p90/p50)/z₀.₉ and the α-quantile is p50·exp(z_α·σ).
 * @throws {RangeError} for an α other than 0.5, 0.9, 0.99.
 */
export function unloadedQuantileFactor(prior: BenchmarkPrior, alpha: number): number {
  const z = Z[String(alpha)];
  if (z === undefined) throw new RangeError(`quantile ${alpha}: expected 0.5, 0.9 or 0.99`);
  return Math.exp(z * benchSigma(prior));
}

/** Lognormal log-sd implied by a benchmark prior: σ = ln(p90/p50)/z₀.₉ (≥ 0). */
export function benchSigma(prior: BenchmarkPrior): number {
  return Math.max(0, Math.log(prior.p90 / prior.p50)) / Z['0.9']!;
}

const memo = new WeakMap<TelemetryEncoding, Map<string, number[]>>();

/** p50, p90, p99 of wait + io + compute ({@link sumQuantile}), memoised per encoding (i/o to 4 significant digits). */
function queuedQuantiles(enc: TelemetryEncoding, key: string, wait: readonly number[], io: number, compute: number, sigma: number, tailSigma = sigma): number[] {
  let m = memo.get(enc);
  if (!m) memo.set(enc, (m = new Map()));
  let q = m.get(key);
  if (!q) m.set(key, (q = [0.5, 0.9, 0.99].map((a) => sumQuantile(wait, io, compute, a === 0.5 ? sigma : tailSigma, a))));
  return q;
}

/**
 * Feature row of one request ({@link TELEMETRY_FEATURES} order).
 * Let b = the decile of the request's gpu_util ({@link utilBucket}). Expected
 * i/o = the chip's i/o line at the input size × the chip's decile i/o ratio;
 * expected compute = benchmark p50 × the chip's decile compute/benchmark
 * ratio; expected total = their sum. Queueing context: the server's mean
 * service time over all its models (unknown server on a fleet chip → the
 * median of the chip's servers' mean service; on a chip without fleet data →
 * the mean service its load sample implies, {@link loadImpliedServiceMs}, kept
 * within 3× of the request's own mean service io + compute·e^{σ²/2}, or that
 * own service when the sample has no arrivals), its ratio to the expected total, the
 * expected wait = queue depth × that service time (Little's law view of the
 * queue ahead), the server's decile wait quantiles (unknown server → the
 * chip's, else the fleet's, decile wait per unit of service × that service),
 * and the p50/p90/p99 of wait + i/o + compute ({@link sumQuantile}; compute
 * lognormal with σ² = σ_bench² + sigmaExtra², its median the expected compute × the pair's compute factor where the
 * training rows had the (model, chip), else with pairSigma² added to σ² for the p90 and p99 (the p50 is as before:
 * widened, it moved held-out pairs' MAPE up by up to 0.003): {@link pairComputeFactors}), given
 * `req.modelId`. The factor reaches those three quantiles only, the offsets of the models of the total (which have no
 * trees); the i/o and compute models' rows leave the model id out ({@link featureRowFor}), so their trees see the
 * features they saw before the factor (a trial of them with it: the i/o model's holdout loss 0.0043 → 0.0047).
 * @param enc  Encoding fitted on the training rows ({@link fitEncoding}).
 * @param req  The request: chip, optional server id and model id, benchmark prior (ms), input bytes, batch, load
 *   aligned with {@link LOAD_FEATURES}.
 * @returns    Feature values, ln ms where the name says ln.
 */
export function featureRow(enc: TelemetryEncoding, req: { chip: string; server?: string; modelId?: string; prior: BenchmarkPrior; input_bytes: number; batch_size: number; load: LoadVector }): Float64Array {
  const c = enc.chips[req.chip] ?? enc.global;
  const b = bucketOfRow(req);
  const io = expectedIoMs(enc, req);
  const compute = req.prior.p50 * c.computeRatioByUtil[b]!;
  const srv = req.server !== undefined ? enc.servers[req.server] : undefined;
  const sigma = Math.hypot(benchSigma(req.prior), enc.sigmaExtra);
  const own = io + compute * Math.exp(sigma ** 2 / 2);
  const implied = loadImpliedServiceMs(req.load, c.workers);
  // A server without training rows on a fleet chip: the chip's typical server (the median of its servers' mean
  // service). The service a single load sample implies (util·c/rps) swung too much: on held-out pairs it gave a
  // p50 MAPE of 0.53–0.75 (0.05–0.08 this way), and it made the prediction fall as requests_per_s rose.
  const chipService = enc.chips[req.chip]?.serviceMs;
  const service = srv?.serviceMs ?? chipService ?? (implied === undefined ? own : Math.min(3 * own, Math.max(own / 3, implied)));
  const wait = srv?.wait[b] ?? c.waitNorm[b]!.map((x) => x * service);
  const waitAt = (p: number): number => wait[WAIT_GRID.p.findIndex((q) => q >= p)]!;
  // The pair's own compute factor where the training rows had it; else its spread over pairs widens the compute.
  // Without a model id (the i/o and compute models' rows: featureRowFor), neither.
  const pair = req.modelId === undefined ? 1 : enc.pairs?.[`${req.modelId}|${req.chip}`];
  const tailSigma = pair === undefined ? Math.hypot(sigma, enc.pairSigma ?? 0) : sigma;
  const [q50, q90, q99] = queuedQuantiles(enc, `${srv ? req.server : service.toPrecision(4)}|${req.chip}|${b}|${req.prior.p50}|${req.prior.p90}|${io.toPrecision(4)}|${pair ?? 1}|${tailSigma}`, wait, io, compute * (pair ?? 1), sigma, tailSigma);
  return Float64Array.from([
    Math.log(req.prior.p50), Math.log(req.prior.p90), Math.log(req.prior.p90 / req.prior.p50), Math.log(io), Math.log(compute), Math.log(io + compute),
    Math.log(io + compute * unloadedQuantileFactor(req.prior, 0.9)), Math.log(io + compute * unloadedQuantileFactor(req.prior, 0.99)),
    Math.log(service), Math.log(service / (io + compute)), Math.log1p(req.load[QUEUE_DEPTH]! * service),
    Math.log1p(waitAt(0.5)), Math.log1p(waitAt(0.9)), Math.log1p(waitAt(0.99)),
    Math.log(q50!), Math.log(q90!), Math.log(q99!),
    Math.log(Math.max(1, req.input_bytes)), req.batch_size, ...req.load,
  ]);
}

/**
 * {@link featureRow} of a request as the model of `target` reads it: with the model id for the models of the total
 * (their queueing prior takes the pair's compute factor), without it for the i/o and compute models.
 */
export function featureRowFor(enc: TelemetryEncoding, req: Parameters<typeof featureRow>[1], target: { column: TelemetryTarget['column'] }): Float64Array {
  return featureRow(enc, target.column === 'total_ms' ? req : { ...req, modelId: undefined });
}

/**
 * The expected median i/o of a request, ms, as {@link featureRow} computes it: the chip's i/o line at the input
 * size (intercept + slope · KiB, fitted on per-model medians: ioLine) × the chip's i/o ratio at the request's
 * gpu_util decile. A chip without fleet data uses the fleet's line.
 * @param enc  Encoding fitted on the training rows. @param req  Chip, input bytes and load ({@link LOAD_FEATURES} order).
 * @returns ms, > 0.
 */
export function expectedIoMs(enc: TelemetryEncoding, req: { chip: string; input_bytes: number; load: LoadVector }): number {
  const c = enc.chips[req.chip] ?? enc.global;
  return ioOfLine(c, req.input_bytes) * c.ioRatioByUtil[bucketOfRow(req)]!;
}

/** One model kind: target column and quantile. */
export interface TelemetryTarget {
  kind: string;
  column: 'total_ms' | 'io_ms' | 'compute_ms';
  /** Quantile fraction 0..1 (0.5 = median). */
  alpha: number;
}

/** The five telemetry models. */
export const TELEMETRY_TARGETS: readonly TelemetryTarget[] = [
  { kind: 'total_ms_p50', column: 'total_ms', alpha: 0.5 },
  { kind: 'total_ms_p90', column: 'total_ms', alpha: 0.9 },
  { kind: 'total_ms_p99', column: 'total_ms', alpha: 0.99 },
  { kind: 'io_ms_p50', column: 'io_ms', alpha: 0.5 },
  { kind: 'compute_ms_p50', column: 'compute_ms', alpha: 0.5 },
];
