/**
 * Special functions for the correlation p-value: log-gamma (Lanczos) and the
 * regularized incomplete beta function I_x(a, b) (continued fraction).
 * Source: W. H. Press et al., Numerical Recipes, 3rd ed., §6.1 and §6.4.
 */

/** Lanczos coefficients (g = 671/128, 14 terms) from Numerical Recipes 3rd ed. §6.1 `gammln`. */
const LANCZOS = [
  57.1562356658629235, -59.5979603554754912, 14.1360979747417471, -0.491913816097620199,
  0.339946499848118887e-4, 0.465236289270485756e-4, -0.983744753048795646e-4,
  0.158088703224912494e-3, -0.210264441724104883e-3, 0.217439618115212643e-3,
  -0.164318106536763890e-3, 0.844182239838527433e-4, -0.261908384015814087e-4,
  0.368991826595316234e-5,
];

/**
 * ln Γ(x) for x > 0 (Lanczos approximation, Numerical Recipes 3rd ed. §6.1; ~1e-15 relative).
 * @throws {RangeError} if x ≤ 0 or NaN.
 */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`logGamma: x must be > 0, got ${String(x)}`);
  let y = x;
  let tmp = x + 5.2421875;
  tmp = (x + 0.5) * Math.log(tmp) - tmp;
  let ser = 0.999999999999997092;
  for (const c of LANCZOS) ser += c / ++y;
  return tmp + Math.log((2.5066282746310005 * ser) / x);
}

const EPS = Number.EPSILON;
const FPMIN = Number.MIN_VALUE / Number.EPSILON;

/** Continued fraction for I_x(a, b) by the modified Lentz method (Numerical Recipes §6.4 `betacf`). */
function betacf(a: number, b: number, x: number): number {
  const tiny = (v: number): number => (Math.abs(v) < FPMIN ? FPMIN : v);
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 / tiny(1 - (qab * x) / qap);
  let h = d;
  for (let m = 1; m < 100000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 / tiny(1 + aa * d);
    c = tiny(1 + aa / c);
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 / tiny(1 + aa * d);
    c = tiny(1 + aa / c);
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) <= EPS) break;
  }
  return h;
}

/** I_x(a, b) given both x and y = 1 − x (so the caller keeps the digits of the small one). */
export function incompleteBetaWithComplement(a: number, b: number, x: number, y: number): number {
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  const bt = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(y));
  if (x < (a + 1) / (a + b + 2)) return (bt * betacf(a, b, x)) / a;
  return 1 - (bt * betacf(b, a, y)) / b;
}

/**
 * Regularized incomplete beta function I_x(a, b) (Numerical Recipes 3rd ed. §6.4:
 * continued fraction `betacf` with the symmetry I_x(a,b) = 1 − I_{1−x}(b,a)).
 *
 * @param x  Point in [0, 1].
 * @param a  Shape, > 0.
 * @param b  Shape, > 0.
 * @returns  I_x(a, b) in [0, 1].
 * @throws {RangeError} if x is outside [0, 1] or a, b are not > 0.
 */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (!(x >= 0 && x <= 1)) throw new RangeError(`regularizedIncompleteBeta: x must be in [0, 1], got ${String(x)}`);
  if (!(a > 0 && b > 0)) throw new RangeError(`regularizedIncompleteBeta: a and b must be > 0, got a=${String(a)} b=${String(b)}`);
  return incompleteBetaWithComplement(a, b, x, 1 - x);
}

/**
 * Regularized upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a) for a > 0, x ≥ 0
 * (Numerical Recipes 3rd ed. §6.2: the series for P when x < a + 1, else the
 * continued fraction for Q by the modified Lentz method).
 * @throws {RangeError} if a ≤ 0 or x < 0.
 */
export function regularizedGammaQ(a: number, x: number): number {
  if (!(a > 0)) throw new RangeError(`regularizedGammaQ: a must be > 0, got ${String(a)}`);
  if (!(x >= 0)) throw new RangeError(`regularizedGammaQ: x must be >= 0, got ${String(x)}`);
  if (x === 0) return 1;
  const lead = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let ap = a;
    let sum = 1 / a;
    let del = sum;
    for (let n = 0; n < 100000; n++) {
      del *= x / ++ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * EPS) break;
    }
    return 1 - sum * Math.exp(lead);
  }
  let b = x + 1 - a;
  let c = 1 / FPMIN;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 100000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < FPMIN) d = FPMIN;
    c = b + an / c;
    if (Math.abs(c) < FPMIN) c = FPMIN;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) <= EPS) break;
  }
  return Math.exp(lead) * h;
}

/**
 * Upper tail of the standard normal distribution, 1 − Φ(z) = erfc(z / √2) / 2,
 * with erfc(x) = Q(1/2, x²) for x ≥ 0 (Abramowitz & Stegun 7.1.2, 6.5.17);
 * accurate far into the tail (no 1 − Φ cancellation).
 */
export function normalUpperTail(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  const half = 0.5 * regularizedGammaQ(0.5, (z * z) / 2);
  return z >= 0 ? half : 1 - half;
}
