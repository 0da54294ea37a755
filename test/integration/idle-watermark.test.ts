/**
 * DESIGN §3: "a partition idle for longer than idle_timeout stops holding it
 * back". A server's load samples stop at t = 10 s while its inference events
 * go on to t = 59.5 s. Without idleness the join holds every event past the
 * load watermark (8 s) for ever; with an idle timeout the load stream's
 * watermark is raised to the inference watermark (57.5 s) once the load
 * stream brought nothing for that long (processing time, a fake clock here),
 * the held events are released with the as-of rule (matched within 5 s, else
 * unmatched, checked against a brute-force join), and a load sample that
 * then arrives behind the raised watermark is late, not lost. The idle time
 * counts only while the other stream brings records: a pipeline started before
 * its producers, or a partition silent as a whole, makes no stream idle when
 * the first records come back.
 */
import { describe, expect, it } from 'vitest';
import { joinLoadLatency } from '../../pipelines/join-load-latency.ts';
import { ProcessorRun } from '../../pipelines/runtime/run-processor.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import { codecFor } from '../../schemas/index.ts';
import type { EnrichedInference } from '../../schemas/types.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import { makeInference, makeLoad } from '../helpers/factories.ts';
import { readTopic } from '../helpers/pipeline.ts';

const t0 = Date.UTC(2024, 5, 1, 10);
const LOAD_TS = Array.from({ length: 11 }, (_, i) => t0 + i * 1000); // 0 … 10 s
const EVENT_TS = Array.from({ length: 60 }, (_, i) => t0 + 500 + i * 1000); // 0.5 … 59.5 s

/** Inference events [from, to) of EVENT_TS to the log. */
async function produceEvents(log: MemoryEventLog, from: number, to: number): Promise<void> {
  await log.produce(TOPICS.inference, EVENT_TS.slice(from, to).map((ts, i) => ({ key: 'edge-01', value: codecFor('InferenceEvent').encode(makeInference({ edge_server_id: 'edge-01', ts, event_id: `idle-${from + i}` })) })));
}

/** All load samples and the first 50 inference events (to 49.5 s). */
async function setUp(): Promise<MemoryEventLog> {
  const log = new MemoryEventLog({ defaultPartitions: 1 });
  await log.produce(TOPICS.load, LOAD_TS.map((ts) => ({ key: 'edge-01', value: codecFor('LoadSample').encode(makeLoad({ edge_server_id: 'edge-01', ts })) })));
  await produceEvents(log, 0, 50);
  return log;
}

/** Brute-force as-of join: the latest sample at or before t, if within the 5 s tolerance. */
const expectedMatch = (t: number): number | null => {
  const before = LOAD_TS.filter((s) => s <= t);
  const s = before.length ? before[before.length - 1]! : null;
  return s !== null && t - s <= 5000 ? s : null;
};

