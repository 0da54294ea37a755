/**
 * Gradient-boosted regression trees with histogram split finding, written
 * here (no maintained JavaScript library does this; DESIGN §5).
 *
 * Algorithm (Friedman 2001, "Greedy function approximation: a gradient
 * boosting machine", Algorithms 2 and 3 — LS_Boost and quantile TreeBoost;
 * histogram split finding as in LightGBM, Ke et al. 2017):
 * - Each feature is cut into at most `maxBins` bins at float32 thresholds
 *   (midpoints of distinct sorted values, thinned to quantiles); a split sends
 *   `fround(x) <= threshold` left, exactly as ONNX's BRANCH_LEQ on float32.
 * - L2 loss: gradients g = F − y, hessians 1; a split maximises
 *   G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ); a leaf is −G/(H+λ).
 * - Quantile (pinball) loss at α: splits on the gradients of the pinball loss
 *   (g = 1−α where y < F, −α otherwise, h = 1); a leaf is then re-fitted as
 *   the α-quantile (nearest rank, ⌈α·n⌉) of the residuals y − F in it, as
 *   Friedman's TreeBoost does for absolute and quantile losses.
 * - Shrinkage `learningRate`; depth and minimum leaf size limits; early
 *   stopping on a validation split drawn with the seed (the trees up to the
 *   best validation loss are kept). Deterministic per seed.
 */

import { createRng } from '../simulator/prng.ts';
import { assertFiniteSample } from '../../pipelines/stats/samples.ts';
import { runRounds } from './rounds.ts';

/** Loss of the learner: squared error, or the pinball loss of quantile `alpha` (fraction 0..1, exclusive). */
export type GbtLoss = { kind: 'l2' } | { kind: 'quantile'; alpha: number };

/** Options of {@link trainGbt}. */
export interface GbtOptions {
  loss: GbtLoss;
  /** Most trees (boosting rounds). @default 200 */
  nTrees?: number;
  /** Shrinkage applied to every tree, 0 < η ≤ 1. @default 0.1 */
  learningRate?: number;
  /** Most splits from root to leaf. @default 6 */
  maxDepth?: number;
  /** Fewest training rows in a leaf. @default 5 */
  minSamplesLeaf?: number;
  /** Most histogram bins per feature (2..65535). @default 255 */
  maxBins?: number;
  /** L2 regularisation λ of leaf values (L2 loss). @default 1 */
  lambda?: number;
  /** Share of rows held out for early stopping, 0 (none) .. 0.5. @default 0 */
  validationFraction?: number;
  /** Stop after this many rounds without a better validation loss. @default 20 */
  earlyStoppingRounds?: number;
  /** Seed of the validation split. @default 1 */
  seed?: number;
  /**
   * Monotone constraint per feature: +1 the prediction never decreases as the
   * feature grows, −1 never increases, 0 free (LightGBM's
   * `monotone_constraints`, basic method). @default all 0
   */
  monotone?: readonly number[];
}

/** One regression tree in flat arrays; node 0 is the root, a leaf has feature −1. */
export interface GbtTree {
  /** Feature index of a split node, −1 for a leaf. */
  feature: number[];
  /** Threshold of a split node: fround(x) <= fround(threshold) goes left (learned thresholds are float32 already). */
  threshold: number[];
  left: number[];
  right: number[];
  /** Leaf value (already multiplied by the learning rate); 0 on split nodes. */
  value: number[];
}

/** A trained ensemble: prediction = base + Σ tree(x). */
export interface GbtModel {
  base: number;
  trees: GbtTree[];
  featureCount: number;
  loss: GbtLoss;
  /** Training loss after each kept round (index 0 = base only). */
  trainLoss: number[];
  /** Validation loss after each round (empty without a validation split). */
  validLoss: number[];
}

/** Nearest-rank quantile: the value at rank ⌈α·n⌉ of the sorted values (α in (0,1)). @throws {RangeError} on no values or a value that is not finite. */
export function nearestRankQuantile(values: ArrayLike<number>, alpha: number): number {
  if (values.length === 0) throw new RangeError('nearestRankQuantile: no values');
  if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`nearestRankQuantile: alpha must be in (0, 1], got ${String(alpha)}`);
  assertFiniteSample(values, 'nearestRankQuantile');
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(alpha * sorted.length))) - 1]!;
}

/** Mean loss of predictions `f` for targets `y`. */
export function lossOf(loss: GbtLoss, y: ArrayLike<number>, f: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    const r = y[i]! - f[i]!;
    s += loss.kind === 'l2' ? r * r : r >= 0 ? loss.alpha * r : (loss.alpha - 1) * r;
  }
  return y.length ? s / y.length : 0;
}

