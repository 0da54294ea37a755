/**
 * Issue 7, F2: the Wilcoxon signed-rank statistic and p-value equal exact
 * values (a published table value, and full enumeration of the 2^n sign
 * patterns here, ties and zeros included); Hodges–Lehmann equals the median of
 * the Walsh averages listed by brute force.
 */
import { describe, expect, it } from 'vitest';
import { EXACT_MAX_N, hodgesLehmann, kthWalshAverage, midranks, normalQuantileUpper, wilcoxonSignedRank } from '../../../pipelines/stats/signed-rank.ts';
import { normalUpperTail, regularizedGammaQ } from '../../../pipelines/stats/special-functions.ts';
import { createRng } from '../../../services/simulator/prng.ts';

/** Exact two-sided p by enumerating every sign pattern of the (mid)ranks of the non-zero |d|. */
function enumeratedP(d: number[]): { wPlus: number; p: number } {
  const nz = d.filter((v) => v !== 0);
  const r = midranks(nz.map(Math.abs));
  const wPlus = nz.reduce((s, v, i) => s + (v > 0 ? r[i]! : 0), 0);
  let le = 0;
  let ge = 0;
  const total = 2 ** nz.length;
  for (let mask = 0; mask < total; mask++) {
    let w = 0;
    for (let i = 0; i < nz.length; i++) if (mask & (1 << i)) w += r[i]!;
    if (w <= wPlus + 1e-9) le++;
    if (w >= wPlus - 1e-9) ge++;
  }
  return { wPlus, p: Math.min(1, (2 * Math.min(le, ge)) / total) };
}

/** Every Walsh average (d_i + d_j)/2, i ≤ j, sorted. */
function walsh(d: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < d.length; i++) for (let j = i; j < d.length; j++) out.push((d[i]! + d[j]!) / 2);
  return out.sort((a, b) => a - b);
}

