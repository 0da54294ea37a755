import { describe, expect, it } from 'vitest';
import { BrokerUnavailableError, CommitMetadataTooLargeError } from '../../../../errors.ts';
import { joinLoadLatency } from '../../../../pipelines/join-load-latency.ts';
import type { Processor } from '../../../../pipelines/processor.ts';
import { rollingCorrelation } from '../../../../pipelines/rolling-correlation.ts';
import { shadowCompare } from '../../../../pipelines/shadow-compare.ts';
import { checkpointFloors, MAX_COMMIT_METADATA_BYTES, parseCheckpoint, type Checkpoint } from '../../../../pipelines/runtime/checkpoint.ts';
import { MAX_FLOOR_SHIFT, packFloors } from '../../../../pipelines/runtime/floors.ts';
import { ProcessorRun } from '../../../../pipelines/runtime/run-processor.ts';
import { TOPICS } from '../../../../pipelines/topics.ts';
import { codecFor } from '../../../../schemas/index.ts';
import type { CorrelationUpdate, EnrichedInference, ShadowResult, ShadowVerdict } from '../../../../schemas/types.ts';
import { MemoryEventLog } from '../../../../services/eventlog/memory.ts';
import { partitionForKey } from '../../../../services/eventlog/murmur2.ts';
import { at, makeEnriched, makeInference, makeLoad } from '../../../helpers/factories.ts';
import { readTopic } from '../../../helpers/pipeline.ts';

const t0 = at('2024-06-01T10:00:00.000Z');
const GROUP = 'edgelat-join-load-latency';

/** A log whose topics have `partitions` partitions, with `seconds` of load samples and requests of 200 servers (records on every partition). */
async function joinInput(partitions: number, seconds: number, options: { offsetMetadataMaxBytes?: number } = {}): Promise<MemoryEventLog> {
  const log = new MemoryEventLog({ defaultPartitions: partitions, ...options });
  for (const t of [TOPICS.inference, TOPICS.load, TOPICS.enriched, TOPICS.late]) await log.ensureTopic(t, partitions);
  const servers = Array.from({ length: 200 }, (_, i) => `edge-${i}`);
  for (let s = 0; s < seconds; s++) {
    await log.produce(TOPICS.load, servers.map((id) => ({ key: id, value: codecFor('LoadSample').encode(makeLoad({ edge_server_id: id, ts: t0 + s * 1000 })) })));
    await log.produce(TOPICS.inference, servers.map((id) => ({ key: id, value: codecFor('InferenceEvent').encode(makeInference({ edge_server_id: id, ts: t0 + s * 1000 + 500, event_id: `${id}-${s}` })) })));
  }
  return log;
}