/** float32 thresholds of one feature: midpoints between distinct float32 values, thinned to at most maxBins − 1. */
function thresholdsOf(column: Float64Array, maxBins: number): number[] {
  const distinct = [...new Set(Array.from(column, (v) => Math.fround(v)))].sort((a, b) => a - b);
  const cuts: number[] = [];
  for (let i = 1; i < distinct.length; i++) {
    // A float32 cut t with lo <= t < hi: the midpoint rounded to float32, moved down onto lo if rounding reached hi.
    let t = Math.fround((distinct[i - 1]! + distinct[i]!) / 2);
    if (t >= distinct[i]!) t = distinct[i - 1]!;
    cuts.push(t);
  }
  if (cuts.length <= maxBins - 1) return cuts;
  const out: number[] = [];
  for (let k = 1; k < maxBins; k++) out.push(cuts[Math.floor((k * cuts.length) / maxBins)]!);
  return [...new Set(out)];
}

/** Bin of a value: the number of thresholds strictly below fround(v) — so bin b means t[b-1] < x <= t[b]. */
function binOf(thresholds: readonly number[], v: number): number {
  const x = Math.fround(v);
  let lo = 0;
  let hi = thresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (thresholds[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Predict one row (any numeric array of featureCount values). */
export function predictGbt(model: GbtModel, x: ArrayLike<number>): number {
  let f = model.base;
  for (const t of model.trees) f += treeValue(t, x);
  return f;
}

/**
 * Leaf value one tree gives row `x`: fround(x) <= fround(threshold) goes left, as ONNX's BRANCH_LEQ
 * on float32 features and float32 thresholds (the exporter writes the nearest float32). Learned
 * thresholds are float32 already; a hand-built one that is not (0.3) would otherwise send x = 0.3
 * right here (fround(0.3) > 0.3) and left in ONNX.
 */
function treeValue(t: GbtTree, x: ArrayLike<number>): number {
  let n = 0;
  while (t.feature[n]! >= 0) n = Math.fround(x[t.feature[n]!]!) <= Math.fround(t.threshold[n]!) ? t.left[n]! : t.right[n]!;
  return t.value[n]!;
}

/**
 * Train an ensemble on rows `X` (each of the same length, finite numbers) and targets `y`.
 * @throws {RangeError} naming the option or the row when the input is unusable.
 * @see trainGbtRounds, the same training a tree at a time (for a process that must keep serving while it trains).
 */
export function trainGbt(X: readonly ArrayLike<number>[], y: readonly number[], options: GbtOptions): GbtModel {
  return runRounds(trainGbtRounds(X, y, options));
}

/**
 * {@link trainGbt} as a generator that pauses after each tree (yields nothing) and returns the model: run it
 * with `runRounds`, or with `runRoundsYielding` to let the event loop run between trees (a retraining
 * schedule inside `pipeline run`: one kind's trees took the process 5–9 s, long enough for its consumer
 * groups to take it for dead).
 * @throws {RangeError} as {@link trainGbt}, at the first `next()`.
 */
export function* trainGbtRounds(X: readonly ArrayLike<number>[], y: readonly number[], options: GbtOptions): Generator<void, GbtModel, void> {
  const o = {
    nTrees: options.nTrees ?? 200, learningRate: options.learningRate ?? 0.1, maxDepth: options.maxDepth ?? 6, minSamplesLeaf: options.minSamplesLeaf ?? 5,
    maxBins: options.maxBins ?? 255, lambda: options.lambda ?? 1, validationFraction: options.validationFraction ?? 0, earlyStoppingRounds: options.earlyStoppingRounds ?? 20, seed: options.seed ?? 1,
    monotone: options.monotone ?? [],
  };
  const loss = options.loss;
  if (loss.kind === 'quantile' && !(loss.alpha > 0 && loss.alpha < 1)) throw new RangeError(`loss.alpha: expected a fraction in (0, 1), got ${loss.alpha}`);
  if (!(o.learningRate > 0 && o.learningRate <= 1)) throw new RangeError(`learningRate: expected 0 < η <= 1, got ${o.learningRate}`);
  if (!Number.isInteger(o.nTrees) || o.nTrees < 0) throw new RangeError(`nTrees: expected an integer >= 0, got ${o.nTrees}`);
  if (!Number.isInteger(o.maxDepth) || o.maxDepth < 1) throw new RangeError(`maxDepth: expected an integer >= 1, got ${o.maxDepth}`);
  if (!Number.isInteger(o.minSamplesLeaf) || o.minSamplesLeaf < 1) throw new RangeError(`minSamplesLeaf: expected an integer >= 1, got ${o.minSamplesLeaf}`);
  if (!Number.isInteger(o.maxBins) || o.maxBins < 2 || o.maxBins > 65_535) throw new RangeError(`maxBins: expected an integer 2..65535, got ${o.maxBins}`);
  if (!(o.lambda >= 0)) throw new RangeError(`lambda: expected >= 0, got ${o.lambda}`);
  if (!(o.validationFraction >= 0 && o.validationFraction <= 0.5)) throw new RangeError(`validationFraction: expected 0..0.5, got ${o.validationFraction}`);
  if (X.length !== y.length || X.length === 0) throw new RangeError(`X and y: expected the same number (> 0) of rows, got ${X.length} and ${y.length}`);
  o.monotone.forEach((m, j) => {
    if (m !== -1 && m !== 0 && m !== 1) throw new RangeError(`monotone[${j}]: expected −1, 0 or 1, got ${m}`);
  });
  if (o.monotone.length > X[0]!.length) throw new RangeError(`monotone: ${o.monotone.length} constraints for ${X[0]!.length} features`);
  const featureCount = X[0]!.length;
  X.forEach((row, i) => {
    if (row.length !== featureCount) throw new RangeError(`X[${i}]: expected ${featureCount} features, got ${row.length}`);
    for (let j = 0; j < featureCount; j++) if (!Number.isFinite(row[j]!)) throw new RangeError(`X[${i}][${j}]: expected a finite number, got ${row[j]}`);
    if (!Number.isFinite(y[i]!)) throw new RangeError(`y[${i}]: expected a finite number, got ${y[i]}`);
  });

  // Validation split: each row independently with probability validationFraction (seeded).
  const rng = createRng(o.seed, 'gbt-validation');
  const isValid = X.map(() => o.validationFraction > 0 && rng.next() < o.validationFraction);
  const train = X.map((_, i) => i).filter((i) => !isValid[i]);
  const valid = X.map((_, i) => i).filter((i) => isValid[i]);
  if (train.length === 0) throw new RangeError('validationFraction: no training rows left');

  const cols = Array.from({ length: featureCount }, (_, j) => Float64Array.from(train, (i) => X[i]![j]!));
  const thresholds = cols.map((c) => thresholdsOf(c, o.maxBins));
  const bins = cols.map((c, j) => Uint16Array.from(c, (v) => binOf(thresholds[j]!, v)));
  const binCounts = bins.map((b) => b.reduce((m, v) => Math.max(m, v), 0) + 1);
  const yt = Float64Array.from(train, (i) => y[i]!);
  const yv = Float64Array.from(valid, (i) => y[i]!);

  const base = loss.kind === 'l2' ? yt.reduce((s, v) => s + v, 0) / yt.length : nearestRankQuantile(Array.from(yt), loss.alpha);
  const ft = new Float64Array(yt.length).fill(base);
  const fv = new Float64Array(yv.length).fill(base);
  const trees: GbtTree[] = [];
  const trainLoss = [lossOf(loss, yt, ft)];
  const validLoss: number[] = valid.length ? [lossOf(loss, yv, fv)] : [];
  let best = 0;

  for (let round = 0; round < o.nTrees; round++) {
    const g = new Float64Array(yt.length);
    for (let i = 0; i < yt.length; i++) g[i] = loss.kind === 'l2' ? ft[i]! - yt[i]! : yt[i]! < ft[i]! ? 1 - loss.alpha : -loss.alpha;
    const tree = growTree(g, yt, ft, bins, binCounts, thresholds, loss, o);
    trees.push(tree);
    for (let i = 0; i < yt.length; i++) {
      let n = 0;
      while (tree.feature[n]! >= 0) n = Math.fround(cols[tree.feature[n]!]![i]!) <= tree.threshold[n]! ? tree.left[n]! : tree.right[n]!;
      ft[i] = ft[i]! + tree.value[n]!;
    }
    for (let k = 0; k < valid.length; k++) fv[k] = fv[k]! + treeValue(tree, X[valid[k]!]!);
    trainLoss.push(lossOf(loss, yt, ft));
    if (valid.length) {
      validLoss.push(lossOf(loss, yv, fv));
      if (validLoss[validLoss.length - 1]! < validLoss[best]!) best = validLoss.length - 1;
      else if (validLoss.length - 1 - best >= o.earlyStoppingRounds) break;
    } else {
      best = trees.length;
    }
    yield;
  }
  return { base, trees: trees.slice(0, best), featureCount, loss, trainLoss: trainLoss.slice(0, best + 1), validLoss };
}

/** Per-feature gradient sums and row counts by bin of one node's rows. */
interface Histograms {
  sumG: Float64Array[];
  cnt: Int32Array[];
}

interface Node {
  rows: Int32Array;
  depth: number;
  id: number;
  /** Its histograms when it may split (null for a node that can only be a leaf). */
  hist: Histograms | null;
  /** Bounds of the leaf values (before shrinkage) below this node, from monotone splits above it. */
  lo: number;
  hi: number;
}

function histogramsOf(rows: Int32Array, g: Float64Array, bins: Uint16Array[], binCounts: number[]): Histograms {
  const sumG: Float64Array[] = [];
  const cnt: Int32Array[] = [];
  for (let j = 0; j < bins.length; j++) {
    const b = bins[j]!;
    const s = new Float64Array(binCounts[j]!);
    const c = new Int32Array(binCounts[j]!);
    for (let k = 0; k < rows.length; k++) {
      const i = rows[k]!;
      s[b[i]!] += g[i]!;
      c[b[i]!]++;
    }
    sumG.push(s);
    cnt.push(c);
  }
  return { sumG, cnt };
}

/** The sibling's histograms: parent − child, bin by bin (LightGBM's histogram subtraction). */
function subtract(parent: Histograms, child: Histograms): Histograms {
  const sumG: Float64Array[] = [];
  const cnt: Int32Array[] = [];
  for (let j = 0; j < parent.sumG.length; j++) {
    const ps = parent.sumG[j]!;
    const pc = parent.cnt[j]!;
    const cs = child.sumG[j]!;
    const cc = child.cnt[j]!;
    const s = new Float64Array(ps.length);
    const c = new Int32Array(ps.length);
    for (let k = 0; k < ps.length; k++) {
      s[k] = ps[k]! - cs[k]!;
      c[k] = pc[k]! - cc[k]!;
    }
    sumG.push(s);
    cnt.push(c);
  }
  return { sumG, cnt };
}

/**
 * Grow one tree on gradients `g` (hessians 1) with histogram split finding;
 * leaves as the loss wants them. A split node computes the histograms of its
 * smaller child from rows and gets the larger one's by subtraction from its
 * own (Ke et al. 2017, LightGBM §2), so each level reads about half the rows.
 */
function growTree(
  g: Float64Array, y: Float64Array, f: Float64Array, bins: Uint16Array[], binCounts: number[], thresholds: number[][], loss: GbtLoss,
  o: { learningRate: number; maxDepth: number; minSamplesLeaf: number; lambda: number; monotone: readonly number[] },
): GbtTree {
  const tree: GbtTree = { feature: [], threshold: [], left: [], right: [], value: [] };
  const add = (): number => {
    tree.feature.push(-1);
    tree.threshold.push(0);
    tree.left.push(-1);
    tree.right.push(-1);
    tree.value.push(0);
    return tree.feature.length - 1;
  };
  const maySplit = (n: number, depth: number): boolean => depth < o.maxDepth && n >= 2 * o.minSamplesLeaf;
  const all = Int32Array.from({ length: g.length }, (_, i) => i);
  const stack: Node[] = [{ rows: all, depth: 0, id: add(), hist: maySplit(all.length, 0) ? histogramsOf(all, g, bins, binCounts) : null, lo: -Infinity, hi: Infinity }];
  while (stack.length) {
    const node = stack.pop()!;
    const split = node.hist ? bestSplit(node.hist, node.rows.length, node, o) : null;
    if (!split) {
      // Clamped into the bounds of the monotone splits above: every leaf left of such a split ≤ its midpoint ≤ every leaf right of it.
      tree.value[node.id] = o.learningRate * Math.min(node.hi, Math.max(node.lo, leafValue(node.rows, g, y, f, loss, o.lambda)));
      continue;
    }
    const direction = o.monotone[split.feature] ?? 0;
    tree.feature[node.id] = split.feature;
    tree.threshold[node.id] = thresholds[split.feature]![split.bin]!;
    const b = bins[split.feature]!;
    let nLeft = 0;
    for (let k = 0; k < node.rows.length; k++) if (b[node.rows[k]!]! <= split.bin) nLeft++;
    const leftRows = new Int32Array(nLeft);
    const rightRows = new Int32Array(node.rows.length - nLeft);
    let li = 0;
    let ri = 0;
    for (let k = 0; k < node.rows.length; k++) {
      const i = node.rows[k]!;
      if (b[i]! <= split.bin) leftRows[li++] = i;
      else rightRows[ri++] = i;
    }
    let left = { lo: node.lo, hi: node.hi };
    let right = { lo: node.lo, hi: node.hi };
    if (direction !== 0) {
      // The midpoint of the children's own leaf values (the loss's leaf rule, clamped), so the bounds are in leaf units for
      // both losses (the quantile loss re-fits leaves as residual quantiles, not −G/(H+λ)).
      const clamp = (v: number): number => Math.min(node.hi, Math.max(node.lo, v));
      const mid = (clamp(leafValue(leftRows, g, y, f, loss, o.lambda)) + clamp(leafValue(rightRows, g, y, f, loss, o.lambda))) / 2;
      if (direction > 0) {
        left = { lo: node.lo, hi: Math.min(node.hi, mid) };
        right = { lo: Math.max(node.lo, mid), hi: node.hi };
      } else {
        left = { lo: Math.max(node.lo, mid), hi: node.hi };
        right = { lo: node.lo, hi: Math.min(node.hi, mid) };
      }
    }
    const l = add();
    const r = add();
    tree.left[node.id] = l;
    tree.right[node.id] = r;
    const depth = node.depth + 1;
    let leftHist: Histograms | null = null;
    let rightHist: Histograms | null = null;
    if (maySplit(leftRows.length, depth) || maySplit(rightRows.length, depth)) {
      const leftSmaller = leftRows.length <= rightRows.length;
      const small = histogramsOf(leftSmaller ? leftRows : rightRows, g, bins, binCounts);
      const large = subtract(node.hist!, small);
      leftHist = leftSmaller ? small : large;
      rightHist = leftSmaller ? large : small;
    }
    stack.push(
      { rows: rightRows, depth, id: r, hist: maySplit(rightRows.length, depth) ? rightHist : null, ...right },
      { rows: leftRows, depth, id: l, hist: maySplit(leftRows.length, depth) ? leftHist : null, ...left },
    );
  }
  return tree;
}

/**
 * The split of largest gain (> 0) over every feature's histogram, or null. Ties: lower feature, then lower bin.
 * On a monotone feature a split whose (bound-clamped) child values −G/(H+λ) go the wrong way is not allowed.
 */
function bestSplit(
  hist: Histograms, H: number, bounds: { lo: number; hi: number }, o: { minSamplesLeaf: number; lambda: number; monotone: readonly number[] },
): { feature: number; bin: number; leftValue: number; rightValue: number } | null {
  let G = 0;
  for (const v of hist.sumG[0]!) G += v;
  const parent = (G * G) / (H + o.lambda);
  let best: { feature: number; bin: number; gain: number; leftValue: number; rightValue: number } | null = null;
  const clamp = (v: number): number => Math.min(bounds.hi, Math.max(bounds.lo, v));
  for (let j = 0; j < hist.sumG.length; j++) {
    const direction = o.monotone[j] ?? 0;
    const sumG = hist.sumG[j]!;
    const cnt = hist.cnt[j]!;
    // The last bin cannot be a split (every row would go left).
    const nb = sumG.length - 1;
    let GL = 0;
    let HL = 0;
    for (let k = 0; k < nb; k++) {
      GL += sumG[k]!;
      HL += cnt[k]!;
      const HR = H - HL;
      if (HL < o.minSamplesLeaf || HR < o.minSamplesLeaf) continue;
      const GR = G - GL;
      const gain = (GL * GL) / (HL + o.lambda) + (GR * GR) / (HR + o.lambda) - parent;
      if (!(gain > 1e-12 * Math.max(1, Math.abs(parent)) && (!best || gain > best.gain))) continue;
      const leftValue = clamp(-GL / (HL + o.lambda));
      const rightValue = clamp(-GR / (HR + o.lambda));
      if (direction * (rightValue - leftValue) < 0) continue;
      best = { feature: j, bin: k, gain, leftValue, rightValue };
    }
  }
  return best;
}

/** Leaf value before shrinkage: −G/(H+λ) for L2; the α-quantile of the residuals for the quantile loss. */
function leafValue(rows: Int32Array, g: Float64Array, y: Float64Array, f: Float64Array, loss: GbtLoss, lambda: number): number {
  if (loss.kind === 'quantile') {
    const r = new Float64Array(rows.length);
    for (let k = 0; k < rows.length; k++) r[k] = y[rows[k]!]! - f[rows[k]!]!;
    return nearestRankQuantile(r, loss.alpha);
  }
  let G = 0;
  for (const i of rows) G += g[i]!;
  return -G / (rows.length + lambda);
}
