/**
 * Leave-one-system-out evaluation of the few-shot MLPerf latency predictor
 * (issue 5, acceptance D1; `edgelat model evaluate --format mlperf`).
 *
 * Protocol:
 * - Rows: SingleStream p90 latencies from services/model/import-mlperf.ts; a
 *   system is (round, division, submitter, system_id).
 * - Every system with more than `shots` distinct models is held out in turn:
 *   its rows, sorted by model id, are shuffled with the seeded stream
 *   `mlperf-shots:<system>` (services/simulator/prng.ts); the first `shots`
 *   are seen, the rest are its test rows. Every other system's rows are
 *   training data; the held-out system's test rows are never read by a fit.
 * - edgelat: services/model/system-transfer.ts fitted on the training rows,
 *   then given the shots. Its MAPE and ±10 % accuracy score the
 *   MAPE-optimal point (`mape_point_ms`); its pick of the fastest system
 *   compares the central prediction (`latency_ms`).
 * - Baseline: ln latency = system effect + model effect, least squares
 *   (services/model/additive-fit.ts) on the training rows plus the shots, so
 *   the held-out system's effect is set by its shots; a model no other
 *   system measured gets the geometric mean of the shots.
 * - `mape` and `acc10` pool all test rows of all systems (each row counts
 *   once, so systems with more test rows weigh more); per system they are
 *   over its own test rows.
 * - Ranking: for each model that is a test row of ≥ 3 scored systems, the
 *   system predicted fastest among them is picked. `top1_agreement` = share
 *   of those models where the pick is the measured fastest; `top1_within10`
 *   = share where its measured latency ≤ 1.10 × the fastest; `mean_regret`
 *   = mean of its measured latency / the fastest.
 * - Draws: the k shots are a random draw, and with ~5 comparisons of similar
 *   CPU systems deciding ~100 model-zoo variants one draw can move
 *   `top1_within10` by ±0.08. `draws` > 1 repeats the whole evaluation with
 *   seeds seed, seed+1, …, reusing each held-out system's fit (the fit never
 *   sees the held-out system, so it does not depend on the draw), and reports
 *   every draw and their mean, min and max.
 */
import { MAX_DRAWS } from './draws.ts';
import { fitAdditive } from './additive-fit.ts';
import type { ImportProblem, NamedText } from './help.ts';
import { parseMlperf, type BenchmarkRow } from './import-mlperf.ts';
import { mape, withinTolerance } from './metrics.ts';
import { parseMlperfSystems, type SystemFeatures } from './mlperf-systems.ts';
import { fitSystemTransfer, predictSystem, type SystemTransferModel } from './system-transfer.ts';
import { createRng, shuffleInPlace } from '../simulator/prng.ts';
import { nearestNames } from '../names.ts';

/** Ranking metrics (fractions; `mean_regret` is a ratio ≥ 1; NaN when no model is ranked). */
export interface RankingMetrics {
  top1_agreement: number;
  top1_within10: number;
  mean_regret: number;
  models_ranked: number;
}

/** The report of {@link evaluateMlperf}; all accuracies are fractions. */
export interface MlperfEvaluation {
  systems: { system: string; n_test: number; mape: number; acc10: number }[];
  mape: number;
  acc10: number;
  /**
   * Calibration of the predictions' log-sd: the share of test rows whose |ln(measured / central prediction)| is within
   * 1 and 2 of their log-sd (a normal predictive distribution would give 0.683 and 0.954).
   */
  sd_coverage: { within_1sd: number; within_2sd: number };
  top1_agreement: number;
  top1_within10: number;
  mean_regret: number;
  models_ranked: number;
  baseline: { mape: number; acc10: number; top1_agreement: number; top1_within10: number; mean_regret: number };
  /** With `draws` > 1: one summary per draw of the shots (the first is the report above). */
  draws?: DrawSummary[];
  /** With `draws` > 1: mean, min and max over `draws` of every {@link DrawSummary} metric. */
  over_draws?: { mean: DrawMetrics; min: DrawMetrics; max: DrawMetrics };
}

/** The headline metrics of one draw of the shots (fractions; regret a ratio ≥ 1; `mape_ratio` = edgelat MAPE / baseline MAPE). */
export interface DrawMetrics {
  mape: number;
  acc10: number;
  top1_agreement: number;
  top1_within10: number;
  mean_regret: number;
  baseline_mape: number;
  baseline_top1_within10: number;
  baseline_mean_regret: number;
  mape_ratio: number;
}

