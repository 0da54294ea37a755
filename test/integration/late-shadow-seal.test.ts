/**
 * Records behind the watermark go to the late-events topic from three
 * processors: join, correlation's input and shadow-compare. With arrival
 * jitter above the out-of-orderness bound, shadow-compare sends some there
 * after the correlation stage has finished: the topic must stay open until
 * the last of its producers ends (it was sealed with the correlation's
 * output, and shadow-compare's next late record failed the run: "topic
 * analytics.late-events.v1 is sealed"), embedded and streaming alike.
 * The what-if and the gate then replay every request of a server as demand,
 * the late ones included (they read only the join's on-time rows: 85 % of
 * them here).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS } from '../../pipelines/topics.ts';
import { loadConfig } from '../../services/config.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import { runBoundedPipeline } from '../../services/pipeline/embedded.ts';
import { produceSimulation } from '../../services/pipeline/demo.ts';
import { runStreaming } from '../../services/pipeline/streaming.ts';
import { gateFromWarehouse } from '../../services/predictor/gate-evidence.ts';
import { loadServerObservations } from '../../services/predictor/whatif.ts';
import { normalizeSimConfig, simulateFleet } from '../../services/simulator/index.ts';
import type { InferenceEvent } from '../../schemas/types.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { copyRows, createTestDatabase } from '../helpers/warehouse.ts';

const nearestRank = (v: number[], pct: number): number => [...v].sort((a, b) => a - b)[Math.ceil((pct * v.length) / 100) - 1]!;

// Arrivals up to 3 s after their event time, 1 s past the out-of-orderness bound (2 s).
const cfg = normalizeSimConfig({ seed: 5, servers: 4, durationMs: 8 * 60_000, maxJitterMs: 3000, shadows: { servers: 2 } });
const sim = simulateFleet(cfg);
const config = { ...loadConfig({}), shadows: { ...loadConfig({}).shadows, enabled: true }, sinkLingerMs: 50, idleTimeoutMs: 1000 };

/** Late records per operator in the warehouse. */
async function lateByOperator(w: ChdbWarehouse): Promise<Record<string, number>> {
  const rows = await w.query<{ operator: string; n: number }>(`SELECT operator, count() AS n FROM ${w.database}.late_events GROUP BY operator`);
  return Object.fromEntries(rows.map((r) => [r.operator, Number(r.n)]));
}

describe('late events from shadow-compare (jitter 3 s)', () => {
  let bounded: ChdbWarehouse;
  let streaming: ChdbWarehouse;
  beforeAll(async () => {
    bounded = await createTestDatabase('late_bounded');
    streaming = await createTestDatabase('late_streaming');
  });
  afterAll(async () => {
    await bounded?.close();
    await streaming?.close();
  });

  it('embedded: the run completes and the warehouse holds the late records of join and shadow-compare', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 4, now: () => 0 });
    await produceSimulation(log, sim, 0);
    const counts = await runBoundedPipeline({ log, warehouse: bounded, config, shadows: true });
    const late = await lateByOperator(bounded);
    expect(late['join-load-latency']).toBeGreaterThan(0);
    expect(late['shadow-compare']).toBeGreaterThan(0);
    // Every late record counted by a processor is in the table.
    const counted = (c: Record<string, { late: number }>) => Object.values(c).reduce((s, t) => s + t.late, 0);
    expect(late['join-load-latency']).toBe(counted(counts.join));
    expect(late['shadow-compare']).toBe(counted(counts.shadow!));
  }, 120_000);

  it('streaming (pipeline run --until-end, every processor in one process): completes with the same late records', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 4, now: () => 0 });
    await produceSimulation(log, sim, 0);
    const counts = await runStreaming({ log, warehouse: streaming, config, untilEnd: true });
    expect(Object.keys(counts).sort()).toEqual(['correlation', 'join', 'shadow', 'sink']);
    expect(await lateByOperator(streaming)).toEqual(await lateByOperator(bounded));
    expect(await log.isSealed(TOPICS.late)).toBe(true);
  }, 120_000);

  it('what-if: every request of a server is demand, late ones included', async () => {
    const [{ n: enriched }] = await bounded.query<{ n: number }>(`SELECT count() AS n FROM ${bounded.database}.inference_enriched`);
    const events = sim.arrivals.filter((a) => a.topic === TOPICS.inference).map((a) => a.value as InferenceEvent);
    expect(Number(enriched)).toBeLessThan(0.95 * events.length); // the join left a share of them late
    for (const server of [...new Set(events.map((e) => e.edge_server_id))].sort()) {
      const own = events.filter((e) => e.edge_server_id === server);
      const o = await loadServerObservations(bounded, server);
      expect(o.ts, server).toHaveLength(own.length);
      expect(o.ts).toEqual(own.map((e) => e.ts).sort((a, b) => a - b));
      expect(o.measured.p99, server).toBe(nearestRank(own.map((e) => e.total_ms), 99));
    }
  }, 60_000);

  it('gate: the peak it replays holds every request of the server in that window, late ones included', async () => {
    const events = sim.arrivals.filter((a) => a.topic === TOPICS.inference).map((a) => a.value as InferenceEvent);
    let fewerEnriched = 0;
    for (const server of [...new Set(events.map((e) => e.edge_server_id))].sort()) {
      const own = events.filter((e) => e.edge_server_id === server);
      const model = own.at(-1)!.model_id;
      const running = own.filter((e) => e.model_id === model).sort((a, b) => a.ts - b.ts).at(-1)!;
      const report = await gateFromWarehouse(bounded, { model, version: running.model_version, chip: running.chip, servers: [server], slo_p99_ms: 1e6 });
      const peak = report.servers[0]!.peak!;
      const inWindow = own.filter((e) => e.ts >= peak.start_ms && e.ts < peak.end_ms);
      expect([peak.requests, peak.model_requests], server).toEqual([inWindow.length, inWindow.filter((e) => e.model_id === model).length]);
      const [{ n }] = await bounded.query<{ n: number }>(
        `SELECT count() AS n FROM ${bounded.database}.inference_enriched WHERE edge_server_id = {s:String} AND toUnixTimestamp64Milli(ts) >= {a:Int64} AND toUnixTimestamp64Milli(ts) < {b:Int64}`,
        { s: server, a: peak.start_ms, b: peak.end_ms });
      if (Number(n) < inWindow.length) fewerEnriched++;
    }
    expect(fewerEnriched).toBeGreaterThan(0); // the join's rows alone would have missed some

    // A request the join wrote twice (a row of inference_enriched again, same event_id) is still one request.
    const server = events[0]!.edge_server_id;
    const before = await loadServerObservations(bounded, server);
    await copyRows(bounded, ['inference_enriched'], 'edge_server_id = {s:String}', { s: server });
    const after = await loadServerObservations(bounded, server);
    expect(after.ts).toEqual(before.ts);
    expect(after.util).toEqual(before.util);
  }, 60_000);
});
