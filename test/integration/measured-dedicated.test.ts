/**
 * The recommender's measured quantiles at a load come from servers running the model alone where the fleet has
 * enough such requests: the load samples' requests_per_s is the server's, so on a server shared with another model a
 * bucket's rate is not the model's own, and its queue holds the other model's requests too. A demo recommended
 * against rk3588 for mobilenet-v2 at 6 req/s (p99 212 ms, pooled) where the server running it alone measured 42 ms
 * and the one shared with resnet50 332 ms.
 *
 * Expected figures are nearest ranks worked out here on the rows: the value at 1-based rank ⌈p·N⌉ of the sorted
 * latencies, as `report` reads them (a trial: quantileExactHigh's rank ⌊p·N⌋ + 1 read one rank higher where p·N is
 * whole, as for the 200 rpi requests' p50, p90 and p99 here).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SINK_ROUTES } from '../../pipelines/warehouse-sink.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import { gatherCandidates } from '../../services/predictor/candidates.ts';
import { loadMeasuredAt, loadMeasuredCurve, measuredByTraffic } from '../../services/predictor/evidence.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { at, makeEnriched, makeLoad } from '../helpers/factories.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

const T0 = at('2024-06-01T10:00:00.000Z');
const MINUTE = 60_000;
/** Nearest rank, percentile `p` as a fraction with two decimals: rank ⌈p·N⌉ in integer arithmetic. */
const high = (v: number[], p: number): number => [...v].sort((a, b) => a - b)[Math.floor((Math.round(p * 100) * v.length + 99) / 100) - 1]!;
const range = (n: number, f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));

/** Enriched rows of one model on a server, one every `stepMs` from `t0`, at the server's `rps`. */
function requests(server: string, chip: string, model: string, totals: number[], rps: number, t0: number, stepMs: number): Record<string, unknown>[] {
  return totals.map((total, i) => {
    const ts = t0 + i * stepMs;
    const e = makeEnriched({ edge_server_id: server, chip, model_id: model, ts, io_ms: 1, compute_ms: total - 1, total_ms: total }, makeLoad({ edge_server_id: server, ts, requests_per_s: rps }));
    return SINK_ROUTES[TOPICS.enriched]!.toRow(e, 0, 0) as Record<string, unknown>;
  });
}