describe('ProcessorRun checkpoints (commit metadata within Kafka\'s 4096 bytes)', () => {
  it('commits checkpoints of at most 4096 bytes over 64- and 256-partition topics, and a restart from them emits each joined event once', async () => {
    for (const partitions of [64, 256]) {
      const log = await joinInput(partitions, 30);
      const first = new ProcessorRun({ log, processor: joinLoadLatency(), maxBatch: 3000 });
      await first.start();
      for (let i = 0; i < 2; i++) await first.runBatch(); // not sealed: an unbounded run
      const sizes = [...log.group(GROUP).committed.values()].map((c) => Buffer.byteLength(c.metadata, 'utf8'));
      expect(sizes.length, `${partitions} partitions`).toBe(2 * partitions);
      expect(Math.max(...sizes), `${partitions} partitions`).toBeLessThanOrEqual(MAX_COMMIT_METADATA_BYTES);
      await first.close(); // a crash: nothing more committed
      const emittedBefore = (await readTopic(log, TOPICS.enriched)).length;
      expect(emittedBefore).toBeGreaterThan(0);

      // The rest of the input, sealed; a new run resumes from the checkpoints, replays, and emits nothing twice.
      await log.seal(TOPICS.load);
      await log.seal(TOPICS.inference);
      const second = new ProcessorRun({ log, processor: joinLoadLatency(), maxBatch: 3000 });
      await second.runToEnd();
      const enriched = await readTopic<EnrichedInference>(log, TOPICS.enriched);
      const ids = enriched.map((r) => r.value.event_id);
      expect(new Set(ids).size, `${partitions} partitions`).toBe(ids.length);
      expect(ids.length, `${partitions} partitions`).toBe(200 * 30);
      expect(enriched.every((r) => r.value.load_ts === r.value.ts - 500)).toBe(true);
    }
  }, 60_000);

  it('recovers as exactly from a checkpoint whose floors were lowered or left out (with or without the lanes), as checkpointMetadata does to fit', async () => {
    const cuts: Record<string, (cp: Checkpoint) => Checkpoint> = {
      'as committed': (cp) => cp,
      'floors lowered to each topic\'s lowest': (cp) => ({ ...cp, packedFloors: packFloors(checkpointFloors(cp)!, MAX_FLOOR_SHIFT) }),
      'floors lowered to 0': (cp) => ({ ...cp, packedFloors: packFloors(new Map([...checkpointFloors(cp)!].map(([k]) => [k, 0])), 0) }),
      'floors left out': ({ packedFloors: _f, ...cp }) => cp,
      'floors and lanes left out': ({ packedFloors: _f, lanes: _l, ...cp }) => cp,
    };
    for (const [name, cut] of Object.entries(cuts)) {
      const log = await joinInput(8, 30);
      const first = new ProcessorRun({ log, processor: joinLoadLatency(), maxBatch: 3000 });
      await first.start();
      for (let i = 0; i < 2; i++) await first.runBatch();
      await first.close();
      const committed = log.group(GROUP).committed;
      expect(committed.size).toBe(16);
      for (const c of committed.values()) c.metadata = JSON.stringify(cut(parseCheckpoint(c.metadata)));
      await log.seal(TOPICS.load);
      await log.seal(TOPICS.inference);
      await new ProcessorRun({ log, processor: joinLoadLatency(), maxBatch: 3000 }).runToEnd();
      const ids = (await readTopic<EnrichedInference>(log, TOPICS.enriched)).map((r) => r.value.event_id);
      expect([ids.length, new Set(ids).size], name).toEqual([200 * 30, 200 * 30]);
    }
  }, 60_000);

  it('stops with a CommitMetadataTooLargeError, not retriable and no BrokerUnavailableError (which would restart the run for ever), when the broker refuses the metadata', async () => {
    const log = await joinInput(4, 30, { offsetMetadataMaxBytes: 100 });
    const run = new ProcessorRun({ log, processor: joinLoadLatency(), maxBatch: 2000 });
    await run.start();
    let error: unknown = null;
    for (let i = 0; i < 20 && error === null; i++) error = await run.runBatch().then(() => null, (e: unknown) => e);
    await run.close();
    expect(error).toBeInstanceOf(CommitMetadataTooLargeError);
    expect(error).not.toBeInstanceOf(BrokerUnavailableError);
    const e = error as CommitMetadataTooLargeError;
    expect([e.retriable, e.groupId, e.partitions.length, e.metadataBytes > 100]).toEqual([false, GROUP, 1, true]);
    expect(e.partitions[0]).toMatch(/^edge\.(inference|load)\.v1:[0-3]$/);
    expect(e.message).toBe(`commit refused (OFFSET_METADATA_TOO_LARGE): consumer group "edgelat-join-load-latency" committed ${e.partitions[0]} with metadata of up to ${e.metadataBytes} bytes, `
      + 'more than the broker\'s offset.metadata.max.bytes allows; edgelat keeps a checkpoint within kafka\'s default, 4096 bytes: set offset.metadata.max.bytes to at least 4096 on the brokers (a restart would be refused again, so the run stops)');
  });
});

/** Two servers, one per partition of a 2-partition topic: `quiet` goes silent early, `busy` goes on. */
const quiet = Array.from({ length: 20 }, (_, i) => `edge-${i}`).find((s) => partitionForKey(s, 2) === 0)!;
const busy = Array.from({ length: 20 }, (_, i) => `edge-${i}`).find((s) => partitionForKey(s, 2) === 1)!;

type Input = { topic: string; key: string; value: Buffer }[];

/** A log of 2-partition topics holding `input`. */
async function logOf(topics: readonly string[], input: Input): Promise<MemoryEventLog> {
  const log = new MemoryEventLog({ defaultPartitions: 2 });
  for (const t of topics) await log.ensureTopic(t, 2);
  for (const r of input) await log.produce(r.topic, [{ key: r.key, value: r.value }]);
  return log;
}

/**
 * `input` run two ways: unbounded (not sealed) with a 5 s idle timeout, 20 records a poll, processing time a second a
 * poll, for 100 polls; and bounded (sealed, run to its end, never idle), whose output is every window and join result.
 */
