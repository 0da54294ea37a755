import { describe, expect, it } from 'vitest';
import { measuredContention } from '../../../services/predictor/gate-replay.ts';
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
