/**
 * Few-shot latency prediction for a new MLPerf system (issue 5, D1): from the
 * ln latencies of the known systems and k measured models ("shots") of the new
 * one, predict the rest.
 *
 * Fit ({@link fitSystemTransfer}): a low-rank table of the known systems
 * (services/model/low-rank.ts: system effect + model effect + model × round
 * effect + rank-4 interaction), and, over every pair of known systems that
 * share ≥ 3 models, per relationship level (services/model/system-prior.ts)
 * the covariance of their factor differences and quantiles of the spread of
 * their residual differences (an empirical-Bayes prior for how far a relative
 * of that kind strays).
 *
 * Predict ({@link predictSystem}): a Bayesian model average of a generic
 * low-rank component, "twin" components (the new system = a known system
 * + offset + small low-rank deviation) and "analogy" components (a known
 * system on the same chip + the software difference measured on another
 * chip, a difference in differences), weighted by prior mass × likelihood of
 * the shots (services/model/transfer-mixture.ts). For each queried model the
 * mixture gives three numbers: the median exp(E[ln latency]) — the central
 * prediction, which a chooser of the fastest system compares; the point that
 * minimises the expected absolute percentage error (services/model/lognormal-mixture.ts),
 * which is what MAPE scores; and the expected latency.
 *
 * Offsets are identified only within a connected block of the known systems ×
 * models graph, so a model is predicted from the shots in its own block; a
 * model in a block without shots, or measured nowhere, gets the geometric
 * mean of the shots with the mean within-system spread.
 */
import { connectedColumnBlocks } from './additive-fit.ts';
import { fitLowRank, lowRankValue, type LowRankFit } from './low-rank.ts';
import { mixtureLogExpectation, mixtureLogMapePoint, mixtureLogMean, type LogComponent } from './lognormal-mixture.ts';
import type { SystemFeatures } from './mlperf-systems.ts';
import { analogyTriples, differenceVariance, LEVELS, levelVariances, neighbourLevel, similarityMatrix, SPREAD_QUANTILES } from './system-prior.ts';
import { blockMixture } from './transfer-mixture.ts';

/** One measured latency: the fields of a BenchmarkRow the predictor reads. */
export interface LatencyObservation {
  /** System key `${round}/${division}/${submitter}/${system_id}`. */
  system: string;
  model_id: string;
  /** Latency, ms (> 0). */
  latency_ms: number;
}

/** Options of {@link fitSystemTransfer}. */
export interface SystemTransferOptions {
  /** Rank of the system × model interaction. @default 4 */
  rank?: number;
  /** Ridge penalty on the factors, squared-ln-ms units. @default 1 */
  lambda?: number;
  /** ALS sweeps. @default 20 */
  sweeps?: number;
}

/** A fitted predictor over the known systems. */
export interface SystemTransferModel {
  systems: string[];
  models: string[];
  features: SystemFeatures[];
  /** {@link similarityMatrix} of `features`. */
  similarity: Float64Array;
  /** Dense ln ms, systems × models (row-major), NaN where not measured. */
  Y: Float64Array;
  /** Measured model indices per system. */
  measured: number[][];
  /** Rows per model. */
  modelRows: number[];
  /** Round of each system as an index into `rounds` (sorted). */
  roundIndex: number[];
  rounds: string[];
  fit: LowRankFit;
  /** Per relationship level: quantiles of the residual-difference spread of known pairs, (ln ms)². */
  levelResVar: number[][];
  /** Per relationship level: mean outer product of the factor differences of known pairs (r×r). */
  levelFactorCov: number[][][];
  /** Connected block of each model (−1: no rows). */
  modelBlock: Int32Array;
  /** Residual variance with the parameters' degrees of freedom removed, (ln ms)². */
  noiseVariance: number;
  /** Mean within-system variance of ln latency, (ln ms)². */
  unknownModelVariance: number;
  /** Precision class of each model ({@link precisionClassOf}). */
  precisionClass: Int8Array;
  /**
   * Variance of a system's per-precision offset against another known system, (ln ms)²: over pairs of
   * known systems with ≥ 2 common models in each of two precision classes, the median of half the squared
   * difference of their mean ln-latency differences in the two classes.
   */
  precisionVariance: number;
  /**
   * {@link SPREAD_QUANTILES} of the spread of analogy predictions ({@link analogyTriples}) of known
   * systems: over every known T and triple (A, B′, B) with ≥ 3 models common to all four, the variance
   * of ln T − ln A − ln B′ + ln B about its mean, (ln ms)²; empty when no such quadruple exists.
   */
  analogyResVar: number[];
}

