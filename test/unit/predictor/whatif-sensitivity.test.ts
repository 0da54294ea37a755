import { describe, expect, it } from 'vitest';
import { busiestUtilisation, IDLE_GAP_MS, loadedUtilisation, measuredContention, MIN_IDLE_GAP_MS, traceIdleGapMs, spreadAboutMedian, spreadRatio } from '../../../services/predictor/gate-replay.ts';
import { fleetLoadSensitivity } from '../../../services/predictor/load-sensitivity.ts';
import { whatIfReplicas, type ServerObservations } from '../../../services/predictor/whatif.ts';

/**
 * A server that always ran at busy fraction u by its load samples (no spread of u: no load signal of
 * its own), one request a second, each `computeMs` of compute and nothing else (no queueing below 1 s).
 */
function steadyServer(u: number, computeMs: number, n = 200): ServerObservations {
  return {
    server: 'edge-x', chip: 'chip-a', workersPerReplica: 1,
    ts: Array.from({ length: n }, (_, i) => i * 1000),
    io: new Array<number>(n).fill(0), compute: new Array<number>(n).fill(computeMs), util: new Array<number>(n).fill(u), model: new Array<string>(n).fill('m'),
    total: new Array<number>(n).fill(computeMs),
    measured: { p50: computeMs, p99: computeMs, n },
  };
}

describe('what-if load sensitivity of a server with no load signal of its own', () => {
  // 800 ms a second on one worker: each request started under ρ = 0.8 (the second before it), so with
  // the fleet's k = 0.5 its unloaded compute is 800 / 1.4 = 4000/7 ms. On two workers ρ = s / 2000 and
  // the service s = (4000/7)·(1 + 0.5·s/2000) has the fixed point s = 2000/3 ms.
  it('takes the fleet\'s, and one more replica gives the fixed point of the contention law: 800 ms → 666.7 ms', () => {
    const r = whatIfReplicas(steadyServer(0.8, 800), 2, undefined, { compute: 0.5, io: 0.2 });
    expect(r.sensitivity).toEqual({ compute: 0.5, io: 0.2 });
    expect(r.sensitivity_source).toEqual({ compute: 'fleet', io: 'fleet' });
    expect(r.p50_ms).toBeCloseTo(2000 / 3, 6);
    // As now (one worker): the replay gives back the measured 800 ms.
    expect(r.current.p50_ms).toBeCloseTo(800, 6);
    expect(r.current.p99_ms).toBeCloseTo(800, 6);
  });

  it('without the fleet\'s, the part is not load-sensitive and more replicas leave an unqueued service time as it was', () => {
    const r = whatIfReplicas(steadyServer(0.8, 800), 2);
    expect(r.sensitivity_source).toEqual({ compute: 'none', io: 'none' });
    expect(r.sensitivity).toEqual({ compute: 0, io: 0 });
    expect(r.p99_ms).toBe(800);
  });

  it('a fleet none of whose devices showed a load signal gives none: the k of 0 is not called the fleet\'s median', () => {
    // A trial: whatif printed "compute ∝ 1 + 0.00·u (the fleet's median …)" on a fleet that never ran loaded.
    const quietFleet = fleetLoadSensitivity([steadyServer(0.5, 100), steadyServer(0.5, 200)]);
    expect(quietFleet.fittedDevices).toEqual({ compute: 0, io: 0 });
    const r = whatIfReplicas(steadyServer(0.8, 800), 2, undefined, quietFleet);
    expect(r.sensitivity_source).toEqual({ compute: 'none', io: 'none' });
    expect(r.sensitivity).toEqual({ compute: 0, io: 0 });
  });

  it('a server whose rows tell its own sensitivity keeps it, whatever the fleet\'s', () => {
    // u spread over 0..0.9 and compute = 10·(1 + 0.3·u) exactly: the fit through bin medians recovers 0.3.
    const o = steadyServer(0, 0);
    o.util = o.util.map((_, i) => (0.9 * i) / (o.util.length - 1));
    o.compute = o.util.map((u) => 10 * (1 + 0.3 * u));
    const r = whatIfReplicas(o, 1, undefined, { compute: 2, io: 2 });
    expect(r.sensitivity_source.compute).toBe('server');
    // A line a + b·u through the bins' medians of part / median(part): k = b / a, the median cancels.
    expect(r.sensitivity.compute).toBeCloseTo(0.3, 9);
  });
});

