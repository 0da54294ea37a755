import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predictLinear, ridge, solve, symmetricEigen } from '../../../services/model/linalg.ts';
import { averageRanks, coverage, mape, median, pearson, rmseLog, spearman, withinTolerance } from '../../../services/model/metrics.ts';
import { parseCsv } from '../../../services/simulator/csv.ts';
import { createRng } from '../../../services/simulator/prng.ts';
import type { ChdbWarehouse } from '../../../services/warehouse/chdb.ts';
import { createTestDatabase } from '../../helpers/warehouse.ts';

const NIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/nist-strd/linear-regression');

/** Data rows of a NIST StRD regression file: the lines after `Data:` (y first, then x columns). */
function nistData(file: string): number[][] {
  const lines = fs.readFileSync(path.join(NIST, file), 'utf8').split(/\r?\n/);
  const at = lines.findIndex((l) => /^Data:\s+y/.test(l.trim()));
  return lines.slice(at + 1).map((l) => l.trim()).filter(Boolean).map((l) => l.split(/\s+/).map(Number));
}

function certified(dataset: string): number[] {
  const [head, ...rows] = parseCsv(fs.readFileSync(path.join(NIST, 'certified_values.csv'), 'utf8'));
  const col = (name: string) => head!.indexOf(name);
  return rows
    .filter((r) => r[col('dataset')] === dataset && r[col('statistic')] === 'parameter')
    .sort((a, b) => Number(a[col('name')]!.slice(1)) - Number(b[col('name')]!.slice(1)))
    .map((r) => Number(r[col('value')]));
}

/** Log relative error (digits of agreement), capped at 15; NIST's own measure of accuracy. */
const lre = (x: number, c: number): number => (x === c ? 15 : Math.min(15, -Math.log10(Math.abs(x - c) / (c === 0 ? 1 : Math.abs(c)))));

describe('ridge (λ = 0) against NIST StRD certified least-squares coefficients', () => {
  const cases: { dataset: string; file: string; design: (x: number[]) => number[]; digits: number }[] = [
    { dataset: 'Norris', file: 'Norris.dat', design: (r) => [r[1]!], digits: 12 },
    // Longley: six collinear economic series, condition number of X about 5e9.
    { dataset: 'Longley', file: 'Longley.dat', design: (r) => r.slice(1), digits: 8 },
    // Wampler1: y = 1 + x + … + x^5 exactly, x = 0..20 (a degree-5 polynomial design).
    { dataset: 'Wampler1', file: 'Wampler1.dat', design: (r) => [1, 2, 3, 4, 5].map((k) => r[1]! ** k), digits: 8 },
  ];
  for (const c of cases) {
    it(`${c.dataset}: every coefficient agrees to ≥ ${c.digits} digits`, () => {
      const data = nistData(c.file);
      const m = ridge(data.map(c.design), data.map((r) => r[0]!), 0);
      const want = certified(c.dataset);
      const got = [m.intercept, ...m.weights];
      expect(got).toHaveLength(want.length);
      for (let j = 0; j < want.length; j++) expect(lre(got[j]!, want[j]!), `B${j} = ${got[j]} vs ${want[j]}`).toBeGreaterThanOrEqual(c.digits);
    });
  }

  it('with a prior and λ → ∞ the weights equal the prior; collinear one-hot groups still solve', () => {
    const X = [[1, 0, 2], [0, 1, 3], [1, 0, 5], [0, 1, 7]];
    const y = [1, 2, 3, 4];
    const m = ridge(X, y, 1e12, [0.5, -0.5, 0.25]);
    m.weights.forEach((w, j) => expect(w).toBeCloseTo([0.5, -0.5, 0.25][j]!, 6));
    // Features 0 and 1 sum to 1 (the intercept): predictions are still the least-squares fit.
    const ols = ridge(X, y, 0);
    const fitted = X.map((x) => predictLinear(ols, x));
    const resid = fitted.map((f, i) => y[i]! - f);
    // Normal equations hold: residuals orthogonal to the intercept and to every column.
    expect(resid.reduce((s, r) => s + r, 0)).toBeCloseTo(0, 9);
    for (let j = 0; j < 3; j++) expect(resid.reduce((s, r, i) => s + r * X[i]![j]!, 0)).toBeCloseTo(0, 9);
  });

  it('refuses ragged rows and non-finite values naming the row', () => {
    expect(() => ridge([[1, 2], [3]], [1, 2])).toThrow(/row 1 has 1 features, expected 2/);
    expect(() => ridge([[1], [Number.NaN]], [1, 2])).toThrow(/X\[1\]\[0\] = NaN/);
    expect(() => solve([[0, 0], [0, 0]], [1, 1])).toThrow(/singular/);
  });
});

