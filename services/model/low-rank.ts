/**
 * Low-rank completion of an incomplete systems × models table of log latencies:
 *
 *   y[s][m] ≈ a[s] + b[m] + d[m, g(s)] + Σ_k U[s][k]·V[m][k]
 *
 * a system effect, a model effect, an optional model × group effect (in the
 * MLPerf predictor the group is the round, because a benchmark can change
 * between rounds under one name: MLPerf's 3d-unet went from BraTS to KiTS19
 * in v2.0), and a rank-r system × model interaction. Fitted by alternating
 * ridge least squares (ALS: Zhou et al. 2008, "Large-scale parallel
 * collaborative filtering for the Netflix prize"; effects as in Koren, Bell &
 * Volinsky 2009, "Matrix factorization techniques for recommender systems").
 * Each half-step solves, for every system (then every model), a small ridge
 * problem for (effect, factors) given the other side: minimise
 * Σ (y − rest − effect − U·V)² + λ‖factors‖², with a tiny penalty on the
 * effect only to keep it unique; the group effects are ridge means of the
 * remaining residual with penalty `groupLambda`.
 *
 * Deterministic: the model factors start from a fixed seeded stream, never
 * from the data order or an evaluation seed.
 */
import { createRng } from '../simulator/prng.ts';
import { fitAdditive, type TableObservations } from './additive-fit.ts';

/** Options of {@link fitLowRank}. */
export interface LowRankOptions {
  /** Rank r of the interaction. @default 4 */
  rank?: number;
  /** Ridge penalty λ on the factors, in units of squared log error per observation. @default 1 */
  lambda?: number;
  /** ALS sweeps (system half-step, model half-step, group step). @default 20 */
  sweeps?: number;
  /** Group of each row (system), e.g. its round index; omitted: no model × group effect. */
  rowGroup?: ArrayLike<number>;
  /** Ridge penalty on the model × group effects (pseudo-observations at 0). @default 1 */
  groupLambda?: number;
}

/** A fitted low-rank table. */
export interface LowRankFit {
  rank: number;
  /** System effects a (nRows). */
  a: Float64Array;
  /** Model effects b (nCols). */
  b: Float64Array;
  /** Model × group effects, key `col * nGroups + group`; empty without groups. */
  d: Float64Array;
  nGroups: number;
  /** System factors, row-major nRows × rank. */
  U: Float64Array;
  /** Model factors, row-major nCols × rank (0 for a model without observations). */
  V: Float64Array;
  rowSeen: Uint8Array;
  colSeen: Uint8Array;
  /** Mean squared residual over the observations, (ln ms)². */
  residualVariance: number;
}

/** Tiny ridge on the effects, (ln ms)²: only keeps them unique. */
const EFFECT_PENALTY = 1e-6;

/** Solve the small SPD system A x = b in place by Cholesky (A is d×d row-major); returns x in b. */
function cholSolve(A: Float64Array, b: Float64Array, d: number): void {
  for (let j = 0; j < d; j++) {
    let s = A[j * d + j]!;
    for (let k = 0; k < j; k++) s -= A[j * d + k]! ** 2;
    const l = Math.sqrt(Math.max(s, 1e-300));
    A[j * d + j] = l;
    for (let i = j + 1; i < d; i++) {
      let t = A[i * d + j]!;
      for (let k = 0; k < j; k++) t -= A[i * d + k]! * A[j * d + k]!;
      A[i * d + j] = t / l;
    }
  }
  for (let i = 0; i < d; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= A[i * d + k]! * b[k]!;
    b[i] = s / A[i * d + i]!;
  }
  for (let i = d - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let k = i + 1; k < d; k++) s -= A[k * d + i]! * b[k]!;
    b[i] = s / A[i * d + i]!;
  }
}

/**
 * One ALS half-step: for each owner (system or model) with observations, solve for
 * (effect, factors) against the other side's factors `other` and the targets.
 */
function halfStep(
  owners: readonly (readonly number[])[], partner: ArrayLike<number>, target: Float64Array,
  other: Float64Array, effect: Float64Array, own: Float64Array, r: number, lambda: number,
): void {
  const d = r + 1;
  const A = new Float64Array(d * d);
  const rhs = new Float64Array(d);
  const x = new Float64Array(d);
  owners.forEach((obs, o) => {
    if (obs.length === 0) return;
    A.fill(0);
    rhs.fill(0);
    for (const i of obs) {
      const p = partner[i]!;
      x[0] = 1;
      for (let k = 0; k < r; k++) x[k + 1] = other[p * r + k]!;
      const t = target[i]!;
      for (let u = 0; u < d; u++) {
        rhs[u] += x[u]! * t;
        for (let v = 0; v <= u; v++) A[u * d + v] += x[u]! * x[v]!;
      }
    }
    for (let u = 0; u < d; u++) {
      A[u * d + u] += u === 0 ? EFFECT_PENALTY : lambda;
      for (let v = u + 1; v < d; v++) A[u * d + v] = A[v * d + u]!;
    }
    cholSolve(A, rhs, d);
    effect[o] = rhs[0]!;
    for (let k = 0; k < r; k++) own[o * r + k] = rhs[k + 1]!;
  });
}

