/**
 * Few-shot transfer of a latency predictor to a new device (issue 4 build
 * item 4): from k measured models on the new device and the latencies of
 * every model on the known devices, predict the new device's latency of the
 * rest. All latencies here are natural logs of ms.
 *
 * The predictor averages (in log space) two estimates:
 *
 * 1. **Nearest device** — the known device whose log latency correlates best
 *    (Pearson) with the target over the k shots, and a least-squares line
 *    from it to the target. This is also the C2 baseline.
 * 2. **Device embedding with an empirical-Bayes prior** — the known devices'
 *    centred log-latency columns are decomposed into principal components
 *    (eigenvectors of their covariance); every device, the target included,
 *    is a point in that component space (its loadings). The known devices'
 *    loadings give a Gaussian prior (per-component mean and variance) for the
 *    target's loadings; the k shots update it (posterior mean of a Bayesian
 *    linear regression with a free intercept). The noise variance is chosen
 *    by leave-one-out over the shots. This is HELP's idea (a device is
 *    described by its latencies on reference models) with a closed-form
 *    posterior instead of meta-learned network weights.
 *
 * Why the average: over the 24 NAS-Bench-201 devices with k = 20 (seeds 1–3,
 * `edgelat model evaluate --shots 20`), either estimate alone loses to the
 * nearest-device line by up to 0.08 in ±10 % accuracy on some device, because
 * 20 shots leave each one's intercept noisy in a different way; their mean
 * was never worse than the baseline by more than 0.03 and better at the median
 * (numbers in services/model/README.md).
 */
import { ridge, predictLinear, symmetricEigen } from './linalg.ts';
import { median, pearson } from './metrics.ts';

/** Robust standard deviations (1.4826 × median absolute residual) past which a shot is set aside ({@link screenShots}). */
export const SHOT_OUTLIER_SDS = 6;
/** Smallest residual, ln ms, at which a shot is set aside: a factor of 4 off the line, whatever the spread. */
export const SHOT_OUTLIER_MIN_LOG = Math.log(4);

/**
 * Shots that no known device explains, to set aside before the fit: an architecture whose cell computes next to
 * nothing is timed at 0.005–0.06 ms on raspi4 and pixel3 where CPUs and GPUs take 4–16 ms of overhead (HELP's
 * NAS-Bench-201 architecture 5802), and with only the CPUs known such a shot drags the least-squares line and the
 * embedding's posterior (a trial: raspi4 from the four Xeons with it among 20 shots came out at 0.56× the truth, acc10
 * 0.065). Where a known device times it alike (pixel3 for raspi4), it is explained and kept (a re-test: set aside
 * against the one best-fitting device, it cost raspi4 0.21 of acc10 at k = 4).
 *
 * Per known device, two lines of the shots' log latency on the device's: Theil–Sen's (slope: median of the pairwise
 * slopes; intercept: median of y − slope·x; Sen 1968) and the median ratio (slope 1, intercept the median of y − x),
 * each with its limit, max({@link SHOT_OUTLIER_SDS} robust sds (1.4826 × the median absolute residual),
 * {@link SHOT_OUTLIER_MIN_LOG}); a shot beyond the limit of every line of every known device is an outlier. Nothing is set aside when more than a quarter of the shots would be, or fewer than 3 would remain (then the
 * shots disagree, not one of them).
 * @param known    Log latencies of every row on the known devices.
 * @param shotRows Row indices measured on the new device.
 * @param shotLog  Their log latencies.
 * @returns        Indices into the shots (ascending) to set aside; empty when none.
 */
export function screenShots(known: KnownDevices, shotRows: readonly number[], shotLog: readonly number[]): number[] {
  const k = shotRows.length;
  const explained = new Array<boolean>(k).fill(false);
  for (const col of known.columns) {
    const x = shotRows.map((i) => col[i]!);
    const slopes: number[] = [];
    for (let a = 0; a < k; a++) for (let b = a + 1; b < k; b++) if (x[b] !== x[a]) slopes.push((shotLog[b]! - shotLog[a]!) / (x[b]! - x[a]!));
    // A device that times every shot alike explains none of them apart: its line is no line.
    if (slopes.length === 0) continue;
    // Two lines per device: Theil–Sen's, and the median ratio (slope 1), which does not extrapolate a slope's error
    // over the 7 ln-units between such a shot and the rest (raspi4's 0.0115 ms explains pixel3's 0.0049 ms by ratio).
    for (const slope of [median(slopes), 1]) {
      const intercept = median(shotLog.map((y, j) => y - slope * x[j]!));
      const residuals = shotLog.map((y, j) => y - intercept - slope * x[j]!);
      const limit = Math.max(SHOT_OUTLIER_SDS * 1.4826 * median(residuals.map(Math.abs)), SHOT_OUTLIER_MIN_LOG);
      residuals.forEach((r, j) => { if (Math.abs(r) <= limit) explained[j] = true; });
    }
  }
  const out = explained.flatMap((e, j) => (e ? [] : [j]));
  return out.length <= Math.floor(k / 4) && k - out.length >= 3 ? out : [];
}

/** Noise variances (log ms)² the embedding's leave-one-out chooses from. */
export const NOISE_VARIANCE_GRID = [0.003, 0.01, 0.03, 0.1] as const;

/** A fitted few-shot predictor over the rows of the known matrix. */
export interface FewShotModel {
  /** Predicted log latency of row i (an index into the known devices' columns). */
  predictLog(i: number): number;
  /** The nearest-device estimate alone (the C2 baseline). */
  baselineLog(i: number): number;
  /** Name of the known device the baseline regressed on. */
  nearestDevice: string;
  /** Noise variance the embedding's leave-one-out chose. */
  noiseVariance: number;
  /** Indices of the shots set aside as outliers ({@link screenShots}), ascending; empty when none. */
  setAside: number[];
}

