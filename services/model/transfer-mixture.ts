/**
 * The predictive mixture of services/model/system-transfer.ts for one block
 * of models: given a target system's shots in that block, the components
 * that describe its ln latencies and their posterior weights.
 *
 * - **Twin components**, one per known system s that measured every shot
 *   model and per quantile v of its relationship level's residual spread:
 *   y_target = y_s (moved to the target's round) + c + V·Δu + ε, with the
 *   offset c flat, the factor deviation Δu ~ N(0, Σ_L) and ε ~ N(0, v).
 *   Σ_L (mean outer product of the factor differences) and the v quantiles
 *   (of the residual-difference spread) are the level's empirical values over
 *   known pairs. Weight: prior mass × restricted likelihood of the shots;
 *   prediction: posterior mean of c and Δu, variance v(1 + 1/k) + V·Cov(Δu)·V.
 * - **Analogy components**, one per triple (A, B′, B) of
 *   services/model/system-prior.ts `analogyTriples` (A on the target's chip
 *   with other software, B′ the target's software on another chip, B that
 *   chip with A's software) that measured every shot model, and per quantile
 *   v of the known quadruples' spread: y_target = y_A + y_B′ − y_B + c + ε,
 *   c flat, ε ~ N(0, v). A software change (a framework, or a framework
 *   version, whose speed-up differs by model and precision) seen on other
 *   chips is carried to the target even when no shot shows it.
 * - **Generic component**: the low-rank row (effect, U) of the target with a
 *   Gaussian prior — mean from the twins' posterior weights (else the
 *   similarity-weighted peer mean) and covariance from the leave-one-out
 *   spread of the peers (services/model/system-prior.ts) — updated by the
 *   shots; noise is the table's degrees-of-freedom-corrected residual variance.
 *
 * Prior mass: 1/(1 + groups present) for the generic component and for each
 * group that has candidates (a twin level, or the analogies), shared equally
 * by a group's candidates and quantiles.
 */
import { groupEffect } from './low-rank.ts';
import { solve } from './linalg.ts';
import { lowRankRestrictedLogLikelihood, type LogComponent } from './lognormal-mixture.ts';
import type { SystemFeatures } from './mlperf-systems.ts';
import { analogyTriples, LEVELS, nadarayaWatsonPrior, neighbourLevel, systemSimilarity } from './system-prior.ts';
import type { SystemTransferModel } from './system-transfer.ts';

/** Prior variance of a new system's effect, (ln ms)²: effectively flat (its shots decide it). */
export const EFFECT_PRIOR_VARIANCE = 1e4;

const unit = (d: number, p: number): number[] => Array.from({ length: d }, (_, q) => (p === q ? 1 : 0));
const inverse = (A: number[][]): number[][] => A.map((_, p) => solve(A, unit(A.length, p)));
const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/** Lower Cholesky factor of a symmetric positive semi-definite matrix (a tiny jitter keeps it defined). */
function cholesky(S: readonly (readonly number[])[]): number[][] {
  const n = S.length;
  const L = S.map(() => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = S[i]![j]! + (i === j ? 1e-9 : 0);
      for (let p = 0; p < j; p++) s -= L[i]![p]! * L[j]![p]!;
      L[i]![j] = i === j ? Math.sqrt(Math.max(s, 0)) : L[j]![j]! > 0 ? s / L[j]![j]! : 0;
    }
  }
  return L;
}

/** Known system s's ln latency of model m moved to round g: Y − d[m, round(s)] + d[m, g]. */
export function twinValue(tm: SystemTransferModel, s: number, m: number, g: number): number {
  return tm.Y[s * tm.models.length + m]! - groupEffect(tm.fit, m, tm.roundIndex[s]!) + groupEffect(tm.fit, m, g);
}

/** A twin component's fitted deviation from its twin. */
interface Twin {
  s: number;
  c: number;
  v: number;
  du: number[];
  duCov: number[][];
}

