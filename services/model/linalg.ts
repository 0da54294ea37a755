/**
 * Small dense linear algebra for the latency model's linear parts: ridge /
 * least squares through the normal equations, and the eigen-decomposition of
 * a symmetric matrix (cyclic Jacobi). Matrices are arrays of rows; sizes here
 * are tens of columns, so O(p³) is nothing.
 */

/**
 * Solve A·x = b by Gaussian elimination with partial pivoting (A is p×p; it is copied).
 * @throws {RangeError} on a size mismatch or a singular matrix (zero pivot).
 */
export function solve(A: readonly (readonly number[])[], b: readonly number[]): number[] {
  const p = b.length;
  if (A.length !== p || A.some((r) => r.length !== p)) throw new RangeError(`solve: A is not ${p}×${p}`);
  const M = A.map((r, i) => [...r, b[i]!]);
  for (let c = 0; c < p; c++) {
    let piv = c;
    for (let r = c + 1; r < p; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[piv]![c]!)) piv = r;
    if (M[piv]![c] === 0) throw new RangeError(`solve: singular matrix (column ${c})`);
    [M[c], M[piv]] = [M[piv]!, M[c]!];
    const row = M[c]!;
    for (let r = c + 1; r < p; r++) {
      const f = M[r]![c]! / row[c]!;
      if (f === 0) continue;
      const target = M[r]!;
      for (let k = c; k <= p; k++) target[k] = target[k]! - f * row[k]!;
    }
  }
  const x = new Array<number>(p).fill(0);
  for (let c = p - 1; c >= 0; c--) {
    let s = M[c]![p]!;
    for (let k = c + 1; k < p; k++) s -= M[c]![k]! * x[k]!;
    x[c] = s / M[c]![c]!;
  }
  return x;
}

/** A fitted linear model ŷ = intercept + Σ weights[j]·x[j]. */
export interface LinearModel {
  intercept: number;
  weights: number[];
}

/**
 * Ridge regression with an unpenalised intercept: minimise
 * Σ (y − a − w·x)² + Σ_j λ_j (w_j − prior_j)²  (λ = 0 is ordinary least
 * squares; a prior mean shrinks towards it instead of 0 — the posterior mean
 * under a Gaussian prior w_j ~ N(prior_j, σ²/λ_j)).
 *
 * Numerics: the columns and y are centred (which fits the intercept exactly)
 * and the columns scaled to unit root mean square; the penalised problem is
 * then solved as an augmented least-squares problem by Householder QR, never
 * through the normal equations (NIST StRD Norris, Longley and Wampler1 agree
 * with their certified coefficients; test/unit/model/linalg-metrics.test.ts).
 * A column that is a linear combination of earlier ones (one-hot groups sum to
 * the intercept) gets weight 0; predictions do not depend on which one.
 *
 * @param X       n rows of p features.
 * @param y       n targets.
 * @param lambda  Penalty per weight (a number applies to every weight). @default 0
 * @param prior   Prior means of the weights. @default zeros
 * @throws {RangeError} on no rows, ragged rows or non-finite values.
 */
export function ridge(X: readonly ArrayLike<number>[], y: readonly number[], lambda: number | readonly number[] = 0, prior?: readonly number[]): LinearModel {
  const n = X.length;
  if (n === 0 || n !== y.length) throw new RangeError(`ridge: ${n} rows for ${y.length} targets`);
  const p = X[0]!.length;
  const mean = new Array<number>(p).fill(0);
  let my = 0;
  for (let i = 0; i < n; i++) {
    const row = X[i]!;
    if (row.length !== p) throw new RangeError(`ridge: row ${i} has ${row.length} features, expected ${p}`);
    if (!Number.isFinite(y[i]!)) throw new RangeError(`ridge: y[${i}] = ${y[i]} is not finite`);
    my += y[i]!;
    for (let j = 0; j < p; j++) {
      if (!Number.isFinite(row[j]!)) throw new RangeError(`ridge: X[${i}][${j}] = ${row[j]} is not finite`);
      mean[j] += row[j]!;
    }
  }
  my /= n;
  for (let j = 0; j < p; j++) mean[j] /= n;
  const scale = new Array<number>(p).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) scale[j] += (X[i]![j]! - mean[j]!) ** 2;
  for (let j = 0; j < p; j++) scale[j] = Math.sqrt(scale[j]! / n) || 1;
  // Least squares on the augmented system [Z; √λ·I] v = [y − ȳ; √λ·s·m] by Householder QR
  // (Golub & Van Loan §5.3): the condition number enters once, not squared as in the normal equations.
  const lambdas = Array.from({ length: p }, (_, j) => (typeof lambda === 'number' ? lambda : lambda[j]!) / scale[j]! ** 2);
  const extra = lambdas.filter((l) => l > 0).length;
  const rows = n + extra;
  const M = Array.from({ length: p }, () => new Float64Array(rows));
  const rhs = new Float64Array(rows);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) M[j]![i] = (X[i]![j]! - mean[j]!) / scale[j]!;
    rhs[i] = y[i]! - my;
  }
  let r = n;
  for (let j = 0; j < p; j++) {
    if (!(lambdas[j]! > 0)) continue;
    const root = Math.sqrt(lambdas[j]!);
    M[j]![r] = root;
    rhs[r] = prior ? root * scale[j]! * prior[j]! : 0;
    r++;
  }
  const v = householderSolve(M, rhs);
  const weights = v.map((vj, j) => vj / scale[j]!);
  let intercept = my;
  for (let j = 0; j < p; j++) intercept -= weights[j]! * mean[j]!;
  return { intercept, weights };
}

