/**
 * What known MLPerf systems say about a new one before its latencies are
 * seen: feature similarity, relationship levels, an empirical-Bayes prior for
 * its low-rank parameters, and the spread of "twin" profiles per level.
 * Used by services/model/system-transfer.ts.
 *
 * - **Similarity** of two systems: the number of {@link SIMILARITY_FEATURES}
 *   they share, plus the cosine overlap of their system-id tokens
 *   (`odroid-armnn-v22.05-neon` and `odroid-armnn-v22.11-neon` share
 *   `odroid`, `armnn`, `neon`), so a resubmission in a later round is close.
 * - **Level** of a pair ({@link neighbourLevel}): same chip and software
 *   stack; same chip and framework; same stack on the same instruction set
 *   and chip kind; same chip with another framework; other. Each level has
 *   its own empirical spread, so the data say how close each kind of relative is.
 * - **Prior of parameters** (Nadaraya–Watson, 1964): the new system's
 *   parameters are a similarity-weighted mean of its peers', weights
 *   exp(β·similarity); β is chosen by leave-one-out over the peers (each
 *   peer predicted from the others), and the prior covariance is the
 *   covariance of those leave-one-out errors — an honest spread, not the
 *   in-sample one.
 * - **Twin spread per level**: for every pair of known systems measuring ≥ 3
 *   common models, the variance of their differences (here: of the low-rank
 *   table's residuals) about the mean difference; {@link levelVariances}
 *   returns quantiles of it per level (an empirical scale mixture for the
 *   twin likelihood: most relatives are close, a few are far).
 */
import type { SystemFeatures } from './mlperf-systems.ts';

/** Categorical features compared by {@link systemSimilarity}. */
export const SIMILARITY_FEATURES = [
  'chip', 'stack', 'framework', 'chipKind', 'vendor', 'hostChip', 'isa', 'submitter', 'division', 'round', 'computeKind', 'systemType', 'accelerators',
] as const satisfies readonly (keyof SystemFeatures)[];

/** β values (per shared feature) the leave-one-out of {@link nadarayaWatsonPrior} chooses from; 0 is the plain peer mean. */
export const BANDWIDTH_GRID = [0, 0.5, 1, 2, 4] as const;

/** Quantile levels of the twin spread per level, mid-points of 5 equal bins. */
export const SPREAD_QUANTILES = [0.1, 0.3, 0.5, 0.7, 0.9] as const;

/** Lower-case tokens of a system id of ≥ 2 characters that are not plain numbers. */
export function idTokens(systemId: string): Set<string> {
  return new Set(systemId.toLowerCase().split(/[^a-z0-9]+/).filter((t) => t.length > 1 && !/^\d+$/.test(t)));
}

const tokenCache = new WeakMap<SystemFeatures, Set<string>>();

/** Id tokens of a system (cached per features object). */
function tokensOf(f: SystemFeatures): Set<string> {
  let t = tokenCache.get(f);
  if (!t) {
    t = idTokens(f.system.slice(f.system.lastIndexOf('/') + 1));
    tokenCache.set(f, t);
  }
  return t;
}

const similarityCache = new WeakMap<SystemFeatures, WeakMap<SystemFeatures, number>>();

/**
 * Similarity of two systems (memoised per pair of feature objects, which are never mutated).
 * @returns Number of shared {@link SIMILARITY_FEATURES} plus the cosine overlap of their id tokens, 0…14.
 */
export function systemSimilarity(a: SystemFeatures, b: SystemFeatures): number {
  let row = similarityCache.get(a);
  const hit = row?.get(b);
  if (hit !== undefined) return hit;
  let s = 0;
  for (const f of SIMILARITY_FEATURES) if (a[f] === b[f]) s++;
  const ta = tokensOf(a);
  const tb = tokensOf(b);
  let common = 0;
  for (const t of ta) if (tb.has(t)) common++;
  s += ta.size && tb.size ? common / Math.sqrt(ta.size * tb.size) : 0;
  if (!row) {
    row = new WeakMap();
    similarityCache.set(a, row);
  }
  row.set(b, s);
  return s;
}

