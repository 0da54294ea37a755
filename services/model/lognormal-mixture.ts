/**
 * Point estimates from a predictive distribution that is a mixture of
 * log-normals (components N(μ_c, v_c) in ln ms with weights w_c), and the
 * offset-free Gaussian likelihood the few-shot predictor weighs its
 * components with.
 *
 * - **MAPE-optimal point.** The p minimising E|p − Y|/Y is the median of the
 *   distribution with density ∝ f(y)/y (a weighted median; Gneiting 2011,
 *   "Making and evaluating point forecasts", JASA 106, Thm. 9 for this
 *   loss). For a log-normal component the 1/y tilt gives N(μ − v, v) with
 *   weight ∝ w·exp(−μ + v/2), so the point is the median of that mixture.
 * - **Expected latency.** E[Y] = Σ w_c exp(μ_c + v_c/2): the latency a
 *   chooser minimising expected latency compares (Bayes decision).
 * - **Restricted likelihood.** With an unknown offset shared by k values
 *   (flat prior), only their k − 1 contrasts carry information (REML,
 *   Patterson & Thompson 1971): Helmert contrasts of the residuals, Gaussian
 *   density under the projected covariance.
 */

/** One mixture component in ln ms. */
export interface LogComponent {
  /** Weight (≥ 0, need not sum to 1). */
  w: number;
  /** Mean of ln latency. */
  mu: number;
  /** Variance of ln latency (> 0). */
  v: number;
}

/** Standard normal CDF (Zelen & Severo 1964, Abramowitz & Stegun 26.2.17; |error| < 7.5e-8). */
export function normalCdf(z: number): number {
  const t = 1 / (1 + 0.2316419 * Math.abs(z));
  const d = 0.3989422804014327 * Math.exp((-z * z) / 2);
  const p = d * t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  return z > 0 ? 1 - p : p;
}

function checkComponents(c: readonly LogComponent[], what: string): void {
  if (c.length === 0 || !c.some((x) => x.w > 0)) throw new RangeError(`${what}: no component with weight > 0`);
}

/**
 * Mean of ln latency of the mixture.
 * @returns Σ w μ / Σ w, ln ms.
 * @throws {RangeError} if no component has weight > 0.
 */
export function mixtureLogMean(c: readonly LogComponent[]): number {
  checkComponents(c, 'mixtureLogMean');
  let s = 0;
  let w = 0;
  for (const x of c) {
    s += x.w * x.mu;
    w += x.w;
  }
  return s / w;
}

/**
 * Expected latency of the mixture, as a log.
 * @returns ln(Σ w exp(μ + v/2) / Σ w), ln ms.
 * @throws {RangeError} if no component has weight > 0.
 */
export function mixtureLogExpectation(c: readonly LogComponent[]): number {
  checkComponents(c, 'mixtureLogExpectation');
  const top = Math.max(...c.map((x) => x.mu + x.v / 2));
  let s = 0;
  let w = 0;
  for (const x of c) {
    s += x.w * Math.exp(x.mu + x.v / 2 - top);
    w += x.w;
  }
  return top + Math.log(s / w);
}

/**
 * MAPE-optimal point of the mixture (median of the 1/y-tilted mixture), by bisection.
 * @returns ln of the point, ln ms.
 * @throws {RangeError} if no component has weight > 0.
 */
export function mixtureLogMapePoint(c: readonly LogComponent[]): number {
  checkComponents(c, 'mixtureLogMapePoint');
  const live = c.filter((x) => x.w > 0);
  const logW = live.map((x) => Math.log(x.w) - x.mu + x.v / 2);
  const top = Math.max(...logW);
  const w = logW.map((l) => Math.exp(l - top));
  const W = w.reduce((a, b) => a + b, 0);
  const m = live.map((x) => x.mu - x.v);
  const sd = live.map((x) => Math.sqrt(x.v));
  let lo = Math.min(...m.map((mi, i) => mi - 8 * sd[i]!));
  let hi = Math.max(...m.map((mi, i) => mi + 8 * sd[i]!));
  for (let it = 0; it < 60; it++) {
    const mid = (lo + hi) / 2;
    let cdf = 0;
    for (let i = 0; i < live.length; i++) cdf += w[i]! * normalCdf((mid - m[i]!) / sd[i]!);
    if (cdf / W < 0.5) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Log-likelihood of residuals e (length k ≥ 1) under N(c·1, Σ) with the offset c
 * integrated out under a flat prior: the Gaussian log density (without the
 * 2π constant) of the k − 1 Helmert contrasts of e under their covariance.
 *
 * @param e      Residuals, ln ms.
 * @param sigma  Their covariance, k×k, symmetric positive definite.
 * @returns      Log-likelihood up to a constant that depends on k only; 0 for k = 1.
 */
export function restrictedLogLikelihood(e: readonly number[], sigma: readonly (readonly number[])[]): number {
  const k = e.length;
  if (k <= 1) return 0;
  const q: number[][] = [];
  for (let j = 1; j < k; j++) {
    const n = Math.sqrt(j + j * j);
    q.push(Array.from({ length: k }, (_, i) => (i < j ? 1 / n : i === j ? -j / n : 0)));
  }
  const d = k - 1;
  const z = q.map((row) => row.reduce((s, v, i) => s + v * e[i]!, 0));
  const S = q.map((r1) => q.map((r2) => {
    let s = 0;
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) s += r1[i]! * sigma[i]![j]! * r2[j]!;
    return s;
  }));
  // Cholesky of the d×d contrast covariance, then the Mahalanobis term by forward substitution.
  const L = S.map(() => new Array<number>(d).fill(0));
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = S[i]![j]!;
      for (let p = 0; p < j; p++) s -= L[i]![p]! * L[j]![p]!;
      L[i]![j] = i === j ? Math.sqrt(Math.max(s, 1e-300)) : s / L[j]![j]!;
    }
  }
  let logDet = 0;
  let maha = 0;
  const y = new Array<number>(d).fill(0);
  for (let i = 0; i < d; i++) {
    let s = z[i]!;
    for (let p = 0; p < i; p++) s -= L[i]![p]! * y[p]!;
    y[i] = s / L[i]![i]!;
    maha += y[i]! * y[i]!;
    logDet += Math.log(L[i]![i]!);
  }
  return -logDet - maha / 2;
}