describe('Wilcoxon signed-rank test', () => {
  it("Darwin's Zea mays differences (Fisher 1935): W− = 24, exact two-sided p = 0.041259765625 (= 2 · 676 / 2^15)", () => {
    const d = [6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75];
    const r = wilcoxonSignedRank(d);
    expect(r).toMatchObject({ n: 15, zeros: 0, wMinus: 24, wPlus: 96, exact: true });
    expect(r.pValue).toBe(0.041259765625);
  });

  it('equals full enumeration of the sign patterns on small samples with ties and zeros', () => {
    const cases: number[][] = [
      [1, 2, 3, 4, 5],
      [-1, 2, -3, 4, -5, 6],
      [0, 0, 1, -1, 2, 2, -2, 3], // zeros dropped, ties at |1| and |2|
      [1.5, -1.5, 1.5, 1.5, -0.5, 0, 2.25, -2.25, 3, 3, 3],
      [5, 5, 5, 5, 5, 5], // all tied: one pattern class
      [-0.1, -0.2, -0.3, 0.05, 0, -0.4, -0.5, -0.6, -0.7, 0.8, -0.9, -1, -1.1, -1.2],
    ];
    const rng = createRng(5, 'wilcoxon');
    for (let t = 0; t < 40; t++) cases.push(Array.from({ length: 3 + rng.int(12) }, () => (rng.int(9) - 4) / 2)); // many ties and zeros
    for (const d of cases) {
      const want = enumeratedP(d);
      const got = wilcoxonSignedRank(d);
      expect(got.wPlus, JSON.stringify(d)).toBe(want.wPlus);
      expect(got.zeros).toBe(d.filter((v) => v === 0).length);
      expect(got.wPlus + got.wMinus).toBe((got.n * (got.n + 1)) / 2);
      expect(got.pValue, JSON.stringify(d)).toBeCloseTo(want.p, 14);
    }
  });

  it('rank keys decide the ranks where the differences\' sizes tie in doubles but not in truth', () => {
    // |d| equal, keys apart: ranks 1 and 2 (W+ = 1), not 1.5 each; zeros still dropped by d.
    expect(wilcoxonSignedRank([0.5, -0.5, 0], [1.0000000000000002, 1.0000000000000004, 1])).toMatchObject({ n: 2, zeros: 1, wPlus: 1, wMinus: 2 });
    expect(wilcoxonSignedRank([0.5, -0.5, 0])).toMatchObject({ wPlus: 1.5, wMinus: 1.5 });
    expect(() => wilcoxonSignedRank([1, 2], [1])).toThrow('wilcoxonSignedRank: 1 rank keys for 2 differences');
  });

  it('no non-zero difference: p = 1; a non-finite difference is refused by index', () => {
    expect(wilcoxonSignedRank([0, 0, 0])).toMatchObject({ n: 0, zeros: 3, pValue: 1 });
    expect(() => wilcoxonSignedRank([1, Number.NaN])).toThrow(/difference 1 is NaN/);
  });

  it(`above n = ${EXACT_MAX_N}: the tie-corrected normal approximation with continuity correction`, () => {
    const d = Array.from({ length: 60 }, (_, i) => i + 1); // all positive, no ties
    const r = wilcoxonSignedRank(d);
    expect(r.exact).toBe(false);
    const z = (1830 - 915 - 0.5) / Math.sqrt((60 * 61 * 121) / 24);
    expect(r.pValue).toBeCloseTo(2 * normalUpperTail(z), 20);
    // With ties: 30 values of 1 and 30 of −2 → |d| ranks 15.5 (×30) and 45.5 (×30), Σ(t³ − t)/48 = 2·(27000 − 30)/48.
    const tied = [...Array(30).fill(1), ...Array(30).fill(-2)] as number[];
    const rt = wilcoxonSignedRank(tied);
    expect(rt.wPlus).toBe(30 * 15.5);
    const v = (60 * 61 * 121) / 24 - (2 * (27000 - 30)) / 48;
    expect(rt.pValue).toBeCloseTo(2 * normalUpperTail((Math.abs(465 - 915) - 0.5) / Math.sqrt(v)), 15);
  });

  it('normal tail and quantile: 1 − Φ(1.959963984540054) = 0.025, erfc(1) = 0.157299207050285, 1 − Φ(8.5) = 9.4795348e-18', () => {
    expect(normalUpperTail(1.959963984540054)).toBeCloseTo(0.025, 15);
    expect(regularizedGammaQ(0.5, 1)).toBeCloseTo(0.157299207050285, 14);
    expect(normalUpperTail(8.5) / 9.479534822203e-18).toBeCloseTo(1, 9);
    expect(normalUpperTail(-1)).toBeCloseTo(0.841344746068543, 14);
    expect(normalQuantileUpper(0.025)).toBeCloseTo(1.959963984540054, 10);
  });
});