/** Posterior of (c, Δu) for one twin and one residual variance v, and its restricted log-likelihood. */
function fitTwin(d: readonly number[], VJ: readonly number[][], v: number, factorPrecision: readonly (readonly number[])[], factorRoot: readonly (readonly number[])[]): { c: number; du: number[]; duCov: number[][]; logLik: number } {
  const k = d.length;
  const r = VJ[0]?.length ?? 0;
  const mean = (xs: readonly number[]): number => xs.reduce((x, y) => x + y, 0) / xs.length;
  // Centring removes the flat offset; then a ridge regression of the centred differences on the centred factors.
  const colMean = Array.from({ length: r }, (_, q) => mean(VJ.map((row) => row[q]!)));
  const cv = VJ.map((row) => row.map((x, q) => x - colMean[q]!));
  const dm = mean(d);
  const A = Array.from({ length: r }, (_, p) => Array.from({ length: r }, (_, q) => cv.reduce((z, row) => z + row[p]! * row[q]!, 0) / v + factorPrecision[p]![q]!));
  const rhs = Array.from({ length: r }, (_, p) => cv.reduce((z, row, j) => z + row[p]! * (d[j]! - dm), 0) / v);
  const du = r > 0 ? solve(A, rhs) : [];
  const c = mean(d.map((x, j) => x - dot(VJ[j]!, du)));
  const logLik = lowRankRestrictedLogLikelihood(d, v, VJ.map((row) => factorRoot.map((_, q) => row.reduce((z, x, p) => z + x * factorRoot[p]![q]!, 0))));
  return { c, du, duCov: r > 0 ? inverse(A) : [], logLik: k > 1 ? logLik : 0 };
}

/** Posterior of the generic component and its restricted log-likelihood of the shots. */
function fitGeneric(tm: SystemTransferModel, target: SystemFeatures, g: number, shotM: readonly number[], shotY: readonly number[], twinWeight: ReadonlyMap<number, number>): { post: number[]; postCov: number[][]; logLik: number } {
  const { fit } = tm;
  const r = fit.rank;
  const d = r + 1;
  const M = tm.models.length;
  const theta = (s: number): number[] => [fit.a[s]!, ...fit.U.subarray(s * r, (s + 1) * r)];
  let peers = tm.systems.map((_, s) => s).filter((s) => shotM.every((m) => !Number.isNaN(tm.Y[s * M + m]!)));
  if (peers.length < 3) peers = tm.systems.map((_, s) => s);
  const prior = nadarayaWatsonPrior(
    peers.map((s) => systemSimilarity(target, tm.features[s]!)),
    peers.map(theta),
    (i, j) => tm.similarity[peers[i]! * tm.systems.length + peers[j]!]!,
  );
  if (twinWeight.size > 0) {
    let W = 0;
    const mean = new Array<number>(d).fill(0);
    for (const [s, w] of twinWeight) {
      W += w;
      theta(s).forEach((x, p) => { mean[p] += w * x; });
    }
    prior.mean = mean.map((x) => x / W);
  }
  const C = prior.cov.map((row, p) => row.map((x, q) => x + (p === q ? (p === 0 ? EFFECT_PRIOR_VARIANCE : 1e-3) : 0)));
  const s2 = tm.noiseVariance;
  const X = shotM.map((m) => [1, ...fit.V.subarray(m * r, (m + 1) * r)]);
  const t = shotM.map((m, j) => shotY[j]! - fit.b[m]! - groupEffect(fit, m, g));
  const Cinv = inverse(C);
  const A = Cinv.map((row) => [...row]);
  const rhs = Cinv.map((row) => dot(row, prior.mean));
  X.forEach((x, j) => {
    for (let p = 0; p < d; p++) {
      rhs[p] += (x[p]! * t[j]!) / s2;
      for (let q = 0; q < d; q++) A[p]![q] += (x[p]! * x[q]!) / s2;
    }
  });
  const e = X.map((x, j) => t[j]! - dot(x, prior.mean));
  // Shots' covariance s2·I + X_u C_u X_uᵀ = s2·I + W Wᵀ with W = X_u·chol(C_u).
  const Lc = cholesky(prior.cov.slice(1).map((row) => row.slice(1)));
  const W = X.map((x) => Lc.map((_, q) => x.slice(1).reduce((z, xp, p) => z + xp * (Lc[p]![q] ?? 0), 0)));
  return { post: solve(A, rhs), postCov: inverse(A), logLik: lowRankRestrictedLogLikelihood(e, s2, W) };
}

/**
 * The predictive mixture of one block given the target's shots in it.
 *
 * @param tm      Fitted model.
 * @param target  Target features.
 * @param g       Target's round index in `tm.rounds` (−1 when new).
 * @param shotM   Model indices of the shots (≥ 1, one block, distinct).
 * @param shotY   Their ln latencies.
 * @returns       For a model index of the block: its components in ln ms.
 */