describe('measuredContention', () => {
  it('is the busy fraction of the second before each request\'s start, from its measured schedule', () => {
    expect(measuredContention(steadyServer(0.8, 800, 4))).toEqual([0, 0.8, 0.8, 0.8]);
    // Two workers, requests 500 ms apart, each waiting 100 ms then 300 ms of service: busy 600 ms a second.
    const o = { ...steadyServer(0, 300, 6), workersPerReplica: 2, ts: [0, 500, 1000, 1500, 2000, 2500], total: new Array<number>(6).fill(400) };
    // Starts at 100, 600, 1100, ...: the second bucket sees [100, 400) and [600, 900) of the first second = 600 ms of 2000.
    expect(measuredContention(o)).toEqual([0, 0, 0.3, 0.3, 0.3, 0.3]);
    expect(measuredContention({ ...o, total: undefined })).toBeNull();
  });
});

describe('another chip: each request\'s compute at the same quantile there (spreadAboutMedian)', () => {
  it('maps a lognormal time m·e^{σz} to m·e^{s·σz}, the median kept; other models, zeros and s = 1 are left as they are', () => {
    const z = [-2, -1, 0, 1, 2];
    const values = [...z.map((k) => 10 * Math.exp(0.4 * k)), 3, 0, 7, 5];
    const models = [...z.map(() => 'a'), 'b', 'a', 'b', 'b'];
    // Model a: six values (0 among them), lower median = the 3rd smallest of {0, 10e^-0.8, 10e^-0.4, 10, …} = 10e^-0.4.
    const m = 10 * Math.exp(-0.4);
    const got = spreadAboutMedian(values, models, (model) => (model === 'a' ? 0.5 : 1));
    z.forEach((k, i) => expect(got[i]).toBeCloseTo(m * ((10 * Math.exp(0.4 * k)) / m) ** 0.5, 12));
    expect(got.slice(5)).toEqual([3, 0, 7, 5]);
    expect(spreadAboutMedian(values, models, () => 1)).toEqual(values);
  });

  it('spreadRatio: ln(p90/p50) there over here, clamped to [0.25, 4]; 1 when either is unknown', () => {
    expect(spreadRatio(0.2, 0.4)).toBe(0.5);
    expect(spreadRatio(2, 0.1)).toBe(4);
    expect(spreadRatio(0.01, 1)).toBe(0.25);
    expect(spreadRatio(null, 0.4)).toBe(1);
    expect(spreadRatio(0.3, 0)).toBe(1);
  });

  // 101 requests a second apart (no queue, idle: no load signal), compute 100·2^{(i−50)/25} ms. On a chip
  // with half the median and half the log-spread: p50 = 0.5·100 = 50 ms, and the nearest-rank p99 (the
  // 100th, i = 99) = 0.5·100·(2^{49/25})^{0.5} = 50·2^{0.98} ms (scaling by the medians alone: 50·2^{1.96}).
  it('what-if on a chip with a steadier kernel: p99 = 50·2^0.98 ms in closed form', () => {
    const n = 101;
    const compute = Array.from({ length: n }, (_, i) => 100 * 2 ** ((i - 50) / 25));
    const o: ServerObservations = {
      server: 'edge-x', chip: 'chip-a', workersPerReplica: 1, ts: Array.from({ length: n }, (_, i) => i * 1000),
      io: new Array<number>(n).fill(0), compute, util: new Array<number>(n).fill(0), model: new Array<string>(n).fill('m'), total: compute,
      measured: { p50: 100, p99: compute[99]!, n },
    };
    const swap = { chip: 'chip-b', workersPerReplica: 1, workersSource: 'fleet' as const, ratio: new Map([['m', { io: 1, compute: 0.5, spread: 0.5 }]]), evidence: new Map([['m', 'fleet' as const]]) };
    const r = whatIfReplicas(o, 1, swap);
    expect(r.p50_ms).toBeCloseTo(50, 9);
    expect(r.p99_ms).toBeCloseTo(50 * 2 ** 0.98, 9);
    expect(r.method).toContain('m: fleet, spread ×0.50');
    const plain = whatIfReplicas(o, 1, { ...swap, ratio: new Map([['m', { io: 1, compute: 0.5, spread: 1 }]]) });
    expect(plain.p99_ms).toBeCloseTo(50 * 2 ** 1.96, 9);
    // Workers no server reported are said to be assumed, in the method and the JSON.
    expect([r.workers_source, r.method]).toEqual(['fleet', expect.not.stringContaining('assumed') as unknown]);
    const assumed = whatIfReplicas(o, 1, { ...swap, workersSource: 'assumed' });
    expect(assumed.workers_source).toBe('assumed');
    expect(assumed.method).toContain('FCFS queue with 1 worker(s) of chip-b (1 per replica assumed: no server of chip-b reports its concurrency; --workers sets it): ');
    expect(whatIfReplicas(o, 2).workers_source).toBeUndefined();
  });

  // I/O moved by a line t' = 3 + 0.5·t (fixed cost + bytes / bandwidth): 4 ms of i/o becomes 5 ms, on top of the compute.
  it('moves each request\'s i/o by the map\'s slope and offset: p50 = 50 + 5 ms', () => {
    const n = 101;
    const compute = new Array<number>(n).fill(100);
    const o: ServerObservations = {
      server: 'edge-x', chip: 'chip-a', workersPerReplica: 1, ts: Array.from({ length: n }, (_, i) => i * 1000),
      io: new Array<number>(n).fill(4), compute, util: new Array<number>(n).fill(0), model: new Array<string>(n).fill('m'), total: compute.map((c) => c + 4),
      measured: { p50: 104, p99: 104, n },
    };
    const swap = {
      chip: 'chip-b', workersPerReplica: 1, workersSource: 'fleet' as const, ratio: new Map([['m', { io: 0.5, ioOffset: 3, compute: 0.5, spread: 1 }]]), evidence: new Map([['m', 'benchmark' as const]]),
      io: new Map([['m', 'i/o 3.00 ms + 0.500× per request']]),
    };
    const r = whatIfReplicas(o, 1, swap);
    expect(r.p50_ms).toBeCloseTo(55, 9);
    expect(r.p99_ms).toBeCloseTo(55, 9);
    expect(r.method).toContain('m: benchmark, i/o 3.00 ms + 0.500× per request');
  });
});