/** One prediction of {@link predictSystem}. */
export interface LatencyPrediction {
  model_id: string;
  /** Central prediction exp(E[ln latency]), ms: the number rankings compare. */
  latency_ms: number;
  /** Point minimising the expected absolute percentage error, ms (≤ `latency_ms` when uncertain). */
  mape_point_ms: number;
  /** Expected latency E[latency], ms. */
  expected_ms: number;
  /** Standard deviation of ln latency of the predictive mixture. */
  log_sd: number;
  /**
   * Ranking score, ms: `latency_ms`, times exp(RANK_RISK_Z·√(2·precisionVariance)) when no shot has the query's
   * precision class (the prediction then extrapolates a precision speed-up from the twins); a chooser
   * of the fastest system compares this.
   */
  rank_ms: number;
  /** Rows of this model on known systems. */
  model_rows: number;
  /** Shots in this model's block. */
  shots: number;
}

/**
 * Fit the predictor on the known systems' latencies.
 *
 * @param rows      Measured latencies of the known systems; a repeated (system, model) keeps the first.
 * @param features  Features of every system in `rows`, keyed by system.
 * @param options   See {@link SystemTransferOptions}.
 * @throws {RangeError} on no rows, a system without features, or a latency that is not > 0 ms.
 * @example see test/unit/model/evaluate-mlperf.test.ts
 */
