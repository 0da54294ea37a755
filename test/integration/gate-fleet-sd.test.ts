/**
 * The fleet's day-to-day variation of peak p99 on a warehouse (`edgelat gate`,
 * `POST /v1/gate`): fleetDaySeries' SQL against a direct computation over the
 * same rows with the gate's own peak window (gate-replay.ts `peakWindow`) and
 * the nearest-rank p99, on three UTC days of two servers with a version change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SINK_ROUTES } from '../../pipelines/warehouse-sink.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import { fleetDaySeries } from '../../services/predictor/gate-evidence.ts';
import { dayToDaySd, queueShareClass, type DaySeries } from '../../services/predictor/gate.ts';
import { peakWindow } from '../../services/predictor/peak-p99.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { at, makeEnriched, makeLoad, prng } from '../helpers/factories.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

interface Req { server: string; chip: string; model: string; version: string; ts: number; total: number; io: number; compute: number; util: number }

const DAY_MS = 86_400_000;
const WINDOW_MS = 300_000;

/** 3 days × 2 servers: 20 min of traffic from 10:00 each day, a burst at a day-dependent minute; edge-a's m2 is v2 on day 3. */
function requests(): Req[] {
  const rand = prng(17);
  const out: Req[] = [];
  for (let day = 0; day < 3; day++) {
    const start = at('2024-06-01T10:00:00.000Z') + day * DAY_MS;
    const burst = start + (4 + 5 * day) * 60_000;
    for (const [server, chip, models] of [['edge-a', 'chip-a', ['m1', 'm2']], ['edge-b', 'chip-b', ['m1']]] as const) {
      let ts = start;
      while (ts < start + 20 * 60_000) {
        const model = models[Math.floor(rand() * models.length)]!;
        const busy = ts >= burst && ts < burst + WINDOW_MS;
        const total = Math.round(Math.exp(2 + 0.6 * (rand() + rand() + rand() - 1.5) + (busy ? 0.5 : 0)) * 1000) / 1000;
        // In the bursts a request waits for a share of its latency: up to 4 % on edge-a, 30–40 % on edge-b.
        const service = busy ? total * (1 - (server === 'edge-a' ? 0.04 * rand() : 0.3 + 0.1 * rand())) : total;
        out.push({
          server, chip, model, version: model === 'm2' && day === 2 ? 'v2' : 'v1', ts, total, io: service / 4, compute: (3 * service) / 4,
          util: Math.round((busy ? 0.3 : 0.05) * (0.5 + rand()) * 1e4) / 1e4,
        });
        ts += Math.ceil((busy ? 400 : 1500) * (0.2 + 1.6 * rand()));
      }
    }
  }
  return out;
}

/** The reference: per (server, day) the gate's peak window over the server's arrivals; series keyed by (server, chip, model, setup). */
function reference(reqs: readonly Req[]): DaySeries[] {
  const series = new Map<string, { share: number[]; p99: number[] }>();
  const p99 = (v: number[]) => [...v].sort((a, b) => a - b)[Math.ceil(0.99 * v.length) - 1]!;
  const days = [...new Set(reqs.map((r) => Math.floor(r.ts / DAY_MS)))].sort();
  for (const server of [...new Set(reqs.map((r) => r.server))].sort()) {
    for (const day of days) {
      const mine = reqs.filter((r) => r.server === server && Math.floor(r.ts / DAY_MS) === day);
      const peak = peakWindow(mine.map((r) => r.ts), WINDOW_MS);
      const inPeak = mine.filter((r) => r.ts >= peak.startMs && r.ts < peak.endMs);
      for (const chip of [...new Set(mine.map((r) => r.chip))]) {
        const dev = mine.filter((r) => r.chip === chip);
        const setup = [...new Set(dev.map((r) => `${r.model}:${r.version}`))].sort().join(',');
        const devPeak = inPeak.filter((r) => r.chip === chip);
        for (const model of [...new Set(dev.map((r) => r.model))].sort()) {
          const mine = devPeak.filter((r) => r.model === model);
          const key = `${server}|${chip}|${model}|${setup}`;
          const x = series.get(key) ?? { share: [], p99: [] };
          const total = p99(mine.map((r) => r.total));
          x.share.push(1 - p99(mine.map((r) => r.io + r.compute)) / total);
          x.p99.push(total);
          series.set(key, x);
        }
      }
    }
  }
  return [...series.values()].map((x) => ({ queueShare: x.share.reduce((a, b) => a + b, 0) / x.share.length, p99: x.p99 }));
}

describe('fleet day-to-day variation on a warehouse', () => {
  let w: ChdbWarehouse;
  const reqs = requests();
  beforeAll(async () => {
    w = await createTestDatabase('gatesd');
    await w.insert(`${w.database}.inference_enriched`, reqs.map((r, i) => SINK_ROUTES[TOPICS.enriched]!.toRow(
      makeEnriched({ edge_server_id: r.server, chip: r.chip, model_id: r.model, model_version: r.version, ts: r.ts, total_ms: r.total, io_ms: r.io, compute_ms: r.compute, event_id: `e-${i}` },
        makeLoad({ edge_server_id: r.server, ts: r.ts, gpu_util: r.util })), 0, 0)));
  });
  afterAll(async () => w?.close());

  it('the SQL series equal the direct computation: peak p99 per day, setups split by the version change, the queue\'s share of the p99', async () => {
    const got = await fleetDaySeries(w, at('2024-06-01T00:00:00.000Z'), WINDOW_MS);
    const want = reference(reqs);
    const byKey = (s: DaySeries[]) => [...s].sort((a, b) => a.p99[0]! - b.p99[0]! || a.queueShare - b.queueShare);
    // edge-a m1 and m2 with v1 on days 1–2 (2 series), then both with m2 v2 on day 3 (2 series); edge-b m1 on 3 days.
    expect(want.map((x) => x.p99.length).sort()).toEqual([1, 1, 2, 2, 3]);
    expect(got).toHaveLength(want.length);
    byKey(got).forEach((g, i) => {
      const r = byKey(want)[i]!;
      expect(g.p99).toEqual(r.p99);
      expect(g.queueShare).toBeCloseTo(r.queueShare, 9);
    });
    // The bursts are the peaks: there the queue takes a share of the p99 (none outside them), edge-a's below 0.05, edge-b's above 0.25.
    expect(got.map((g) => queueShareClass(g.queueShare)).sort()).toEqual([0, 0, 0, 0, 2]);
    for (const g of got) expect(g.queueShare).toBeGreaterThan(0);
    // dayToDaySd pools the series with ≥ 2 days: the same figure from both.
    expect(dayToDaySd(got.map((x) => x.p99), 0.2)).toBeCloseTo(dayToDaySd(want.map((x) => x.p99), 0.2), 12);
    expect(dayToDaySd(got.map((x) => x.p99), 0.2)).not.toBe(0.2);
  });

  it('a lookback that starts after the data gives no series (the gate then uses its prior)', async () => {
    expect(await fleetDaySeries(w, at('2024-06-04T00:00:00.000Z'), WINDOW_MS)).toEqual([]);
  });
});