describe('what-if on a chip the load saturates', () => {
  // 200 requests a second apart, 800 ms of compute each (no load signal, no fleet: k = 0). On a chip 1.5×
  // slower they need 200·1200 ms of a worker's time over a span of 199 s: ρ = 240/199 > 1, so the queue
  // grows for as long as the load lasts; now ρ = 160/199.
  it('reports Infinity (saturated) with the offered utilisation instead of a p50 of however long the trace was', () => {
    const o = steadyServer(0.8, 800);
    const swap = { chip: 'chip-b', workersPerReplica: 1, workersSource: 'fleet' as const, ratio: new Map([['m', { io: 1, compute: 1.5, spread: 1 }]]), evidence: new Map([['m', 'fleet' as const]]) };
    const r = whatIfReplicas(o, 1, swap);
    expect(r.p50_ms).toBe(Number.POSITIVE_INFINITY);
    expect(r.p99_ms).toBe(Number.POSITIVE_INFINITY);
    expect(r.offered_utilisation).toBeCloseTo(240 / 199, 12);
    expect(r.current.offered_utilisation).toBeCloseTo(160 / 199, 12);
    expect(r.current.p50_ms).toBeCloseTo(800, 6);
    expect(JSON.parse(JSON.stringify(r))).toMatchObject({ p50_ms: null, p99_ms: null });
    // Two replicas of it: ρ = 120/199, a finite answer again.
    const two = whatIfReplicas(o, 2, swap);
    expect(two.offered_utilisation).toBeCloseTo(120 / 199, 12);
    expect(two.p50_ms).toBeCloseTo(1200, 6);
  });

  // With the fleet's k_c = 0.5 the unloaded compute is 800/1.4 ms (started under ρ = 0.8; the first request, with
  // no second before it, 800 ms); ×1.5 on chip b that is ρ_c = 1.5·(199·800/1.4 + 800)/199000 ≈ 0.86 unloaded,
  // 1.5·ρ_c ≈ 1.29 at full load: saturated, though ρ_c < 1. On two
  // replicas ρ_c halves and the fixed point ρ = ρ_c / (1 − 0.5·ρ_c) < 1 (utilisation law with slowed services).
  it('counts the slow-down the load makes: saturated when the work at full load exceeds the workers\' time', () => {
    const o = steadyServer(0.8, 800);
    const fleet = { compute: 0.5, io: 0.2 };
    const swap = { chip: 'chip-b', workersPerReplica: 1, workersSource: 'fleet' as const, ratio: new Map([['m', { io: 1, compute: 1.5, spread: 1 }]]), evidence: new Map([['m', 'fleet' as const]]) };
    const rhoC = (1.5 * (199 * (800 / 1.4) + 800)) / 199_000;
    const one = whatIfReplicas(o, 1, swap, fleet);
    expect(one.p99_ms).toBe(Number.POSITIVE_INFINITY);
    expect(one.offered_utilisation).toBeCloseTo(1.5 * rhoC, 12);
    const two = whatIfReplicas(o, 2, swap, fleet);
    expect(two.offered_utilisation).toBeCloseTo(rhoC / 2 / (1 - 0.5 * (rhoC / 2)), 12);
    expect(Number.isFinite(two.p99_ms)).toBe(true);
    expect(loadedUtilisation([0], [500], { compute: 1, io: 0 }, 1, 1000)).toBe(1); // 0.5 unloaded, 1.0 at full load: the boundary saturates
  });

  // A trial: one request a day before a saturated trace diluted its load to 1 %, and the what-if printed the backlog's age.
  it('measures the load over the busiest busy period, not across an idle gap', () => {
    const o = steadyServer(0.8, 800);
    const swap = { chip: 'chip-b', workersPerReplica: 1, workersSource: 'fleet' as const, ratio: new Map([['m', { io: 1, compute: 1.5, spread: 1 }]]), evidence: new Map([['m', 'fleet' as const]]) };
    const early = { ...o, ts: [o.ts[0]! - 86_400_000, ...o.ts], io: [0, ...o.io], compute: [800, ...o.compute], util: [0.8, ...o.util], model: ['m', ...o.model] };
    const r = whatIfReplicas(early, 1, swap);
    expect([r.p50_ms, r.p99_ms]).toEqual([Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY]);
    expect(r.offered_utilisation).toBeCloseTo(240 / 199, 12);
    // By hand: two periods of 150 requests 1 s apart, 400 and 900 ms of compute, 20 min apart: ρ = 0.9 in the second
    // (150·900 / 149,000 ms), where the whole span would give (150·400 + 150·900) / (149 + 1,200 + 149) s = 0.130.
    const ts = [...Array.from({ length: 150 }, (_, i) => i * 1000), ...Array.from({ length: 150 }, (_, i) => 1_349_000 + i * 1000)];
    const c = ts.map((_, i) => (i < 150 ? 400 : 900));
    const zero = ts.map(() => 0);
    expect(busiestUtilisation(ts, zero, c, { compute: 0, io: 0 }, 1)).toBeCloseTo((150 * 900) / 149_000, 12);
    expect(loadedUtilisation(zero, c, { compute: 0, io: 0 }, 1, ts[299]! - ts[0]!)).toBeCloseTo(195_000 / 1_498_000, 12);
    // A gap of exactly IDLE_GAP_MS does not split; periods under 100 requests count only when no period has 100.
    const joined = [0, IDLE_GAP_MS, IDLE_GAP_MS + 1000];
    expect(busiestUtilisation(joined, [0, 0, 0], [1000, 1000, 1000], { compute: 0, io: 0 }, 1)).toBeCloseTo(3000 / (IDLE_GAP_MS + 1000), 12);
    expect(busiestUtilisation([0, IDLE_GAP_MS + 1, IDLE_GAP_MS + 1001], [0, 0, 0], [1000, 1000, 1000], { compute: 0, io: 0 }, 1)).toBeCloseTo(2, 12);
    expect(busiestUtilisation([5], [0], [10], { compute: 0, io: 0 }, 1)).toBe(0);
  });

  // A re-test: 20 requests 9 minutes apart before a saturated trace (0.3 % more demand) still diluted it, the gap
  // being under 10 minutes; the what-if's gap is 20 median inter-arrival times (at least a minute).
  it('splits a trickle of requests minutes apart from the busy stretch after it', () => {
    const o = steadyServer(0.8, 800);
    const swap = { chip: 'chip-b', workersPerReplica: 1, workersSource: 'fleet' as const, ratio: new Map([['m', { io: 1, compute: 1.5, spread: 1 }]]), evidence: new Map([['m', 'fleet' as const]]) };
    const trickle = Array.from({ length: 20 }, (_, i) => o.ts[0]! - 540_000 * (20 - i));
    const early = { ...o, ts: [...trickle, ...o.ts], io: [...trickle.map(() => 0), ...o.io], compute: [...trickle.map(() => 800), ...o.compute], util: [...trickle.map(() => 0.8), ...o.util], model: [...trickle.map(() => 'm'), ...o.model] };
    // Median gap 1 s (the steady server's): the idle gap is the 1-minute floor.
    expect(traceIdleGapMs(early.ts)).toBe(MIN_IDLE_GAP_MS);
    const r = whatIfReplicas(early, 1, swap);
    expect(r.p50_ms).toBe(Number.POSITIVE_INFINITY);
    expect(r.offered_utilisation).toBeCloseTo(240 / 199, 12);
    // 20 × the median gap where that is above a minute: gaps of 10 s → 200 s.
    expect(traceIdleGapMs([0, 10_000, 20_000, 30_000])).toBe(200_000);
    expect(traceIdleGapMs([7])).toBe(MIN_IDLE_GAP_MS);
  });
});
