import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { joinLoadLatency } from '../../../pipelines/join-load-latency.ts';
import { ProcessorRun } from '../../../pipelines/runtime/run-processor.ts';
import { TOPICS } from '../../../pipelines/topics.ts';
import type { InferenceEvent, LateEvent, LoadSample } from '../../../schemas/types.ts';
import { MemoryEventLog } from '../../../services/eventlog/memory.ts';
import { at, makeInference, makeLoad, prng } from '../../helpers/factories.ts';
import { enrichedById, produceArrivals, readTopic, type Arrival } from '../../helpers/pipeline.ts';

interface C05 {
  config: { tolerance_ms: number };
  load_samples_in_arrival_order: { kafka_offset: number; server_id: string; sample_ts: string; gpu_util: number }[];
  inference_events: { event_id: string; server_id: string; event_ts: string }[];
}

describe('join-load-latency', () => {
  it('case C05: out-of-order samples, exact-time tie to the higher offset, tolerance, no future sample', async () => {
    const c05 = JSON.parse(readFileSync(new URL('../../fixtures/cases/C05.json', import.meta.url), 'utf8')) as C05;
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    const arrivals: Arrival[] = [
      ...c05.load_samples_in_arrival_order.map((s) => ({ topic: TOPICS.load, value: makeLoad({ edge_server_id: s.server_id, ts: at(s.sample_ts), gpu_util: s.gpu_util }) }) as Arrival),
      ...c05.inference_events.map((e) => ({ topic: TOPICS.inference, value: makeInference({ event_id: e.event_id, edge_server_id: e.server_id, ts: at(e.event_ts) }) }) as Arrival),
    ];
    await produceArrivals(log, arrivals, 1);
    // Samples arrive up to 4 s out of order (10:00:05 before 10:00:01) and events up to 9 s (e8 at 00.5 after e6 at 09.5):
    // the out-of-orderness bound must cover that for every record to be on time (a smaller bound makes e7/e8 late, see
    // below). It is read from the input's own disorder, so another input of this kind runs with a bound that covers it.
    let newest = Number.NEGATIVE_INFINITY;
    let disorder = 0;
    for (const a of arrivals) {
      newest = Math.max(newest, a.value.ts);
      disorder = Math.max(disorder, newest - a.value.ts);
    }
    expect(disorder).toBe(9000);
    const counts = await new ProcessorRun({ log, processor: joinLoadLatency({ toleranceMs: c05.config.tolerance_ms, maxOutOfOrdernessMs: disorder }) }).runToEnd();
    const byId = await enrichedById(log);
    const gpu = Object.fromEntries([...byId].map(([id, e]) => [id, e.gpu_util]));
    expect(gpu).toEqual({ e1: 0.22, e2: 0.37, e3: 0.37, e4: 0.91, e5: null, e6: 0.75, e7: null, e8: null });
    expect(byId.get('e5')!.matched).toBe(false);
    expect(byId.get('e3')!.load_age_ms).toBe(1999);
    expect(counts[TOPICS.load]).toEqual({ consumed: 6, processed: 6, late: 0, dead: 0 });
    expect(counts[TOPICS.inference]).toEqual({ consumed: 8, processed: 8, late: 0, dead: 0 });
  });

  it('equals a brute-force as-of join on a shuffled stream with disorder up to the bound', async () => {
    const rnd = prng(7);
    const servers = ['edge-01', 'edge-02', 'edge-03', 'edge-04', 'edge-05', 'edge-06'];
    const t0 = at('2024-06-01T10:00:00.000Z');
    const bound = 2000;
    const tagged: { arrival: number; a: Arrival }[] = [];
    for (const s of servers) {
      for (let k = 0; k < 120; k++) {
        if (rnd() < 0.08) continue; // gaps: some events find no sample within tolerance
        // Some samples share a ts (ties) and some land on an event's exact ts.
        const ts = t0 + k * 1000 + (rnd() < 0.1 ? 0 : Math.floor(rnd() * 3) * 250);
        tagged.push({ arrival: ts + rnd() * bound, a: { topic: TOPICS.load, value: makeLoad({ edge_server_id: s, ts, gpu_util: Math.round(rnd() * 1000) / 1000 }) } });
      }
      for (let k = 0; k < 400; k++) {
        const ts = t0 + Math.floor(rnd() * 125_000);
        tagged.push({ arrival: ts + rnd() * bound, a: { topic: TOPICS.inference, value: makeInference({ edge_server_id: s, ts, event_id: `${s}-${k}` }) } });
      }
    }
    tagged.sort((x, y) => x.arrival - y.arrival);
    const log = new MemoryEventLog({ defaultPartitions: 4 });
    await produceArrivals(log, tagged.map((t) => t.a));
    const counts = await new ProcessorRun({ log, processor: joinLoadLatency({ toleranceMs: 5000, maxOutOfOrdernessMs: bound }), maxBatch: 37 }).runToEnd();

    const samples = await readTopic<LoadSample>(log, TOPICS.load);
    const events = await readTopic<InferenceEvent>(log, TOPICS.inference);
    const joined = await enrichedById(log);
    expect(joined.size).toBe(events.length);
    let matched = 0;
    for (const { value: e } of events) {
      // Brute force: latest sample of the server with ts <= t and t - ts <= 5000; ties to the higher offset.
      let best: { ts: number; offset: number; s: LoadSample } | null = null;
      for (const { record, value: s } of samples) {
        if (s.edge_server_id !== e.edge_server_id || s.ts > e.ts || e.ts - s.ts > 5000) continue;
        if (!best || s.ts > best.ts || (s.ts === best.ts && record.offset > best.offset)) best = { ts: s.ts, offset: record.offset, s };
      }
      const got = joined.get(e.event_id)!;
      expect(got.load_ts).toBe(best ? best.ts : null);
      expect(got.gpu_util).toBe(best ? best.s.gpu_util : null);
      if (best) matched++;
    }
    expect(matched).toBeGreaterThan(events.length * 0.9);
    expect(matched).toBeLessThan(events.length);
    // Output per partition is in event-time order.
    const enriched = await readTopic<InferenceEvent>(log, TOPICS.enriched);
    for (let p = 0; p < 4; p++) {
      const ts = enriched.filter((r) => r.record.partition === p).map((r) => r.value.ts);
      expect(ts).toEqual([...ts].sort((a, b) => a - b));
    }
    for (const t of [TOPICS.load, TOPICS.inference]) {
      const c = counts[t]!;
      expect(c.late).toBe(0);
      expect(c.consumed).toBe(c.processed + c.late + c.dead);
    }
  });

  it('routes records behind the watermark to the late output and counts them', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    const t0 = at('2024-06-01T10:00:00.000Z');
    await produceArrivals(log, [
      { topic: TOPICS.load, value: makeLoad({ edge_server_id: 'a', ts: t0 }) },
      { topic: TOPICS.load, value: makeLoad({ edge_server_id: 'a', ts: t0 + 10_000 }) },
      { topic: TOPICS.load, value: makeLoad({ edge_server_id: 'a', ts: t0 + 1000 }) }, // 9 s behind max: late
      { topic: TOPICS.inference, value: makeInference({ edge_server_id: 'a', ts: t0 + 9000, event_id: 'on-time' }) },
      { topic: TOPICS.inference, value: makeInference({ edge_server_id: 'a', ts: t0 + 2000, event_id: 'late' }) },
    ]);
    const counts = await new ProcessorRun({ log, processor: joinLoadLatency(), maxBatch: 1 }).runToEnd();
    const late = await readTopic<LateEvent>(log, TOPICS.late);
    expect(late.map((l) => [l.value.topic, l.value.offset, l.value.ts - t0, l.value.watermark - t0]).sort()).toEqual([
      [TOPICS.inference, 1, 2000, 7000],
      [TOPICS.load, 2, 1000, 8000],
    ]);
    expect(counts[TOPICS.load]).toEqual({ consumed: 3, processed: 2, late: 1, dead: 0 });
    expect(counts[TOPICS.inference]).toEqual({ consumed: 2, processed: 1, late: 1, dead: 0 });
    expect([...(await enrichedById(log)).keys()]).toEqual(['on-time']);
  });
});
