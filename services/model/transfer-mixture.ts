/**
 * The predictive mixture of services/model/system-transfer.ts for one block
 * of models: given a target system's shots in that block, the components
 * that describe its ln latencies and their posterior weights.
 *
 * - **Twin components**, one per known system s that measured every shot
 *   model and per quantile v of its relationship level's residual spread:
 *   y_target = y_s (moved to the target's round) + c + V·Δu + ε, with the
 *   offset c flat, the factor deviation Δu ~ N(0, τ²_L I) and ε ~ N(0, v).
 *   τ²_L and the v quantiles are the level's empirical factor and residual
 *   spreads over known pairs. Weight: prior mass × restricted likelihood of
 *   the shots; prediction: posterior mean of c and Δu.
 * - **Generic component**: the low-rank row (effect, U) of the target with a
 *   Gaussian prior — mean from the twins' posterior weights (else the
 *   similarity-weighted peer mean) and covariance from the leave-one-out
 *   spread of the peers (services/model/system-prior.ts) — updated by the
 *   shots; noise is the table's degrees-of-freedom-corrected residual variance.
 *
 * Prior mass: 1/(1 + levels present) for the generic component and for each
 * level that has candidates, shared equally by a level's candidates and
 * quantiles.
 */
import { groupEffect } from './low-rank.ts';
import { solve } from './linalg.ts';
import { restrictedLogLikelihood, type LogComponent } from './lognormal-mixture.ts';
import type { SystemFeatures } from './mlperf-systems.ts';
import { LEVELS, nadarayaWatsonPrior, neighbourLevel, systemSimilarity } from './system-prior.ts';
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
function fitTwin(d: readonly number[], VJ: readonly number[][], v: number, tau2: number): { c: number; du: number[]; duCov: number[][]; logLik: number } {
  const k = d.length;
  const r = VJ[0]?.length ?? 0;
  const cov = VJ.map((a, i) => VJ.map((b, j) => (i === j ? v : 0) + tau2 * dot(a, b)));
  const mean = (xs: readonly number[]): number => xs.reduce((x, y) => x + y, 0) / xs.length;
  // Centring removes the flat offset; then a ridge regression of the centred differences on the centred factors.
  const cv = VJ.map((row) => row.map((x, q) => x - mean(VJ.map((rr) => rr[q]!))));
  const dm = mean(d);
  const A = Array.from({ length: r }, (_, p) => Array.from({ length: r }, (_, q) => cv.reduce((z, row) => z + row[p]! * row[q]!, 0) / v + (p === q ? 1 / tau2 : 0)));
  const rhs = Array.from({ length: r }, (_, p) => cv.reduce((z, row, j) => z + row[p]! * (d[j]! - dm), 0) / v);
  const du = r > 0 ? solve(A, rhs) : [];
  const c = mean(d.map((x, j) => x - dot(VJ[j]!, du)));
  return { c, du, duCov: r > 0 ? inverse(A) : [], logLik: k > 1 ? restrictedLogLikelihood(d, cov) : 0 };
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
  const cov = X.map((xa, i) => X.map((xb, j) => {
    let s = i === j ? s2 : 0;
    for (let p = 1; p < d; p++) for (let q = 1; q < d; q++) s += xa[p]! * prior.cov[p]![q]! * xb[q]!;
    return s;
  }));
  return { post: solve(A, rhs), postCov: inverse(A), logLik: restrictedLogLikelihood(e, cov) };
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
  const present = 1 + perLevel.filter((n) => n > 0).length;
  const twins: Twin[] = [];
  const logW: number[] = [];
  candidates.forEach((s, i) => {
    const L = levelOf[i]!;
    const d = shotM.map((m, j) => shotY[j]! - twinValue(tm, s, m, g));
    const qs = tm.levelResVar[L]!;
    for (const v of qs) {
      const f = fitTwin(d, VJ, v, tm.levelTau2[L]!);
      twins.push({ s, c: f.c, v: v * (1 + 1 / k), du: f.du, duCov: f.duCov });
      logW.push(Math.log(1 / present / perLevel[L]! / qs.length) + f.logLik);
    }
  });
  const twinWeight = new Map<number, number>();
  const topT = Math.max(...logW);
  twins.forEach((t, j) => twinWeight.set(t.s, (twinWeight.get(t.s) ?? 0) + Math.exp(logW[j]! - topT)));
  const gen = fitGeneric(tm, target, g, shotM, shotY, twinWeight);
  const allW = [Math.log(1 / present) + gen.logLik, ...logW];
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
    return parts;
  };
}