/**
 * Similarities of every pair of systems.
 * @returns Row-major n×n {@link systemSimilarity} values.
 */
export function similarityMatrix(fs: readonly SystemFeatures[]): Float64Array {
  const n = fs.length;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = systemSimilarity(fs[i]!, fs[j]!);
      out[i * n + j] = v;
      out[j * n + i] = v;
    }
  }
  return out;
}

/** Number of levels of {@link neighbourLevel}. */
export const LEVELS = 5;

/**
 * Relationship level of two systems.
 * @returns 4 same chip and stack; 3 same chip and framework family (another backend);
 *          2 another chip with the same stack, instruction set and chip kind;
 *          1 same chip with another framework; 0 otherwise.
 */
export function neighbourLevel(a: SystemFeatures, b: SystemFeatures): number {
  if (a.chip === b.chip) return a.stack === b.stack ? 4 : a.framework === b.framework ? 3 : 1;
  return a.stack === b.stack && a.isa === b.isa && a.chipKind === b.chipKind ? 2 : 0;
}

/** A Gaussian prior: mean and covariance. */
export interface GaussianPrior {
  mean: number[];
  cov: number[][];
  /** The β chosen by leave-one-out. */
  beta: number;
}

/**
 * Similarity-weighted prior of a new system's parameter vector from its peers'.
 *
 * @param sim     Similarity of the new system to each peer ({@link systemSimilarity}).
 * @param theta   Parameter vector of each peer (all of one length d).
 * @param peerSim Similarity between peers i and j.
 * @returns       Mean Σ w θ / Σ w with w = exp(β·sim), β from {@link BANDWIDTH_GRID}
 *                minimising the leave-one-out squared error; covariance of the
 *                leave-one-out errors (for fewer than 3 peers: of the peers about their mean).
 * @throws {RangeError} on no peers or a length mismatch.
 */
export function nadarayaWatsonPrior(sim: readonly number[], theta: readonly (readonly number[])[], peerSim: (i: number, j: number) => number): GaussianPrior {
  const n = theta.length;
  if (n === 0 || sim.length !== n) throw new RangeError(`nadarayaWatsonPrior: ${n} peers for ${sim.length} similarities`);
  const d = theta[0]!.length;
  const weighted = (w: (j: number) => number, skip: number): number[] => {
    const m = new Array<number>(d).fill(0);
    let W = 0;
    for (let j = 0; j < n; j++) {
      if (j === skip) continue;
      const wj = w(j);
      W += wj;
      for (let p = 0; p < d; p++) m[p] += wj * theta[j]![p]!;
    }
    return m.map((v) => v / W);
  };
  let beta: number = BANDWIDTH_GRID[0];
  let cov: number[][] | undefined;
  if (n >= 3) {
    const S = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => peerSim(i, j)));
    let bestErr = Infinity;
    for (const b of BANDWIDTH_GRID) {
      const c = Array.from({ length: d }, () => new Array<number>(d).fill(0));
      let err = 0;
      for (let i = 0; i < n; i++) {
        const top = Math.max(...S[i]!.filter((_, j) => j !== i));
        const m = weighted((j) => Math.exp(b * (S[i]![j]! - top)), i);
        const e = theta[i]!.map((v, p) => v - m[p]!);
        for (let p = 0; p < d; p++) {
          err += p > 0 ? e[p]! * e[p]! : 0;
          for (let q = 0; q < d; q++) c[p]![q] += (e[p]! * e[q]!) / n;
        }
      }
      if (err < bestErr - 1e-12) {
        bestErr = err;
        beta = b;
        cov = c;
      }
    }
  }
  const top = Math.max(...sim);
  const mean = weighted((j) => Math.exp(beta * (sim[j]! - top)), -1);
  if (!cov) {
    cov = Array.from({ length: d }, (_, p) => Array.from({ length: d }, (_, q) => theta.reduce((s, t) => s + (t[p]! - mean[p]!) * (t[q]! - mean[q]!), 0) / n));
  }
  return { mean, cov, beta };
}

