/**
 * The gradient-boosted trees learner against closed forms: a step function is
 * fitted exactly by one depth-1 tree (L2, η = 1, λ = 0); with one leaf per row
 * the training data are reproduced exactly; the quantile loss without an
 * informative feature predicts the nearest-rank α-quantile of y; splits
 * follow float32 BRANCH_LEQ at the threshold and one float32 step either
 * side; training loss never rises under L2; early stopping keeps the best
 * round; the same seed gives the same model.
 */
import { describe, expect, it } from 'vitest';
import { lossOf, nearestRankQuantile, predictGbt, trainGbt, trainGbtRounds } from '../../../services/model/gbt.ts';
import { runRounds, runRoundsYielding } from '../../../services/model/rounds.ts';
import { prng } from '../../helpers/factories.ts';

const nextUp = (x: number): number => {
  const f = new Float32Array([x]);
  new Int32Array(f.buffer)[0]! += x >= 0 ? 1 : -1;
  return f[0]!;
};
const nextDown = (x: number): number => {
  const f = new Float32Array([x]);
  new Int32Array(f.buffer)[0]! += x > 0 ? -1 : 1;
  return f[0]!;
};

describe('trainGbt', () => {
  it('fits a step function exactly with one depth-1 tree (L2, η = 1, λ = 0), splitting between the two values', () => {
    const X = Array.from({ length: 20 }, (_, i) => [i / 19]);
    const y = X.map(([x]) => (x! <= 0.5 ? 1 : 3));
    const m = trainGbt(X, y, { loss: { kind: 'l2' }, nTrees: 1, learningRate: 1, maxDepth: 1, minSamplesLeaf: 1, lambda: 0 });
    expect(m.trees).toHaveLength(1);
    expect(X.map((x) => predictGbt(m, x))).toEqual(y);
    const t = m.trees[0]!.threshold[0]!;
    expect(t).toBe(Math.fround((9 / 19 + 10 / 19) / 2)); // float32 midpoint of the two values around the step
    expect(m.trainLoss[1]).toBe(0);
  });

  it('reproduces the training targets when every row can have its own leaf', () => {
    const rand = prng(3);
    const X = Array.from({ length: 64 }, (_, i) => [i, rand()]);
    const y = X.map(([a, b]) => Math.sin(a!) * 10 + b!);
    const m = trainGbt(X, y, { loss: { kind: 'l2' }, nTrees: 1, learningRate: 1, maxDepth: 64, minSamplesLeaf: 1, lambda: 0 }); // greedy splits may peel one row at a time
    X.forEach((x, i) => expect(predictGbt(m, x)).toBeCloseTo(y[i]!, 10));
  });

  it('predicts the nearest-rank α-quantile of y under the pinball loss when no feature informs', () => {
    const rand = prng(11);
    const y = Array.from({ length: 101 }, () => Math.round(rand() * 1000) / 10);
    const X = y.map(() => [7]); // one constant feature: no split is possible
    for (const alpha of [0.5, 0.9, 0.99]) {
      const m = trainGbt(X, y, { loss: { kind: 'quantile', alpha }, nTrees: 20, learningRate: 0.5 });
      const sorted = [...y].sort((a, b) => a - b);
      const q = sorted[Math.ceil(alpha * y.length) - 1]!;
      expect(nearestRankQuantile(y, alpha)).toBe(q);
      expect(predictGbt(m, [7])).toBeCloseTo(q, 12);
    }
  });

  it('learns a conditional quantile: at α = 0.9 about 90 % of training rows lie at or below the prediction', () => {
    const rand = prng(5);
    const X = Array.from({ length: 2000 }, () => [rand() * 10]);
    const y = X.map(([x]) => x! * 2 + rand() * x!); // spread grows with x
    const m = trainGbt(X, y, { loss: { kind: 'quantile', alpha: 0.9 }, nTrees: 100, learningRate: 0.2, maxDepth: 3, minSamplesLeaf: 20 });
    const coverage = X.filter((x, i) => y[i]! <= predictGbt(m, x)).length / X.length;
    expect(coverage).toBeGreaterThan(0.87);
    expect(coverage).toBeLessThan(0.93);
  });

  it('sends fround(x) <= threshold left, also one float32 step either side of the threshold', () => {
    const X = [[0.1], [0.2], [0.30000001], [0.7]];
    const y = [0, 0, 0, 10];
    const m = trainGbt(X, y, { loss: { kind: 'l2' }, nTrees: 1, learningRate: 1, maxDepth: 1, minSamplesLeaf: 1, lambda: 0 });
    const t = m.trees[0]!.threshold[0]!;
    expect(Math.fround(t)).toBe(t);
    expect(predictGbt(m, [t])).toBe(0);
    expect(predictGbt(m, [nextDown(t)])).toBe(0);
    expect(predictGbt(m, [nextUp(t)])).toBe(10);
  });

  it('never raises the L2 training loss from round to round', () => {
    const rand = prng(9);
    const X = Array.from({ length: 500 }, () => [rand(), rand(), rand()]);
    const y = X.map(([a, b, c]) => 3 * a! + Math.exp(b!) + (c! > 0.5 ? 2 : 0) + rand() * 0.1);
    const m = trainGbt(X, y, { loss: { kind: 'l2' }, nTrees: 50, learningRate: 0.3, maxDepth: 3 });
    for (let k = 1; k < m.trainLoss.length; k++) expect(m.trainLoss[k]!).toBeLessThanOrEqual(m.trainLoss[k - 1]! + 1e-12);
    expect(m.trainLoss.at(-1)!).toBeLessThan(m.trainLoss[0]! / 10);
    expect(lossOf({ kind: 'l2' }, y, X.map((x) => predictGbt(m, x)))).toBeGreaterThan(0);
  });

  it('trains a tree a round (trainGbtRounds): one pause per tree grown, the same model as trainGbt, run at once or with the event loop served between trees', async () => {
    const rand = prng(8);
    const X = Array.from({ length: 300 }, () => [rand(), rand()]);
    const y = X.map(([a, b]) => 2 * a! - b! + 0.1 * rand());
    const opts = { loss: { kind: 'quantile', alpha: 0.9 } as const, nTrees: 12, learningRate: 0.3, maxDepth: 3, seed: 2 };
    let pauses = 0;
    const rounds = trainGbtRounds(X, y, opts);
    for (let r = rounds.next(); !r.done; r = rounds.next()) pauses++;
    expect(pauses).toBe(12);
    const whole = JSON.stringify(trainGbt(X, y, opts));
    expect(JSON.stringify(runRounds(trainGbtRounds(X, y, opts)))).toBe(whole);
    // With a slice of 0 ms every pause gives the event loop a turn: an immediate queued before training runs after each tree.
    const turns: number[] = [];
    let grown = 0;
    const tick = () => { turns.push(grown); if (grown < 12) setImmediate(tick); };
    setImmediate(tick);
    const model = await runRoundsYielding((function* () {
      const inner = trainGbtRounds(X, y, opts);
      for (;;) {
        const r = inner.next();
        if (r.done) return r.value;
        grown++;
        yield;
      }
    })(), 0);
    expect(turns).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(JSON.stringify(model)).toBe(whole);
  });

  it('stops early on pure noise and keeps the trees up to the best validation loss; the same seed gives the same model', () => {
    const rand = prng(21);
    const X = Array.from({ length: 400 }, () => [rand(), rand()]);
    const y = X.map(() => rand());
    const opts = { loss: { kind: 'l2' } as const, nTrees: 300, learningRate: 0.3, maxDepth: 4, minSamplesLeaf: 2, validationFraction: 0.25, earlyStoppingRounds: 10, seed: 4 };
    const m = trainGbt(X, y, opts);
    expect(m.validLoss.length).toBeLessThan(301);
    const bestRound = m.validLoss.indexOf(Math.min(...m.validLoss));
    expect(m.trees).toHaveLength(bestRound);
    expect(m.validLoss.length - 1 - bestRound).toBe(10);
    expect(JSON.stringify(trainGbt(X, y, opts))).toBe(JSON.stringify(m));
    expect(JSON.stringify(trainGbt(X, y, { ...opts, seed: 5 }))).not.toBe(JSON.stringify(m));
  });

  it('names the bad option or row', () => {
    expect(() => trainGbt([[1]], [1], { loss: { kind: 'quantile', alpha: 1 } })).toThrow(/loss.alpha/);
    expect(() => trainGbt([[1], [2, 3]], [1, 2], { loss: { kind: 'l2' } })).toThrow(/X\[1\]: expected 1 features/);
    expect(() => trainGbt([[1], [Number.NaN]], [1, 2], { loss: { kind: 'l2' } })).toThrow(/X\[1\]\[0\]/);
    expect(() => trainGbt([[1]], [1, 2], { loss: { kind: 'l2' } })).toThrow(/same number/);
    expect(() => trainGbt([[1]], [1], { loss: { kind: 'l2' }, learningRate: 0 })).toThrow(/learningRate/);
  });
});