describe('idle input streams', () => {
  it('release the join once the load stream stayed silent for the idle timeout; a sample behind the raised watermark is late', async () => {
    const log = await setUp();
    let clock = 0;
    const run = new ProcessorRun({ log, processor: joinLoadLatency({ toleranceMs: 5000, maxOutOfOrdernessMs: 2000 }), idleTimeoutMs: 1000, now: () => clock });
    await run.start();
    await run.runBatch(); // read at clock 0: frontier = min(load 8 s, inference 47.5 s)
    const first = await readTopic<EnrichedInference>(log, TOPICS.enriched);
    expect(first.map((r) => r.value.ts)).toEqual(EVENT_TS.filter((t) => t < t0 + 8000));

    // The inference stream goes on (to 59.5 s); the load stream brings nothing.
    clock = 999;
    await produceEvents(log, 50, 60);
    await run.runBatch(); // not yet idle
    expect(await readTopic(log, TOPICS.enriched)).toHaveLength(first.length);

    clock = 1000;
    await run.runBatch(); // the load stream is idle, the inference stream active: the load watermark goes to 57.5 s
    const released = await readTopic<EnrichedInference>(log, TOPICS.enriched);
    const want = EVENT_TS.filter((t) => t < t0 + 57_500);
    expect(released.map((r) => r.value.ts)).toEqual(want);
    for (const r of released) expect(r.value.load_ts, `event at ${r.value.ts - t0} ms`).toBe(expectedMatch(r.value.ts));

    // A sample arriving now behind the raised watermark is late (late-events topic), never silently dropped.
    await log.produce(TOPICS.load, [{ key: 'edge-01', value: codecFor('LoadSample').encode(makeLoad({ edge_server_id: 'edge-01', ts: t0 + 20_000 })) }]);
    await run.runBatch();
    expect(run.counts[TOPICS.load]).toEqual({ consumed: 12, processed: 11, late: 1, dead: 0 });
    const late = await readTopic<{ ts: number; watermark: number; topic: string }>(log, TOPICS.late);
    expect(late.map((r) => [r.value.topic, r.value.ts - t0, r.value.watermark - t0])).toEqual([[TOPICS.load, 20_000, 57_500]]);
    await run.close();
  });

  it('count idle time from the partition\'s first record: not before any record came, nor across a silence of the whole partition', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    let clock = 0;
    const run = new ProcessorRun({ log, processor: joinLoadLatency({ toleranceMs: 5000, maxOutOfOrdernessMs: 2000 }), idleTimeoutMs: 1000, now: () => clock });
    await run.start();
    await run.runBatch(); // started before the producers: nothing to read
    const loads = async (from: number, to: number): Promise<void> => {
      await log.produce(TOPICS.load, LOAD_TS.slice(from, to).map((ts) => ({ key: 'edge-01', value: codecFor('LoadSample').encode(makeLoad({ edge_server_id: 'edge-01', ts })) })));
    };
    // 5 s later the inference events come first, the load samples 0.9 s after them: the load stream had
    // brought nothing for 5.9 s, but for only 0.9 s of it while the inference stream did.
    clock = 5000;
    await produceEvents(log, 0, 5); // 0.5 … 4.5 s
    await run.runBatch();
    clock = 5900;
    await run.runBatch();
    expect(await readTopic(log, TOPICS.enriched)).toEqual([]);
    await loads(0, 6); // 0 … 5 s
    await run.runBatch();
    // The whole partition silent for 10 s; then the inference stream comes back 0.9 s before the load stream.
    clock = 16_000;
    await produceEvents(log, 5, 10); // 5.5 … 9.5 s
    await run.runBatch();
    clock = 16_900;
    await loads(6, 11); // 6 … 10 s
    await run.runBatch();
    // (Before: the load stream idle at once both times, its samples up to 2.5 s and 7.5 s late.)
    expect(run.counts[TOPICS.load]).toEqual({ consumed: 11, processed: 11, late: 0, dead: 0 });
    const enriched = await readTopic<EnrichedInference>(log, TOPICS.enriched);
    expect(enriched.map((r) => [r.value.ts, r.value.load_ts])).toEqual(EVENT_TS.filter((t) => t < t0 + 7500).map((t) => [t, expectedMatch(t)]));
    // Now the load stream stays silent while the inference stream goes on: idle after 1 s of that.
    await produceEvents(log, 10, 20);
    clock = 17_899;
    await run.runBatch();
    expect((await readTopic<EnrichedInference>(log, TOPICS.enriched)).map((r) => r.value.ts)).toEqual(EVENT_TS.filter((t) => t < t0 + 8000)); // the load watermark, 8 s
    clock = 17_900;
    await run.runBatch();
    expect((await readTopic<EnrichedInference>(log, TOPICS.enriched)).map((r) => r.value.ts)).toEqual(EVENT_TS.filter((t) => t < t0 + 17_500));
    await run.close();
  });

  it('hold the join for ever without an idle timeout (the default: bounded runs stay deterministic)', async () => {
    const log = await setUp();
    let clock = 0;
    const run = new ProcessorRun({ log, processor: joinLoadLatency({ toleranceMs: 5000, maxOutOfOrdernessMs: 2000 }), now: () => clock });
    await run.start();
    await run.runBatch();
    await produceEvents(log, 50, 60);
    clock = 3_600_000;
    await run.runBatch();
    await run.runBatch();
    expect((await readTopic<EnrichedInference>(log, TOPICS.enriched)).map((r) => r.value.ts)).toEqual(EVENT_TS.filter((t) => t < t0 + 8000));
    await run.close();
  });
});