/** Known devices' log latencies: names and columns (all the same length n, finite). */
export interface KnownDevices {
  names: readonly string[];
  columns: readonly Float64Array[];
}

interface Embedding {
  /** Component scores of row i (length m). */
  scores(i: number): Float64Array;
  priorMean: Float64Array;
  priorVar: Float64Array;
}

/**
 * Principal components of the known devices' centred log-latency columns and
 * the empirical prior of a device's loadings.
 */
function embed(known: KnownDevices): Embedding {
  const m = known.columns.length;
  const n = known.columns[0]!.length;
  const means = known.columns.map((c) => c.reduce((s, v) => s + v, 0) / n);
  const S = Array.from({ length: m }, () => new Array<number>(m).fill(0));
  const x = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < m; a++) x[a] = known.columns[a]![i]! - means[a]!;
    for (let a = 0; a < m; a++) for (let b = a; b < m; b++) S[a]![b] += x[a]! * x[b]!;
  }
  for (let a = 0; a < m; a++) for (let b = 0; b < a; b++) S[a]![b] = S[b]![a]!;
  const { vectors } = symmetricEigen(S);
  // Device a's loading on component j is vectors[j][a] (V is orthonormal: column a = Σ_j T_j V[a][j]).
  const priorMean = new Float64Array(m);
  const priorVar = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    for (let a = 0; a < m; a++) priorMean[j] += vectors[j]![a]! / m;
    for (let a = 0; a < m; a++) priorVar[j] += (vectors[j]![a]! - priorMean[j]!) ** 2 / Math.max(1, m - 1);
    priorVar[j] = Math.max(priorVar[j]!, 1e-9);
  }
  const cache = new Map<number, Float64Array>();
  return {
    priorMean,
    priorVar,
    scores(i) {
      let s = cache.get(i);
      if (s) return s;
      s = new Float64Array(m);
      for (let j = 0; j < m; j++) {
        let t = 0;
        for (let a = 0; a < m; a++) t += vectors[j]![a]! * (known.columns[a]![i]! - means[a]!);
        s[j] = t;
      }
      cache.set(i, s);
      return s;
    },
  };
}

/** Posterior mean of intercept + loadings given shots, prior N(mean, var) per loading, noise variance σ². */
function fitEmbedding(e: Embedding, rows: readonly number[], y: readonly number[], noiseVariance: number): (i: number) => number {
  const lambda = Array.from(e.priorVar, (v) => noiseVariance / v);
  const m = ridge(rows.map((i) => e.scores(i)), [...y], lambda, Array.from(e.priorMean));
  return (i) => predictLinear(m, e.scores(i));
}

function nearest(known: KnownDevices, rows: readonly number[], y: readonly number[]): { name: string; predict: (i: number) => number } {
  let best = 0;
  let bestR = -Infinity;
  known.columns.forEach((c, a) => {
    const r = pearson(rows.map((i) => c[i]!), y);
    if (r > bestR) {
      bestR = r;
      best = a;
    }
  });
  const col = known.columns[best]!;
  const m = ridge(rows.map((i) => [col[i]!]), [...y], 0);
  return { name: known.names[best]!, predict: (i) => m.intercept + m.weights[0]! * col[i]! };
}

/**
 * Fit the few-shot predictor for one new device.
 *
 * @param known   Log latencies of every row on the known devices (≥ 2 devices, no NaN).
 * @param shotRows Row indices measured on the new device (k ≥ 3, distinct).
 * @param shotLog  Their log latencies on the new device.
 * @returns        The predictor (log ms) and its diagnostics.
 * @throws {RangeError} on fewer than 3 shots, fewer than 2 known devices, or a length mismatch.
 */
export function fitFewShot(known: KnownDevices, shotRows: readonly number[], shotLog: readonly number[]): FewShotModel {
  if (shotRows.length < 3) throw new RangeError(`few-shot: need at least 3 measured models on the new device, got ${shotRows.length}`);
  if (shotRows.length !== shotLog.length) throw new RangeError(`few-shot: ${shotRows.length} shot rows for ${shotLog.length} latencies`);
  if (known.columns.length < 2) throw new RangeError(`few-shot: need at least 2 known devices, got ${known.columns.length}`);
  const setAside = screenShots(known, shotRows, shotLog);
  const keep = (_: number, j: number): boolean => !setAside.includes(j);
  return { ...fitScreened(known, shotRows.filter(keep), shotLog.filter(keep)), setAside };
}

/** {@link fitFewShot} on shots already screened: the nearest-device line and the embedding, averaged in log space. */
function fitScreened(known: KnownDevices, shotRows: readonly number[], shotLog: readonly number[]): Omit<FewShotModel, 'setAside'> {
  const near = nearest(known, shotRows, shotLog);
  const e = embed(known);
  let noiseVariance: number = NOISE_VARIANCE_GRID[0];
  let bestErr = Infinity;
  for (const s2 of NOISE_VARIANCE_GRID) {
    let err = 0;
    for (let h = 0; h < shotRows.length; h++) {
      const rows = shotRows.filter((_, j) => j !== h);
      const y = shotLog.filter((_, j) => j !== h);
      err += (fitEmbedding(e, rows, y, s2)(shotRows[h]!) - shotLog[h]!) ** 2;
    }
    if (err < bestErr) {
      bestErr = err;
      noiseVariance = s2;
    }
  }
  const emb = fitEmbedding(e, shotRows, shotLog, noiseVariance);
  return {
    predictLog: (i) => (near.predict(i) + emb(i)) / 2,
    baselineLog: near.predict,
    nearestDevice: near.name,
    noiseVariance,
  };
}