export function fitSystemTransfer(rows: readonly LatencyObservation[], features: ReadonlyMap<string, SystemFeatures>, options: SystemTransferOptions = {}): SystemTransferModel {
  if (rows.length === 0) throw new RangeError('fitSystemTransfer: no rows');
  const systems = [...new Set(rows.map((r) => r.system))].sort();
  const models = [...new Set(rows.map((r) => r.model_id))].sort();
  const si = new Map(systems.map((s, i) => [s, i]));
  const mi = new Map(models.map((m, i) => [m, i]));
  const feats = systems.map((s) => {
    const f = features.get(s);
    if (!f) throw new RangeError(`fitSystemTransfer: no features for system ${JSON.stringify(s)}`);
    return f;
  });
  const S = systems.length;
  const M = models.length;
  const Y = new Float64Array(S * M).fill(Number.NaN);
  const obs = { row: [] as number[], col: [] as number[], y: [] as number[] };
  for (const r of rows) {
    if (!(r.latency_ms > 0)) throw new RangeError(`fitSystemTransfer: latency ${r.latency_ms} of ${JSON.stringify(r.system)} / ${JSON.stringify(r.model_id)} is not > 0 ms`);
    const s = si.get(r.system)!;
    const m = mi.get(r.model_id)!;
    if (!Number.isNaN(Y[s * M + m]!)) continue;
    Y[s * M + m] = Math.log(r.latency_ms);
    obs.row.push(s);
    obs.col.push(m);
    obs.y.push(Y[s * M + m]!);
  }
  const rounds = [...new Set(feats.map((f) => f.round))].sort();
  const roundIndex = feats.map((f) => rounds.indexOf(f.round));
  const fit = fitLowRank({ ...obs, nRows: S, nCols: M }, { rank: options.rank ?? 4, lambda: options.lambda ?? 1, sweeps: options.sweeps ?? 20, rowGroup: roundIndex });
  const measured = Array.from({ length: S }, () => [] as number[]);
  const modelRows = new Array<number>(M).fill(0);
  obs.row.forEach((s, i) => {
    measured[s]!.push(obs.col[i]!);
    modelRows[obs.col[i]!]++;
  });
  const E = new Float64Array(S * M).fill(Number.NaN);
  for (let s = 0; s < S; s++) for (const m of measured[s]!) E[s * M + m] = Y[s * M + m]! - lowRankValue(fit, s, m, roundIndex[s]!);
  const resPairs: { level: number; variance: number }[] = [];
  const r = fit.rank;
  const tauSum = Array.from({ length: LEVELS }, () => Array.from({ length: r }, () => new Array<number>(r).fill(0)));
  const tauN = new Array<number>(LEVELS).fill(0);
  let within = 0;
  let withinN = 0;
  for (let s = 0; s < S; s++) {
    const ys = measured[s]!.map((m) => Y[s * M + m]!);
    if (ys.length > 1) {
      const mu = ys.reduce((a, b) => a + b, 0) / ys.length;
      within += ys.reduce((a, b) => a + (b - mu) ** 2, 0) / (ys.length - 1);
      withinN++;
    }
    for (let t = s + 1; t < S; t++) {
      const v = differenceVariance(E, M, s, measured[s]!, t);
      if (v === undefined) continue;
      const level = neighbourLevel(feats[s]!, feats[t]!);
      resPairs.push({ level, variance: v });
      for (let p = 0; p < r; p++) {
        const dp = fit.U[s * r + p]! - fit.U[t * r + p]!;
        for (let q = 0; q < r; q++) tauSum[level]![p]![q] += dp * (fit.U[s * r + q]! - fit.U[t * r + q]!);
      }
      tauN[level]++;
    }
  }
  const precisionClass = Int8Array.from(models, (m) => precisionClassOf(m));
  const halfSq: number[] = [];
  for (let s = 0; s < S; s++) {
    for (let t = s + 1; t < S; t++) {
      const sum = [0, 0, 0, 0];
      const cnt = [0, 0, 0, 0];
      for (const m of measured[s]!) {
        const yt = Y[t * M + m]!;
        if (Number.isNaN(yt)) continue;
        sum[precisionClass[m]!] += Y[s * M + m]! - yt;
        cnt[precisionClass[m]!]++;
      }
      for (let a = 1; a < 4; a++) for (let b = a + 1; b < 4; b++) if (cnt[a]! >= 2 && cnt[b]! >= 2) halfSq.push((sum[a]! / cnt[a]! - sum[b]! / cnt[b]!) ** 2 / 2);
    }
  }
  halfSq.sort((a, b) => a - b);
  const analogySpread: number[] = [];
  for (let t = 0; t < S; t++) {
    for (const [a, b2, b] of analogyTriples(feats[t]!, feats, t)) {
      const v = analogyVariance(Y, M, t, measured[t]!, a, b2, b);
      if (v !== undefined) analogySpread.push(v);
    }
  }
  analogySpread.sort((a, b) => a - b);
  const n = obs.y.length;
  const params = (r + 1) * (S + M);
  return {
    systems, models, features: feats, similarity: similarityMatrix(feats), Y, measured, modelRows, roundIndex, rounds, fit,
    levelResVar: levelVariances(resPairs),
    levelFactorCov: tauSum.map((C, L) => C.map((row, p) => row.map((x, q) => (tauN[L]! > 0 ? x / tauN[L]! : p === q ? 1 : 0) + (p === q ? 1e-4 : 0)))),
    modelBlock: connectedColumnBlocks(measured, M),
    // The in-sample mean square times n / (n − parameters) (times 2 when parameters exceed n/2).
    noiseVariance: Math.max(fit.residualVariance * (n > 2 * params ? n / (n - params) : 2), 1e-4),
    unknownModelVariance: withinN > 0 ? within / withinN : 1,
    precisionClass,
    precisionVariance: halfSq.length > 0 ? halfSq[Math.floor(halfSq.length / 2)]! : 0,
    analogyResVar: analogySpread.length === 0 ? [] : SPREAD_QUANTILES.map((q) => Math.max(1e-4, analogySpread[Math.min(analogySpread.length - 1, Math.floor(q * analogySpread.length))]!)),
  };
}

/**
 * Spread of an analogy over the models all four systems measured.
 * @returns Sample variance of Y[t] − Y[a] − Y[b2] + Y[b] about its mean, (ln ms)²; undefined with fewer than 3 common models.
 */
function analogyVariance(Y: Float64Array, M: number, t: number, ms: readonly number[], a: number, b2: number, b: number): number | undefined {
  let n = 0;
  let sum = 0;
  let sq = 0;
  for (const m of ms) {
    const d = Y[t * M + m]! - Y[a * M + m]! - Y[b2 * M + m]! + Y[b * M + m]!;
    if (Number.isNaN(d)) continue;
    n++;
    sum += d;
    sq += d * d;
  }
  return n < 3 ? undefined : Math.max(0, sq - (sum * sum) / n) / (n - 1);
}

/**
 * Predict latencies of a target system (not among the model's systems) from its shots.
 *
 * @param tm       Fitted without the target's rows ({@link fitSystemTransfer}).
 * @param target   The target's features.
 * @param shots    Its measured latencies (ms > 0); a repeated model keeps the first.
 * @param queries  Model ids to predict.
 * @returns        One prediction per query, in order.
 * @throws {RangeError} if a shot latency is not > 0 ms.
 */