/** {@link DrawMetrics} of the draw with this seed. */
export interface DrawSummary extends DrawMetrics {
  seed: number;
}

/** One scored test row: predicted and measured latency (ms) of a model on a system. */
export interface ScoredRow {
  system: string;
  model_id: string;
  predicted_ms: number;
  measured_ms: number;
}

/** Fewest scored systems a model needs to be ranked. */
export const MIN_RANKED_SYSTEMS = 3;

/**
 * Ranking metrics over scored rows.
 *
 * @param rows  Test rows with the prediction to rank by (one row per system and model).
 * @returns     For each model with ≥ {@link MIN_RANKED_SYSTEMS} rows, the row with the
 *              smallest prediction is the pick (ties: first in `rows` order); see the module doc.
 * @example see test/unit/model/evaluate-mlperf.test.ts
 */
export function rankingMetrics(rows: readonly ScoredRow[]): RankingMetrics {
  const byModel = new Map<string, ScoredRow[]>();
  for (const r of rows) {
    const list = byModel.get(r.model_id);
    if (list) list.push(r);
    else byModel.set(r.model_id, [r]);
  }
  let n = 0;
  let agree = 0;
  let within = 0;
  let regret = 0;
  for (const rs of byModel.values()) {
    if (rs.length < MIN_RANKED_SYSTEMS) continue;
    n++;
    const best = Math.min(...rs.map((r) => r.measured_ms));
    const pick = rs.reduce((a, b) => (b.predicted_ms < a.predicted_ms ? b : a));
    if (pick.measured_ms === best) agree++;
    if (pick.measured_ms <= 1.1 * best * (1 + 1e-12)) within++;
    regret += pick.measured_ms / best;
  }
  return n === 0
    ? { top1_agreement: Number.NaN, top1_within10: Number.NaN, mean_regret: Number.NaN, models_ranked: 0 }
    : { top1_agreement: agree / n, top1_within10: within / n, mean_regret: regret / n, models_ranked: n };
}

/**
 * Baseline prediction for a held-out system: two-way additive least squares in ln ms.
 *
 * @param train   Training rows (other systems).
 * @param system  The held-out system key.
 * @param shots   Its seen rows.
 * @param models  Models to predict.
 * @returns       Predicted latency per model, ms: exp(system effect + model effect), or the
 *                geometric mean of the shots for a model no training row measured.
 */
export function additiveBaseline(train: readonly BenchmarkRow[], system: string, shots: readonly BenchmarkRow[], models: readonly string[]): number[] {
  const rows = [...train, ...shots];
  const systems = [...new Set([system, ...rows.map((r) => r.system)])];
  const modelIds = [...new Set([...rows.map((r) => r.model_id), ...models])];
  const si = new Map(systems.map((s, i) => [s, i]));
  const mi = new Map(modelIds.map((m, i) => [m, i]));
  const fit = fitAdditive({
    row: rows.map((r) => si.get(r.system)!), col: rows.map((r) => mi.get(r.model_id)!),
    y: rows.map((r) => Math.log(r.latency_ms)), nRows: systems.length, nCols: modelIds.length,
  });
  const trained = new Set(train.map((r) => r.model_id));
  const shotMean = shots.reduce((a, r) => a + Math.log(r.latency_ms), 0) / Math.max(shots.length, 1);
  const h = si.get(system)!;
  return models.map((m) => Math.exp(trained.has(m) ? fit.a[h]! + fit.b[mi.get(m)!]! : shotMean));
}

/** The predictions for one held-out system ({@link holdOut}). */
export interface HeldOut {
  /** Its seen rows. */
  shots: BenchmarkRow[];
  /** Its test rows with edgelat's central prediction (`predicted_ms`, used for ranking). */
  edgelat: ScoredRow[];
  /** edgelat's MAPE-optimal points, aligned with `edgelat` (used for MAPE and acc10), ms. */
  point_ms: number[];
  /** The baseline's predictions of the same rows. */
  baseline: ScoredRow[];
  /** Per test row, |ln(measured / central prediction)| over the prediction's log-sd (`LatencyPrediction.log_sd`); Infinity where that sd is 0. */
  z: number[];
}

