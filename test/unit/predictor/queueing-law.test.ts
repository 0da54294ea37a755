/**
 * The recommender's M/G/c law against closed forms and an exact simulation:
 * - with cs² = 1 (σ = √ln 2, no i/o) the law's wait is the M/M/c wait exactly:
 *   P(W > t) = C(c, a)·e^(−(cμ − λ)t) (Kleinrock 1975, eq. 3.40 and §3.5);
 *   P(W > 0) for c = 1 is ρ; Erlang C(2, 1) = 1/3 (worked out: a²/2·c/(c−a) over
 *   1 + a + a²/2·c/(c−a) = 1/(1 + 1 + 1) = 1/3);
 * - the latency p90/p99 of an M/G/1 and an M/G/2 queue with lognormal service
 *   (σ = 0.5) are within 10 % of those of the exact FCFS discrete-event
 *   simulation (services/simulator/queueing.ts) with Poisson arrivals;
 * - maxRateWithin returns the rate at which the quantile equals the SLO.
 */
import { describe, expect, it } from 'vitest';
import { normalCdf } from '../../../services/model/wait-prior.ts';
import { LAW_GRID, latencyQuantile, maxRateWithin, serviceFromPercentiles, serviceMoments, waitGrid, type ServiceTime } from '../../../services/predictor/queueing-law.ts';
import { createRng } from '../../../services/simulator/prng.ts';
import { simulateFcfsQueue } from '../../../services/simulator/queueing.ts';

/** Lognormal with cs² = e^{σ²} − 1 = 1. */
const EXPO_LIKE: ServiceTime = { ioMs: 0, computeMedianMs: 10, sigma: Math.sqrt(Math.LN2) };