/**
 * Least squares min ‖M v − rhs‖ by Householder QR. `M` is given by columns
 * (p columns of length rows ≥ p) and overwritten, as is `rhs`. A column whose
 * remaining norm is below 1e-10 of its original norm is rank deficient and
 * gets 0.
 */
function householderSolve(M: Float64Array[], rhs: Float64Array): number[] {
  const p = M.length;
  const rows = rhs.length;
  const norms = M.map((c) => Math.hypot(...c));
  const diag = new Float64Array(p);
  // pivotRow[k]: the row of R that holds column k's diagonal, −1 for a dropped column.
  const pivotRow = new Array<number>(p).fill(-1);
  let r = 0;
  for (let k = 0; k < p && r < rows; k++) {
    const c = M[k]!;
    let norm = 0;
    for (let i = r; i < rows; i++) norm += c[i]! * c[i]!;
    norm = Math.sqrt(norm);
    if (norm <= 1e-10 * (norms[k]! || 1)) continue;
    const alpha = c[r]! > 0 ? -norm : norm;
    // v = c[r..] − alpha·e_r; H = I − 2vvᵀ/vᵀv
    c[r] = c[r]! - alpha;
    let vv = 0;
    for (let i = r; i < rows; i++) vv += c[i]! * c[i]!;
    const apply = (target: Float64Array): void => {
      let dot = 0;
      for (let i = r; i < rows; i++) dot += c[i]! * target[i]!;
      const f = (2 * dot) / vv;
      for (let i = r; i < rows; i++) target[i] = target[i]! - f * c[i]!;
    };
    for (let j = k + 1; j < p; j++) apply(M[j]!);
    apply(rhs);
    diag[k] = alpha;
    pivotRow[k] = r++;
  }
  const v = new Array<number>(p).fill(0);
  for (let k = p - 1; k >= 0; k--) {
    const row = pivotRow[k]!;
    if (row < 0) continue;
    let s = rhs[row]!;
    for (let j = k + 1; j < p; j++) s -= M[j]![row]! * v[j]!;
    v[k] = s / diag[k]!;
  }
  return v;
}

/** Evaluate a {@link LinearModel} on one feature row. */
export function predictLinear(m: LinearModel, x: ArrayLike<number>): number {
  let s = m.intercept;
  for (let j = 0; j < m.weights.length; j++) s += m.weights[j]! * x[j]!;
  return s;
}

/**
 * Eigen-decomposition of a symmetric matrix by the cyclic Jacobi method
 * (Golub & Van Loan, Matrix Computations, §8.5): rotations zero the
 * off-diagonal until its squared sum is below 1e-24 of the total.
 *
 * @param S  Symmetric p×p matrix (not modified).
 * @returns  Eigenvalues in decreasing order and their unit eigenvectors
 *           (`vectors[k]` is the k-th eigenvector, length p).
 * @throws {RangeError} if S is not square.
 */
export function symmetricEigen(S: readonly (readonly number[])[]): { values: number[]; vectors: number[][] } {
  const p = S.length;
  if (S.some((r) => r.length !== p)) throw new RangeError(`symmetricEigen: matrix is not ${p}×${p}`);
  const A = S.map((r) => [...r]);
  const V: number[][] = A.map((_, i) => A.map((__, j) => (i === j ? 1 : 0)));
  let total = 0;
  for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) total += A[i]![j]! ** 2;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < p; i++) for (let j = i + 1; j < p; j++) off += A[i]![j]! ** 2;
    if (off <= 1e-24 * total) break;
    for (let i = 0; i < p; i++) {
      for (let j = i + 1; j < p; j++) {
        const aij = A[i]![j]!;
        if (aij === 0) continue;
        const theta = (A[j]![j]! - A[i]![i]!) / (2 * aij);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < p; k++) {
          const aki = A[k]![i]!;
          const akj = A[k]![j]!;
          A[k]![i] = c * aki - s * akj;
          A[k]![j] = s * aki + c * akj;
        }
        for (let k = 0; k < p; k++) {
          const aik = A[i]![k]!;
          const ajk = A[j]![k]!;
          A[i]![k] = c * aik - s * ajk;
          A[j]![k] = s * aik + c * ajk;
        }
        for (let k = 0; k < p; k++) {
          const vki = V[k]![i]!;
          const vkj = V[k]![j]!;
          V[k]![i] = c * vki - s * vkj;
          V[k]![j] = s * vki + c * vkj;
        }
      }
    }
  }
  const order = A.map((_, i) => i).sort((a, b) => A[b]![b]! - A[a]![a]!);
  return { values: order.map((i) => A[i]![i]!), vectors: order.map((i) => V.map((r) => r[i]!)) };
}