export function predictSystem(tm: SystemTransferModel, target: SystemFeatures, shots: readonly { model_id: string; latency_ms: number }[], queries: readonly string[]): LatencyPrediction[] {
  for (const s of shots) if (!(s.latency_ms > 0)) throw new RangeError(`predictSystem: shot latency ${s.latency_ms} of ${JSON.stringify(s.model_id)} is not > 0 ms`);
  const g = tm.rounds.indexOf(target.round);
  const index = new Map(tm.models.map((m, i) => [m, i]));
  const allMean = shots.length > 0 ? shots.reduce((a, s) => a + Math.log(s.latency_ms), 0) / shots.length : 0;
  const byBlock = new Map<number, { m: number[]; y: number[] }>();
  for (const s of shots) {
    const m = index.get(s.model_id);
    if (m === undefined) continue;
    const b = byBlock.get(tm.modelBlock[m]!) ?? { m: [], y: [] };
    if (b.m.includes(m)) continue;
    b.m.push(m);
    b.y.push(Math.log(s.latency_ms));
    byBlock.set(tm.modelBlock[m]!, b);
  }
  const mixtures = new Map<number, (m: number) => LogComponent[]>();
  const shotClasses = new Set(shots.map((s) => precisionClassOf(s.model_id)));
  const extrapolationSd = Math.sqrt(2 * tm.precisionVariance);
  return queries.map((q) => {
    const m = index.get(q);
    const block = m === undefined ? -1 : tm.modelBlock[m]!;
    const inBlock = byBlock.get(block);
    let parts: LogComponent[] = [{ w: 1, mu: allMean, v: tm.unknownModelVariance }];
    if (m !== undefined && inBlock) {
      let mix = mixtures.get(block);
      if (!mix) {
        mix = blockMixture(tm, target, g, inBlock.m, inBlock.y);
        mixtures.set(block, mix);
      }
      parts = mix(m);
    }
    const mean = mixtureLogMean(parts);
    const W = parts.reduce((a, c) => a + c.w, 0);
    const variance = parts.reduce((a, c) => a + c.w * (c.v + (c.mu - mean) ** 2), 0) / W;
    const pc = precisionClassOf(q);
    return {
      model_id: q,
      latency_ms: Math.exp(mean),
      rank_ms: Math.exp(mean + (pc !== 0 && !shotClasses.has(pc) ? RANK_RISK_Z * extrapolationSd : 0)),
      mape_point_ms: Math.exp(mixtureLogMapePoint(parts)),
      expected_ms: Math.exp(mixtureLogExpectation(parts)),
      log_sd: Math.sqrt(variance),
      model_rows: m === undefined ? 0 : tm.modelRows[m]!,
      shots: inBlock ? inBlock.m.length : 0,
    };
  });
}

/** Result of {@link predictUnmeasured}. */
export interface UnmeasuredPrediction extends LatencyPrediction {
  /** The target's own rows used as shots. */
  target_rows: number;
  /** True when the target already measured the model (then the numbers are the measurement). */
  measured: boolean;
}

/**
 * Predict model `modelId` on a system, or on a chip, where it was not measured
 * (for the chip recommender). The predictor is fitted on every row that is not
 * the target's; the target's rows are the shots. A chip's rows are those of
 * every system whose chip it is, one geometric mean per model, with the
 * features of its system with the most rows (ties: first key).
 *
 * @param rows      All benchmark rows (BenchmarkRow has these fields, plus `chip`).
 * @param features  Features of every system in `rows`.
 * @param target    `{ system }` (a system key) or `{ chip }` (a normalised chip id).
 * @param modelId   Model to predict.
 * @returns         The prediction with its support: `target_rows` (shots) and `model_rows` (rows of the model elsewhere).
 * @throws {RangeError} if the target has no rows.
 */
export function predictUnmeasured(
  rows: readonly (LatencyObservation & { chip?: string })[], features: ReadonlyMap<string, SystemFeatures>,
  target: { system: string } | { chip: string }, modelId: string, options: SystemTransferOptions = {},
): UnmeasuredPrediction {
  const mine = (r: (typeof rows)[number]): boolean => ('system' in target ? r.system === target.system : r.chip === target.chip);
  const others = rows.filter((r) => !mine(r));
  return predictFromShots(targetShots(rows.filter(mine), features, target), others, modelId, () => fitSystemTransfer(others, features, options));
}

