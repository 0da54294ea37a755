/**
 * Two-way additive least squares on an incomplete table: y_i ≈ a[row_i] + b[col_i]
 * (in the MLPerf evaluation: log latency = system effect + model effect, the
 * issue-5 baseline, and the starting point of the few-shot predictor).
 *
 * Method: conjugate gradients on the normal equations XᵀX p = Xᵀy, where X is
 * the sparse 0/1 design with one row and one column indicator per observation
 * (Hestenes & Stiefel 1952; Golub & Van Loan, Matrix Computations §11.3).
 * XᵀX is singular (adding c to every a and −c to every b changes nothing, and
 * more so when the table falls apart into unconnected blocks), but XᵀX p = Xᵀy
 * is consistent and CG started from 0 stays in the range of XᵀX, so it
 * converges to the minimum-norm solution; fitted values a + b of observed
 * (row, column) pairs — and of any pair in one connected block — are unique.
 * A row or column without observations gets effect 0 and `seen` false.
 */

/** Observations of an incomplete two-way table. */
export interface TableObservations {
  /** Row index of each observation, 0 ≤ row < nRows. */
  row: ArrayLike<number>;
  /** Column index of each observation, 0 ≤ col < nCols. */
  col: ArrayLike<number>;
  /** Observed value (here: ln ms). */
  y: ArrayLike<number>;
  nRows: number;
  nCols: number;
}

/** A fitted additive table. */
export interface AdditiveFit {
  /** Row effects (length nRows). */
  a: Float64Array;
  /** Column effects (length nCols). */
  b: Float64Array;
  /** Whether each row has at least one observation. */
  rowSeen: Uint8Array;
  /** Whether each column has at least one observation. */
  colSeen: Uint8Array;
  /** CG iterations used. */
  iterations: number;
}

/**
 * Fit y ≈ a[row] + b[col] by least squares (minimum-norm solution).
 *
 * @param t          The observations (values finite).
 * @param tolerance  Stop when ‖Xᵀ(y − Xp)‖ ≤ tolerance · ‖Xᵀy‖. @default 1e-13
 * @param maxIter    Most CG iterations. @default 20000
 * @returns          Effects; `a[r] + b[c]` is the fitted value of cell (r, c).
 * @throws {RangeError} on a length mismatch, an index out of range or a non-finite value.
 * @example see test/unit/model/evaluate-mlperf.test.ts (closed form on a balanced table)
 */
export function fitAdditive(t: TableObservations, tolerance = 1e-13, maxIter = 20000): AdditiveFit {
  const n = t.y.length;
  if (t.row.length !== n || t.col.length !== n) throw new RangeError(`fitAdditive: ${t.row.length} rows, ${t.col.length} columns for ${n} values`);
  const R = t.nRows;
  const P = R + t.nCols;
  const rowSeen = new Uint8Array(R);
  const colSeen = new Uint8Array(t.nCols);
  const g = new Float64Array(P);
  for (let i = 0; i < n; i++) {
    const r = t.row[i]!;
    const c = t.col[i]!;
    if (!(r >= 0 && r < R && c >= 0 && c < t.nCols) || !Number.isFinite(t.y[i]!)) {
      throw new RangeError(`fitAdditive: observation ${i} (row ${r}, col ${c}, y ${t.y[i]}) is out of range or not finite`);
    }
    rowSeen[r] = 1;
    colSeen[c] = 1;
    g[r] += t.y[i]!;
    g[R + c] += t.y[i]!;
  }
  // A v for the normal matrix A = XᵀX: (Xv)_i = v[row_i] + v[R + col_i], scattered back.
  const apply = (v: Float64Array, out: Float64Array): void => {
    out.fill(0);
    for (let i = 0; i < n; i++) {
      const r = t.row[i]!;
      const c = R + t.col[i]!;
      const s = v[r]! + v[c]!;
      out[r] += s;
      out[c] += s;
    }
  };
  const p = new Float64Array(P);
  const res = Float64Array.from(g);
  const dir = Float64Array.from(g);
  const Ad = new Float64Array(P);
  const dot = (x: Float64Array, y: Float64Array): number => {
    let s = 0;
    for (let j = 0; j < P; j++) s += x[j]! * y[j]!;
    return s;
  };
  let rr = dot(res, res);
  const stop = tolerance * tolerance * rr;
  let it = 0;
  while (it < maxIter && rr > stop && rr > 0) {
    apply(dir, Ad);
    const alpha = rr / dot(dir, Ad);
    for (let j = 0; j < P; j++) {
      p[j] += alpha * dir[j]!;
      res[j] -= alpha * Ad[j]!;
    }
    const next = dot(res, res);
    const beta = next / rr;
    rr = next;
    for (let j = 0; j < P; j++) dir[j] = res[j]! + beta * dir[j]!;
    it++;
  }
  return { a: p.slice(0, R), b: p.slice(R), rowSeen, colSeen, iterations: it };
}

/**
 * Connected blocks of columns of a two-way table: two columns are in one block
 * when a chain of rows links them (union–find, Tarjan 1975). Row and column
 * effects are identified relative to each other only within a block.
 *
 * @param observedColumns  Per row, the columns it observes.
 * @param nCols            Number of columns.
 * @returns                Block id per column (a representative column), −1 for a column no row observes.
 */
export function connectedColumnBlocks(observedColumns: readonly (readonly number[])[], nCols: number): Int32Array {
  const parent = Int32Array.from({ length: nCols }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  };
  for (const ms of observedColumns) for (let j = 1; j < ms.length; j++) parent[find(ms[j]!)] = find(ms[0]!);
  const block = new Int32Array(nCols).fill(-1);
  for (const ms of observedColumns) for (const m of ms) block[m] = find(m);
  return block;
}