describe('symmetricEigen', () => {
  it('the tridiagonal [2 1 0; 1 2 1; 0 1 2] has eigenvalues 2+√2, 2, 2−√2 (closed form)', () => {
    const { values, vectors } = symmetricEigen([[2, 1, 0], [1, 2, 1], [0, 1, 2]]);
    expect(values[0]).toBeCloseTo(2 + Math.SQRT2, 12);
    expect(values[1]).toBeCloseTo(2, 12);
    expect(values[2]).toBeCloseTo(2 - Math.SQRT2, 12);
    // Eigenvector of 2+√2 is (1, √2, 1)/2 up to sign.
    const v = vectors[0]!;
    const sign = Math.sign(v[0]!);
    [0.5, Math.SQRT1_2, 0.5].forEach((e, i) => expect(sign * v[i]!).toBeCloseTo(e, 12));
  });
});

describe('accuracy metrics', () => {
  it('closed forms: acc10 at the boundary, MAPE, RMSE of logs, coverage, median', () => {
    expect(withinTolerance([110, 90, 110.01, 50], [100, 100, 100, 100])).toBe(0.5);
    expect(mape([110, 80], [100, 100])).toBeCloseTo(0.15, 15);
    expect(rmseLog([Math.E, 1], [1, 1])).toBeCloseTo(Math.SQRT1_2, 15);
    expect(coverage([10, 10, 10, 10], [9, 10, 11, 12])).toBe(0.5);
    expect(median([3, 1, 2, 10])).toBe(2.5);
    expect(averageRanks([10, 20, 10, 5])).toEqual(Float64Array.from([2.5, 4, 2.5, 1]));
    expect(() => mape([1], [0])).toThrow(/truth\[0\] = 0/);
    expect(() => withinTolerance([1, 2], [1])).toThrow(/2 predictions for 1 truths/);
    expect(Number.isNaN(pearson([1, 1, 1], [1, 2, 3]))).toBe(true);
  });

  describe('Spearman and Pearson against ClickHouse rankCorr / corr (chdb)', () => {
    let w: ChdbWarehouse;
    beforeAll(async () => { w = await createTestDatabase('metrics'); });
    afterAll(async () => { await w.close(); });

    it('on 2,000 pairs with many ties', async () => {
      const rng = createRng(7, 'spearman');
      const a = Array.from({ length: 2000 }, () => Math.floor(rng.next() * 50));
      const b = a.map((x) => Math.floor(x / 3 + rng.next() * 10));
      // Average ranks by window functions (rank of the first tie + (ties − 1)/2), then corr of the ranks.
      const [ref] = await w.query<{ s: number; r: number }>(
        `SELECT corr(rx, ry) AS s, corr(x, y) AS r FROM (
           SELECT x, y,
                  rank() OVER (ORDER BY x) + (count() OVER (PARTITION BY x) - 1) / 2 AS rx,
                  rank() OVER (ORDER BY y) + (count() OVER (PARTITION BY y) - 1) / 2 AS ry
           FROM (SELECT arrayJoin(arrayZip({a:Array(Float64)}, {b:Array(Float64)})) AS t, t.1 AS x, t.2 AS y))`,
        { a, b },
      );
      expect(Math.abs(spearman(a, b) - ref!.s)).toBeLessThan(1e-12);
      expect(Math.abs(pearson(a, b) - ref!.r)).toBeLessThan(1e-12);
      expect(ref!.s).toBeGreaterThan(0.5);
    });

    it('without ties, equals rankCorr', async () => {
      const rng = createRng(8, 'spearman');
      const a = Array.from({ length: 500 }, () => rng.next());
      const b = a.map((x) => x * x + rng.next() * 0.3);
      const [ref] = await w.query<{ s: number }>(
        'SELECT rankCorr(t.1, t.2) AS s FROM (SELECT arrayJoin(arrayZip({a:Array(Float64)}, {b:Array(Float64)})) AS t)', { a, b });
      expect(Math.abs(spearman(a, b) - ref!.s)).toBeLessThan(1e-12);
    });
  });
});
