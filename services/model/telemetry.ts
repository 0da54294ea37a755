/**
 * The telemetry latency model (issue 4 build item 6, DESIGN §5): from the
 * enriched inference events, models of p50/p90/p99 of `total_ms` and of the
 * median `io_ms` and `compute_ms` as functions of model, chip and load.
 *
 * Features of a request (TELEMETRY_FEATURES): the benchmark prior of its
 * (model, chip) — the median over benchmark systems of the measured p50 and
 * p90 SingleStream latency, ln ms, from `benchmark_latency` — so that a pair
 * the fleet has never run is predicted from the public benchmark; the input
 * size and batch; and the load joined to the request (cpu/gpu/memory
 * utilisation as fractions 0..1, queue depth, concurrency, requests/s).
 * Targets are ln ms; every model is gradient-boosted trees with the pinball
 * loss at its quantile (services/model/gbt.ts), exported to ONNX.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { predictGbt, trainGbt, type GbtModel, type GbtOptions } from './gbt.ts';
import { coverage, mape, withinTolerance } from './metrics.ts';
import { exportGbtToOnnx, OnnxScorer, readOnnxMetadata } from './onnx.ts';
import type { Trainer } from './lifecycle.ts';
import { parseCsv } from '../simulator/csv.ts';
import { createRng } from '../simulator/prng.ts';
import { msToDateTime64 } from '../warehouse/types.ts';
import type { Warehouse } from '../warehouse/types.ts';

/** Feature names, in the order of a feature row (ONNX input column order). */
export const TELEMETRY_FEATURES = [
  'ln_bench_p50_ms', 'ln_bench_p90_ms', 'ln_bench_p90_over_p50', 'ln_expected_io_ms', 'ln_expected_compute_ms', 'ln_expected_total_ms',
  'ln_expected_total_p90_ms', 'ln_expected_total_p99_ms',
  'ln_server_service_ms', 'ln_server_service_ratio', 'ln_expected_wait_ms', 'ln_input_bytes', 'batch_size', 'cpu_util', 'gpu_util', 'mem_util', 'queue_depth', 'concurrency', 'requests_per_s',
] as const;

/** Load feature names a prediction may set (`--load k=v`); unset ones are 0 (idle). */
export const LOAD_FEATURES = ['cpu_util', 'gpu_util', 'mem_util', 'queue_depth', 'concurrency', 'requests_per_s'] as const;

/**
 * Monotone constraints of the trees, per feature: latency never falls as a
 * load feature (or the expected wait) rises, with everything else fixed —
 * what users of a load-versus-latency model expect, and it keeps the trees
 * from extrapolating dips into load they saw little of.
 */
export const MONOTONE: readonly number[] = TELEMETRY_FEATURES.map((f) => ((LOAD_FEATURES as readonly string[]).includes(f) || f === 'ln_expected_wait_ms' ? 1 : 0));

/** Load values of a request, aligned with {@link LOAD_FEATURES}. */
export type LoadVector = readonly number[];

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

/** Learner settings of the telemetry models. */
export const TELEMETRY_GBT: Omit<GbtOptions, 'loss'> = {
  nTrees: 200, learningRate: 0.1, maxDepth: 5, minSamplesLeaf: 30, validationFraction: 0.1, earlyStoppingRounds: 20,
};

/** Most rows one model trains on (an even thinning in event-time order above it). */
export const MAX_TRAIN_ROWS = 20_000;

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
  /** Median over the chip's servers of their mean service time (io + compute), ms. */
  serviceMs: number;
  rows: number;
}

/** Fleet statistics of one server, learned from the training rows. */
export interface ServerStats {
  /** Mean service time (io + compute) of its requests, all models, ms. */
  serviceMs: number;
  rows: number;
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
}

/** Benchmark prior of one (model, chip): medians over systems, ms. */
export interface BenchmarkPrior {
  p50: number;
  p90: number;
}

/** Floor applied before ln(): a 0 ms part (no i/o) is 1 µs. */
const FLOOR_MS = 1e-3;
const ln = (ms: number): number => Math.log(Math.max(ms, FLOOR_MS));

/** The simulator's MLPerf cut, imported by the demo as benchmark evidence. */
export const BENCHMARK_CUT = fileURLToPath(new URL('../../data/mlperf-singlestream/base-latency.csv', import.meta.url));

