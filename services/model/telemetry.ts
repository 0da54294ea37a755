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
import { exportGbtToOnnx, OnnxScorer } from './onnx.ts';
import type { Trainer } from './lifecycle.ts';
import { parseCsv } from '../simulator/csv.ts';
import { createRng } from '../simulator/prng.ts';
import { msToDateTime64 } from '../warehouse/types.ts';
import type { Warehouse } from '../warehouse/types.ts';

/** Feature names, in the order of a feature row (ONNX input column order). */
export const TELEMETRY_FEATURES = [
  'ln_bench_p50_ms', 'ln_bench_p90_ms', 'ln_input_bytes', 'batch_size',
  'cpu_util', 'gpu_util', 'mem_util', 'queue_depth', 'concurrency', 'requests_per_s',
] as const;

/** Load feature names a prediction may set (`--load k=v`); unset ones are 0 (idle). */
export const LOAD_FEATURES = ['cpu_util', 'gpu_util', 'mem_util', 'queue_depth', 'concurrency', 'requests_per_s'] as const;

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

/** One request with its features and latencies (ms). */
export interface TelemetryRow {
  eventId: string;
  tsMs: number;
  modelId: string;
  chip: string;
  features: Float64Array;
  total_ms: number;
  io_ms: number;
  compute_ms: number;
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

/** Benchmark priors of every (model, chip) with SingleStream p50 and p90 rows, keyed `model|chip`. */
export async function loadPriors(warehouse: Warehouse): Promise<Map<string, BenchmarkPrior>> {
  const rows = await warehouse.query<{ model_id: string; chip: string; p50: number; p90: number }>(
    `SELECT model_id, chip, quantileExactIf(0.5)(latency_ms, percentile = 0.5) AS p50, quantileExactIf(0.5)(latency_ms, percentile = 0.9) AS p90
     FROM ${warehouse.database}.benchmark_latency FINAL WHERE scenario = 'SingleStream' GROUP BY model_id, chip HAVING p50 > 0 AND p90 > 0`,
  );
  return new Map(rows.map((r) => [`${r.model_id}|${r.chip}`, { p50: Number(r.p50), p90: Number(r.p90) }]));
}

/**
 * Feature row of one request.
 * @param prior  Benchmark prior of its (model, chip).
 * @param req    input_bytes, batch_size and load values (missing load = 0, idle).
 */
export function featureRow(prior: BenchmarkPrior, req: { input_bytes: number; batch_size: number } & Partial<Record<(typeof LOAD_FEATURES)[number], number | null>>): Float64Array {
  return Float64Array.from([
    Math.log(prior.p50), Math.log(prior.p90), Math.log(Math.max(1, req.input_bytes)), req.batch_size,
    ...LOAD_FEATURES.map((k) => Number(req[k] ?? 0)),
  ]);
}

/**
 * Load the successful, load-matched requests with event time in [fromMs, toMs) and a benchmark prior.
 * @returns rows in event-time order and how many requests had no prior (their pair is in no benchmark).
 */
export async function loadTelemetryRows(warehouse: Warehouse, fromMs: number, toMs: number): Promise<{ rows: TelemetryRow[]; noPrior: number }> {
  const priors = await loadPriors(warehouse);
  const raw = await warehouse.query<Record<string, string | number | null>>(
    `SELECT event_id, toUnixTimestamp64Milli(ts) AS ts_ms, model_id, chip, input_bytes, batch_size, total_ms, io_ms, compute_ms,
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
      eventId: String(r.event_id), tsMs: Number(r.ts_ms), modelId: String(r.model_id), chip: String(r.chip),
      features: featureRow(prior, { input_bytes: Number(r.input_bytes), batch_size: Number(r.batch_size), ...Object.fromEntries(LOAD_FEATURES.map((k) => [k, r[k] === null ? null : Number(r[k])])) }),
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

/** Train one telemetry model (ln ms target, pinball loss at the target's quantile). */
export function trainTelemetryModel(target: TelemetryTarget, rows: readonly TelemetryRow[], seed: number): GbtModel {
  if (rows.length < 100) throw new RangeError(`${target.kind}: ${rows.length} training rows; need at least 100 successful, load-matched requests with a benchmark prior`);
  const t = thin(rows, MAX_TRAIN_ROWS);
  return trainGbt(t.map((r) => r.features), t.map((r) => ln(r[target.column])), { ...TELEMETRY_GBT, loss: { kind: 'quantile', alpha: target.alpha }, seed });
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

/** A {@link Trainer} of one telemetry model over the warehouse, for the lifecycle (registry, schedule). */
export function telemetryTrainer(warehouse: Warehouse, target: TelemetryTarget): Trainer<TelemetryRow> {
  return {
    kind: target.kind,
    load: async (fromMs, toMs) => ({ rows: (await loadTelemetryRows(warehouse, fromMs, toMs)).rows, tsOf: (r) => r.tsMs }),
    train: async (rows, seed) => {
      const model = trainTelemetryModel(target, rows, seed);
      return { bytes: exportGbtToOnnx(model), metrics: { trees: model.trees.length, train_rows: Math.min(rows.length, MAX_TRAIN_ROWS) } };
    },
    score: async (bytes, rows) => {
      const scorer = await OnnxScorer.load(bytes);
      try {
        return telemetryMetrics(target, await scorer.predict(rows.map((r) => r.features)), rows);
      } finally {
        await scorer.close();
      }
    },
  };
}

/** Result of {@link evaluateTelemetry} (acceptance C4). */
export interface TelemetryEvaluation {
  heldOutPairs: string[];
  trainRows: number;
  testRows: number;
  /** p50 model: MAPE over (pair, utilisation decile) groups of its median prediction against the true median total, fraction. */
  p50_mape: number;
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
 * per request, and the server's utilisation). The p50 truth of a group of
 * requests (pair × utilisation decile, ≥ 30 requests) is the nearest-rank
 * median of their true totals; the prediction is the median of their p50
 * predictions.
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
  const predict = (alpha: number, r: TelemetryRow): number => Math.exp(predictGbt(models.get(alpha)!, r.features));
  const groups = new Map<string, { pred: number[]; truth: number[] }>();
  for (const r of test) {
    const t = truth.get(r.eventId)!;
    const key = `${r.modelId}|${r.chip}|${Math.min(9, Math.floor(t.util * 10))}`;
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
    groups: big.length,
    p99_coverage: coverage(test.map((r) => predict(0.99, r)), trueTotals),
    p90_coverage: coverage(test.map((r) => predict(0.9, r)), trueTotals),
  };
}
