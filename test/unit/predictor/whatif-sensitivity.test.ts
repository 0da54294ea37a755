import { describe, expect, it } from 'vitest';
import { whatIfReplicas, type ServerObservations } from '../../../services/predictor/whatif.ts';

/** A server that always ran at busy fraction u (no spread of u: no load signal of its own), requests 1 s apart (no queueing). */
function steadyServer(u: number, computeMs: number, n = 200): ServerObservations {
  return {
    server: 'edge-x', chip: 'chip-a', workersPerReplica: 1,
    ts: Array.from({ length: n }, (_, i) => i * 1000),
    io: new Array<number>(n).fill(0), compute: new Array<number>(n).fill(computeMs), util: new Array<number>(n).fill(u), model: new Array<string>(n).fill('m'),
    measured: { p50: computeMs, p99: computeMs, n },
  };
}

describe('what-if load sensitivity of a server with no load signal of its own', () => {
  it('takes the fleet\'s: one more replica halves u, so compute 14 ms at u 0.8 with k 0.5 becomes 10·(1 + 0.5·0.4) = 12 ms', () => {
    const o = steadyServer(0.8, 14);
    const r = whatIfReplicas(o, 2, undefined, { compute: 0.5, io: 0.2 });
    expect(r.sensitivity).toEqual({ compute: 0.5, io: 0.2 });
    expect(r.sensitivity_source).toEqual({ compute: 'fleet', io: 'fleet' });
    expect(r.p50_ms).toBeCloseTo(12, 9);
    expect(r.p99_ms).toBeCloseTo(12, 9);
    // As now (one replica): the measured 14 ms back.
    expect(r.current.p99_ms).toBeCloseTo(14, 9);
  });

  it('without the fleet\'s, the part is not load-sensitive and more replicas leave an unqueued service time as it was', () => {
    const r = whatIfReplicas(steadyServer(0.8, 14), 2);
    expect(r.sensitivity_source).toEqual({ compute: 'none', io: 'none' });
    expect(r.sensitivity).toEqual({ compute: 0, io: 0 });
    expect(r.p99_ms).toBe(14);
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