/**
 * Hold one system out: draw its shots and predict its other rows with edgelat and the baseline.
 *
 * @param rows      All benchmark rows.
 * @param features  System features ({@link parseMlperfSystems}).
 * @param system    The held-out system key (must have rows).
 * @param seed      Seed of the shot draw.
 * @param shots     Rows seen, k ≥ 1 (the system needs more than k rows).
 * @param fitted    The transfer model fitted on every other system's rows, to reuse across
 *                  draws (@default fitted here).
 * @returns         Shots, and test rows with both predictions. Only the shots of the held-out
 *                  system are read: its test rows' latencies never reach a fit.
 * @throws {RangeError} if the system has no more than `shots` rows.
 */
export function holdOut(rows: readonly BenchmarkRow[], features: ReadonlyMap<string, SystemFeatures>, system: string, seed: number, shots: number, fitted?: SystemTransferModel): HeldOut {
  const own = rows.filter((r) => r.system === system).sort((a, b) => (a.model_id < b.model_id ? -1 : a.model_id > b.model_id ? 1 : 0));
  if (own.length <= shots) throw new RangeError(`holdOut: system ${JSON.stringify(system)} has ${own.length} row(s), needs more than ${shots}`);
  const order = shuffleInPlace(own.map((_, i) => i), createRng(seed, `mlperf-shots:${system}`));
  const seen = order.slice(0, shots).map((i) => own[i]!);
  const test = order.slice(shots).map((i) => own[i]!);
  const queries = test.map((r) => r.model_id);
  const train = rows.filter((r) => r.system !== system);
  const pred = predictSystem(fitted ?? fitSystemTransfer(train, features), features.get(system)!, seen, queries);
  const basePred = additiveBaseline(train, system, seen, queries);
  const scored = (p: (i: number) => number): ScoredRow[] => test.map((r, i) => ({ system, model_id: r.model_id, predicted_ms: p(i), measured_ms: r.latency_ms }));
  const z = test.map((r, i) => Math.abs(Math.log(r.latency_ms / pred[i]!.latency_ms)) / pred[i]!.log_sd);
  return { shots: seen, edgelat: scored((i) => pred[i]!.rank_ms), point_ms: pred.map((p) => p.mape_point_ms), baseline: scored((i) => basePred[i]!), z };
}

/** Scored rows of one draw, accumulated over the held-out systems. */
interface DrawRows {
  ours: ScoredRow[];
  point: number[];
  base: ScoredRow[];
  z: number[];
  perSystem: MlperfEvaluation['systems'];
}

/** The report of one draw (no `draws` fields). */
function drawReport(d: DrawRows): MlperfEvaluation {
  const truth = d.ours.map((r) => r.measured_ms);
  const baseRank = rankingMetrics(d.base);
  return {
    systems: d.perSystem,
    mape: mape(d.point, truth),
    acc10: withinTolerance(d.point, truth),
    sd_coverage: { within_1sd: d.z.filter((z) => z <= 1).length / d.z.length, within_2sd: d.z.filter((z) => z <= 2).length / d.z.length },
    ...rankingMetrics(d.ours),
    baseline: {
      mape: mape(d.base.map((r) => r.predicted_ms), truth),
      acc10: withinTolerance(d.base.map((r) => r.predicted_ms), truth),
      top1_agreement: baseRank.top1_agreement,
      top1_within10: baseRank.top1_within10,
      mean_regret: baseRank.mean_regret,
    },
  };
}

/** The headline metrics of a one-draw report. */
function drawMetrics(r: MlperfEvaluation): DrawMetrics {
  return {
    mape: r.mape, acc10: r.acc10, top1_agreement: r.top1_agreement, top1_within10: r.top1_within10, mean_regret: r.mean_regret,
    baseline_mape: r.baseline.mape, baseline_top1_within10: r.baseline.top1_within10, baseline_mean_regret: r.baseline.mean_regret,
    mape_ratio: r.mape / r.baseline.mape,
  };
}

/** Mean, min and max of each metric over the draws (non-empty). */
function summarise(draws: readonly DrawMetrics[]): { mean: DrawMetrics; min: DrawMetrics; max: DrawMetrics } {
  const keys = Object.keys(draws[0]!) as (keyof DrawMetrics)[];
  const fold = (f: (xs: number[]) => number): DrawMetrics =>
    Object.fromEntries(keys.map((k) => [k, f(draws.map((d) => d[k]))])) as unknown as DrawMetrics;
  return {
    mean: fold((xs) => xs.reduce((a, b) => a + b, 0) / xs.length),
    min: fold((xs) => Math.min(...xs)),
    max: fold((xs) => Math.max(...xs)),
  };
}

