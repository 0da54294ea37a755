/**
 * A device clock running fast must not make the other servers of its partition late. Servers edge-01
 * and edge-03 share one partition; each sends a load sample every second and an inference event every
 * second, logged 100 ms after it happened. edge-01 also sends one inference event stamped 30 minutes
 * ahead of its log time (within EDGELAT_MAX_EVENT_TIME_AHEAD_MS, 1 h, so it is not dead-lettered).
 * Its event time would raise the partition's watermark by 30 min and make every later record of
 * edge-03 late (a breaker trial lost 40 % of a run's joins that way); bounded by its log timestamp
 * (`watermarkTime`), it moves the watermark no further than the record's own log time.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { joinLoadLatency } from '../../pipelines/join-load-latency.ts';
import { ProcessorRun } from '../../pipelines/runtime/run-processor.ts';
import { fastClockJump, watermarkTime } from '../../pipelines/runtime/decode.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import { codecFor } from '../../schemas/index.ts';
import type { EnrichedInference } from '../../schemas/types.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import { makeInference, makeLoad } from '../helpers/factories.ts';
import { readTopic } from '../helpers/pipeline.ts';

const t0 = Date.UTC(2024, 5, 1, 10);
const LAG_MS = 100;
const AHEAD_MS = 30 * 60_000;

describe('watermark and a device clock ahead of the log time', () => {
  it('watermarkTime: event time, bounded by a plausible log timestamp', () => {
    expect(watermarkTime(t0 + 5000, t0 + 5100)).toBe(t0 + 5000);
    expect(watermarkTime(t0 + AHEAD_MS, t0 + 1100)).toBe(t0 + 1100);
    // No log time set (an in-memory log at epoch 0): the event time as is.
    expect(watermarkTime(t0 + AHEAD_MS, 0)).toBe(t0 + AHEAD_MS);
  });

  it('one edge-01 event 30 min ahead leaves edge-03 on time: every event joined, none late, none dead', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    const seconds = Array.from({ length: 20 }, (_, i) => i);
    for (const s of seconds) {
      for (const server of ['edge-01', 'edge-03']) {
        const ts = t0 + s * 1000;
        await log.produce(TOPICS.load, [{ key: server, value: codecFor('LoadSample').encode(makeLoad({ edge_server_id: server, ts })), timestampMs: ts + LAG_MS }]);
        await log.produce(TOPICS.inference, [{ key: server, value: codecFor('InferenceEvent').encode(makeInference({ edge_server_id: server, ts: ts + 500, event_id: `${server}-${s}` })), timestampMs: ts + 500 + LAG_MS }]);
      }
      if (s === 1) {
        await log.produce(TOPICS.inference, [{ key: 'edge-01', value: codecFor('InferenceEvent').encode(makeInference({ edge_server_id: 'edge-01', ts: t0 + AHEAD_MS, event_id: 'fast-clock' })), timestampMs: t0 + 1000 + 500 + LAG_MS }]);
      }
    }
    await log.seal(TOPICS.load);
    await log.seal(TOPICS.inference);
    const run = new ProcessorRun({ log, processor: joinLoadLatency({ toleranceMs: 5000, maxOutOfOrdernessMs: 2000 }) });
    const counts = await run.runToEnd();
    expect(counts[TOPICS.inference]).toEqual({ consumed: 41, processed: 41, late: 0, dead: 0 });
    expect(counts[TOPICS.load]).toEqual({ consumed: 40, processed: 40, late: 0, dead: 0 });
    expect(await readTopic(log, TOPICS.late)).toHaveLength(0);
    const enriched = await readTopic<EnrichedInference>(log, TOPICS.enriched);
    expect(enriched).toHaveLength(41);
    // Every on-time event matched the sample of its own second (0.5 s before it); the fast one keeps its event time.
    for (const r of enriched.filter((e) => e.value.event_id !== 'fast-clock')) expect(r.value.load_ts, r.value.event_id).toBe(r.value.ts - 500);
    expect(enriched.find((e) => e.value.event_id === 'fast-clock')!.value.ts).toBe(t0 + AHEAD_MS);
  });

  it('a server whose clock runs 3 s behind its partition\'s other server: its records are late, and a warning names it once per topic with the remedy', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    const SKEW_MS = 3000;
    for (let s = 0; s < 40; s++) {
      for (const server of ['edge-01', 'edge-03']) {
        const logged = t0 + s * 1000;
        const ts = logged - (server === 'edge-03' ? SKEW_MS : 0);
        await log.produce(TOPICS.load, [{ key: server, value: codecFor('LoadSample').encode(makeLoad({ edge_server_id: server, ts })), timestampMs: logged + LAG_MS }]);
        await log.produce(TOPICS.inference, [{ key: server, value: codecFor('InferenceEvent').encode(makeInference({ edge_server_id: server, ts: ts + 500, event_id: `${server}-${s}` })), timestampMs: logged + 500 + LAG_MS }]);
      }
    }
    await log.seal(TOPICS.load);
    await log.seal(TOPICS.inference);
    const warnings: { msg: string; server?: string; topic?: string }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line) as { msg: string }) });
    const run = new ProcessorRun({ log, processor: joinLoadLatency({ toleranceMs: 5000, maxOutOfOrdernessMs: 2000 }), logger });
    const counts = await run.runToEnd();
    // The partition's watermark follows edge-01: every edge-03 record but the first one or two is ~1 s behind it.
    const late = await readTopic<{ edge_server_id: string; topic: string }>(log, TOPICS.late);
    expect(new Set(late.map((l) => l.value.edge_server_id))).toEqual(new Set(['edge-03']));
    expect(counts[TOPICS.inference]!.late + counts[TOPICS.load]!.late).toBe(late.length);
    expect(late.length).toBeGreaterThanOrEqual(2 * 38);
    // One warning per input topic, naming the server, the partition, the bound and the remedy.
    expect(warnings.map((w) => [w.topic, w.server]).sort()).toEqual([[TOPICS.inference, 'edge-03'], [TOPICS.load, 'edge-03']]);
    for (const w of warnings) {
      expect(w.msg).toMatch(/^20 of the (2\d) edge\.(load|inference)\.v1 records of server "edge-03" so far are late \(up to 1\.0 s behind the watermark of partition 0, which the newest event time of its servers sets\): its clock likely runs behind theirs by more than EDGELAT_MAX_OUT_OF_ORDERNESS_MS \(2000 ms\); sync its clock \(NTP\) or raise the bound\. Its late records are in late_events$/);
    }
  });

  it('a backlog produced after its event times: one record 30 min fast moves the watermark to its log time, and the jump is said once', async () => {
    // A trial: events of 25 min ago produced now, one of them stamped now + 30 min: the partition's watermark jumped to
    // the log time and the 60 records after it were late, with no word of why.
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    const producedAt = t0 + 25 * 60_000;
    for (let s = 0; s < 20; s++) {
      await log.produce(TOPICS.load, [{ key: 'edge-01', value: codecFor('LoadSample').encode(makeLoad({ edge_server_id: 'edge-01', ts: t0 + s * 1000 })), timestampMs: producedAt + s }]);
      await log.produce(TOPICS.inference, [{ key: 'edge-01', value: codecFor('InferenceEvent').encode(makeInference({ edge_server_id: 'edge-01', ts: t0 + s * 1000 + 500, event_id: `e-${s}` })), timestampMs: producedAt + s }]);
      if (s === 9) await log.produce(TOPICS.inference, [{ key: 'edge-01', value: codecFor('InferenceEvent').encode(makeInference({ edge_server_id: 'edge-01', ts: producedAt + AHEAD_MS, event_id: 'fast' })), timestampMs: producedAt + s }]);
    }
    await log.seal(TOPICS.load);
    await log.seal(TOPICS.inference);
    const warnings: { msg: string; topic?: string; partition?: number; offset?: number }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line) as { msg: string }) });
    const counts = await new ProcessorRun({ log, processor: joinLoadLatency({ toleranceMs: 5000, maxOutOfOrdernessMs: 2000 }), logger }).runToEnd();
    // The ten events after the fast one (s = 10..19) are late: their event times are 25 min behind its log time.
    expect(counts[TOPICS.inference]).toMatchObject({ consumed: 21, late: 10 });
    const jumps = warnings.filter((w) => /its clock runs fast/.test(w.msg));
    expect(jumps.map((w) => [w.topic, w.partition, w.offset])).toEqual([[TOPICS.inference, 0, 10]]);
    expect(jumps[0]!.msg).toBe(fastClockJump(producedAt + AHEAD_MS, producedAt + 9, t0 + 9500, producedAt + 9));
    expect(jumps[0]!.msg).toMatch(/^event time \S+ is 30\.0 min past the record's log time \(its clock runs fast\), which moved the partition's watermark 24\.8 min ahead at once, /);
    // Live (log times at the event times), the same fast record moves the watermark no further than now: nothing is said.
    expect(fastClockJump(t0 + AHEAD_MS, t0 + 1100, t0 + 1000, t0 + 1050)).toBeNull();
    // A partition that resumes after a 10-min pause with a record 2 s fast: its log time moved as far as its watermark.
    expect(fastClockJump(t0 + 600_000 + 2000, t0 + 600_000, t0, t0 + 100)).toBeNull();
    // The same jump within a backlog (the previous record logged 1 s before): said.
    expect(fastClockJump(t0 + 600_000 + 2000, t0 + 600_000, t0, t0 + 599_000)).toMatch(/moved the partition's watermark 10\.0 min ahead at once/);
  });
});