async function idleAndBounded<S>(processor: () => Processor<S>, input: Input, output: string): Promise<{ idle: unknown[]; bounded: unknown[]; run: ProcessorRun<S>; log: MemoryEventLog; tick: () => Promise<void> }> {
  const inputs = processor().inputs;
  const log = await logOf([...inputs, output], input);
  let now = Date.UTC(2030, 0, 1);
  const run = new ProcessorRun({ log, processor: processor(), maxBatch: 20, idleTimeoutMs: 5000, now: () => now });
  await run.start();
  const tick = async () => { await run.runBatch(); now += 1000; };
  for (let i = 0; i < 100; i++) await tick();
  const sealed = await logOf([...inputs, output], input);
  for (const t of inputs) await sealed.seal(t);
  await new ProcessorRun({ log: sealed, processor: processor(), maxBatch: 20 }).runToEnd();
  return { idle: (await readTopic(log, output)).map((r) => r.value), bounded: (await readTopic(sealed, output)).map((r) => r.value), run, log, tick };
}

const ofServer = (rows: unknown[], server: string) => rows.filter((r) => (r as { edge_server_id: string }).edge_server_id === server);
const wmOf = (run: ProcessorRun<unknown>, partition: number) => Math.min(...run.watermarks().filter((w) => w.partition === partition).map((w) => w.watermarkMs));

