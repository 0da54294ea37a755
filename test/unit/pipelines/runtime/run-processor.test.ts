import { describe, expect, it } from 'vitest';
import { BrokerUnavailableError, CommitMetadataTooLargeError } from '../../../../errors.ts';
import { joinLoadLatency } from '../../../../pipelines/join-load-latency.ts';
import { checkpointFloors, MAX_COMMIT_METADATA_BYTES, parseCheckpoint, type Checkpoint } from '../../../../pipelines/runtime/checkpoint.ts';
import { MAX_FLOOR_SHIFT, packFloors } from '../../../../pipelines/runtime/floors.ts';
import { ProcessorRun } from '../../../../pipelines/runtime/run-processor.ts';
import { TOPICS } from '../../../../pipelines/topics.ts';
import { codecFor } from '../../../../schemas/index.ts';
import type { EnrichedInference } from '../../../../schemas/types.ts';
import { MemoryEventLog } from '../../../../services/eventlog/memory.ts';
import { at, makeInference, makeLoad } from '../../../helpers/factories.ts';
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

describe('ProcessorRun idleness: a stream with records waiting to be read is not idle', () => {
  it('join-load-latency: load samples read after the requests\' backlog are on time, however long they waited (one record a poll)', async () => {
    // One record a poll: the in-process consumer serves edge.inference.v1 first, so edge.load.v1 (60 samples waiting)
    // brings nothing for 60 polls, 60 s of processing time, 12 idle timeouts. Called idle, its watermark would have
    // followed the requests', and its samples, read after, would have been late.
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    for (const t of [TOPICS.inference, TOPICS.load, TOPICS.enriched]) await log.ensureTopic(t, 1);
    for (let s = 0; s < 60; s++) {
      await log.produce(TOPICS.inference, [{ key: 'edge-01', value: codecFor('InferenceEvent').encode(makeInference({ edge_server_id: 'edge-01', ts: t0 + s * 1000 + 500, event_id: `e-${s}` })) }]);
      await log.produce(TOPICS.load, [{ key: 'edge-01', value: codecFor('LoadSample').encode(makeLoad({ edge_server_id: 'edge-01', ts: t0 + s * 1000 })) }]);
    }
    let now = Date.UTC(2030, 0, 1);
    const run = new ProcessorRun({ log, processor: joinLoadLatency(), maxBatch: 1, idleTimeoutMs: 5000, now: () => now });
    await run.start();
    for (let i = 0; i < 130; i++) {
      await run.runBatch();
      now += 1000;
    }
    expect([run.counts[TOPICS.inference], run.counts[TOPICS.load]]).toEqual([{ consumed: 60, processed: 60, late: 0, dead: 0 }, { consumed: 60, processed: 60, late: 0, dead: 0 }]);
    await run.close();
  });
});