/**
 * Import `data/mlperf-singlestream/base-latency.csv` (model, chip, system, p50_ms, p90_ms per MLPerf run)
 * into `benchmark_latency` as source `mlperf-singlestream`, percentiles 0.5 and 0.9.
 * @returns rows written.
 */
export async function importBenchmarkCut(warehouse: Warehouse, path = BENCHMARK_CUT): Promise<number> {
  const [head, ...rows] = parseCsv(readFileSync(path, 'utf8'));
  const col = (name: string): number => {
    const i = head!.indexOf(name);
    if (i < 0) throw new Error(`${path}: no column ${name}`);
    return i;
  };
  const [m, c, v, d, s, id, p50, p90] = ['model', 'chip', 'mlperf_version', 'division', 'submitter', 'system_id', 'p50_ms', 'p90_ms'].map(col);
  const out = rows.flatMap((r) => [[0.5, r[p50!]], [0.9, r[p90!]]].map(([percentile, ms]) => ({
    source: 'mlperf-singlestream', model_id: r[m!], device: `${r[v!]}/${r[d!]}/${r[s!]}/${r[id!]}`, chip: r[c!], batch: 1,
    scenario: 'SingleStream', percentile, latency_ms: Number(ms), system: `${r[v!]}/${r[d!]}/${r[s!]}/${r[id!]}`,
  })));
  await warehouse.insert(`${warehouse.database}.benchmark_latency`, out);
  return out.length;
}

/** Benchmark priors of every (model, chip) with SingleStream p50 and p90 rows, keyed `model|chip`: nearest-rank (lower) medians over systems. */
export async function loadPriors(warehouse: Warehouse): Promise<Map<string, BenchmarkPrior>> {
  const rows = await warehouse.query<{ model_id: string; chip: string; p50: number; p90: number }>(
    `SELECT model_id, chip, quantileExactLowIf(0.5)(latency_ms, percentile = 0.5) AS p50, quantileExactLowIf(0.5)(latency_ms, percentile = 0.9) AS p90
     FROM ${warehouse.database}.benchmark_latency FINAL WHERE scenario = 'SingleStream' GROUP BY model_id, chip HAVING p50 > 0 AND p90 > 0`,
  );
  return new Map(rows.map((r) => [`${r.model_id}|${r.chip}`, { p50: Number(r.p50), p90: Number(r.p90) }]));
}

const medianOf = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.ceil(0.5 * v.length) - 1] ?? Number.NaN;

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

function serverStatsOf(rows: readonly TelemetryRow[]): ServerStats {
  return { serviceMs: Math.max(rows.reduce((s, r) => s + r.io_ms + r.compute_ms, 0) / rows.length, 1e-6), rows: rows.length };
}

/**
 * i/o line of a set of requests: per model, the median input KiB and median
 * io_ms; least squares through those points (each model counts once), the
 * slope and intercept clamped at ≥ 0. One model (or one input size): a line
 * through the origin.
 */
function ioLine(rows: readonly TelemetryRow[]): { fixed: number; perKib: number } {
  const points = [...groupBy(rows, (r) => r.modelId).values()].map((list) => ({
    kib: medianOf(list.map((r) => Math.max(1, r.input_bytes / 1024))), io: medianOf(list.map((r) => r.io_ms)),
  }));
  const mx = points.reduce((s, p) => s + p.kib, 0) / points.length;
  const my = points.reduce((s, p) => s + p.io, 0) / points.length;
  const sxx = points.reduce((s, p) => s + (p.kib - mx) ** 2, 0);
  if (points.length < 2 || sxx === 0) return { fixed: 0, perKib: Math.max(my / mx, 1e-9) };
  const slope = Math.max(points.reduce((s, p) => s + (p.kib - mx) * (p.io - my), 0) / sxx, 0);
  const fixed = Math.max(my - slope * mx, 0);
  return { fixed, perKib: fixed === 0 && slope === 0 ? Math.max(my / mx, 1e-9) : slope };
}

function statsOf(rows: readonly TelemetryRow[], servers: ReadonlyMap<string, ServerStats>): ChipStats {
  const serverIds = [...new Set(rows.map((r) => r.server))];
  const io = ioLine(rows);
  return {
    ioFixedMs: io.fixed,
    ioMsPerKib: io.perKib,
    computeRatio: Math.max(medianOf(rows.map((r) => r.compute_ms / r.prior.p50)), 1e-6),
    serviceMs: medianOf(serverIds.map((id) => servers.get(id)!.serviceMs)),
    rows: rows.length,
  };
}