export function blockMixture(tm: SystemTransferModel, target: SystemFeatures, g: number, shotM: readonly number[], shotY: readonly number[]): (m: number) => LogComponent[] {
  const M = tm.models.length;
  const { fit } = tm;
  const r = fit.rank;
  const k = shotM.length;
  const VJ = shotM.map((m) => [...fit.V.subarray(m * r, (m + 1) * r)]);
  const candidates = tm.systems.map((_, s) => s).filter((s) => shotM.every((m) => !Number.isNaN(tm.Y[s * M + m]!)));
  const perLevel = new Array<number>(LEVELS).fill(0);
  const levelOf = candidates.map((s) => neighbourLevel(target, tm.features[s]!));
  for (const L of levelOf) perLevel[L]++;
  const analogies = tm.analogyResVar.length === 0 ? [] : analogyTriples(target, tm.features)
    .filter((tri) => tri.every((s) => shotM.every((m) => !Number.isNaN(tm.Y[s * M + m]!))));
  const present = 1 + perLevel.filter((n) => n > 0).length + (analogies.length > 0 ? 1 : 0);
  const twins: Twin[] = [];
  const logW: number[] = [];
  const precision = tm.levelFactorCov.map((C) => (r > 0 ? inverse(C.map((row) => [...row])) : []));
  const root = tm.levelFactorCov.map((C) => cholesky(C));
  candidates.forEach((s, i) => {
    const L = levelOf[i]!;
    const d = shotM.map((m, j) => shotY[j]! - twinValue(tm, s, m, g));
    const qs = tm.levelResVar[L]!;
    for (const v of qs) {
      const f = fitTwin(d, VJ, v, precision[L]!, root[L]!);
      twins.push({ s, c: f.c, v: v * (1 + 1 / k), du: f.du, duCov: f.duCov });
      logW.push(Math.log(1 / present / perLevel[L]! / qs.length) + f.logLik);
    }
  });
  const twinWeight = new Map<number, number>();
  const topT = Math.max(...logW);
  twins.forEach((t, j) => twinWeight.set(t.s, (twinWeight.get(t.s) ?? 0) + Math.exp(logW[j]! - topT)));
  const gen = fitGeneric(tm, target, g, shotM, shotY, twinWeight);
  const analogyValue = ([a, b2, b]: readonly number[], m: number): number => tm.Y[a! * M + m]! + tm.Y[b2! * M + m]! - tm.Y[b! * M + m]!;
  const analogs: { tri: [number, number, number]; c: number; v: number }[] = [];
  const analogLogW: number[] = [];
  for (const tri of analogies) {
    const d = shotM.map((m, j) => shotY[j]! - analogyValue(tri, m));
    const c = d.reduce((x, y) => x + y, 0) / k;
    for (const v of tm.analogyResVar) {
      analogs.push({ tri, c, v: v * (1 + 1 / k) });
      analogLogW.push(Math.log(1 / present / analogies.length / tm.analogyResVar.length) + lowRankRestrictedLogLikelihood(d.map((x) => x - c), v, d.map(() => [])));
    }
  }
  const allW = [Math.log(1 / present) + gen.logLik, ...logW, ...analogLogW];
  const top = Math.max(...allW);
  const w = allW.map((l) => Math.exp(l - top));
  return (m) => {
    const x = fit.V.subarray(m * r, (m + 1) * r);
    const xg = [1, ...x];
    let mu = fit.b[m]! + groupEffect(fit, m, g) + dot(gen.post, xg);
    let v = tm.noiseVariance;
    for (let p = 0; p <= r; p++) for (let q = 0; q <= r; q++) v += xg[p]! * gen.postCov[p]![q]! * xg[q]!;
    const parts: LogComponent[] = [{ w: w[0]!, mu, v }];
    twins.forEach((t, j) => {
      if (!(w[j + 1]! > 0) || Number.isNaN(tm.Y[t.s * M + m]!)) return;
      mu = twinValue(tm, t.s, m, g) + t.c + dot(x, t.du);
      v = t.v;
      for (let p = 0; p < r; p++) for (let q = 0; q < r; q++) v += x[p]! * t.duCov[p]![q]! * x[q]!;
      parts.push({ w: w[j + 1]!, mu, v });
    });
    analogs.forEach((an, j) => {
      const wj = w[1 + twins.length + j]!;
      const value = analogyValue(an.tri, m);
      if (!(wj > 0) || Number.isNaN(value)) return;
      parts.push({ w: wj, mu: value + an.c, v: an.v });
    });
    return parts;
  };
}