describe('monotone constraints', () => {
  // y rises with x0 overall but dips (sin bump), and depends on x1: a free model follows the dips,
  // a +1-constrained one must never decrease in x0 at any fixed x1.
  const rand = prng(11);
  const X = Array.from({ length: 3000 }, () => [rand() * 4, rand()]);
  const y = X.map(([a, b]) => a! + 1.5 * Math.sin(3 * a!) + 2 * b! + 0.05 * (rand() - 0.5));
  const grid = Array.from({ length: 81 }, (_, i) => (i * 4) / 80);
  /** Largest decrease of the prediction between neighbouring points of a grid in x0, at three values of x1. */
  const worstDrop = (m: ReturnType<typeof trainGbt>): number => {
    let worst = 0;
    for (const b of [0.1, 0.5, 0.9]) {
      const p = grid.map((a) => predictGbt(m, [a, b]));
      for (let i = 1; i < p.length; i++) worst = Math.max(worst, p[i - 1]! - p[i]!);
    }
    return worst;
  };
  for (const loss of [{ kind: 'l2' as const }, { kind: 'quantile' as const, alpha: 0.9 }]) {
    it(`${loss.kind}: never decreasing in a +1 feature, while the free model follows the dips`, () => {
      const opts = { loss, nTrees: 60, learningRate: 0.2, maxDepth: 4, minSamplesLeaf: 10 };
      // Free: at x1 = 0.5 the fit follows the dip from x0 ≈ π/6 (y ≈ 3.0) to x0 ≈ π/2 (y ≈ 1.1).
      const free = trainGbt(X, y, opts);
      expect(predictGbt(free, [Math.PI / 6, 0.5]) - predictGbt(free, [Math.PI / 2, 0.5])).toBeGreaterThan(1);
      expect(worstDrop(trainGbt(X, y, { ...opts, monotone: [1, 0] }))).toBe(0);
      // −1 on the reversed feature is the same constraint.
      const Xr = X.map(([a, b]) => [-a!, b!]);
      const m = trainGbt(Xr, y, { ...opts, monotone: [-1, 0] });
      let worst = 0;
      for (const b of [0.1, 0.5, 0.9]) {
        const p = grid.map((a) => predictGbt(m, [-a, b]));
        for (let i = 1; i < p.length; i++) worst = Math.max(worst, p[i - 1]! - p[i]!);
      }
      expect(worst).toBe(0);
    });
  }
  it('refuses a constraint other than −1, 0, 1 or more constraints than features', () => {
    expect(() => trainGbt([[1], [2]], [1, 2], { loss: { kind: 'l2' }, monotone: [2] })).toThrow(/monotone\[0\]/);
    expect(() => trainGbt([[1], [2]], [1, 2], { loss: { kind: 'l2' }, monotone: [1, 1] })).toThrow(/2 constraints for 1 features/);
  });
});