/**
 * Fit the chip encodings on training rows (nearest-rank medians).
 * @throws {RangeError} on no rows.
 */
export function fitEncoding(rows: readonly TelemetryRow[]): TelemetryEncoding {
  if (rows.length === 0) throw new RangeError('telemetry encoding: no training rows');
  const sorted = <V>(m: Map<string, V>): [string, V][] => [...m].sort(([a], [b]) => a.localeCompare(b));
  const servers = new Map(sorted(groupBy(rows, (r) => r.server)).map(([id, list]) => [id, serverStatsOf(list)]));
  return {
    chips: Object.fromEntries(sorted(groupBy(rows, (r) => r.chip)).map(([c, list]) => [c, statsOf(list, servers)])),
    servers: Object.fromEntries(servers),
    global: statsOf(rows, servers),
  };
}

const QUEUE_DEPTH = LOAD_FEATURES.indexOf('queue_depth');

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
  const sigma = Math.max(0, Math.log(prior.p90 / prior.p50)) / Z['0.9']!;
  return Math.exp(z * sigma);
}

/**
 * Feature row of one request ({@link TELEMETRY_FEATURES} order).
 * Expected i/o = the chip's i/o line at the input size; expected compute =
 * benchmark p50 × the chip's median compute/benchmark ratio; expected total
 * = their sum (the unloaded estimate the trees correct for load). Queueing
 * context: the server's mean service time over all its models (a request
 * waits behind the others; unknown server → the chip's median server), its
 * ratio to the expected total, and the expected wait = queue depth × that
 * service time (Little's law view of the queue ahead).
 */
export function featureRow(enc: TelemetryEncoding, req: { chip: string; server?: string; prior: BenchmarkPrior; input_bytes: number; batch_size: number; load: LoadVector }): Float64Array {
  const c = enc.chips[req.chip] ?? enc.global;
  const io = Math.max(c.ioFixedMs + c.ioMsPerKib * Math.max(1, req.input_bytes / 1024), 1e-3);
  const compute = req.prior.p50 * c.computeRatio;
  const service = (req.server !== undefined ? enc.servers[req.server]?.serviceMs : undefined) ?? c.serviceMs;
  return Float64Array.from([
    Math.log(req.prior.p50), Math.log(req.prior.p90), Math.log(req.prior.p90 / req.prior.p50), Math.log(io), Math.log(compute), Math.log(io + compute),
    Math.log(io + compute * unloadedQuantileFactor(req.prior, 0.9)), Math.log(io + compute * unloadedQuantileFactor(req.prior, 0.99)),
    Math.log(service), Math.log(service / (io + compute)), Math.log1p(req.load[QUEUE_DEPTH]! * service),
    Math.log(Math.max(1, req.input_bytes)), req.batch_size, ...req.load,
  ]);
}

/**
 * Load the successful, load-matched requests with event time in [fromMs, toMs) and a benchmark prior.
 * @returns rows in event-time order and how many requests had no prior (their pair is in no benchmark).
 */
export async function loadTelemetryRows(warehouse: Warehouse, fromMs: number, toMs: number): Promise<{ rows: TelemetryRow[]; noPrior: number }> {
  const priors = await loadPriors(warehouse);
  const raw = await warehouse.query<Record<string, string | number | null>>(
    `SELECT event_id, toUnixTimestamp64Milli(ts) AS ts_ms, model_id, chip, edge_server_id, input_bytes, batch_size, total_ms, io_ms, compute_ms,
            cpu_util, gpu_util, mem_util, queue_depth, concurrency, requests_per_s
     FROM ${warehouse.database}.inference_enriched
     WHERE status = 'ok' AND matched AND ts >= {from:DateTime64(3)} AND ts < {to:DateTime64(3)}
     ORDER BY ts, event_id`,
    { from: msToDateTime64(fromMs), to: msToDateTime64(toMs) },
  );
  const rows: TelemetryRow[] = [];
  let noPrior = 0;
  for (const r of raw) {
    const prior = priors.get(`${r.model_id}|${r.chip}`);
    if (!prior) {
      noPrior++;
      continue;
    }
    rows.push({
      eventId: String(r.event_id), tsMs: Number(r.ts_ms), modelId: String(r.model_id), chip: String(r.chip), server: String(r.edge_server_id), prior,
      input_bytes: Number(r.input_bytes), batch_size: Number(r.batch_size), load: LOAD_FEATURES.map((k) => (r[k] === null ? 0 : Number(r[k]))),
      total_ms: Number(r.total_ms), io_ms: Number(r.io_ms), compute_ms: Number(r.compute_ms),
    });
  }
  return { rows, noPrior };
}

