/**
 * The deployment gate's parts (issue 7, F3): the peak window, the p99 band
 * (order statistics), the replay against the M/M/1 closed form and against
 * exact arithmetic, the factor evidence, the day-to-day sd against a direct
 * pooled variance, and the decision.
 */
import { describe, expect, it } from 'vitest';
import { createRng } from '../../../services/simulator/prng.ts';
import { combineAnswers, dayToDaySd, gateServer, measuredPeakP99, queueShareClass, sloInBand, idProblem, type ServerGate } from '../../../services/predictor/gate.ts';
import { GATE_DEFAULTS } from '../../../services/predictor/gate-options.ts';
import { estimateFactor, ioMapAcrossChips, type CandidateEvidence, type FleetIo } from '../../../services/predictor/gate-factor.ts';
import { msText, distinctMs } from '../../../services/predictor/ms-text.ts';
import { benchmarkSpreadRatio, movedDevice, offeredUtilisation, replayPeakLatencies } from '../../../services/predictor/gate-replay.ts';
import { dayP99, dayP99Band, dayP99Level, MIN_PEAK_REQUESTS, modelPeakWindow, p99Band, peakWindow } from '../../../services/predictor/peak-p99.ts';
import { deviceLoadSensitivity, fitLoadSensitivity, fleetLoadSensitivity } from '../../../services/predictor/load-sensitivity.ts';
import type { ServerObservations } from '../../../services/predictor/whatif.ts';
import { commonBenchmark } from '../../../services/predictor/evidence.ts';
import { quoteName } from '../../../services/names.ts';

function obs(ts: number[], compute: number[], model: string[] = ts.map(() => 'm'), workers = 1): ServerObservations {
  return {
    server: 's1', chip: 'c1', workersPerReplica: workers, ts, io: ts.map(() => 0), compute, util: ts.map(() => 0), model,
    total: compute.slice(), measured: { p50: NaN, p99: NaN, n: ts.length },
  };
}

describe('peakWindow', () => {
  it('finds the minute-aligned window with the most arrivals, the earliest on ties', () => {
    // 10 arrivals in minute 2, 30 in minutes 5–6, 5 in minute 9.
    const ts = [...Array.from({ length: 10 }, (_, i) => 120_000 + i * 1000), ...Array.from({ length: 30 }, (_, i) => 300_000 + i * 4000), ...Array.from({ length: 5 }, (_, i) => 540_000 + i)];
    expect(peakWindow(ts, 120_000)).toEqual({ startMs: 300_000, endMs: 420_000, requests: 30 });
    expect(peakWindow([0, 60_000, 120_000, 180_000], 60_000)).toEqual({ startMs: 0, endMs: 60_000, requests: 1 });
  });

  it('gives the whole span of a stream shorter than the window, and refuses an empty one', () => {
    expect(peakWindow([5, 7, 9], 60_000)).toEqual({ startMs: 5, endMs: 10, requests: 3 });
    expect(() => peakWindow([], 60_000)).toThrow(/no requests/);
    expect(() => peakWindow([1], 0)).toThrow(/peakWindowMs/);
  });
});

describe('modelPeakWindow', () => {
  // The model: one request every 10 s over the hour (6 a minute). The server: those, plus 300 others in minutes 10–14.
  const modelTs = Array.from({ length: 360 }, (_, i) => i * 10_000);
  const serverTs = [...modelTs, ...Array.from({ length: 300 }, (_, i) => 600_000 + i * 1000)].sort((a, b) => a - b);

  it('widens the server\'s busiest 5 min by a minute a side until the model has 100 requests in it', () => {
    expect(peakWindow(serverTs, 300_000)).toEqual({ startMs: 600_000, endMs: 900_000, requests: 330 });
    // 30 of the model's in the peak; each minute a side adds 12: 30 + 6·12 = 102 ≥ 100 after 6 minutes, 90 after 5.
    const w = modelPeakWindow(serverTs, modelTs, 300_000);
    expect(w).toEqual({ startMs: 240_000, endMs: 1_260_000, requests: 102 + 300 });
    expect(modelTs.filter((t) => t >= w.startMs && t < w.endMs)).toHaveLength(102);
    expect(MIN_PEAK_REQUESTS).toBe(100);
  });

  it('keeps the busiest window when it holds enough of the model, and widens only where the model has requests left', () => {
    expect(modelPeakWindow(serverTs, modelTs, 300_000, 30)).toEqual(peakWindow(serverTs, 300_000));
    // A model with 80 requests in all, the last at 790 s: every one of them ends up in the window, which stops growing.
    const few = modelTs.slice(0, 80);
    const w = modelPeakWindow(serverTs, few, 300_000);
    expect(w.startMs).toBeLessThanOrEqual(few[0]!);
    expect(w.endMs).toBeGreaterThan(few[79]!);
    expect(w.startMs).toBe(0);
    expect(w.endMs).toBe(900_000);
    expect(few.filter((t) => t >= w.startMs && t < w.endMs)).toHaveLength(80);
    // No request of the model: the busiest window as it is.
    expect(modelPeakWindow(serverTs, [], 300_000)).toEqual(peakWindow(serverTs, 300_000));
  });
});

describe('p99Band', () => {
  it('is the nearest-rank p99 with the order statistics n·p ∓ z·√(n·p·(1−p)) around it', () => {
    const values = Array.from({ length: 1000 }, (_, i) => 1000 - i); // 1..1000 reversed
    // n = 1000, p = 0.99: rank 990; half-width 1.645·√9.9 = 5.176 → ranks ⌊984.8⌋ = 984 and ⌈995.2⌉ + 1 = 997.
    expect(p99Band(values, 1.645)).toEqual({ p99: 990, low: 984, high: 997, n: 1000 });
    expect(p99Band([3, 1, 2], 1.645)).toEqual({ p99: 3, low: 2, high: 3, n: 3 });
    expect(() => p99Band([], 1)).toThrow(/empty/);
  });
});

describe('dayP99Level, dayP99 and dayP99Band', () => {
  it('dayP99Level: the Beta(k, n − k + 1) order statistic of the day\'s nearest-rank p99 (scipy.stats.beta as the reference)', () => {
    // n = 100: k = 99, mean 99/101; scipy.stats.beta(99, 2).std() = 0.013794664277608632, .median() = 0.9832733294542367.
    const l100 = dayP99Level(100);
    expect(l100.mean).toBe(99 / 101);
    expect(l100.sd).toBeCloseTo(0.013794664277608632, 14);
    expect(Math.abs(l100.median - 0.9832733294542367)).toBeLessThan(2e-4); // Kerman's approximation
    // n = 250 (k = 248) and 1,000 (k = 990): scipy's medians 0.9893181659604301 and 0.9893350429016141, sds 0.006845615083539638, 0.0032934115302341773.
    expect([dayP99Level(250).mean, dayP99Level(1000).mean]).toEqual([248 / 251, 990 / 1001]);
    expect(Math.abs(dayP99Level(250).median - 0.9893181659604301)).toBeLessThan(1e-4);
    expect(Math.abs(dayP99Level(1000).median - 0.9893350429016141)).toBeLessThan(1e-5);
    expect([dayP99Level(250).sd, dayP99Level(1000).sd].map((x) => Number(x.toFixed(14)))).toEqual([0.00684561508354, 0.00329341153023]);
    // A mean over days is rounded; fewer than one request is no day.
    expect(dayP99Level(100.4)).toEqual(l100);
    expect(() => dayP99Level(0.2)).toThrow(/n must be ≥ 1, got 0\.2/);
  });

  it('dayP99 reads the pooled sample at the day\'s median level: over 100 requests below its 0.99', () => {
    const values = Array.from({ length: 1000 }, (_, i) => 1000 - i); // 1..1000 reversed
    // (99 − 1/3) / (100 + 1/3) = 0.98339 → rank ⌈983.39⌉ = 984; at 0.99 it would be 990.
    expect([dayP99(values, 100), p99Band(values, 0).p99]).toEqual([984, 990]);
    // A large day sits near 0.99: (990 − 1/3) / (1000 + 1/3) = 0.98934 → rank 990.
    expect(dayP99(values, 1000)).toBe(990);
    expect(() => dayP99([], 100)).toThrow(/empty/);
  });

  it('dayP99Band reads the pooled sample at mean ± z·√(sd² + mean·(1 − mean)/N) by nearest rank', () => {
    const values = Array.from({ length: 1000 }, (_, i) => 1000 - i); // 1..1000 reversed
    // n = 250: mean 248/251 = 0.988048, sd 0.0068456, pooled √(0.988048·0.011952/1000) = 0.0034365 → half 0.0076598:
    // levels 0.980388 and 0.995708 → ranks ⌈980.39⌉ = 981 and ⌈995.71⌉ = 996.
    expect(dayP99Band(values, 250, 1)).toEqual({ low: 981, high: 996 });
    // A day as large as the pool: mean 990/1001 = 0.989011, half 0.0046599 → levels 0.984351, 0.993671 → ranks 985 and 994.
    expect(dayP99Band(values, 1000, 1)).toEqual({ low: 985, high: 994 });
    expect(() => dayP99Band([], 10, 1)).toThrow(/empty/);
    expect(() => dayP99Band([1], 0, 1)).toThrow(/perDay must be ≥ 1, got 0/);
  });

  it('spans a jump in the tail that a day of n requests lands on either side of (binomial count of slow requests)', () => {
    // 1.5 % of the requests waited behind a slow model (10 ms), the rest did not (1 ms).
    const values = [...Array.from({ length: 985 }, () => 1), ...Array.from({ length: 15 }, () => 10)];
    const n = 250;
    const k = Math.ceil(0.99 * n); // 248: the day's p99 is 10 ms when at least n − k + 1 = 3 of its requests are slow
    const pmf = (j: number) => Math.exp(lgamma(n + 1) - lgamma(j + 1) - lgamma(n - j + 1) + j * Math.log(0.015) + (n - j) * Math.log(0.985));
    const pFast = [0, 1, 2].reduce((t, j) => t + pmf(j), 0); // at most n − k = 2 slow
    expect(pFast).toBeGreaterThan(0.2); // both outcomes are common: P(p99 = 1 ms) = 0.27
    expect(pFast).toBeLessThan(0.8);
    expect(p99Band(values, GATE_DEFAULTS.z).p99).toBe(10);
    expect(dayP99Band(values, n, GATE_DEFAULTS.z)).toEqual({ low: 1, high: 10 });
  });
});