describe('Hodges–Lehmann estimate and interval', () => {
  it('stays finite near the largest double (a trial: (a + b) / 2 of 1e308 and 1e308 overflowed to Infinity)', () => {
    // Walsh averages of [1e308, 1e308]: all 1e308; of [-1e308, 0, 1e308]: -1e308, -5e307, 0, 0, 5e307, 1e308, median 0.
    expect(hodgesLehmann([1e308, 1e308]).estimate).toBe(1e308);
    expect(hodgesLehmann([-1e308, 0, 1e308]).estimate).toBe(0);
    expect([1, 2, 3].map((k) => kthWalshAverage([-1e308, 1e308], k))).toEqual([-1e308, 0, 1e308]);
    expect(kthWalshAverage([-Number.MAX_VALUE, Number.MAX_VALUE], 2)).toBe(0);
  });

  it('finds the k-th average across the whole range of doubles, and rounds each average once among the subnormals (a trial: 2.5e-301 for 1e-300; 2.5e-323 for 2e-323)', () => {
    // Expected: the Walsh averages computed exactly (rationals) and rounded once to a double, sorted (Python fractions).
    expect(hodgesLehmann([-1e308, 0, 1e-300, 3e-300, 1e308, 2e-300, -5e-301], 0.95)).toEqual({ estimate: 1e-300, low: -5e307, high: 5e307, confidence: 0.953125 });
    expect(hodgesLehmann([-1e308, 0, 1e-300, 3e-300, 1e308, 2e-300, -5e-301, 4e-300, 1e-299], 0.95)).toEqual({ estimate: 2e-300, low: -5e307, high: 5e307, confidence: 0.9609375 });
    expect(hodgesLehmann([5e-324, 1e-323, 1.5e-323, -5e-324, 2e-323, 0, 3e-323], 0.95)).toEqual({ estimate: 1e-323, low: 0, high: 2e-323, confidence: 0.953125 });
    // (5e-324 + 1e-323) / 2 is 1.5 × the least subnormal: it rounds (to even) once, to 1e-323.
    expect([1, 2, 3].map((k) => kthWalshAverage([5e-324, 1e-323], k))).toEqual([5e-324, 1e-323, 1e-323]);
  });

  it('the estimate is the median of the Walsh averages; the k-th average matches brute force for every k', () => {
    const rng = createRng(9, 'hl');
    for (let t = 0; t < 60; t++) {
      const d = Array.from({ length: 1 + rng.int(25) }, () => (t % 2 ? (rng.int(11) - 5) / 4 : rng.normal()));
      const w = walsh(d);
      const m = w.length;
      const median = m % 2 ? w[(m - 1) / 2]! : (w[m / 2 - 1]! + w[m / 2]!) / 2;
      expect(hodgesLehmann(d).estimate, JSON.stringify(d)).toBe(median);
      const s = [...d].sort((a, b) => a - b);
      for (let k = 1; k <= m; k++) expect(kthWalshAverage(s, k)).toBe(w[k - 1]);
    }
  });

  it('the 95 % interval is [W_(k), W_(M+1−k)] with k − 1 the largest count whose enumerated tail is ≤ 2.5 %', () => {
    const rng = createRng(4, 'hl-ci');
    for (const n of [6, 7, 10, 15, 20]) {
      const d = Array.from({ length: n }, () => rng.normal() + 0.3);
      // Enumerate the no-ties null distribution of W+ for ranks 1..n.
      const counts = new Array<number>((n * (n + 1)) / 2 + 1).fill(0);
      for (let mask = 0; mask < 2 ** n; mask++) {
        let w = 0;
        for (let i = 0; i < n; i++) if (mask & (1 << i)) w += i + 1;
        counts[w]!++;
      }
      let c = -1;
      let cum = 0;
      while (cum + counts[c + 1]! <= 0.025 * 2 ** n) cum += counts[++c]!;
      const w = walsh(d);
      const hl = hodgesLehmann(d);
      if (c < 0) {
        expect(hl.low).toBeNull(); // n = 5 or less cannot reach 95 %
        continue;
      }
      expect(hl.low).toBe(w[c]); // k = c + 1 (1-based)
      expect(hl.high).toBe(w[w.length - 1 - c]);
      expect(hl.confidence).toBeCloseTo(1 - (2 * cum) / 2 ** n, 12);
      expect(hl.confidence!).toBeGreaterThanOrEqual(0.95);
    }
    expect(hodgesLehmann([1, 2, 3, 4, 5]).low).toBeNull(); // min two-sided p at n = 5 is 1/16 > 5 %
  });

  it(`above n = ${EXACT_MAX_N}: the interval's k and its confidence by the second-order Edgeworth series match the exact distribution (a trial: the normal approximation was 1–3 below, at the nominal confidence; the first-order series one above in 1 %)`, () => {
    // Exact counts of W+ over the 2^n sign patterns of ranks 1..n (BigInt: no rounding), for n up to 140.
    const rng = createRng(5, 'hl-edgeworth');
    let counts: bigint[] = [1n];
    const alpha = 0.025;
    let checked = 0;
    for (let n = 1; n <= 140; n++) {
      const next = new Array<bigint>(counts.length + n).fill(0n);
      counts.forEach((c, t) => {
        next[t]! += c;
        next[t + n]! += c;
      });
      counts = next;
      if (n <= EXACT_MAX_N || n % 3 !== 0) continue;
      const total = 2n ** BigInt(n);
      const tail = (c: number): number => Number((counts.slice(0, c + 1).reduce((a, b) => a + b, 0n) * 10n ** 15n) / total) / 1e15;
      // At 0.8 too (the first-order series was one above at n 87, a trial): P(W+ ≤ c) ≤ 0.1, cum · 10 ≤ 2^n.
      let c80 = -1;
      let cum80 = 0n;
      while ((cum80 + counts[c80 + 1]!) * 10n <= total) cum80 += counts[++c80]!;
      const d80 = Array.from({ length: n }, () => rng.normal());
      expect(walsh(d80).indexOf(hodgesLehmann(d80, 0.8).low!) + 1, `n ${n} at 0.8`).toBe(c80 + 1);
      // At a confidence of 0.99999, past the series' range (it gave intervals narrower than the exact ones there), the
      // interval is never narrower than the exact one: k at most the exact k (P(W+ ≤ c) ≤ 5e-6: cum · 200,000 ≤ 2^n).
      const dFar = Array.from({ length: n }, () => rng.normal());
      const far = hodgesLehmann(dFar, 0.99999);
      let cFar = -1;
      let cumFar = 0n;
      while ((cumFar + counts[cFar + 1]!) * 200_000n <= total) cumFar += counts[++cFar]!;
      expect(walsh(dFar).indexOf(far.low!) + 1, `n ${n} at 0.99999`).toBeLessThanOrEqual(cFar + 1);
      expect(far.confidence!, `n ${n} at 0.99999`).toBeGreaterThanOrEqual(0.99999);
      // The exact k − 1: the largest c with P(W+ ≤ c) ≤ alpha, in rationals (cum · 1000 ≤ 25 · 2^n).
      let c = -1;
      let cum = 0n;
      while ((cum + counts[c + 1]!) * 1000n <= 25n * total) cum += counts[++c]!;
      // Continuous differences: the Walsh averages are distinct, so the interval's bound tells its k.
      const d = Array.from({ length: n }, () => rng.normal());
      const w = walsh(d);
      const hl = hodgesLehmann(d, 1 - 2 * alpha);
      const k = w.indexOf(hl.low!) + 1;
      expect(w[w.length - k], `n ${n}`).toBe(hl.high);
      // k is the exact one (the first-order series was one off in about 1 % of n, both ways; a trial).
      expect(k, `n ${n}`).toBe(c + 1);
      expect(Math.abs(hl.confidence! - (1 - 2 * tail(k - 1))), `n ${n}`).toBeLessThan(1e-4);
      expect(hl.confidence!).toBeGreaterThanOrEqual(0.95);
      checked++;
    }
    expect(checked).toBe(30);
  });

  it('large samples: the normal-approximation interval covers the shift, and stays exact in its order statistics', () => {
    const rng = createRng(2, 'hl-big');
    const d = Array.from({ length: 3000 }, () => 0.1 + rng.normal() * 0.2);
    const hl = hodgesLehmann(d);
    expect(hl.estimate).toBeGreaterThan(0.08);
    expect(hl.estimate).toBeLessThan(0.12);
    expect(hl.low!).toBeLessThan(hl.estimate);
    expect(hl.high!).toBeGreaterThan(hl.estimate);
    // Half-width ≈ 1.96 · 0.2 · √(π/3) / √n for normal data (the HL estimator's asymptotic efficiency).
    expect((hl.high! - hl.low!) / 2).toBeCloseTo((1.959964 * 0.2 * Math.sqrt(Math.PI / 3)) / Math.sqrt(3000), 2);
  });
});
