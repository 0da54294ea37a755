/**
 * Seeded pseudo-random numbers for the simulator: sfc32 (Chris Doty-Humphrey's
 * Small Fast Counter, 32-bit variant, from PractRand) seeded through splitmix32,
 * plus the samplers the simulator needs. Deterministic across platforms: only
 * 32-bit integer arithmetic (`Math.imul`, shifts) and IEEE-754 doubles.
 */

/** splitmix32 finaliser: a bijective 32-bit mix (Steele, Lea & Flood, OOPSLA 2014, 32-bit variant). */
function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * Hash a string to 32 bits (FNV-1a), to name independent random streams.
 *
 * @param s  Any string, e.g. `'arrivals'`.
 * @returns  Unsigned 32-bit hash.
 */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * A seeded generator with the samplers used by the simulator.
 *
 * Behaviour: every method advances the one underlying sfc32 state, so the
 * sequence of calls alone determines the values.
 * @see createRng
 */
export interface Rng {
  /** Uniform double in [0, 1), 32 bits of randomness. */
  next(): number;
  /** Uniform double in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** Uniform integer in [0, n). @throws {RangeError} if n is not a positive integer. */
  int(n: number): number;
  /** Standard normal N(0, 1) (Box–Muller; the second value of each pair is cached). */
  normal(): number;
  /** Lognormal with log-mean `mu` and log-sd `sigma`: exp(mu + sigma·N(0,1)); its median is exp(mu). */
  lognormal(mu: number, sigma: number): number;
  /** Exponential with the given rate (events per unit); mean 1/rate. @throws {RangeError} if rate <= 0. */
  exponential(rate: number): number;
  /** True with probability p. */
  bernoulli(p: number): boolean;
}

/**
 * Create an sfc32 generator for a seed and an optional stream name.
 *
 * Behaviour: (seed, stream) pairs give independent-looking sequences, so the
 * simulator draws fleet layout, arrivals, service noise and jitter from
 * separate streams and a change in one does not shift the others.
 * @param seed    Any safe integer (only its low 32 bits and its high part are mixed in).
 * @param stream  Stream name, e.g. `'service'`. @default ''
 * @returns       A fresh generator.
 * @example createRng(42, 'arrivals').next()
 */
export function createRng(seed: number, stream = ''): Rng {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  const h = hash32(stream);
  let a = mix32(lo ^ h);
  let b = mix32(hi ^ mix32(h + 1));
  let c = mix32(lo + mix32(h + 2));
  let d = 1;
  const raw = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) raw();
  let spare: number | null = null;
  const next = (): number => raw() / 4294967296;
  const rng: Rng = {
    next,
    uniform: (lo2, hi2) => lo2 + (hi2 - lo2) * next(),
    int(n) {
      if (!Number.isInteger(n) || n <= 0) throw new RangeError(`int(n) needs a positive integer, got ${JSON.stringify(n)}`);
      return Math.floor(next() * n);
    },
    normal() {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      const u1 = 1 - next();
      const u2 = next();
      const r = Math.sqrt(-2 * Math.log(u1));
      spare = r * Math.sin(2 * Math.PI * u2);
      return r * Math.cos(2 * Math.PI * u2);
    },
    lognormal: (mu, sigma) => Math.exp(mu + sigma * rng.normal()),
    exponential(rate) {
      if (!(rate > 0) || !Number.isFinite(rate)) {
        throw new RangeError(`exponential(rate) needs a finite rate > 0, got ${JSON.stringify(rate)}`);
      }
      return -Math.log(1 - next()) / rate;
    },
    bernoulli: (p) => next() < p,
  };
  return rng;
}

/**
 * Shuffle an array in place with Fisher–Yates (Knuth, TAOCP vol. 2, §3.4.2,
 * Algorithm P), drawing from `rng`: the same generator state gives the same order.
 * @returns the same array, shuffled.
 */
export function shuffleInPlace<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