function thin<T>(rows: readonly T[], max: number): T[] {
  if (rows.length <= max) return [...rows];
  const step = rows.length / max;
  return Array.from({ length: max }, (_, i) => rows[Math.floor(i * step)]!);
}

/**
 * Feature whose value is the model's offset: the trees learn ln(latency) −
 * this feature (the load multiplier over the unloaded estimate), which
 * carries over to (model, chip) pairs the fleet has not run; the prediction
 * is offset + trees. Quantile models of the total start from the benchmark's
 * unloaded quantile ({@link unloadedQuantileFactor}).
 */
export function offsetFeature(target: TelemetryTarget): number {
  if (target.column === 'io_ms') return TELEMETRY_FEATURES.indexOf('ln_expected_io_ms');
  if (target.column === 'compute_ms') return TELEMETRY_FEATURES.indexOf('ln_expected_compute_ms');
  return TELEMETRY_FEATURES.indexOf(target.alpha >= 0.99 ? 'ln_expected_total_p99_ms' : target.alpha >= 0.9 ? 'ln_expected_total_p90_ms' : 'ln_expected_total_ms');
}

/** A trained telemetry model: trees over {@link featureRow} and the encoding its features need. */
export interface TelemetryModel {
  target: TelemetryTarget;
  gbt: GbtModel;
  encoding: TelemetryEncoding;
}

/**
 * Train one telemetry model (ln ms target, pinball loss at the target's quantile).
 * @throws {RangeError} on fewer than 100 rows.
 */
export function trainTelemetryModel(target: TelemetryTarget, rows: readonly TelemetryRow[], seed: number): TelemetryModel {
  if (rows.length < 100) throw new RangeError(`${target.kind}: ${rows.length} training rows; need at least 100 successful, load-matched requests with a benchmark prior`);
  const encoding = fitEncoding(rows);
  const t = thin(rows, MAX_TRAIN_ROWS);
  const X = t.map((r) => featureRow(encoding, r));
  const off = offsetFeature(target);
  const gbt = trainGbt(X, t.map((r, i) => ln(r[target.column]) - X[i]![off]!), { ...TELEMETRY_GBT, loss: { kind: 'quantile', alpha: target.alpha }, seed, monotone: MONOTONE });
  return { target, gbt, encoding };
}

/** Predicted ln ms of one feature row: offset feature + trees. */
export function predictTelemetryLn(m: TelemetryModel, features: Float64Array): number {
  return features[offsetFeature(m.target)]! + predictGbt(m.gbt, features);
}

/** ONNX bytes of a telemetry model, with its target, features and encoding in the metadata. */
export function exportTelemetryModel(m: TelemetryModel): Uint8Array {
  return exportGbtToOnnx(m.gbt, '1', {
    'edgelat.kind': m.target.kind, 'edgelat.target': JSON.stringify(m.target), 'edgelat.output': `ln ms minus feature ${offsetFeature(m.target)} (${TELEMETRY_FEATURES[offsetFeature(m.target)]})`,
    'edgelat.features': JSON.stringify(TELEMETRY_FEATURES), 'edgelat.encoding': JSON.stringify(m.encoding),
  });
}

/**
 * The encoding stored in a telemetry model file.
 * @throws {Error} if the file is not a telemetry model of this version (names the missing key).
 */