describe('ProcessorRun idleness: a quiet input partition follows the active ones (DESIGN §3, idle_timeout)', () => {
  it('rolling-correlation: a server that went silent gets its last windows, the very ones a bounded run fires at its end; never past the active partition', async () => {
    const row = (server: string, ts: number) => makeEnriched({ edge_server_id: server, model_id: 'm1', ts, total_ms: 10 + (ts % 7) }, makeLoad({ edge_server_id: server, ts, gpu_util: (ts % 5) / 10 }));
    const input: Input = [];
    for (let s = 0; s < 300; s++) {
      for (const server of s < 60 ? [quiet, busy] : [busy]) input.push({ topic: TOPICS.enriched, key: server, value: codecFor('EnrichedInference').encode(row(server, t0 + s * 1000)) });
    }
    const { idle, bounded, run, log, tick } = await idleAndBounded(() => rollingCorrelation({ sizeMs: 30_000, slideMs: 10_000 }), input, TOPICS.correlation);
    const byEnd = (rows: unknown[]) => (rows as CorrelationUpdate[]).map((w) => ({ ...w, end_s: (w.window_end - t0) / 1000 })).sort((a, b) => a.end_s - b.end_s || a.x_metric.localeCompare(b.x_metric) || a.y_metric.localeCompare(b.y_metric));
    // The quiet server's rows (0 … 59 s) are in windows ending 10 … 80 s: all fired, as in the bounded run (before: to 50 s only).
    expect(byEnd(ofServer(idle, quiet))).toEqual(byEnd(ofServer(bounded, quiet)));
    expect(Math.max(...byEnd(ofServer(idle, quiet)).map((w) => w.end_s))).toBe(80);
    // The busy partition's windows as the bounded run's, up to its watermark (298 s of event time: windows to 290 s).
    expect(byEnd(ofServer(idle, busy))).toEqual(byEnd(ofServer(bounded, busy)).filter((w) => w.end_s <= 290));
    // The quiet partition's watermark followed the busy one's, not past it; nothing more moves once both are quiet.
    expect([wmOf(run, 0), wmOf(run, 1)].map((w) => (w - t0) / 1000)).toEqual([297, 297]);
    for (let i = 0; i < 10; i++) await tick();
    expect([wmOf(run, 0), wmOf(run, 1)].map((w) => (w - t0) / 1000)).toEqual([297, 297]);
    // A record of the quiet server behind its raised watermark is late, never dropped silently; one ahead of it is processed.
    await log.produce(TOPICS.enriched, [row(quiet, t0 + 100_000), row(quiet, t0 + 299_000)].map((r) => ({ key: quiet, value: codecFor('EnrichedInference').encode(r) })));
    await tick();
    expect(run.counts[TOPICS.enriched]).toEqual({ consumed: 362, processed: 361, late: 1, dead: 0 });
    await run.close();
  });

  it('a partition whose records wait behind another\'s backlog is not quiet, however long it brought nothing: none of them late', async () => {
    // One record a poll: the in-process consumer serves partition 0 first, so partition 1 (60 records waiting) brings
    // nothing for 60 polls, 60 s of processing time, 12 idle timeouts. Called quiet, its watermark would have followed
    // partition 0's, and its records, read after, would have been late.
    const row = (server: string, ts: number) => makeEnriched({ edge_server_id: server, model_id: 'm1', ts, total_ms: 10 + (ts % 7) }, makeLoad({ edge_server_id: server, ts, gpu_util: (ts % 5) / 10 }));
    const input: Input = [];
    for (const server of [quiet, busy]) for (let s = 0; s < 60; s++) input.push({ topic: TOPICS.enriched, key: server, value: codecFor('EnrichedInference').encode(row(server, t0 + s * 1000)) });
    const log = await logOf([TOPICS.enriched, TOPICS.correlation], input);
    let now = Date.UTC(2030, 0, 1);
    const run = new ProcessorRun({ log, processor: rollingCorrelation({ sizeMs: 30_000, slideMs: 10_000 }), maxBatch: 1, idleTimeoutMs: 5000, now: () => now });
    await run.start();
    for (let i = 0; i < 130; i++) {
      await run.runBatch();
      now += 1000;
    }
    expect(run.counts[TOPICS.enriched]).toEqual({ consumed: 120, processed: 120, late: 0, dead: 0 });
    await run.close();
  });

  it('join-load-latency: the last events of a server whose load samples and requests both stopped are released, matched as a bounded run matches them', async () => {
    const input: Input = [];
    for (let s = 0; s < 300; s++) {
      for (const server of s < 60 ? [quiet, busy] : [busy]) {
        input.push({ topic: TOPICS.load, key: server, value: codecFor('LoadSample').encode(makeLoad({ edge_server_id: server, ts: t0 + s * 1000, gpu_util: (s % 10) / 10 })) });
        input.push({ topic: TOPICS.inference, key: server, value: codecFor('InferenceEvent').encode(makeInference({ edge_server_id: server, ts: t0 + s * 1000 + 500, event_id: `${server}-${s}` })) });
      }
    }
    const { idle, bounded, run } = await idleAndBounded(() => joinLoadLatency(), input, TOPICS.enriched);
    const joined = (rows: unknown[]) => (rows as EnrichedInference[]).map((e) => [e.event_id, e.load_ts, e.gpu_util]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    // Every request of the quiet server, to the last (59.5 s, behind its own load watermark of 57 s before): 60.
    expect(ofServer(idle, quiet)).toHaveLength(60);
    expect(joined(ofServer(idle, quiet))).toEqual(joined(ofServer(bounded, quiet)));
    expect(wmOf(run, 0)).toBe(wmOf(run, 1));
    expect(run.counts[TOPICS.inference]!.late + run.counts[TOPICS.load]!.late).toBe(0);
    await run.close();
  });

  it('shadow-compare: the last window of a server whose production and shadow streams both stopped gets its verdict, as in a bounded run', async () => {
    const input: Input = [];
    for (let s = 0; s < 300; s++) {
      for (const server of s < 130 ? [quiet, busy] : [busy]) {
        const ts = t0 + s * 1000;
        const ev = makeInference({ edge_server_id: server, ts, total_ms: 10 + (s % 3), request_id: `rq-${server}-${s}` });
        input.push({ topic: TOPICS.inference, key: server, value: codecFor('InferenceEvent').encode(ev) });
        const shadow: ShadowResult = {
          event_id: `sh-${server}-${s}`, request_id: ev.request_id, ts, request_ts: ts, edge_server_id: server, device_id: `${server}-shadow0`, model_id: ev.model_id, model_version: 'v2',
          chip: 'hailo-8', runtime: 'hailort', queue_ms: 0, io_ms: 1, compute_ms: 6 + (s % 3), total_ms: 7 + (s % 3), status: 'ok', deployment_id: 'shadow-1',
        };
        input.push({ topic: TOPICS.shadow, key: server, value: codecFor('ShadowResult').encode(shadow) });
      }
    }
    const { idle, bounded, run } = await idleAndBounded(() => shadowCompare({ windowMs: 60_000, lagToleranceMs: 10_000, tolerance: 0.1, minPairs: 5 }), input, TOPICS.shadowVerdicts);
    const windows = (rows: unknown[]) => (rows as ShadowVerdict[]).map((v) => ({ ...v })).sort((a, b) => a.window_end - b.window_end);
    // The quiet server's requests (0 … 129 s) are in windows ending 60, 120 and 180 s: all three have their verdicts.
    expect(windows(ofServer(idle, quiet)).map((v) => (v.window_end - t0) / 1000)).toEqual([60, 120, 180]);
    expect(windows(ofServer(idle, quiet))).toEqual(windows(ofServer(bounded, quiet)));
    expect(wmOf(run, 0)).toBe(wmOf(run, 1));
    await run.close();
  });
});