describe('M/G/c law', () => {
  it('has the M/M/c wait distribution when cs² = 1', () => {
    const { meanMs, cs2 } = serviceMoments(EXPO_LIKE);
    expect(cs2).toBeCloseTo(1, 12);
    expect(meanMs).toBeCloseTo(10 * Math.exp(Math.LN2 / 2), 12);
    const mu = 1 / meanMs; // per ms
    for (const [c, lambdaPerS, pWait] of [[1, 50, Number.NaN], [2, 1000 / meanMs, 1 / 3]] as const) {
      const lambda = lambdaPerS / 1000;
      const a = lambda * meanMs;
      const expectedPWait = c === 1 ? a : pWait;
      const grid = waitGrid(EXPO_LIKE, lambdaPerS, c)!;
      LAW_GRID.p.forEach((p, k) => {
        const exact = p <= 1 - expectedPWait ? 0 : Math.log(expectedPWait / (1 - p)) / (c * mu - lambda);
        expect(grid[k]).toBeCloseTo(exact, 9);
      });
    }
  });

  it('is saturated at λ·E[S] ≥ c and has no wait at λ = 0', () => {
    const { meanMs } = serviceMoments(EXPO_LIKE);
    expect(waitGrid(EXPO_LIKE, (2 * 1000 * 1.0001) / meanMs, 2)).toBeNull();
    expect(latencyQuantile(EXPO_LIKE, (1000 / meanMs) * 1.01, 1, 0.99)).toBe(Number.POSITIVE_INFINITY);
    expect(waitGrid(EXPO_LIKE, 0, 1)!.every((w) => w === 0)).toBe(true);
    // Idle: the lognormal's own quantile, median·e^{σ·z}.
    expect(latencyQuantile(EXPO_LIKE, 0, 1, 0.5)).toBeCloseTo(10, 6);
  });

  it('matches the exact FCFS simulation of M/G/1 and M/G/2 within 10 %', () => {
    const service: ServiceTime = { ioMs: 1, computeMedianMs: 8, sigma: 0.5 };
    const { meanMs } = serviceMoments(service);
    for (const [workers, rho] of [[1, 0.5], [1, 0.7], [2, 0.6]] as const) {
      const ratePerS = (rho * workers * 1000) / meanMs;
      const rng = createRng(7, `mgc-${workers}-${rho}`);
      const n = 200_000;
      const arrivals = new Float64Array(n);
      const svc = new Float64Array(n);
      let t = 0;
      for (let i = 0; i < n; i++) {
        t += rng.exponential(ratePerS / 1000);
        arrivals[i] = t;
        svc[i] = service.ioMs + rng.lognormal(Math.log(service.computeMedianMs), service.sigma);
      }
      const q = simulateFcfsQueue(arrivals, svc, workers);
      const total = Array.from(q.endMs, (e, i) => e - arrivals[i]!).sort((a, b) => a - b);
      for (const alpha of [0.9, 0.99]) {
        const simulated = total[Math.ceil(alpha * n) - 1]!;
        const law = latencyQuantile(service, ratePerS, workers, alpha);
        expect(Math.abs(law / simulated - 1), `c=${workers} ρ=${rho} p${alpha * 100}: law ${law} vs simulated ${simulated}`).toBeLessThan(0.1);
      }
    }
  });

  it('puts p90 and p99 of the law where its closed form and its integral put them (a trial: the 0.9/0.99 bin edges of the old grid made them 4–9 % low)', () => {
    // Deterministic compute (σ → 0): T = io + m + W, so T_α = io + m + θ·ln(C/(1 − α)) for α > 1 − C (closed form),
    // C = Erlang C(c, a) — for c = 1, ρ; for c = 2 and a = 1, 1/3 (worked out in the header).
    for (const [workers, a, pWait] of [[1, 0.5, 0.5], [1, 0.9, 0.9], [2, 1, 1 / 3]] as const) {
      const s: ServiceTime = { ioMs: 1, computeMedianMs: 10, sigma: 0 };
      const { meanMs, cs2 } = serviceMoments(s);
      const theta = (meanMs * (1 + cs2)) / 2 / (workers - a);
      for (const alpha of [0.9, 0.95, 0.99]) {
        const exact = 11 + (alpha <= 1 - pWait ? 0 : theta * Math.log(pWait / (1 - alpha)));
        const law = latencyQuantile(s, (a * 1000) / meanMs, workers, alpha);
        expect(Math.abs(law / exact - 1), `c=${workers} a=${a} α=${alpha}: ${law} vs ${exact}`).toBeLessThan(0.004);
      }
    }
    // Lognormal compute (σ 0.05 and 0.4): P(T ≤ t) = (1 − C)·F(t − io) + C·∫₀^{t−io} e^{−w/θ}/θ · F(t − io − w) dw,
    // F the lognormal CDF, by Simpson's rule on 4,000 intervals and bisection: the law's quantile within 0.5 %.
    for (const sigma of [0.05, 0.4]) {
      const s: ServiceTime = { ioMs: 1, computeMedianMs: 8, sigma };
      const { meanMs, cs2 } = serviceMoments(s);
      const rho = 0.9;
      const theta = (meanMs * (1 + cs2)) / 2 / (1 - rho);
      const F = (x: number): number => (x > 0 ? normalCdf((Math.log(x) - Math.log(8)) / sigma) : 0);
      const cdf = (t: number): number => {
        const top = t - 1;
        if (top <= 0) return 0;
        const n = 4000;
        const h = top / n;
        let sum = 0;
        for (let i = 0; i <= n; i++) {
          const w = i * h;
          sum += (i === 0 || i === n ? 1 : i % 2 === 1 ? 4 : 2) * (Math.exp(-w / theta) / theta) * F(top - w);
        }
        return (1 - rho) * F(top) + rho * (sum * h) / 3;
      };
      for (const alpha of [0.9, 0.99]) {
        let lo = 1;
        let hi = 1 + 8 * Math.exp(8 * sigma) + theta * 20;
        for (let i = 0; i < 60; i++) {
          const mid = (lo + hi) / 2;
          if (cdf(mid) < alpha) lo = mid;
          else hi = mid;
        }
        const law = latencyQuantile(s, (rho * 1000) / meanMs, 1, alpha);
        expect(Math.abs(law / hi - 1), `σ=${sigma} α=${alpha}: law ${law} vs integral ${hi}`).toBeLessThan(0.005);
      }
    }
  });

  it('maxRateWithin finds the rate where the quantile reaches the SLO', () => {
    const s = serviceFromPercentiles(12, 15, 2);
    const r = maxRateWithin(s, 2, 0.99, 60);
    expect(latencyQuantile(s, r, 2, 0.99)).toBeLessThanOrEqual(60);
    expect(latencyQuantile(s, r * 1.001, 2, 0.99)).toBeGreaterThan(60 * 0.999);
    expect(maxRateWithin(s, 2, 0.99, 60, 2)).toBeLessThan(r); // a calibration > 1 lowers it
    expect(maxRateWithin(s, 2, 0.99, 5)).toBe(0); // idle already misses
  });

  it('refuses bad percentiles and rates with the value named', () => {
    expect(() => serviceFromPercentiles(10, 5)).toThrow(/p50 10, p90 5/);
    expect(() => serviceFromPercentiles(10, 12, 11)).toThrow(/io.*11/);
    expect(() => waitGrid(EXPO_LIKE, -1, 1)).toThrow(/-1/);
    expect(() => waitGrid(EXPO_LIKE, 1, 0)).toThrow(/workers.*0/);
  });
});