export function telemetryEncodingOf(bytes: Uint8Array): { target: TelemetryTarget; encoding: TelemetryEncoding } {
  const meta = readOnnxMetadata(bytes);
  for (const key of ['edgelat.target', 'edgelat.features', 'edgelat.encoding']) {
    if (!meta[key]) throw new Error(`model file has no ${key} metadata: not an edgelat telemetry model`);
  }
  if (meta['edgelat.features'] !== JSON.stringify(TELEMETRY_FEATURES)) throw new Error(`model file's features ${meta['edgelat.features']} differ from this edgelat's ${JSON.stringify(TELEMETRY_FEATURES)}: retrain it`);
  return { target: JSON.parse(meta['edgelat.target']!) as TelemetryTarget, encoding: JSON.parse(meta['edgelat.encoding']!) as TelemetryEncoding };
}

/** Pinball loss at α of ln predictions against ln truths (the holdout loss; lower is better). */
export function pinballLoss(predLn: ArrayLike<number>, truthMs: ArrayLike<number>, alpha: number): number {
  let s = 0;
  for (let i = 0; i < predLn.length; i++) {
    const r = ln(truthMs[i]!) - predLn[i]!;
    s += r >= 0 ? alpha * r : (alpha - 1) * r;
  }
  return s / Math.max(1, predLn.length);
}

/**
 * Holdout metrics of predictions (ln ms) against requests: pinball loss,
 * coverage (share at or below the prediction), and for medians MAPE and acc10.
 */
export function telemetryMetrics(target: TelemetryTarget, predLn: ArrayLike<number>, rows: readonly TelemetryRow[]): { loss: number; metrics: Record<string, number> } {
  const truth = rows.map((r) => Math.max(r[target.column], FLOOR_MS));
  const pred = Array.from(predLn, Math.exp);
  const loss = pinballLoss(predLn, truth, target.alpha);
  const metrics: Record<string, number> = { pinball: loss, coverage: coverage(pred, truth), rows: rows.length };
  if (target.alpha === 0.5) {
    metrics.mape = mape(pred, truth);
    metrics.acc10 = withinTolerance(pred, truth);
  }
  return { loss, metrics };
}

/**
 * Rows of the last window loaded, shared by the trainers of one cycle (the
 * five kinds read the same window; the rows are read-only).
 */
export class TelemetryRowCache {
  private last: { fromMs: number; toMs: number; rows: Promise<TelemetryRow[]> } | null = null;
  constructor(private readonly warehouse: Warehouse) {}

  /** Rows with event time in [fromMs, toMs) (see {@link loadTelemetryRows}). */
  rows(fromMs: number, toMs: number): Promise<TelemetryRow[]> {
    if (!this.last || this.last.fromMs !== fromMs || this.last.toMs !== toMs) {
      this.last = { fromMs, toMs, rows: loadTelemetryRows(this.warehouse, fromMs, toMs).then((r) => r.rows) };
    }
    return this.last.rows;
  }
}

/** A {@link Trainer} of one telemetry model over the warehouse, for the lifecycle (registry, schedule). */
export function telemetryTrainer(warehouse: Warehouse, target: TelemetryTarget, cache?: TelemetryRowCache): Trainer<TelemetryRow> {
  return {
    kind: target.kind,
    load: async (fromMs, toMs) => ({ rows: await (cache ?? new TelemetryRowCache(warehouse)).rows(fromMs, toMs), tsOf: (r) => r.tsMs }),
    train: async (rows, seed) => {
      const model = trainTelemetryModel(target, rows, seed);
      return { bytes: exportTelemetryModel(model), metrics: { trees: model.gbt.trees.length, train_rows: Math.min(rows.length, MAX_TRAIN_ROWS) } };
    },
    score: async (bytes, rows) => {
      const { encoding } = telemetryEncodingOf(bytes);
      const scorer = await OnnxScorer.load(bytes);
      try {
        const X = rows.map((r) => featureRow(encoding, r));
        const out = await scorer.predict(X);
        const off = offsetFeature(target);
        return telemetryMetrics(target, X.map((x, i) => x[off]! + out[i]!), rows);
      } finally {
        await scorer.close();
      }
    },
  };
}

const GPU_UTIL = LOAD_FEATURES.indexOf('gpu_util');

/** Result of {@link evaluateTelemetry} (acceptance C4). */
export interface TelemetryEvaluation {
  heldOutPairs: string[];
  trainRows: number;
  testRows: number;
  /** p50 model: MAPE over (pair, utilisation decile) groups of its median prediction against the true median total, fraction. */
  p50_mape: number;
  /** The same with each group weighted by its requests (MAPE over held-out requests of their group's median), fraction. */
  p50_mape_requests: number;
  groups: number;
  /** p99 model: share of held-out requests whose true total is at or below the prediction, fraction. */
  p99_coverage: number;
  p90_coverage: number;
}