export { MAX_DRAWS };

/**
 * Run the leave-one-system-out evaluation.
 *
 * @param runs     `runs_vX.Y.csv` files.
 * @param systems  `systems_vX.Y.csv` files.
 * @param options  `seed` of the shot draw (any safe integer); `shots` seen per held-out
 *                 system (integer ≥ 1, @default 3); `draws` of the shots (integer 1..
 *                 {@link MAX_DRAWS}, @default 1; draw i uses seed + i); `system` to hold out
 *                 only that one (ranking needs ≥ 3 scored systems, so its ranking fields are
 *                 then NaN and `models_ranked` 0); `onProgress(done, total)` after each
 *                 held-out system; `onProblems(problems)` with the input lines skipped (file:line, field).
 * @returns        Per-system and pooled accuracy, ranking metrics and the baseline's for the
 *                 draw with `seed`; with `draws` > 1 also every draw and their mean/min/max.
 * @throws {RangeError} on bad `shots` or `draws`; an unknown `system` (the message names it);
 *                 a `system` with ≤ `shots` results (not scored); no scored system.
 * @example see scratch/mlperf/run.ts and test/unit/model/evaluate-mlperf.test.ts
 */
export function evaluateMlperf(
  runs: NamedText[], systems: NamedText[],
  options: { seed: number; shots?: number; draws?: number; system?: string; onProgress?: (done: number, total: number) => void; onProblems?: (problems: readonly ImportProblem[]) => void },
): MlperfEvaluation {
  const k = options.shots ?? 3;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`--shots: expected an integer ≥ 1, got ${JSON.stringify(options.shots)}`);
  const nDraws = options.draws ?? 1;
  if (!Number.isInteger(nDraws) || nDraws < 1 || nDraws > MAX_DRAWS) throw new RangeError(`--draws: expected an integer 1..${MAX_DRAWS}, got ${JSON.stringify(options.draws)}`);
  if (!Number.isSafeInteger(options.seed + nDraws)) throw new RangeError(`--seed: expected a safe integer, got ${JSON.stringify(options.seed)}`);
  const parsed = parseMlperf(runs, systems);
  if (parsed.problems.length > 0) options.onProblems?.(parsed.problems);
  const rows = parsed.benchmark;
  const features = parseMlperfSystems(systems);
  const count = new Map<string, number>();
  for (const r of rows) count.set(r.system, (count.get(r.system) ?? 0) + 1);
  const scored = [...count.keys()].sort().filter((s) => count.get(s)! > k);
  let targets = scored;
  if (options.system !== undefined) {
    const n = count.get(options.system);
    if (n === undefined) throw new RangeError(`--system: unknown system ${JSON.stringify(options.system)}; it has no SingleStream result in the runs files${count.size ? `; nearest with results (version/division/submitter/system_id): ${nearestNames(options.system, [...count.keys()].sort(), 5)}` : ''}`);
    if (n <= k) throw new RangeError(`--system: system ${JSON.stringify(options.system)} is not scored: it has ${n} result(s), and a scored system needs more than shots = ${k}`);
    targets = [options.system];
  }
  if (targets.length === 0) throw new RangeError(`evaluate: no system has more than ${k} results to score`);
  const draws: DrawRows[] = Array.from({ length: nDraws }, () => ({ ours: [], point: [], base: [], z: [], perSystem: [] }));
  targets.forEach((system, done) => {
    const fitted = fitSystemTransfer(rows.filter((r) => r.system !== system), features);
    draws.forEach((d, i) => {
      const h = holdOut(rows, features, system, options.seed + i, k, fitted);
      d.ours.push(...h.edgelat);
      d.point.push(...h.point_ms);
      d.base.push(...h.baseline);
      d.z.push(...h.z);
      const truth = h.edgelat.map((r) => r.measured_ms);
      d.perSystem.push({ system, n_test: truth.length, mape: mape(h.point_ms, truth), acc10: withinTolerance(h.point_ms, truth) });
    });
    options.onProgress?.(done + 1, targets.length);
  });
  const reports = draws.map(drawReport);
  const first = reports[0]!;
  if (nDraws === 1) return first;
  const metrics = reports.map(drawMetrics);
  return { ...first, draws: metrics.map((m, i) => ({ seed: options.seed + i, ...m })), over_draws: summarise(metrics) };
}