/** ln Γ(x) for integer x ≥ 1, as a sum of logs (exact up to rounding). */
function lgamma(x: number): number {
  let s = 0;
  for (let i = 2; i < x; i++) s += Math.log(i);
  return s;
}

describe('replayPeakLatencies', () => {
  it('gives back the measured latencies unchanged, whatever the load samples said: each service is unloaded at the utilisation it started under', () => {
    // One request a second, 800 ms each on one worker: each after the first started under ρ = 0.8. The load
    // samples said u = 0.3 (a longer interval's mean): unloaded by it with k = 0.5 and loaded again at the
    // replay's 0.8, 800 ms came back as 800 / 1.15 · 1.4 = 974 ms.
    const ts = Array.from({ length: 100 }, (_, i) => i * 1000);
    const o = { ...obs(ts, ts.map(() => 800)), util: ts.map(() => 0.3) };
    const peak = { startMs: 0, endMs: 100_000, requests: 100 };
    const lat = replayPeakLatencies(o, { model: 'm', compute: 1, io: 1, workers: 1, sensitivityPrior: { compute: 0.5, io: 0 } }, peak);
    for (const x of lat) expect(x).toBeCloseTo(800, 9);
    // 1.25× the compute on two workers: ρ = s / 2000, so s = b·(1 + 0.5·s/2000) with b = 1.25·4000/7 ms, s = b / (1 − 0.5·b/2000).
    expect(replayPeakLatencies(o, { model: 'm', compute: 1.25, io: 1, workers: 2, sensitivityPrior: { compute: 0.5, io: 0 } }, peak)[50])
      .toBeCloseTo((4000 / 7) * 1.25 / (1 - 0.5 * (4000 / 7) * 1.25 / 2000), 6);
  });

  it('keeps the measured latencies to the digit on an epoch-ms clock (a float64 at 1.7e12 holds 2^-12 ms)', () => {
    // A trial: the replay of what runs now gave 112.31884765625 ms for a measured 112.319 (end − arrival on epoch ms).
    const t0 = Date.UTC(2024, 5, 1, 10, 7);
    const ts = Array.from({ length: 100 }, (_, i) => t0 + i * 1000);
    const lat = replayPeakLatencies(obs(ts, ts.map(() => 112.319)), { model: 'm', compute: 1, io: 1, workers: 1 }, { startMs: t0, endMs: t0 + 100_000, requests: 100 });
    expect(lat).toHaveLength(100);
    for (const x of lat) expect(Math.abs(x - 112.319)).toBeLessThan(1e-9);
    // Queued requests too: two at once on one worker wait the first's service, exactly.
    const pair = replayPeakLatencies(obs([t0, t0], [112.319, 50.125]), { model: 'm', compute: 1, io: 1, workers: 1 }, { startMs: t0, endMs: t0 + 1, requests: 2 });
    expect(Math.abs(pair[0]! - 112.319)).toBeLessThan(1e-9);
    expect(Math.abs(pair[1]! - (112.319 + 50.125))).toBeLessThan(1e-9);
  });

  it('scales each service exactly when requests never queue', () => {
    const ts = Array.from({ length: 100 }, (_, i) => i * 1000);
    const compute = ts.map((_, i) => 10 + (i % 7));
    const peak = { startMs: 0, endMs: 100_000, requests: 100 };
    const lat = replayPeakLatencies(obs(ts, compute), { model: 'm', compute: 2.5, io: 1, workers: 1 }, peak);
    expect(lat).toEqual(compute.map((c) => c * 2.5));
  });

  it('spreads the changed model\'s compute about its median by a power, m·(c/m)^s, then scales it', () => {
    const ts = Array.from({ length: 9 }, (_, i) => i * 1000);
    const compute = [4, 16, 8, 2, 8, 32, 8, 1, 64];
    const model = ts.map((_, i) => (i === 8 ? 'other' : 'm'));
    const peak = { startMs: 0, endMs: 9000, requests: 9 };
    // The model's median is 8 (lower median of 1, 2, 4, 8, 8, 8, 16, 32); s = 0.5 halves every log-distance to it.
    const lat = replayPeakLatencies(obs(ts, compute, model), { model: 'm', compute: 3, io: 1, workers: 1, spread: 0.5 }, peak);
    // 24·√(c/8): 12√2, 24√2, 24, 12, 24, 48, 24, 6√2.
    expect(lat.map((x) => Math.round(x * 1e9) / 1e9)).toEqual([16.970562748, 33.941125497, 24, 12, 24, 48, 24, 8.485281374]);
  });

  it('reproduces the M/M/1 mean sojourn time 1/(μ − λ) on Poisson arrivals with exponential services', () => {
    const rng = createRng(7, 'gate-mm1');
    const n = 200_000;
    const ts: number[] = [];
    let t = 0;
    for (let i = 0; i < n; i++) {
      t += -Math.log(1 - rng.next()) * 10; // λ = 0.1 /ms
      ts.push(t);
    }
    const compute = ts.map(() => -Math.log(1 - rng.next()) * 4); // 1/μ = 4 ms before the change
    const peak = { startMs: 0, endMs: t + 1, requests: n };
    // ×1.5: 1/μ = 6 ms, ρ = 0.6, mean sojourn 1/(μ − λ) = 1/(1/6 − 1/10) = 15 ms.
    const lat = replayPeakLatencies(obs(ts, compute), { model: 'm', compute: 1.5, io: 1, workers: 1 }, peak);
    expect(lat.reduce((a, b) => a + b, 0) / n).toBeCloseTo(15, 0);
    // Twice the load (arrival times compressed): ρ = 0.8 at 4 ms, mean sojourn 1/(1/4 − 1/5) = 20 ms.
    const busier = replayPeakLatencies(obs(ts, compute), { model: 'm', compute: 1, io: 1, workers: 1, loadScale: 2 }, peak);
    expect(busier.reduce((a, b) => a + b, 0) / n / 20).toBeGreaterThan(0.95);
    expect(busier.reduce((a, b) => a + b, 0) / n / 20).toBeLessThan(1.05);
  });

  it('slows each service by the prior load sensitivity where the rows tell none: the fixed point s = b·(1 + k·s/1 s)', () => {
    // One worker, 500 ms of compute every 4 s (each started under ρ = 0: its second before was idle), no
    // load signal in the rows. Replayed 4× busier (a request a second) with k = 0.3, each service is slowed
    // by the busy fraction of the second before, which its predecessor set:
    // s → 500·(1 + 0.3·s/1000), the fixed point 500 / (1 − 0.15) = 588.235 ms.
    const ts = Array.from({ length: 200 }, (_, i) => i * 4000);
    const o = obs(ts, ts.map(() => 500));
    const peak = { startMs: 0, endMs: 800_000, requests: 200 };
    expect(replayPeakLatencies(o, { model: 'm', compute: 1, io: 1, workers: 1, loadScale: 4 }, peak).at(-1)).toBe(500);
    const slowed = replayPeakLatencies(o, { model: 'm', compute: 1, io: 1, workers: 1, loadScale: 4, sensitivityPrior: { compute: 0.3, io: 0 } }, peak);
    expect(slowed[0]).toBe(500);
    expect(slowed[1]).toBeCloseTo(575, 9);
    expect(slowed.at(-1)).toBeCloseTo(500 / 0.85, 6);
    // As measured (a request every 4 s), the prior changes nothing: every request started idle.
    expect(replayPeakLatencies(o, { model: 'm', compute: 1, io: 1, workers: 1, sensitivityPrior: { compute: 0.3, io: 0 } }, peak).every((x) => x === 500)).toBe(true);
  });

  it('offered load is the work over the workers\' time in the span, ρ = λ·E[S]/c, with the replay\'s contention', () => {
    // 10 requests 1 s apart (span 9 s), 900 ms of compute each, one model changed ×2.
    const ts = Array.from({ length: 10 }, (_, i) => i * 1000);
    const o = obs(ts, ts.map(() => 900), ts.map((_, i) => (i % 2 === 0 ? 'a' : 'b')), 2);
    expect(offeredUtilisation(o, { model: 'a', compute: 1, io: 1, workers: 2 })).toBeCloseTo(9000 / (2 * 9000), 12);
    expect(offeredUtilisation(o, { model: 'a', compute: 2, io: 1, workers: 2 })).toBeCloseTo((5 * 1800 + 5 * 900) / (2 * 9000), 12);
    // Twice the load: the same work in half the span.
    expect(offeredUtilisation(o, { model: 'a', compute: 1, io: 1, workers: 2, loadScale: 2 })).toBeCloseTo(9000 / (2 * 4500), 12);
    expect(offeredUtilisation(obs([5], [900]), { model: 'm', compute: 1, io: 1, workers: 1 })).toBe(0);
    // With the contention the replay applies (rows telling none: the prior k_c = 0.5; requests 2 s apart start
    // idle, so the measured compute is the unloaded one), the fixed point ρ = ρ_c / (1 − k_c·ρ_c): ρ_c = 9000 /
    // 18000 gives 0.5 / 0.75. At compute ×1.5 the work at ρ = 1, ρ_c·(1 + k_c) = 0.75 · 1.5, reaches 1: the
    // queue cannot drain though its unloaded work (0.75) fits, and that work is returned.
    const k = { compute: 0.5, io: 0 };
    const apart = Array.from({ length: 10 }, (_, i) => i * 2000);
    const idle = obs(apart, apart.map(() => 900), apart.map(() => 'a'));
    expect(offeredUtilisation(idle, { model: 'a', compute: 1, io: 1, workers: 1, sensitivityPrior: k })).toBeCloseTo(0.5 / 0.75, 12);
    expect(offeredUtilisation(idle, { model: 'a', compute: 1.5, io: 1, workers: 1 })).toBeCloseTo(0.75, 12);
    expect(offeredUtilisation(idle, { model: 'a', compute: 1.5, io: 1, workers: 1, sensitivityPrior: k })).toBeCloseTo(0.75 * 1.5, 12);
    expect(() => offeredUtilisation(o, { model: 'zz', compute: 1, io: 1, workers: 1 })).toThrow(/model "zz": no request of it on "s1"/);
  });

  it('moves a model to the server\'s device of another chip, merged by arrival time', () => {
    const from = obs([0, 10, 20, 30], [1, 2, 3, 4], ['a', 'b', 'a', 'b']);
    const target = { ...obs([5, 25], [7, 8], ['c', 'c'], 2), chip: 'c2' };
    const moved = movedDevice(from, 'a', target, 'c2', 9);
    expect(moved.ts).toEqual([0, 5, 20, 25]);
    expect(moved.model).toEqual(['a', 'c', 'a', 'c']);
    expect(moved.compute).toEqual([1, 7, 3, 8]);
    expect(moved.workersPerReplica).toBe(2);
    expect(movedDevice(from, 'a', null, 'c3', 9).workersPerReplica).toBe(9);
  });
});