/**
 * Score the telemetry models on (model, chip) pairs the fleet data they train
 * on does not contain: a seeded quarter of the pairs (at least one) is held
 * out; the models train on the rest; the held-out requests are compared with
 * the simulator's ground truth (`sim_ground_truth`: true queue + i/o + compute
 * per request). The p50 truth of a group of requests — pair × decile of the
 * load the model is given (the joined sample's gpu_util, the busy-worker
 * fraction), ≥ 30 requests — is the nearest-rank median of their true
 * totals; the prediction is the median of their p50 predictions (a p50 model
 * estimates the median at an observed load, so groups are formed on what it
 * observes, not on the simulator's hidden per-second utilisation).
 * @throws {RangeError} when there is no ground truth or too few pairs (< 2).
 */
export async function evaluateTelemetry(warehouse: Warehouse, options: { seed: number; heldOutShare?: number }): Promise<TelemetryEvaluation> {
  const { rows } = await loadTelemetryRows(warehouse, 0, Date.UTC(2299, 0, 1));
  const truthRows = await warehouse.query<{ event_id: string; true_total: number; util: number }>(
    `SELECT event_id, true_queue_ms + true_io_ms + true_compute_ms AS true_total, server_util AS util FROM ${warehouse.database}.sim_ground_truth`,
  );
  if (truthRows.length === 0) throw new RangeError('evaluate telemetry: sim_ground_truth is empty (run `edgelat demo` first)');
  const truth = new Map(truthRows.map((r) => [String(r.event_id), { total: Number(r.true_total), util: Number(r.util) }]));
  const pairs = [...new Set(rows.map((r) => `${r.modelId}|${r.chip}`))].sort();
  if (pairs.length < 2) throw new RangeError(`evaluate telemetry: ${pairs.length} (model, chip) pair(s) with a benchmark prior; need at least 2`);
  const rng = createRng(options.seed, 'telemetry-pairs');
  const order = [...pairs];
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const held = new Set(order.slice(0, Math.max(1, Math.round((options.heldOutShare ?? 0.25) * pairs.length))));
  const train = rows.filter((r) => !held.has(`${r.modelId}|${r.chip}`));
  const test = rows.filter((r) => held.has(`${r.modelId}|${r.chip}`) && truth.has(r.eventId));
  const models = new Map(TELEMETRY_TARGETS.filter((t) => t.column === 'total_ms').map((t) => [t.alpha, trainTelemetryModel(t, train, options.seed)]));
  const predict = (alpha: number, r: TelemetryRow): number => {
    const m = models.get(alpha)!;
    return Math.exp(predictTelemetryLn(m, featureRow(m.encoding, r)));
  };
  const groups = new Map<string, { pred: number[]; truth: number[] }>();
  for (const r of test) {
    const t = truth.get(r.eventId)!;
    const key = `${r.modelId}|${r.chip}|${Math.min(9, Math.floor(r.load[GPU_UTIL]! * 10))}`;
    const g = groups.get(key) ?? { pred: [], truth: [] };
    g.pred.push(predict(0.5, r));
    g.truth.push(t.total);
    groups.set(key, g);
  }
  const nearestMedian = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.ceil(0.5 * v.length) - 1]!;
  const big = [...groups.values()].filter((g) => g.pred.length >= 30);
  const trueTotals = test.map((r) => truth.get(r.eventId)!.total);
  return {
    heldOutPairs: [...held].sort(),
    trainRows: train.length,
    testRows: test.length,
    p50_mape: big.length ? mape(big.map((g) => nearestMedian(g.pred)), big.map((g) => nearestMedian(g.truth))) : Number.NaN,
    p50_mape_requests: big.length ? mape(big.flatMap((g) => g.pred.map(() => nearestMedian(g.pred))), big.flatMap((g) => g.truth.map(() => nearestMedian(g.truth)))) : Number.NaN,
    groups: big.length,
    p99_coverage: coverage(test.map((r) => predict(0.99, r)), trueTotals),
    p90_coverage: coverage(test.map((r) => predict(0.9, r)), trueTotals),
  };
}