/**
 * Quantiles of the twin spread per level from pairs of known systems.
 *
 * @param pairs  Per pair: its level and the variance of its log-latency
 *               differences about their mean (over ≥ 3 common models), (ln ms)².
 * @param floor  Smallest variance returned, (ln ms)². @default 1e-4
 * @returns      For each level 0…{@link LEVELS}−1, the {@link SPREAD_QUANTILES}
 *               of its pairs' variances; a level without pairs borrows the next lower level's (level 0: 1).
 */
export function levelVariances(pairs: readonly { level: number; variance: number }[], floor = 1e-4): number[][] {
  const by: number[][] = Array.from({ length: LEVELS }, () => []);
  for (const p of pairs) by[p.level]!.push(p.variance);
  const out: number[][] = [];
  for (let L = 0; L < LEVELS; L++) {
    const v = by[L]!.sort((a, b) => a - b);
    out.push(v.length === 0
      ? (L === 0 ? SPREAD_QUANTILES.map(() => 1) : [...out[L - 1]!])
      : SPREAD_QUANTILES.map((q) => Math.max(floor, v[Math.min(v.length - 1, Math.floor(q * v.length))]!)));
  }
  return out;
}

/**
 * Spread of two rows' differences over their common columns.
 *
 * @param X   Dense row-major table (ln ms), NaN where missing, M columns.
 * @param M   Number of columns.
 * @param s   First row; `ms` lists its non-missing columns.
 * @param ms  Columns to compare (those of row s).
 * @param t   Second row.
 * @returns   Sample variance of X[s,m] − X[t,m] about its mean over the common columns, (ln ms)²; undefined with fewer than 3.
 */
export function differenceVariance(X: Float64Array, M: number, s: number, ms: readonly number[], t: number): number | undefined {
  let n = 0;
  let sum = 0;
  let sq = 0;
  for (const m of ms) {
    const xt = X[t * M + m]!;
    if (Number.isNaN(xt)) continue;
    const d = X[s * M + m]! - xt;
    n++;
    sum += d;
    sq += d * d;
  }
  return n < 3 ? undefined : Math.max(0, sq - (sum * sum) / n) / (n - 1);
}

/** Software of a system for {@link analogyTriples}: submitter, stack and round (one submitter's stack in one round is one software version). */
export function softwareKey(f: SystemFeatures): string {
  return `${f.submitter}|${f.stack}|${f.round}`;
}

/**
 * Analogy triples of a system T: (A, B′, B) with A on T's chip under other
 * software, B′ T's software ({@link softwareKey}) on another chip, and B on
 * B′'s chip under A's software. Then ln T ≈ ln A + (ln B′ − ln B) + c: the
 * software change measured on another chip is carried to T's chip (a
 * difference in differences). Rounds cancel: A and B share one, T and B′ another.
 *
 * @param target  T's features.
 * @param feats   Features of the known systems (indices are returned).
 * @param skip    Index of `feats` never used (T itself when it is known), or −1.
 * @returns       Index triples [A, B′, B], in index order.
 */
export function analogyTriples(target: SystemFeatures, feats: readonly SystemFeatures[], skip = -1): [number, number, number][] {
  const sw = softwareKey(target);
  const byChipSw = new Map<string, number[]>();
  feats.forEach((f, i) => {
    if (i === skip) return;
    const key = `${f.chip}#${softwareKey(f)}`;
    const list = byChipSw.get(key);
    if (list) list.push(i);
    else byChipSw.set(key, [i]);
  });
  // B′: the target's software on other chips (found once, not once per A).
  const others = feats.map((f, j) => j).filter((j) => j !== skip && feats[j]!.chip !== target.chip && softwareKey(feats[j]!) === sw);
  const out: [number, number, number][] = [];
  feats.forEach((a, i) => {
    if (i === skip || a.chip !== target.chip || softwareKey(a) === sw) return;
    for (const j of others) for (const k of byChipSw.get(`${feats[j]!.chip}#${softwareKey(a)}`) ?? []) out.push([i, j, k]);
  });
  return out;
}