describe('measured quantiles at a load: servers running the model alone first', () => {
  let w: ChdbWarehouse;
  // rk: one server runs mob alone (120 requests at 6 req/s over 2 minutes), one runs it beside res (150 at 6 req/s,
  // 150 at 3 req/s). rpi: 50 dedicated requests only (too few), and 150 shared.
  const own = range(120, (i) => 10 + ((i * 37) % 120) / 4);
  const shared6 = range(150, (i) => 300 + i);
  const shared3 = range(150, (i) => 200 + i);
  const rpiOwn = range(50, (i) => 40 + i);
  const rpiShared = range(150, (i) => 90 + i);
  beforeAll(async () => {
    w = await createTestDatabase('measured_own');
    await w.insert(`${w.database}.inference_enriched`, [
      // 3 of them timed out: counted at the latency they took, and counted as failed (a trial: failures read as a clean p99).
      ...requests('edge-own', 'rk', 'mob', own, 6, T0, 1000).map((r, i) => (i % 40 === 7 ? { ...r, status: 'timeout' } : r)),
      ...requests('edge-shared', 'rk', 'mob', shared6, 6, T0, 400),
      ...requests('edge-shared', 'rk', 'mob', shared3, 3, T0 + 2 * MINUTE, 400),
      // res's requests fall in each of edge-shared's minutes (one every 10 s over 5 minutes)
      ...requests('edge-shared', 'rk', 'res', range(30, () => 50), 6, T0 + 5000, 10_000),
      ...requests('edge-rpi-own', 'rpi', 'mob', rpiOwn, 6, T0, 1000),
      ...requests('edge-rpi-shared', 'rpi', 'mob', rpiShared, 6, T0, 400),
      ...requests('edge-rpi-shared', 'rpi', 'res', range(10, () => 50), 6, T0 + 1000, 6000),
    ]);
  }, 60_000);
  afterAll(async () => w?.close());

  it('measures a bucket both ways: every server\'s requests, and those of minutes a server ran the model alone', async () => {
    const got = await loadMeasuredAt(w, 'mob', 6);
    const q = (v: number[], failed = 0) => ({ n: v.length, p50: high(v, 0.5), p90: high(v, 0.9), p99: high(v, 0.99), failed });
    expect(got).toEqual([
      { chip: 'rk', ratePerS: 6, pooled: q([...own, ...shared6], 3), dedicated: q(own, 3) },
      { chip: 'rpi', ratePerS: 6, pooled: q([...rpiOwn, ...rpiShared]), dedicated: q(rpiOwn) },
    ]);
    // By hand: own is 10 + k/4 for k = 0 … 119 in some order, so its p99 (rank 119 of 120) is 10 + 118/4;
    // pooled, rk's p99 is the shared server's 300 + 147 (rank 268 of 270).
    expect([got[0]!.dedicated.p99, got[0]!.pooled.p99]).toEqual([39.5, 447]);
    // rpi's 200 pooled requests (40 … 89 and 90 … 239): p50, p90 and p99 at ranks 100, 180 and 198.
    expect([got[1]!.pooled.p50, got[1]!.pooled.p90, got[1]!.pooled.p99]).toEqual([139, 219, 237]);
  });

  it('picks one kind of traffic per chip for the figure at the load and the curve: dedicated where ≥ 100 requests are', async () => {
    const at6 = measuredByTraffic(await loadMeasuredAt(w, 'mob', 6), await loadMeasuredCurve(w, 'mob'));
    expect(at6.atLoad.map((p) => [p.chip, p.n, p.p99, p.dedicated])).toEqual([['rk', 120, 39.5, true], ['rpi', 200, high([...rpiOwn, ...rpiShared], 0.99), false]]);
    // rk's shared 3 req/s bucket (150 requests) is left off its curve.
    expect(at6.curve.map((p) => [p.chip, p.ratePerS, p.n, p.p99, p.dedicated])).toEqual([['rk', 6, 120, 39.5, true], ['rpi', 6, 200, high([...rpiOwn, ...rpiShared], 0.99), false]]);
    // At 3 req/s only the shared server measured rk: no figure at the load (the law pinned to the dedicated curve answers),
    // not the shared server's p99 of 200 + 148.
    const at3 = measuredByTraffic(await loadMeasuredAt(w, 'mob', 3), await loadMeasuredCurve(w, 'mob'));
    expect(at3.atLoad).toEqual([]);
  });

  it('puts a load in the curve bucket of every whole rate whose r ± max(0.5, 0.1·r) holds it, as the figure at a load reads it (a re-test)', async () => {
    // 120 requests at 18 req/s: in the buckets of 17 (15.3–18.7), 18 (16.2–19.8), 19 (17.1–20.9) and 20 (18–22, its
    // lower edge), not 16 (14.4–17.6).
    await w.insert(`${w.database}.inference_enriched`, requests('edge-fast', 'xav', 'wide', range(120, (i) => 20 + i), 18, T0, 500));
    const curve = await loadMeasuredCurve(w, 'wide');
    expect(curve.map((b) => [b.chip, b.ratePerS, b.pooled.n])).toEqual([['xav', 17, 120], ['xav', 18, 120], ['xav', 19, 120], ['xav', 20, 120]]);
    // The figure at 16 req/s (14.4–17.6) has none of them; at 20 req/s (18–22) all.
    expect((await loadMeasuredAt(w, 'wide', 16)).map((b) => b.pooled.n)).toEqual([]);
    expect((await loadMeasuredAt(w, 'wide', 20)).map((b) => b.pooled.n)).toEqual([120]);
  });

  it('says in each fleet chip\'s evidence whose requests its measured figures are', async () => {
    const { candidates } = await gatherCandidates(w, { model: 'mob', rps: 6, chips: ['rk', 'rpi'] });
    expect(candidates.map((c) => [c.chip.chip, c.evidence.kind, c.evidence.measured_traffic, c.measured?.n])).toEqual([['rk', 'fleet', 'dedicated', 120], ['rpi', 'fleet', 'pooled', 200]]);
  });
});

describe('measuredByTraffic', () => {
  const fig = (chip: string, ratePerS: number, pooled: number, dedicated: number) => ({
    chip, ratePerS, pooled: { n: pooled, p50: 1, p90: 2, p99: 300, failed: 3 }, dedicated: { n: dedicated, p50: 1, p90: 2, p99: dedicated > 0 ? 30 : 0, failed: dedicated > 0 ? 1 : 0 },
  });

  it('makes a chip dedicated when its figure at the load alone has enough dedicated requests: the pooled curve is dropped', () => {
    // A review: dedicated requests at 19 and 21 req/s (60 each) make 120 in the ±10 % bucket at 20 req/s, but neither
    // integer bucket of the curve has 100: the pooled curve had outvoted the dedicated figure.
    const r = measuredByTraffic([fig('q', 20, 400, 120)], [fig('q', 19, 200, 60), fig('q', 21, 200, 60)]);
    expect(r).toEqual({ atLoad: [{ chip: 'q', ratePerS: 20, n: 120, p50: 1, p90: 2, p99: 30, failed: 1, dedicated: true }], curve: [] });
  });

  it('keeps every server\'s figures for a chip with no bucket of 100 dedicated requests, and drops buckets of fewer than 100 in all', () => {
    const r = measuredByTraffic([fig('x', 5, 150, 99)], [fig('x', 5, 150, 99), fig('x', 9, 99, 0)]);
    expect(r.atLoad).toEqual([{ chip: 'x', ratePerS: 5, n: 150, p50: 1, p90: 2, p99: 300, failed: 3, dedicated: false }]);
    expect(r.curve.map((p) => [p.ratePerS, p.n, p.dedicated])).toEqual([[5, 150, false]]);
  });
});