const EVIDENCE: CandidateEvidence = {
  model: 'resnet50', versionNow: 'v1', chipNow: 'orin', version: 'v1', chip: 'orin',
  fleet: [
    { version: 'v1', chip: 'orin', io: 1, compute: 5, n: 100 },
    { version: 'v1', chip: 'xavier', io: 2, compute: 10, n: 100 },
    { version: 'v3', chip: 'xavier', io: 2, compute: 30, n: 100 },
  ],
  benchmark: new Map([['orin', 4], ['rpi4', 400]]),
  macs: new Map([['v1', 4e9], ['v2', 8e9], ['v9', 4e9]]),
};

describe('estimateFactor', () => {
  it('takes each kind of evidence with its log-sd', () => {
    const f = (e: Partial<CandidateEvidence>) => estimateFactor({ ...EVIDENCE, ...e }, GATE_DEFAULTS);
    expect(f({})).toEqual({ factor: { compute: 1, io: 1, ioOffsetMs: 0, spread: 1, logSd: 0, ioUncertain: false, sources: ['unchanged (the running version and chip)'] } });
    expect(f({ version: 'v3' })).toMatchObject({ factor: { compute: 3, io: 1, logSd: GATE_DEFAULTS.fleetSd } });
    expect(f({ version: 'v2' })).toMatchObject({ factor: { compute: 2, io: 1, logSd: GATE_DEFAULTS.profileSd } });
    expect(f({ version: 'v9' })).toMatchObject({ factor: { compute: 1, io: 1, logSd: GATE_DEFAULTS.retrainSd, ioUncertain: false } });
    // MACs 20× apart scale; further apart (a wrong ONNX file, another model's) they are not believed: a shadow is asked for.
    expect(f({ version: 'v2', macs: new Map([['v1', 4e9], ['v2', 8e10]]) })).toMatchObject({ factor: { compute: 20 } });
    expect(f({ version: 'v2', macs: new Map([['v1', 4e9], ['v2', 2e8]]) })).toMatchObject({ factor: { compute: 0.05 } });
    expect(f({ version: 'v2', macs: new Map([['v1', 4e9], ['v2', 295072]]) })).toEqual({ missing: 'the MACs of v2 (2.951e+5) are 0.0000738× those of the running v1 (4.000e+9): beyond ×1/20..×20, a profile scales no replay that far (is it this model\'s? check the MACs given: --macs or --onnx, and --macs-now; macs and macs_now over HTTP); or run it as a shadow' });
    expect(f({ version: 'v2', macs: new Map([['v1', 4e9], ['v2', 8.1e10]]) })).toHaveProperty('missing');
    // A version change leaves the i/o as measured; a chip change estimates it.
    expect(f({ chip: 'xavier' })).toMatchObject({ factor: { compute: 2, io: 2, logSd: GATE_DEFAULTS.fleetSd, ioUncertain: true } });
    expect(f({ chip: 'rpi4' })).toMatchObject({ factor: { compute: 100, io: 1, logSd: GATE_DEFAULTS.benchmarkSd } });
    expect(f({ chip: 'rpi4', benchmarkPercentile: 0.9 })).toMatchObject({ factor: { compute: 100, sources: [expect.stringMatching(/^chip: benchmark p90 400 ms on rpi4 \/ 4 ms on orin/)] } });
    // The i/o on a chip the model never ran on, from another model on both (ratio 3 / 1.5).
    const io = f({ chip: 'rpi4', fleetIo: [{ model: 'ssd', chip: 'orin', io: 1.5, n: 30 }, { model: 'ssd', chip: 'rpi4', io: 3, n: 30 }, { model: 'resnet50', chip: 'rpi4', io: 99, n: 30 }] });
    expect(io).toMatchObject({ factor: { compute: 100, io: 2, ioOffsetMs: 0, sources: [expect.stringMatching(/i\/o 2\.000× per request \(through 1 other model\(s\) on both/)] } });
    // Its own i/o on a chip no production server ran it on, measured by its shadows there: 2.5 ms against 1 ms on orin.
    const shadowIo = { model: 'resnet50', chip: 'rpi4', io: 2.5, n: 40, source: 'shadow' } as const;
    expect(f({ chip: 'rpi4', fleetIo: [shadowIo] })).toMatchObject({ factor: { io: 2.5, ioOffsetMs: 0, sources: [expect.stringMatching(/; i\/o 2\.500× per request \(its i\/o on rpi4 measured by shadows\)/)] } });
    // With another model on both, the line through both points: slope (3 − 2.5) / (1.5 − 1) = 1, anchored at its own (1, 2.5).
    expect(f({ chip: 'rpi4', fleetIo: [shadowIo, { model: 'ssd', chip: 'orin', io: 1.5, n: 30 }, { model: 'ssd', chip: 'rpi4', io: 3, n: 30 }] })).toMatchObject({
      factor: { io: expect.closeTo(1, 12), ioOffsetMs: expect.closeTo(1.5, 12), sources: [expect.stringMatching(/; i\/o 1\.50 ms \+ 1\.000× per request \(through 1 other model\(s\) on both: fixed cost \+ bytes \/ bandwidth\) \(its i\/o on rpi4 measured by shadows\)/)] } });
    // Fewer than 20 shadow requests tell nothing; a production median of the model on the chip would come first.
    expect(f({ chip: 'rpi4', fleetIo: [{ ...shadowIo, n: 19 }] })).toMatchObject({ factor: { io: 1, sources: [expect.stringMatching(/i\/o unchanged/)] } });
    expect(f({ chip: 'xavier', fleetIo: [{ ...shadowIo, chip: 'xavier' }] })).toMatchObject({ factor: { io: 2 } });
    // The compute's spread: the fleet's p90 / p50 on both chips (log-ratio 2), else the benchmarks' (clamped to 4).
    const p90 = [{ ...EVIDENCE.fleet[0]!, computeP90: 5 * Math.exp(0.1) }, { ...EVIDENCE.fleet[1]!, computeP90: 10 * Math.exp(0.2) }, EVIDENCE.fleet[2]!];
    expect(f({ chip: 'xavier', fleet: p90 })).toMatchObject({ factor: { compute: 2, io: 2, spread: expect.closeTo(2, 12) } });
    expect(f({ chip: 'xavier', fleet: [EVIDENCE.fleet[0]!, ...p90.slice(1)] })).toMatchObject({ factor: { compute: 2, spread: 1 } }); // no p90 on orin
    expect(f({ chip: 'rpi4', benchmarkSpread: new Map([['orin', 0.05], ['rpi4', 0.5]]) })).toMatchObject({ factor: { compute: 100, spread: 4, sources: [expect.stringMatching(/compute spread ×4\.00 \(benchmark p90 \/ p50\)$/)] } });
    expect(f({ chip: 'rpi4', benchmarkSpread: new Map([['orin', 0.2], ['rpi4', 0.1]]) })).toMatchObject({ factor: { spread: 0.5 } });
    expect(f({ chip: 'rpi4', benchmarkSpread: new Map([['rpi4', 0.1]]) })).toMatchObject({ factor: { spread: 1 } });
    // With the running deployment's spread measured in service (0.05 on orin), the host's part (0.04) adds to the new chip's benchmark.
    const measured = [{ ...EVIDENCE.fleet[0]!, computeP90: 5 * Math.exp(0.05) }, ...EVIDENCE.fleet.slice(1)];
    expect(f({ chip: 'rpi4', fleet: measured, benchmarkSpread: new Map([['orin', 0.03], ['rpi4', 0.03]]) })).toMatchObject({ factor: { compute: 100, spread: expect.closeTo(1, 12) } });
    expect(f({ chip: 'rpi4', fleet: measured, benchmarkSpread: new Map([['orin', 0.03], ['rpi4', 0.09]]) })).toMatchObject({
      factor: { spread: expect.closeTo(Math.hypot(0.09, 0.04) / 0.05, 12), sources: [expect.stringMatching(/compute spread ×1\.97 \(benchmark p90 \/ p50 with the spread measured in service\)$/)] } });
    expect(f({ chip: 'tpu' })).toEqual({ missing: 'no fleet measurement or benchmark of resnet50 to compare on both orin and tpu (unloaded fleet requests: 100 and 0, ≥ 20 on both needed; or a benchmark at one percentile on both): run it as a shadow (for a chip not at hand, `edgelat recommend --model resnet50 --chips tpu --slo-p99-ms MS` gives a rough estimate: from benchmarks of the model on other chips and of other models on this one, scaled MACs, or its catalog peak ops/s, whichever it has)' });
    const both = f({ version: 'v2', chip: 'rpi4' });
    expect(both).toMatchObject({ factor: { compute: 200, io: 1 } });
    expect('factor' in both && both.factor.logSd).toBeCloseTo(Math.hypot(GATE_DEFAULTS.profileSd, GATE_DEFAULTS.benchmarkSd), 12);
    expect(f({ version: 'v5' })).toEqual({ missing: 'no measurement of resnet50 v5 in the fleet and no profile (MACs) of v5 (pass --macs or --onnx; macs over HTTP); or run it as a shadow' });
    // A version like a known one but for a character outside ASCII is said so (a trial: "v１", a full-width digit).
    // One that differs from a known one in case alone too (a trial: V1 for v1 read as a new version to shadow).
    expect(f({ version: 'V1' })).toEqual({ missing: 'no measurement of resnet50 V1 (the fleet knows "v1", which differs from it in case alone: versions are told apart by case) in the fleet and no profile (MACs) of V1 (pass --macs or --onnx; macs over HTTP); or run it as a shadow' });
    expect(f({ version: 'v\uff11' })).toEqual({ missing: 'no measurement of resnet50 v\uff11 ("v\uff11" has U+FF11 at character 2 where v1 has "1") in the fleet and no profile (MACs) of v\uff11 (pass --macs or --onnx; macs over HTTP); or run it as a shadow' });
    // The one that is missing is named: the running version's (a model without published MACs), or both.
    expect(f({ version: 'v2', macs: new Map([['v2', 8e9]]) })).toEqual({ missing: 'no measurement of resnet50 v2 in the fleet and no profile (MACs) of the running v1 (pass --macs-now; macs_now over HTTP: resnet50 has no published MACs); or run it as a shadow' });
    expect(f({ version: 'v5', macs: new Map() })).toEqual({ missing: expect.stringMatching(/no profile \(MACs\) of v5 \(pass --macs .*\) nor of the running v1 \(pass --macs-now/) });
    expect(f({ chip: 'hailo' })).toEqual({ missing: expect.stringMatching(/run it as a shadow/) });
    // A shadow verdict wins: its ratio, and the log-sd of its 95 % interval.
    const shadow = f({ chip: 'hailo', shadow: { ratio: 0.5, low: 0.45, high: 0.55, windows: 3, pairs: 900 } });
    expect(shadow).toMatchObject({ factor: { compute: 0.5, io: 0.5, ioUncertain: true } });
    expect('factor' in shadow && shadow.factor.logSd).toBeCloseTo(Math.log(0.55 / 0.45) / 3.92, 12);
    // With the paired requests' parts, each part takes its own ratio and the compute its spread; the log-sd stays the verdicts'.
    const parts = f({ chip: 'hailo', shadow: { ratio: 0.5, low: 0.45, high: 0.55, windows: 3, pairs: 900, parts: { compute: 0.26, io: 0.61, spread: 0.8, pairs: 850 } } });
    expect(parts).toMatchObject({ factor: { compute: 0.26, io: 0.61, ioOffsetMs: 0, spread: 0.8, ioUncertain: true, sources: ['shadow: 3 verdict window(s), 900 paired requests, ratio 0.500 [0.450, 0.550]; compute ×0.260, i/o ×0.610, compute spread ×0.80 (medians of 850 paired requests\' parts)'] } });
    expect('factor' in parts && parts.factor.logSd).toBeCloseTo(Math.log(0.55 / 0.45) / 3.92, 12);
    // Its failed requests are said beside the ratio; when more failed than paired ok (a trial: 25 pairs, 445 time-outs),
    // the survivors' ratio is no evidence: the benchmark answers, the shadow's note beside it.
    expect(f({ chip: 'rpi4', shadow: { ratio: 0.5, low: 0.45, high: 0.55, windows: 3, pairs: 900, failed: 12 } }))
      .toMatchObject({ factor: { compute: 0.5, sources: ['shadow: 3 verdict window(s), 900 paired requests (+12 failed, not in the ratio), ratio 0.500 [0.450, 0.550]'] } });
    const failing = f({ chip: 'rpi4', shadow: { ratio: 3.4, low: 2.4, high: 4.8, windows: 1, pairs: 25, failed: 445 } });
    expect(failing).toMatchObject({ factor: { compute: 100, sources: [expect.stringMatching(/^chip: benchmark p50 400 ms on rpi4 \/ 4 ms on orin/), 'shadow not used: its shadow beside this server is no evidence of its service time: 1 verdict window(s), 25 paired requests, 445 failed on one side or both; the ratio of the few that did not fail would rest on the fastest (find why the shadow fails or times out)'] } });
    // Windows, pairs and failures count every window; the ratio's own windows are named when fewer.
    expect(f({ chip: 'rpi4', shadow: { ratio: 0.5, low: 0.45, high: 0.55, windows: 5, ratioWindows: 3, pairs: 920, failed: 12 } }))
      .toMatchObject({ factor: { compute: 0.5, sources: ['shadow: 5 verdict window(s), 920 paired requests (+12 failed, not in the ratio), ratio 0.500 [0.450, 0.550] (from the 3 window(s) that gave one)'] } });
    // A new version with a shadow whose windows gave no ratio yet: the advice is to keep it running, not to start one.
    const waiting = f({ version: 'v5', macs: new Map(), shadow: { ratio: 0, low: 0, high: 0, windows: 2, pairs: 10, failed: 0 } });
    expect(waiting).toEqual({ missing: expect.stringMatching(/no profile \(MACs\) of v5 .*; its shadow beside this server gave no ratio yet \(2 verdict window\(s\), 10 paired requests, 0 failed on one side or both\): keep it running$/) });
    expect('missing' in waiting && waiting.missing).not.toContain('or run it as a shadow');
    // A shadow whose windows gave no ratio yet is said in the reason no factor could be given.
    expect(f({ chip: 'hailo', shadow: { ratio: 0, low: 0, high: 0, windows: 2, pairs: 14, failed: 3 } }))
      .toEqual({ missing: expect.stringMatching(/: run it as a shadow .*; its shadow beside this server gave no ratio yet \(2 verdict window\(s\), 14 paired requests, 3 failed on one side or both\): keep it running$/) });
  });
});

describe('benchmarkSpreadRatio', () => {
  it('adds the host\'s log-variance, measured on the running chip, to the new chip\'s benchmark (closed forms)', () => {
    // 3-4-5: measured 0.05 over a benchmark of 0.03 leaves the host 0.04.
    expect(benchmarkSpreadRatio(0.03, 0.03, 0.05).ratio).toBeCloseTo(1, 12);
    expect(benchmarkSpreadRatio(0, 0.03, 0.05).ratio).toBeCloseTo(0.8, 12);
    expect(benchmarkSpreadRatio(0.03, 0.04, 0.05).ratio).toBeCloseTo(Math.hypot(0.03, 0.03) / 0.05, 12);
    // A measurement below the benchmark leaves no host part: the new benchmark over the measured spread.
    expect(benchmarkSpreadRatio(0.06, 0.08, 0.05).ratio).toBeCloseTo(1.2, 12);
    // Without a measurement, the benchmarks' ratio; without a benchmark, 1; always within [0.25, 4].
    expect(benchmarkSpreadRatio(0.1, 0.05, null)).toEqual({ ratio: 2, how: 'benchmark p90 / p50' });
    expect(benchmarkSpreadRatio(null, 0.05, 0.1).ratio).toBe(1);
    expect(benchmarkSpreadRatio(2, 0.01, 0.02).ratio).toBe(4);
  });

  it('matches the p90 / p50 of sampled products of independent lognormal kernel and host times', () => {
    const rng = createRng(7, 'spread');
    const logSpread = (kernel: number, host: number): number => {
      const v = Array.from({ length: 200_000 }, () => Math.exp(kernel * rng.normal() + host * rng.normal())).sort((a, b) => a - b);
      return Math.log(v[Math.floor(0.9 * v.length)]! / v[Math.floor(0.5 * v.length)]!);
    };
    const z90 = 1.2815515655446004;
    // Benchmarks spread by the kernel alone; in service a host factor of σ 0.07 multiplies in.
    const [kernelNow, kernelNext, host] = [0.014, 0.04, 0.07];
    const sampled = logSpread(kernelNext, host) / logSpread(kernelNow, host);
    expect(benchmarkSpreadRatio(z90 * kernelNext, z90 * kernelNow, logSpread(kernelNow, host)).ratio).toBeCloseTo(sampled, 1);
    // The benchmarks' ratio alone (×2.86 here) is far from it.
    expect(Math.abs(kernelNext / kernelNow - sampled)).toBeGreaterThan(1.5);
  });
});

describe('fitLoadSensitivity', () => {
  const u = Array.from({ length: 1000 }, (_, i) => i / 999);
  const models = u.map((_, i) => (i % 2 ? 'a' : 'b'));
  it('recovers k of part = m·(1 + k·u) exactly', () => {
    expect(fitLoadSensitivity(u.map((x) => 10 * (1 + 0.4 * x)), u, u.map(() => 'a'))).toBeCloseTo(0.4, 12);
    // Two models, each normalised by its own median (taken at slightly different u): k within 1e-3.
    expect(fitLoadSensitivity(u.map((x, i) => (i % 2 ? 10 : 3) * (1 + 0.4 * x)), u, models)).toBeCloseTo(0.4, 3);
  });
  it('is not moved by a heavy tail clustered in the busiest seconds, which least squares takes for load', () => {
    // Every 10th request of the busiest tenth is a large input, 10× the part.
    const part = u.map((x, i) => 10 * (1 + 0.4 * x) * (x > 0.9 && i % 10 === 0 ? 10 : 1));
    expect(fitLoadSensitivity(part, u, u.map(() => 'a'))).toBeCloseTo(0.4, 2);
    // Least squares of part / median on u (the former fit), for contrast: k = 1.34.
    const y = part.map((p) => p / [...part].sort((a, b) => a - b)[499]!);
    const mu = u.reduce((a, b) => a + b, 0) / u.length;
    const my = y.reduce((a, b) => a + b, 0) / y.length;
    const slope = u.reduce((a, x, i) => a + (x - mu) * (y[i]! - my), 0) / u.reduce((a, x) => a + (x - mu) ** 2, 0);
    expect(slope / (my - slope * mu)).toBeCloseTo(1.341, 3);
  });
  it('is null without a load signal: utilisation spread below 0.1, or under 100 rows', () => {
    const low = u.map((x) => x * 0.05);
    expect(fitLoadSensitivity(low.map((x) => 10 * (1 + 5 * x)), low, models)).toBeNull();
    expect(fitLoadSensitivity([1, 2, 3], [0, 0.5, 1], ['a', 'a', 'a'])).toBeNull();
  });
  it('a device without a load signal takes the fleet\'s: the median over the devices that have one', () => {
    const low = u.map((x) => x * 0.05);
    const dev = (util: number[], k: number, n = util.length) => ({ ...obs(util.slice(0, n).map((_, i) => i * 1000), util.slice(0, n).map((x) => 10 * (1 + k * x))), util: util.slice(0, n), io: util.slice(0, n).map((x) => 2 * (1 + 2 * k * x)) });
    const quiet = dev(low, 5);
    expect(fitLoadSensitivity(quiet.compute, quiet.util, quiet.model)).toBeNull();
    const fleet = fleetLoadSensitivity([dev(u, 0.2), dev(u, 0.3), dev(u, 0.5), quiet, dev(u, 9, 50)]);
    expect(fleet.compute).toBeCloseTo(0.3, 9);
    expect(fleet.io).toBeCloseTo(0.6, 9);
    // Three devices told it: the quiet one and the one with 50 rows (under 100) have no signal.
    expect(fleet.fittedDevices).toEqual({ compute: 3, io: 3 });
    expect(deviceLoadSensitivity(quiet, fleet)).toEqual({ compute: fleet.compute, io: fleet.io });
    // A device with a signal keeps its own.
    expect(deviceLoadSensitivity(dev(u, 0.2), fleet).compute).toBeCloseTo(0.2, 9);
    expect(fleetLoadSensitivity([quiet])).toEqual({ compute: 0, io: 0, fittedDevices: { compute: 0, io: 0 } });
  });
});

describe('ioMapAcrossChips', () => {
  // i/o = fixed + bytes / bandwidth: chip A 0.3 ms + b/250 kB/ms, chip B 0.4 ms + b/120 kB/ms, so t_B = 0.4 − 0.3·250/120 + (250/120)·t_A.
  const a = (kb: number) => 0.3 + kb / 250;
  const b = (kb: number) => 0.4 + kb / 120;
  const fleet: FleetIo[] = [
    { model: 'x', chip: 'A', io: a(100), n: 50 }, { model: 'x', chip: 'B', io: b(100), n: 50 },
    { model: 'y', chip: 'A', io: a(600), n: 50 }, { model: 'y', chip: 'B', io: b(600), n: 50 },
    { model: 'z', chip: 'A', io: a(2000), n: 50 }, { model: 'z', chip: 'B', io: b(2000), n: 10 }, // too few on B
    { model: 'm', chip: 'A', io: 99, n: 50 }, // the model itself is never one of the others
  ];
  it('is the line through the other models (fixed cost + bytes / bandwidth): exact on exact i/o', () => {
    const map = ioMapAcrossChips('m', a(300), null, 'A', 'B', fleet)!;
    expect(map.models).toBe(2);
    expect(map.slope).toBeCloseTo(250 / 120, 12);
    expect(map.offset).toBeCloseTo(0.4 - 0.3 * 250 / 120, 12);
    // Any request of the model, a large input too: 5000 kB → 42.07 ms on B.
    expect(map.offset + map.slope * a(5000)).toBeCloseTo(b(5000), 12);
    expect(b(5000)).toBeCloseTo(42.0667, 4);
  });
  it('anchors the line at the model\'s own medians when it ran on both chips', () => {
    // Measured 10 % above the line on B: its median maps exactly, the slope comes from all three models.
    const map = ioMapAcrossChips('m', a(300), b(300) * 1.1, 'A', 'B', fleet)!;
    expect(map.offset + map.slope * a(300)).toBeCloseTo(b(300) * 1.1, 12);
    const pts = [[a(100), b(100)], [a(600), b(600)], [a(300), b(300) * 1.1]];
    const mx = pts.reduce((t, p) => t + p[0]!, 0) / 3;
    const my = pts.reduce((t, p) => t + p[1]!, 0) / 3;
    const slope = pts.reduce((t, p) => t + (p[0]! - mx) * (p[1]! - my), 0) / pts.reduce((t, p) => t + (p[0]! - mx) ** 2, 0);
    expect(map.slope).toBeCloseTo(slope, 12);
    // Alone on both chips: the ratio of its medians.
    expect(ioMapAcrossChips('m', 2, 3, 'A', 'C', fleet)).toEqual({ slope: 1.5, offset: 0, models: 0 });
  });
  it('takes the ratio of one other model, or the median ratio when the line would make a short i/o negative; null without any', () => {
    expect(ioMapAcrossChips('m', 2, null, 'A', 'B', fleet.slice(0, 2))).toEqual({ slope: b(100) / a(100), offset: 0, models: 1 });
    // B faster than A for big inputs and slower for small: the line y = 0.5 + 1.75·(x − 1) is −0.375 at x = 0.5.
    const crossing: FleetIo[] = [{ model: 'x', chip: 'A', io: 1, n: 20 }, { model: 'x', chip: 'B', io: 0.5, n: 20 }, { model: 'y', chip: 'A', io: 3, n: 20 }, { model: 'y', chip: 'B', io: 4, n: 20 }];
    expect(ioMapAcrossChips('m', 1, null, 'A', 'B', crossing)).toEqual({ slope: 0.5, offset: 0, models: 2 }); // lower median of 0.5 and 4/3
    expect(ioMapAcrossChips('m', 1, null, 'A', 'C', fleet)).toBeNull();
  });
});

describe('msText', () => {
  it('keeps one decimal from 10 ms up and 3 significant digits below (an SLO of 1e-9 ms is not "0.0")', () => {
    expect([msText(40), msText(1234.56), msText(9.876), msText(0.0451), msText(1e-9)]).toEqual(['40.0', '1234.6', '9.88', '0.0451', '1.00e-9']);
  });

  it('distinctMs: two values that differ never read alike (a trial: "measured p99 10.1 ms, above the SLO 10.1 ms")', () => {
    expect(distinctMs(10.123, 10.119)).toEqual(['10.123', '10.119']);
    expect(distinctMs(10.12, 10.1199)).toEqual(['10.1200', '10.1199']);
    expect(distinctMs(40, 35)).toEqual(['40.0', '35.0']);
    expect(distinctMs(12.5, 12.5)).toEqual(['12.5', '12.5']);
    expect(distinctMs(7.0679944, 7.067994398430909)).toEqual(['7.067994400', '7.067994398']);
    expect(sloInBand(12.09923179, 7.067994398430909, 12.099231799393678)).toBe('the SLO 12.09923179 ms is inside the p99 band [7.07 ms, 12.09923180 ms]');
  });

  it('idProblem: ids as the API takes them, at most 256 characters, no bidirectional marks (trials: a 100,000-character --model echoed whole, a version "\\u202ev1" over HTTP)', () => {
    expect(idProblem('model', 'resnet50')).toBeNull();
    expect(idProblem('model', 'm'.repeat(256))).toBeNull();
    expect(idProblem('model', 'm'.repeat(257))).toBe('model: expected an id of at most 256 characters, got 257');
    expect(idProblem('version', '\u202ev1')).toBe('version: expected an id without bidirectional or line-separator marks, got U+202E in "\\u202ev1"');
    expect(idProblem('chip', 'a\u2028b')).toBe('chip: expected an id without bidirectional or line-separator marks, got U+2028 in "a\\u2028b"');
    // Characters that do not show (a trial: "v1\u200b" was answered as if it were v1), and a byte that is not UTF-8.
    expect(idProblem('version', 'v1\u200b')).toBe('version: expected an id without characters that do not show, got U+200B in "v1\\u200b"');
    // Escaped in the quote, or it reads as the id without them (a trial); past the BMP as JSON does, a surrogate pair.
    expect(idProblem('model', 'a\u2060b\u{e0041}')).toBe('model: expected an id without characters that do not show, got U+2060 in "a\\u2060b\\udb40\\udc41"');
    expect(JSON.parse(quoteName('a\u2060b\u{e0041}'))).toBe('a\u2060b\u{e0041}');
    expect(idProblem('version', 'v1\ufffd')).toBe('version: expected an id without characters that do not show, got U+FFFD in "v1\ufffd" (a byte that is not UTF-8?)');
    expect(idProblem('model', 'a\u200db')).toBeNull(); // a joiner, as emoji sequences hold
    // A lone surrogate (JSON's "\ud800" over HTTP, a trial: looked up as a server); a pair is one character.
    expect(idProblem('servers', '\ud800')).toBe('servers: expected an id of whole characters, got a lone UTF-16 surrogate U+D800 in "\\ud800"');
    expect(idProblem('servers', 'edge-\udc00x')).toBe('servers: expected an id of whole characters, got a lone UTF-16 surrogate U+DC00 in "edge-\\udc00x"');
    expect(idProblem('model', 'm-\ud83d\ude80')).toBeNull();
    // One text in two spellings prints alike (a trial: two servers "édge"): ids are in NFC, as ingestion takes them.
    expect(idProblem('servers', 'e\u0301dge')).toBe('servers: expected an id in Unicode NFC (composed) form, got "e\u0301dge" with the combining mark U+0301: its NFC form prints alike and is another id');
    expect(idProblem('servers', '\u00e9dge')).toBeNull();
  });

  it('sloInBand: the SLO and each edge read apart (a trial: "the SLO 12.1 ms is inside the p99 band [7.07 ms, 12.1 ms]")', () => {
    expect(sloInBand(12.09923, 7.07, 12.1004)).toBe('the SLO 12.099 ms is inside the p99 band [7.07 ms, 12.100 ms]');
    expect(sloInBand(7.0701, 7.07, 12.1)).toBe('the SLO 7.0701 ms is inside the p99 band [7.0700 ms, 12.1 ms]');
    expect(sloInBand(7.07, 7.07, 12.1)).toBe('the SLO 7.07 ms is inside the p99 band [7.07 ms, 12.1 ms]');
    expect(sloInBand(50, 40, Number.POSITIVE_INFINITY)).toBe('the SLO 50.0 ms is inside the p99 band [40.0 ms, unbounded (the queue cannot drain)]');
  });
});

describe('commonBenchmark', () => {
  const pts = [
    { chip: 'a', percentile: 0.5, ms: 2 }, { chip: 'a', percentile: 0.9, ms: 3 },
    { chip: 'b', percentile: 0.9, ms: 30 }, { chip: 'c', percentile: 0.5, ms: 20 }, { chip: 'c', percentile: 0.9, ms: 33 },
    { chip: 'd', percentile: 0.99, ms: 9 }, { chip: 'e', percentile: 0.5, ms: 0 },
  ];
  it('takes p50 when both chips have it, else p90 (an MLPerf import), else none', () => {
    expect(commonBenchmark(pts, 'a', 'c')).toEqual({ percentile: 0.5, a: 2, b: 20 });
    expect(commonBenchmark(pts, 'a', 'b')).toEqual({ percentile: 0.9, a: 3, b: 30 });
    expect(commonBenchmark(pts, 'b', 'a')).toEqual({ percentile: 0.9, a: 30, b: 3 });
    expect(commonBenchmark(pts, 'a', 'd')).toBeNull();
    expect(commonBenchmark(pts, 'a', 'e')).toBeNull(); // a latency of 0 ms is no benchmark
  });
});

describe('dayToDaySd', () => {
  it('is the pooled sample sd of ln p99 within the series', () => {
    const series = [[10, 12, 11], [100, 80], [5]];
    const logs = series.filter((s) => s.length > 1).map((s) => s.map(Math.log));
    let ss = 0;
    let dof = 0;
    for (const l of logs) {
      const m = l.reduce((a, b) => a + b, 0) / l.length;
      ss += l.reduce((a, b) => a + (b - m) ** 2, 0);
      dof += l.length - 1;
    }
    expect(dayToDaySd(series, 0.2)).toBeCloseTo(Math.sqrt(ss / dof), 12);
    expect(dayToDaySd([[5], []], 0.2)).toBe(0.2);
  });
});

describe('gateServer and combineAnswers', () => {
  // One worker, requests 1 s apart (no queueing), compute 10..19 ms: p99 = the service tail.
  const ts = Array.from({ length: 600 }, (_, i) => 1_717_200_000_000 + i * 1000);
  const day = obs(ts, ts.map((_, i) => 10 + (i % 10)));
  const gate = (slo: number, version = 'v2') => gateServer({ days: [{ device: day }], evidence: { ...EVIDENCE, model: 'm', version, macs: new Map([['v1', 1e9], ['v2', 2e9]]) }, targetWorkers: 1, sloP99Ms: slo, fleetDaySd: 0.05 });

  it('after a move to a new device whose workers nothing reports, takes the band\'s bottom from a replay with no queue there (a trial: BLOCK "at least 23.1 ms" where a shadow measured 20.5)', () => {
    // Requests in pairs (same millisecond) once a second, compute 10 ms, moved from orin to xavier: ×2 (fleet medians 5 → 10).
    // On 1 worker the second of a pair waits 20 ms: p99 40 ms; with a worker each, 20 ms.
    const pairs = Array.from({ length: 600 }, (_, i) => 1_717_200_000_000 + Math.floor(i / 2) * 1000);
    const burst = obs(pairs, pairs.map(() => 10));
    const move = (source: 'fleet' | 'assumed' | 'given', workers = 1) => gateServer({
      days: [{ device: burst }], evidence: { ...EVIDENCE, model: 'm', chipNow: 'orin', chip: 'xavier' }, targetWorkers: workers, targetWorkersSource: source, sloP99Ms: 30, fleetDaySd: 0.05,
    });
    const known = move('fleet');
    expect([known.predicted_p99_ms, known.answer, known.target_workers]).toEqual([40, 'BLOCK', { count: 1, source: 'fleet' }]);
    expect(known.p99_low_ms!).toBeGreaterThan(30);
    const assumed = move('assumed');
    expect([assumed.predicted_p99_ms, assumed.answer, assumed.target_workers]).toEqual([40, 'NEED_SHADOW', { count: 1, source: 'assumed' }]);
    // The bottom: the no-queue p99 (20 ms) with the same downward spread the known-workers band takes from 40 ms.
    expect(assumed.p99_low_ms!).toBeCloseTo(20 * (known.p99_low_ms! / 40), 9);
    const two = move('given', 2);
    expect([two.predicted_p99_ms, two.answer, two.target_workers]).toEqual([20, 'ALLOW', { count: 2, source: 'given' }]);
    // No chip change: no new device, no workers to report.
    expect(gate(1000).target_workers).toBeNull();
    // Saturated on 1 worker (a request every 10 ms needing 20 ms): BLOCK where the fleet reports 1, NEED_SHADOW where 1 is assumed.
    const busy = Array.from({ length: 600 }, (_, i) => 1_717_200_000_000 + i * 10);
    const saturate = (source: 'fleet' | 'assumed') => gateServer({
      days: [{ device: obs(busy, busy.map(() => 10)) }], evidence: { ...EVIDENCE, model: 'm', chipNow: 'orin', chip: 'xavier' }, targetWorkers: 1, targetWorkersSource: source, sloP99Ms: 1e6, fleetDaySd: 0.05,
    });
    // Offered: 600 services of 20 ms over the 5,990 ms from the first arrival to the last.
    expect(saturate('fleet')).toMatchObject({ answer: 'BLOCK', predicted_p99_ms: null });
    expect(saturate('fleet').offered_utilisation).toBeCloseTo((600 * 20) / 5990, 9);
    expect(saturate('assumed')).toMatchObject({ answer: 'NEED_SHADOW', predicted_p99_ms: null });
    expect(saturate('assumed').reason).toBe('the candidate (compute ×2.00) needs 2.00× the time of the 1 worker assumed for a new xavier device (no server of it reports its concurrency): give its workers per device (--workers; workers over HTTP) or run it as a shadow');
  });

  it('allows below the band, blocks above it and asks for a shadow inside it', () => {
    const mid = gate(1000);
    expect(mid.predicted_p99_ms).toBe(38); // 2 × 19 ms, no queueing
    expect(mid.now_p99_ms).toBe(19);
    expect(mid.p99_low_ms!).toBeLessThan(38);
    expect(mid.p99_high_ms!).toBeGreaterThan(38);
    expect(mid.answer).toBe('ALLOW');
    expect(gate(mid.p99_high_ms! + 0.01).answer).toBe('ALLOW');
    expect(gate(38).answer).toBe('NEED_SHADOW');
    expect(gate(mid.p99_low_ms! - 0.01).answer).toBe('BLOCK');
    expect(gate(38, 'v7')).toMatchObject({ answer: 'NEED_SHADOW', predicted_p99_ms: null, reason: expect.stringMatching(/--macs/) });
    // Nothing tells the candidate's cost: what runs now still has its p99 at the peak beside the NEED_SHADOW (a trial: null, and no peak).
    expect(gate(38, 'v7')).toMatchObject({ now_p99_ms: 19, peak: mid.peak, factor: null, offered_utilisation: null });
    // A chip nothing measured: the recommend command it suggests runs as pasted, at the SLO and the model's rate at its peak
    // (a trial: no SLO, so it failed; a re-test: no --rps, so it answered at 1 req/s). Here 300 requests in 300 s.
    const tpu = gateServer({ days: [{ device: day }], evidence: { ...EVIDENCE, model: 'm', chip: 'tpu' }, targetWorkers: 1, sloP99Ms: 38, fleetDaySd: 0.05 });
    expect([tpu.answer, tpu.now_p99_ms, tpu.peak?.model_requests]).toEqual(['NEED_SHADOW', 19, 300]);
    expect(tpu.reason).toContain('`edgelat recommend --model m --chips tpu --slo-p99-ms 38 --rps 1` gives a rough estimate');
  });

  it('blocks a version no faster than what runs now, even at its factor\'s optimistic end, where what runs now breaches at its peaks (a trial: the running version BLOCK, one of 1.25× its MACs NEED_SHADOW)', () => {
    // What runs now: p99 19 ms. SLO 18 ms, inside the candidates' bands (a day-to-day sd of 0.2 widens them).
    const version = (macs: number) => gateServer({
      days: [{ device: day }], evidence: { ...EVIDENCE, model: 'm', version: 'v2', macs: new Map([['v1', 1e9], ['v2', macs]]) }, targetWorkers: 1, sloP99Ms: 18, fleetDaySd: 0.2,
    });
    const optimistic = (k: number) => k * Math.exp(-GATE_DEFAULTS.z * GATE_DEFAULTS.profileSd);
    // ×1.15 is ×1.026 at the optimistic end: no faster, so BLOCK with the band's bottom below the SLO.
    expect(optimistic(1.15)).toBeGreaterThan(1);
    const slower = version(1.15e9);
    expect([slower.answer, slower.now_p99_ms, slower.p99_low_ms! < 18, slower.p99_high_ms! > 18]).toEqual(['BLOCK', 19, true, true]);
    expect(slower.reason).toMatch(/^what runs now measured p99 19\.0 ms at its peaks, above the SLO 18\.0 ms, and the candidate is no faster on this device \(compute ×1\.15, at least ×1\.03\)/);
    // ×1.05 may be ×0.94: it could meet the SLO, and a shadow can tell.
    expect(optimistic(1.05)).toBeLessThan(1);
    expect(version(1.05e9).answer).toBe('NEED_SHADOW');
    // What runs now within the SLO: the band alone decides (the same ×1.15 at an SLO of 22 ms, inside its band).
    const within = gateServer({ days: [{ device: day }], evidence: { ...EVIDENCE, model: 'm', version: 'v2', macs: new Map([['v1', 1e9], ['v2', 1.15e9]]) }, targetWorkers: 1, sloP99Ms: 22, fleetDaySd: 0.2 });
    expect(within.answer).toBe('NEED_SHADOW');
  });

  it('pushes only the compute after a version change: the i/o stays as measured (closed form without queueing)', () => {
    // I/O 100 ms on every request, compute 10..19 ms, 1 s apart: p99 = 100 + 19·k at compute ×k.
    const ioBound = { ...day, io: ts.map(() => 100), total: day.compute.map((c) => 100 + c) };
    const g = gateServer({ days: [{ device: ioBound }], evidence: { ...EVIDENCE, model: 'm', version: 'v2', macs: new Map([['v1', 1e9], ['v2', 2e9]]) }, targetWorkers: 1, sloP99Ms: 1000, fleetDaySd: 0 });
    const push = Math.exp(GATE_DEFAULTS.z * GATE_DEFAULTS.profileSd);
    expect(g.predicted_p99_ms).toBe(138);
    // The replay keeps latencies in float32 (7 significant digits).
    expect(g.p99_high_ms).toBeCloseTo(100 + 38 * push, 3);
    expect(g.p99_low_ms).toBeCloseTo(100 + 38 / push, 3);
  });

  it('blocks a candidate whose queue cannot drain without replaying it, and leaves an unbounded band end null', () => {
    // 600 requests 1 s apart at 10..19 ms: compute ×1e6 (fleet medians of both versions) makes each 10–19 s on one worker (ρ ≈ 14500).
    const measuredAt = (x: number) => [{ version: 'v1', chip: 'orin', io: 1, compute: 1, n: 100 }, { version: 'v2', chip: 'orin', io: 1, compute: x, n: 100 }];
    const huge = gateServer({ days: [{ device: day }], evidence: { ...EVIDENCE, model: 'm', version: 'v2', fleet: measuredAt(1e6) }, targetWorkers: 1, sloP99Ms: 1e12, fleetDaySd: 0.05 });
    // What runs now keeps its p99 at the peak (as replayed: the measured one, no request waits here), next to
    // the candidate's busy fraction (1e6 × ~14.5 ms a second).
    const now = gateServer({ days: [{ device: day }], evidence: { ...EVIDENCE, model: 'm', version: 'v2', fleet: measuredAt(1) }, targetWorkers: 1, sloP99Ms: 1e12, fleetDaySd: 0.05 });
    expect(huge).toMatchObject({ answer: 'BLOCK', predicted_p99_ms: null, p99_low_ms: null, p99_high_ms: null, now_p99_ms: now.now_p99_ms, peak: now.peak });
    expect(now.now_p99_ms).toBeGreaterThan(0);
    expect(huge.offered_utilisation! / now.offered_utilisation!).toBeCloseTo(1e6, 0);
    expect(huge.offered_utilisation).toBeGreaterThan(1);
    expect(huge.reason).toMatch(/needs 1\.45e\+4× the device's capacity .*cannot drain/);
    // ×66 (ρ = 66 · 14.5 ms / 1 s = 0.957 at the candidate, 1.004 at the band's factor pushed by e^{0.95·0.05}):
    // a finite p99 above the longest service (66 · 19 ms: requests wait behind the 1.1–1.25 s ones), an unbounded upper end.
    const edge = gateServer({ days: [{ device: day }], evidence: { ...EVIDENCE, model: 'm', version: 'v2', fleet: measuredAt(66) }, targetWorkers: 1, sloP99Ms: 1e9, fleetDaySd: 0.05 });
    expect(edge.predicted_p99_ms).toBeGreaterThan(66 * 19);
    expect(Number.isFinite(edge.predicted_p99_ms)).toBe(true);
    expect(edge.p99_high_ms).toBeNull();
    expect(edge.answer).toBe('NEED_SHADOW');
    expect(edge.reason).toMatch(/unbounded \(the queue cannot drain\)/);
  });

  it('takes the fleet\'s day-to-day variation from the series in the candidate\'s queue-share class', () => {
    // The candidate never queues (share 0): only the class-0 series count, sd of ln(10, 11) and ln(20, 22).
    const quiet = [{ p99: [10, 11], queueShare: 0.01 }, { p99: [20, 22], queueShare: 0.04 }];
    const noisy = [{ p99: [100, 300], queueShare: 0.6 }, { p99: [50, 20], queueShare: 0.1 }];
    const input = { days: [{ device: day }], evidence: { ...EVIDENCE, model: 'm', version: 'v2', macs: new Map([['v1', 1e9], ['v2', 2e9]]) }, targetWorkers: 1, sloP99Ms: 1000 };
    const bySeries = gateServer({ ...input, fleetDaySd: [...quiet, ...noisy] });
    const byFigure = gateServer({ ...input, fleetDaySd: Math.log(1.1) / Math.SQRT2 });
    expect(dayToDaySd(quiet.map((x) => x.p99), 0)).toBeCloseTo(Math.log(1.1) / Math.SQRT2, 12);
    expect(bySeries.p99_high_ms).toBeCloseTo(byFigure.p99_high_ms!, 9);
    expect(bySeries.p99_low_ms).toBeCloseTo(byFigure.p99_low_ms!, 9);
    // Without a series of its class: the prior.
    const prior = gateServer({ ...input, fleetDaySd: noisy });
    expect(prior.p99_high_ms).toBeCloseTo(gateServer({ ...input, fleetDaySd: GATE_DEFAULTS.daySdPrior }).p99_high_ms!, 9);
    expect(queueShareClass(0.049)).toBe(0);
    expect(queueShareClass(0.05)).toBe(1);
    expect(queueShareClass(0.25)).toBe(2);
  });

  it('with too few requests at the peak asks for a longer lookback or a shadow, or to keep the one it has running', () => {
    const few = obs(ts.slice(0, 50), ts.slice(0, 50).map(() => 10));
    const input = { days: [{ device: few }], targetWorkers: 1, sloP99Ms: 100, fleetDaySd: 0.05 };
    const none = gateServer({ ...input, evidence: { ...EVIDENCE, model: 'm', version: 'v2', macs: new Map([['v1', 1e9], ['v2', 2e9]]) } });
    expect([none.answer, none.reason]).toEqual(['NEED_SHADOW', '50 request(s) of m in the peak window: fewer than 100 cannot tell a p99 (it would be the slowest one); use a longer lookback or run it as a shadow']);
    const shadowed = gateServer({ ...input, evidence: { ...EVIDENCE, model: 'm', version: 'v2', shadow: { ratio: 2, low: 1.9, high: 2.1, windows: 1, pairs: 50 } } });
    expect(shadowed.reason).toMatch(/; use a longer lookback or keep the shadow of it running$/);
    // What runs now cannot be run as a shadow of itself: only the longer lookback is said.
    const running = gateServer({ ...input, evidence: { ...EVIDENCE, model: 'm' } });
    expect([running.answer, running.reason]).toEqual(['NEED_SHADOW', '50 request(s) of m in the peak window: fewer than 100 cannot tell a p99 (it would be the slowest one); use a longer lookback']);
  });

  it('blocks a candidate that already breached the SLO on this server, whatever the replay says', () => {
    // The candidate ran here before: 300 requests 1 s apart (a span under the 5-min window: the whole
    // span is its peak), latencies 1..300 ms: nearest-rank p99 = the 297th = 297 ms.
    const ranBefore = { ts: ts.slice(100, 400), totalMs: ts.slice(100, 400).map((_, i) => i + 1), serverTs: ts };
    const input = { days: [{ device: day }], evidence: { ...EVIDENCE, model: 'm', version: 'v2', macs: new Map([['v1', 1e9], ['v2', 2e9]]) }, targetWorkers: 1, fleetDaySd: 0.05 };
    const within = gateServer({ ...input, sloP99Ms: 1000, measured: [ranBefore] });
    expect(within).toMatchObject({ answer: 'ALLOW', predicted_p99_ms: 38, measured: { p99_ms: 297, model_requests: 300, start_ms: ts[100], end_ms: ts[399]! + 1 } });
    const replayOnly = gateServer({ ...input, sloP99Ms: 250 });
    expect(replayOnly).toMatchObject({ answer: 'ALLOW', predicted_p99_ms: 38, measured: null });
    const breached = gateServer({ ...input, sloP99Ms: 250, measured: [ranBefore] });
    expect(breached).toMatchObject({ answer: 'BLOCK', predicted_p99_ms: 38, p99_high_ms: replayOnly.p99_high_ms, measured: { p99_ms: 297 } });
    expect(breached.reason).toMatch(/^m v2 on orin already ran on this server: its p99 at peak was 297\.0 ms \(2024-06-01T00:01:40\.000Z, 300 requests\), above the SLO 250\.0 ms; .* replay's 38\.0 ms$/);
    // The replay blocks on its own (an SLO below its band): the measurement above the SLO is named in the reason too
    // (a trial: the reason gave the replay only, README says "with the measurement in the reason"); one within it is not.
    const both = gateServer({ ...input, sloP99Ms: 20, measured: [ranBefore] });
    const alone = gateServer({ ...input, sloP99Ms: 20 });
    expect([alone.answer, both.answer, both.measured?.p99_ms]).toEqual(['BLOCK', 'BLOCK', 297]);
    expect(both.reason).toBe(`${alone.reason}; measured too: m v2 on orin already ran on this server: its p99 at peak was 297.0 ms (2024-06-01T00:01:40.000Z, 300 requests), above the SLO 20.0 ms`);
    const fastBefore = { ...ranBefore, totalMs: ranBefore.totalMs.map((x) => x / 100) };
    expect(gateServer({ ...input, sloP99Ms: 20, measured: [fastBefore] })).toMatchObject({ answer: 'BLOCK', reason: alone.reason, measured: { p99_ms: 2.97 } });
    // Fewer than 100 of its requests in a peak cannot tell a p99: no measurement.
    expect(gateServer({ ...input, sloP99Ms: 250, measured: [{ ...ranBefore, ts: ranBefore.ts.slice(0, 99), totalMs: ranBefore.totalMs.slice(0, 99) }] })).toMatchObject({ answer: 'ALLOW', measured: null });
    // A shadow of it beside the server (the same requests) and the candidate running now are measurements of it too.
    const shadow = gateServer({ ...input, sloP99Ms: 250, measured: [{ ...ranBefore, source: 'shadow' }] });
    expect(shadow).toMatchObject({ answer: 'BLOCK', measured: { p99_ms: 297, source: 'shadow' } });
    expect(shadow.reason).toMatch(/^a shadow of m v2 on orin beside this server measured p99 297\.0 ms at the server's peak \(2024-06-01T00:01:40\.000Z, 300 requests\), above the SLO 250\.0 ms; .* replay's 38\.0 ms$/);
    // An SLO that prints like the measurement: both with the digits that tell them apart.
    expect(gateServer({ ...input, sloP99Ms: 296.99, measured: [ranBefore] }).reason).toMatch(/its p99 at peak was 297\.00 ms .*, above the SLO 296\.99 ms; /);
    const running = gateServer({ ...input, sloP99Ms: 250, measured: [{ ...ranBefore, source: 'running' }] });
    expect(running.reason).toMatch(/^m v2 on orin runs on this server now: its p99 at peak was 297\.0 ms \(2024-06-01T00:01:40\.000Z, 300 requests\), above the SLO 250\.0 ms; /);
    // An SLO inside the replay's band: NEED_SHADOW. A shadow that measured the candidate within it leaves the
    // answer (one peak does not bound the next) but is named instead of asking for a shadow.
    const slo = (replayOnly.p99_low_ms! + replayOnly.p99_high_ms!) / 2;
    const unsure = gateServer({ ...input, sloP99Ms: slo });
    expect(unsure.answer).toBe('NEED_SHADOW');
    expect(unsure.reason).toMatch(/: measure it as a shadow first$/);
    // A candidate faster than what runs now, the SLO inside its band and below now's p99: the reason says now breaches
    // already (a trial read it on the detail line only).
    const faster = { ...input, evidence: { ...input.evidence, macs: new Map([['v1', 2e9], ['v2', 1e9]]) } };
    const probe = gateServer({ ...faster, sloP99Ms: 1000 });
    const below = gateServer({ ...faster, sloP99Ms: (probe.p99_low_ms! + probe.p99_high_ms!) / 2 });
    expect([below.answer, below.now_p99_ms! > below.slo_p99_ms]).toEqual(['NEED_SHADOW', true]);
    expect(below.reason).toMatch(new RegExp(`: measure it as a shadow first; what runs now \\(v1 on orin\\) already breaches it: p99 ${below.now_p99_ms!.toFixed(1).replace('.', '\\.')} ms at its peaks$`));
    expect(unsure.now_p99_ms! < slo).toBe(true);
    // So does the NEED_SHADOW of a candidate nothing tells the cost of (a re-test: said on the band's reason only).
    const unknown = gateServer({ ...input, evidence: { ...input.evidence, version: 'v7' }, sloP99Ms: 10 });
    expect([unknown.answer, unknown.now_p99_ms]).toEqual(['NEED_SHADOW', 19]);
    expect(unknown.reason).toMatch(/; or run it as a shadow; what runs now \(v1 on orin\) already breaches it: p99 19\.0 ms at its peaks$/);
    // A version that differs from a known one in case alone is named whatever the answer (a re-test: with MACs given, never).
    const cased = gateServer({ ...input, evidence: { ...input.evidence, version: 'V1', macs: new Map([['v1', 1e9], ['V1', 1e9]]) }, sloP99Ms: 1000 });
    expect(cased.reason).toMatch(/; note: V1: the fleet knows "v1", which differs from it in case alone: versions are told apart by case$/);
    const fast = { ...ranBefore, totalMs: ranBefore.totalMs.map((x) => x / 100), source: 'shadow' as const };
    const shadowed = gateServer({ ...input, sloP99Ms: slo, measured: [fast] });
    expect(shadowed).toMatchObject({ answer: 'NEED_SHADOW', measured: { p99_ms: 2.97, source: 'shadow' } });
    expect(shadowed.reason).toBe(`${unsure.reason.replace(/: measure it as a shadow first$/, '')}; a shadow of m v2 on orin beside this server measured p99 2.97 ms at the server's peak (2024-06-01T00:01:40.000Z, 300 requests), within the SLO: keep the shadow running over more peaks`);
    // An earlier rollout within the SLO changes neither the answer nor the advice.
    expect(gateServer({ ...input, sloP99Ms: slo, measured: [{ ...fast, source: 'rollout' }] }).reason).toBe(unsure.reason);
    // A shadow's verdicts that gave the factor: the advice is to keep it running (a trial was told to start one it had).
    const verdicts = { ...input.evidence, shadow: { ratio: 2, low: 1.9, high: 2.1, windows: 2, pairs: 604 } };
    const byShadow = gateServer({ ...input, evidence: verdicts, sloP99Ms: slo });
    const bandSlo = (byShadow.p99_low_ms! + byShadow.p99_high_ms!) / 2;
    const inBand = gateServer({ ...input, evidence: verdicts, sloP99Ms: bandSlo });
    expect([inBand.answer, inBand.reason]).toEqual(['NEED_SHADOW', expect.stringMatching(/ is inside the p99 band \[.*\]: keep the shadow of it beside this server running over more peaks \(its verdicts gave the factor\)$/)]);
    // …with the shadow's own p99s told where its verdicts have them (a trial: a shadow above the SLO in each of its four
    // windows was told only to keep running).
    const told = (low: number, high: number, windows: number) => gateServer({ ...input, evidence: { ...verdicts, shadow: { ...verdicts.shadow, p99Ms: { low, high, windows } } }, sloP99Ms: bandSlo }).reason;
    const sloText = `${bandSlo.toFixed(1)} ms`;
    expect([told(bandSlo + 1, bandSlo + 3, 4), told(bandSlo - 3, bandSlo + 3, 2), told(bandSlo - 3, bandSlo - 3, 1)].map((r) => r.slice(r.indexOf('(its verdicts'))))
      .toEqual([`(its verdicts gave the factor; its own p99 in its 4 verdict windows was ${(bandSlo + 1).toFixed(1)}–${(bandSlo + 3).toFixed(1)} ms, every one above the SLO ${sloText}, over each window's requests rather than at the server's peak, and with whatever else its device served)`,
        `(its verdicts gave the factor; its own p99 in its 2 verdict windows was ${(bandSlo - 3).toFixed(1)}–${(bandSlo + 3).toFixed(1)} ms, some above the SLO ${sloText}, over each window's requests rather than at the server's peak, and with whatever else its device served)`,
        `(its verdicts gave the factor; its own p99 in its verdict window was ${(bandSlo - 3).toFixed(1)} ms, within the SLO ${sloText}, over each window's requests rather than at the server's peak, and with whatever else its device served)`]);
    // A p99 that rounds like the SLO is told apart from it, with more digits (a re-test: SLO 92.55 read 92.5 beside 92.6).
    const close = /was ([\d.]+) ms, above the SLO ([\d.]+) ms/.exec(told(bandSlo + 0.004, bandSlo + 0.004, 1));
    expect([close![1] === close![2], Number(close![1]) > Number(close![2])]).toEqual([false, true]);
  });

  it('reads a measured day at the server\'s peak while the candidate ran, the highest day of several', () => {
    // 20 min of the candidate, one request per 2 s (5 ms), and another device's burst of 600 requests in
    // minutes 10–15: the server's peak window is [10 min, 15 min), holding 150 of the candidate's
    // requests at 1..150 ms: p99 = the 149th = 149 ms.
    const t0 = 1_717_200_000_000; // a whole minute
    const cts = Array.from({ length: 600 }, (_, i) => t0 + 2000 * i);
    const inBurst = (t: number) => t >= t0 + 600_000 && t < t0 + 900_000;
    let k = 0;
    const totals = cts.map((t) => (inBurst(t) ? ++k : 5));
    const burst = Array.from({ length: 600 }, (_, i) => t0 + 600_000 + 500 * i);
    const busy = { ts: cts, totalMs: totals, serverTs: [...cts, ...burst].sort((a, b) => a - b) };
    expect(measuredPeakP99([busy], 300_000)).toEqual({ p99_ms: 149, start_ms: t0 + 600_000, end_ms: t0 + 900_000, model_requests: 150, source: 'rollout' });
    const quiet = { ts: cts, totalMs: cts.map(() => 5), serverTs: cts };
    expect(measuredPeakP99([quiet, busy, quiet], 300_000)!.p99_ms).toBe(149);
    // The highest day says what measured it.
    expect(measuredPeakP99([quiet, { ...busy, source: 'shadow' }, { ...quiet, source: 'running' }], 300_000)).toMatchObject({ p99_ms: 149, source: 'shadow' });
    expect(measuredPeakP99([], 300_000)).toBeNull();
  });

  it('blocks if any server blocks, else needs a shadow if any does', () => {
    const s = (answer: ServerGate['answer']) => ({ answer }) as ServerGate;
    expect(combineAnswers([s('ALLOW'), s('NEED_SHADOW'), s('BLOCK')])).toBe('BLOCK');
    expect(combineAnswers([s('ALLOW'), s('NEED_SHADOW')])).toBe('NEED_SHADOW');
    expect(combineAnswers([s('ALLOW'), s('ALLOW')])).toBe('ALLOW');
  });
});