/**
 * {@link restrictedLogLikelihood} for Σ = v·I, in closed form.
 * @param k    Number of residuals.
 * @param ss   Σ (e − ē)², (ln ms)².
 * @param v    Variance per residual, > 0.
 * @returns    −((k − 1)/2)·ln v − ss/(2v).
 */
export function isotropicRestrictedLogLikelihood(k: number, ss: number, v: number): number {
  return (-(k - 1) / 2) * Math.log(v) - ss / (2 * v);
}

/**
 * {@link restrictedLogLikelihood} for Σ = v·I + W·Wᵀ (W is k×q, q small), in
 * O(k·q² + q³) by the Woodbury identity and the matrix determinant lemma
 * (Golub & Van Loan §2.1.4): with a flat offset the restricted likelihood is
 * −½ln|Σ| − ½ln(1ᵀΣ⁻¹1) − ½[eᵀΣ⁻¹e − (1ᵀΣ⁻¹e)²/(1ᵀΣ⁻¹1)] + ½ln k, which equals
 * the Helmert-contrast density.
 *
 * @param e  Residuals (length k ≥ 1), ln ms.
 * @param v  Diagonal variance, > 0.
 * @param W  k rows of q loadings (q may be 0).
 * @returns  The same value as `restrictedLogLikelihood(e, vI + WWᵀ)`; 0 for k = 1.
 */
export function lowRankRestrictedLogLikelihood(e: readonly number[], v: number, W: readonly (readonly number[])[]): number {
  const k = e.length;
  if (k <= 1) return 0;
  const q = W[0]?.length ?? 0;
  // M = v·I_q + WᵀW and its Cholesky factor.
  const M = Array.from({ length: q }, (_, a) => Array.from({ length: q }, (_, b) => (a === b ? v : 0) + W.reduce((s, w) => s + w[a]! * w[b]!, 0)));
  const L = M.map(() => new Array<number>(q).fill(0));
  let logDetM = 0;
  for (let i = 0; i < q; i++) {
    for (let j = 0; j <= i; j++) {
      let s = M[i]![j]!;
      for (let p = 0; p < j; p++) s -= L[i]![p]! * L[j]![p]!;
      L[i]![j] = i === j ? Math.sqrt(Math.max(s, 1e-300)) : s / L[j]![j]!;
    }
    logDetM += 2 * Math.log(L[i]![i]!);
  }
  const solveM = (b: number[]): number[] => {
    const y = new Array<number>(q).fill(0);
    for (let i = 0; i < q; i++) {
      let s = b[i]!;
      for (let p = 0; p < i; p++) s -= L[i]![p]! * y[p]!;
      y[i] = s / L[i]![i]!;
    }
    for (let i = q - 1; i >= 0; i--) {
      let s = y[i]!;
      for (let p = i + 1; p < q; p++) s -= L[p]![i]! * y[p]!;
      y[i] = s / L[i]![i]!;
    }
    return y;
  };
  // Σ⁻¹x = (x − W M⁻¹ Wᵀ x) / v.
  const sigmaInv = (x: readonly number[]): number[] => {
    const z = solveM(Array.from({ length: q }, (_, a) => W.reduce((s, w, i) => s + w[a]! * x[i]!, 0)));
    return x.map((xi, i) => (xi - W[i]!.reduce((s, w, a) => s + w * z[a]!, 0)) / v);
  };
  const ones = new Array<number>(k).fill(1);
  const si1 = sigmaInv(ones);
  const sie = sigmaInv(e);
  const a = si1.reduce((s, x) => s + x, 0);
  const b = sie.reduce((s, x) => s + x, 0);
  const c = sie.reduce((s, x, i) => s + x * e[i]!, 0);
  // |Σ| = v^(k−q)·|M| (determinant lemma: |vI_k + WWᵀ| = v^k·|I_q + WᵀW/v|).
  const logDet = (k - q) * Math.log(v) + logDetM;
  return -logDet / 2 - Math.log(a) / 2 - (c - (b * b) / a) / 2 + Math.log(k) / 2;
}