/** A target's rows as shots: one geometric mean per model, and the features of its system with the most rows (ties: first key). */
function targetShots(own: readonly LatencyObservation[], features: ReadonlyMap<string, SystemFeatures>, target: object): { shots: { model_id: string; latency_ms: number }[]; rows: number; features: SystemFeatures } {
  if (own.length === 0) throw new RangeError(`predictUnmeasured: no rows for ${JSON.stringify(target)}`);
  const byModel = new Map<string, number[]>();
  const bySystem = new Map<string, number>();
  for (const r of own) {
    byModel.set(r.model_id, [...(byModel.get(r.model_id) ?? []), Math.log(r.latency_ms)]);
    bySystem.set(r.system, (bySystem.get(r.system) ?? 0) + 1);
  }
  const main = [...bySystem].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0];
  const f = features.get(main);
  if (!f) throw new RangeError(`predictUnmeasured: no features for system ${JSON.stringify(main)}`);
  return { shots: [...byModel].map(([model_id, ys]) => ({ model_id, latency_ms: Math.exp(ys.reduce((a, b) => a + b, 0) / ys.length) })), rows: own.length, features: f };
}

/** The measurement when the target has the model; else the fitted predictor's answer from the target's shots. */
function predictFromShots(target: ReturnType<typeof targetShots>, others: readonly LatencyObservation[], modelId: string, fit: () => SystemTransferModel): UnmeasuredPrediction {
  const { shots } = target;
  const measuredHere = shots.find((s) => s.model_id === modelId);
  const modelRows = others.filter((r) => r.model_id === modelId).length;
  if (measuredHere || others.length === 0) {
    const ms = measuredHere?.latency_ms ?? Math.exp(shots.reduce((a, s) => a + Math.log(s.latency_ms), 0) / shots.length);
    return { model_id: modelId, latency_ms: ms, rank_ms: ms, mape_point_ms: ms, expected_ms: ms, log_sd: 0, model_rows: modelRows, shots: shots.length, target_rows: target.rows, measured: measuredHere !== undefined };
  }
  const [p] = predictSystem(fit(), target.features, shots, [modelId]);
  return { ...p!, target_rows: target.rows, measured: false };
}

/**
 * Predictions for many (chip, model) pairs from one fit (the chip recommender asks for every chip
 * nobody measured a model on): the predictor is fitted once on all rows, lazily at the first
 * question, and a chip's rows are its shots as in {@link predictUnmeasured}. A chip's own rows are
 * in that fit, unlike predictUnmeasured's; the model queried has none there, so nothing of the answer
 * is seen twice.
 * @returns `(chip, modelId)` → the prediction, or null when the chip has no rows or no other chip has a
 *          row of the model (then there is nothing to transfer).
 */
export function chipPredictor(
  rows: readonly (LatencyObservation & { chip: string })[], features: ReadonlyMap<string, SystemFeatures>, options: SystemTransferOptions = {},
): (chip: string, modelId: string) => UnmeasuredPrediction | null {
  let tm: SystemTransferModel | undefined;
  const fit = (): SystemTransferModel => (tm ??= fitSystemTransfer(rows, features, options));
  return (chip, modelId) => {
    const own = rows.filter((r) => r.chip === chip);
    const others = rows.filter((r) => r.chip !== chip);
    if (own.length === 0 || !others.some((r) => r.model_id === modelId)) return null;
    return predictFromShots(targetShots(own, features, { chip }), others, modelId, fit);
  };
}

/** z of the risk adjustment of {@link LatencyPrediction.rank_ms}: one standard deviation of the extrapolated precision factor (its 84th percentile). z = 0.5 gave the same within10 over 20 draws of the shots but a worst-draw regret of 2.49 (1.28 with z = 1). */
export const RANK_RISK_Z = 1;

/**
 * Numeric precision named in a model id (MLPerf open-division model-zoo variants).
 * @returns 1 uint8 (asymmetric, per-tensor), 2 float (`float`, `fp32`, `fp16`, `non-quantized`),
 *          3 int8 or `quantized`; 0 when the id names none (closed-division benchmarks).
 */
export function precisionClassOf(model: string): number {
  if (/non-quantized|float|fp32|fp16/.test(model)) return 2;
  if (/uint8/.test(model)) return 1;
  if (/int8|quantized/.test(model)) return 3;
  return 0;
}