/**
 * Fit the low-rank table by ALS, starting from the additive least-squares fit.
 *
 * @param t        Observations (rows = systems, columns = models, y in ln ms).
 * @param options  See {@link LowRankOptions}.
 * @returns        Effects and factors.
 * @throws {RangeError} from {@link fitAdditive} on bad observations, or if
 *                 `rowGroup` is shorter than `nRows`.
 * @example see test/unit/model/evaluate-mlperf.test.ts
 */
export function fitLowRank(t: TableObservations, options: LowRankOptions = {}): LowRankFit {
  const r = options.rank ?? 4;
  const lambda = options.lambda ?? 1;
  const sweeps = options.sweeps ?? 20;
  const groupLambda = options.groupLambda ?? 1;
  const groups = options.rowGroup;
  if (groups && groups.length < t.nRows) throw new RangeError(`fitLowRank: rowGroup has ${groups.length} entries for ${t.nRows} rows`);
  let nGroups = 0;
  if (groups) for (let s = 0; s < t.nRows; s++) nGroups = Math.max(nGroups, groups[s]! + 1);
  const add = fitAdditive(t);
  const { a, b } = add;
  const n = t.y.length;
  // Typed copies: the sweeps below index them millions of times.
  const rowOf = Int32Array.from(t.row);
  const colOf = Int32Array.from(t.col);
  const y = Float64Array.from(t.y);
  const U = new Float64Array(t.nRows * r);
  const V = new Float64Array(t.nCols * r);
  const D = new Float64Array(groups ? t.nCols * nGroups : 0);
  const rng = createRng(0x5eed, 'low-rank-init');
  for (let j = 0; j < V.length; j++) V[j] = 0.1 * rng.normal();
  // A model without observations keeps zero factors (its draw is still consumed, so the others do not move).
  for (let m = 0; m < t.nCols; m++) if (!add.colSeen[m]) V.fill(0, m * r, (m + 1) * r);
  const byRow: number[][] = Array.from({ length: t.nRows }, () => []);
  const byCol: number[][] = Array.from({ length: t.nCols }, () => []);
  const cell = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    byRow[rowOf[i]!]!.push(i);
    byCol[colOf[i]!]!.push(i);
    cell[i] = groups ? colOf[i]! * nGroups + groups[rowOf[i]!]! : -1;
  }
  const inter = (i: number): number => {
    const s = rowOf[i]!;
    const m = colOf[i]!;
    let v = 0;
    for (let k = 0; k < r; k++) v += U[s * r + k]! * V[m * r + k]!;
    return v;
  };
  const target = new Float64Array(n);
  const cellSum = new Float64Array(D.length);
  const cellN = new Float64Array(D.length);
  for (let sweep = 0; sweep < sweeps; sweep++) {
    for (let i = 0; i < n; i++) target[i] = y[i]! - b[colOf[i]!]! - (cell[i]! >= 0 ? D[cell[i]!]! : 0);
    halfStep(byRow, colOf, target, V, a, U, r, lambda);
    for (let i = 0; i < n; i++) target[i] = y[i]! - a[rowOf[i]!]! - (cell[i]! >= 0 ? D[cell[i]!]! : 0);
    halfStep(byCol, rowOf, target, U, b, V, r, lambda);
    if (groups) {
      cellSum.fill(0);
      cellN.fill(0);
      for (let i = 0; i < n; i++) {
        cellSum[cell[i]!] += y[i]! - a[rowOf[i]!]! - b[colOf[i]!]! - inter(i);
        cellN[cell[i]!] += 1;
      }
      for (let c = 0; c < D.length; c++) D[c] = cellSum[c]! / (cellN[c]! + groupLambda);
    }
  }
  let rss = 0;
  for (let i = 0; i < n; i++) {
    const e = y[i]! - a[rowOf[i]!]! - b[colOf[i]!]! - (cell[i]! >= 0 ? D[cell[i]!]! : 0) - inter(i);
    rss += e * e;
  }
  return { rank: r, a, b, d: D, nGroups, U, V, rowSeen: add.rowSeen, colSeen: add.colSeen, residualVariance: n > 0 ? rss / n : 0 };
}

/**
 * Model × group effect of model m in group g (0 when there are no groups or g is unknown).
 * @returns ln ms.
 */
export function groupEffect(f: LowRankFit, m: number, g: number): number {
  return f.nGroups > 0 && g >= 0 && g < f.nGroups ? f.d[m * f.nGroups + g]! : 0;
}

/**
 * Fitted value of cell (s, m) for a system of group g.
 * @returns a[s] + b[m] + d[m, g] + U[s]·V[m], ln ms.
 */
export function lowRankValue(f: LowRankFit, s: number, m: number, g = -1): number {
  let v = f.a[s]! + f.b[m]! + groupEffect(f, m, g);
  for (let k = 0; k < f.rank; k++) v += f.U[s * f.rank + k]! * f.V[m * f.rank + k]!;
  return v;
}
