/**
 * Exact rational arithmetic on BigInt fractions, for reference values in tests.
 *
 * Every float64 is a dyadic rational m·2^e, so sums of squares and products of
 * float inputs can be formed exactly; only the final square root is rounded, to a
 * chosen number of decimal digits.
 */

/** A reduced fraction num/den with den > 0. */
export interface Rational {
  readonly num: bigint;
  readonly den: bigint;
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}

/** Build a reduced fraction. @throws {RangeError} if den = 0. */
export function rat(num: bigint, den: bigint = 1n): Rational {
  if (den === 0n) throw new RangeError('rat: zero denominator');
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  const g = gcd(num, den);
  return g > 1n ? { num: num / g, den: den / g } : { num, den };
}

/** Exact value of a finite double as a fraction (sign·mantissa·2^exponent). @throws {RangeError} if not finite. */
export function fromDouble(x: number): Rational {
  if (!Number.isFinite(x)) throw new RangeError(`fromDouble: not finite: ${String(x)}`);
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const negative = bits >> 63n === 1n;
  const biased = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  const mant = biased === 0 ? frac : frac | (1n << 52n);
  const exp = (biased === 0 ? 1 : biased) - 1075; // value = mant · 2^exp
  const signed = negative ? -mant : mant;
  return exp >= 0 ? rat(signed << BigInt(exp)) : rat(signed, 1n << BigInt(-exp));
}

/** Exact a + b. */
export const add = (a: Rational, b: Rational): Rational => rat(a.num * b.den + b.num * a.den, a.den * b.den);
/** Exact a − b. */
export const sub = (a: Rational, b: Rational): Rational => rat(a.num * b.den - b.num * a.den, a.den * b.den);
/** Exact a · b. */
export const mul = (a: Rational, b: Rational): Rational => rat(a.num * b.num, a.den * b.den);
/** Exact a / b. @throws {RangeError} on division by zero. */
export const div = (a: Rational, b: Rational): Rational => rat(a.num * b.den, a.den * b.num);
/** Sign of a: −1, 0 or 1. */
export const sign = (a: Rational): -1 | 0 | 1 => (a.num === 0n ? 0 : a.num < 0n ? -1 : 1);

/** floor(√n) for n ≥ 0 (Newton's method on BigInt). */
export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new RangeError('isqrt: negative');
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

function scaledToDecimal(scaled: bigint, digits: number, negative: boolean): string {
  const s = scaled.toString().padStart(digits + 1, '0');
  return `${negative ? '-' : ''}${s.slice(0, s.length - digits)}.${s.slice(s.length - digits)}`;
}

/** a as a decimal string truncated toward zero after `digits` fraction digits. */
export function toDecimal(a: Rational, digits = 40): string {
  const abs = a.num < 0n ? -a.num : a.num;
  return scaledToDecimal((abs * 10n ** BigInt(digits)) / a.den, digits, a.num < 0n);
}

/** Nearest double to a (via a 40-digit decimal string, which Number() rounds correctly). */
export function toNumber(a: Rational): number {
  return Number(toDecimal(a, 40));
}

/** √a truncated to `digits` fraction digits, as a decimal string. @throws {RangeError} if a < 0. */
export function sqrtDecimal(a: Rational, digits = 60): string {
  if (a.num < 0n) throw new RangeError('sqrtDecimal: negative');
  return scaledToDecimal(isqrt((a.num * 10n ** BigInt(2 * digits)) / a.den), digits, false);
}

/** Exact centred sums of paired doubles and Pearson r to 60 digits. */
export interface ExactPearson {
  n: number;
  /** Σ(x − x̄)², exact. */
  sxx: Rational;
  /** Σ(y − ȳ)², exact. */
  syy: Rational;
  /** Σ(x − x̄)(y − ȳ), exact. */
  sxy: Rational;
  /** r = Sxy/√(Sxx·Syy) truncated to 60 decimals; null when Sxx or Syy is 0. */
  rDecimal: string | null;
  /** Nearest double to rDecimal (null as above). */
  r: number | null;
}

/**
 * Pearson r of the exact binary values of `xs`, `ys`: Sxx = Σx² − (Σx)²/n etc. in
 * exact rationals, then r = sign(Sxy)·√(Sxy²/(Sxx·Syy)) to 60 decimal digits.
 * @throws {RangeError} if lengths differ or n < 2.
 */
export function exactPearson(xs: readonly number[], ys: readonly number[]): ExactPearson {
  if (xs.length !== ys.length || xs.length < 2) throw new RangeError('exactPearson: need two equal arrays of length >= 2');
  const n = rat(BigInt(xs.length));
  let sx = rat(0n), sy = rat(0n), sxx2 = rat(0n), syy2 = rat(0n), sxy2 = rat(0n);
  for (let i = 0; i < xs.length; i++) {
    const x = fromDouble(xs[i] as number);
    const y = fromDouble(ys[i] as number);
    sx = add(sx, x);
    sy = add(sy, y);
    sxx2 = add(sxx2, mul(x, x));
    syy2 = add(syy2, mul(y, y));
    sxy2 = add(sxy2, mul(x, y));
  }
  const sxx = sub(sxx2, div(mul(sx, sx), n));
  const syy = sub(syy2, div(mul(sy, sy), n));
  const sxy = sub(sxy2, div(mul(sx, sy), n));
  if (sign(sxx) === 0 || sign(syy) === 0) return { n: xs.length, sxx, syy, sxy, rDecimal: null, r: null };
  const mag = sqrtDecimal(div(mul(sxy, sxy), mul(sxx, syy)), 60);
  const rDecimal = sign(sxy) < 0 ? `-${mag}` : mag;
  return { n: xs.length, sxx, syy, sxy, rDecimal, r: Number(rDecimal) };
}
