/**
 * A send retried by a producer without idempotence (a broker stall past the request timeout; librdkafka's mock
 * cluster refuses idempotence) writes a batch of edgelat's own outputs twice, the second copy right after the first.
 * The readers of those topics (the correlation processor, the warehouse-sink, alert delivery) skip a record whose
 * lane position is at or below the last one read for its lane in its partition (pipelines/runtime/lanes.ts
 * `LaneRepeats`), so the warehouse holds exactly the rows and windows of a run without the repeats — also when a
 * stage crashes between a record and its second copy and resumes from its committed offset.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS } from '../../pipelines/topics.ts';
import { loadConfig } from '../../services/config.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import type { EventLog, ProduceRecord } from '../../services/eventlog/types.ts';
import { runBoundedPipeline, type Stage } from '../../services/pipeline/embedded.ts';
import { produceSimulation } from '../../services/pipeline/demo.ts';
import { normalizeSimConfig, simulateFleet, type SimResult } from '../../services/simulator/index.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';
import { fingerprint } from '../helpers/fingerprint.ts';

class Crash extends Error {}

/**
 * The log, with every `every`-th produce call to `topics` written twice (the call's offsets are the first copy's,
 * as a retried send's answer gives). @returns the wrapped log and the count of records written twice per topic.
 */
function retryingProducer(log: EventLog, topics: readonly string[], every: number): { log: EventLog; doubled: Map<string, number> } {
  const calls = new Map<string, number>();
  const doubled = new Map<string, number>();
  const wrapped = new Proxy(log, {
    get(target, prop, receiver) {
      if (prop !== 'produce') return Reflect.get(target, prop, receiver);
      return async (topic: string, records: ProduceRecord[]) => {
        const first = await target.produce(topic, records);
        if (!topics.includes(topic) || records.length === 0) return first;
        const n = (calls.get(topic) ?? 0) + 1;
        calls.set(topic, n);
        if (n % every === 0) {
          await target.produce(topic, records);
          doubled.set(topic, (doubled.get(topic) ?? 0) + records.length);
        }
        return first;
      };
    },
  });
  return { log: wrapped, doubled };
}

describe('second copies of output records from a retried send', () => {
  let sim: SimResult;
  let reference: ChdbWarehouse;
  let expected: Record<string, string>;
  const config = { ...loadConfig({}), windowSizeMs: 60_000, windowSlideMs: 15_000 };
  const outputs = [TOPICS.enriched, TOPICS.correlation, TOPICS.late];

  beforeAll(async () => {
    sim = simulateFleet(normalizeSimConfig({ seed: 11, servers: 4, durationMs: 4 * 60_000, maxJitterMs: 2600 }));
    reference = await createTestDatabase('repeats_ref');
    const log = new MemoryEventLog({ defaultPartitions: 4, now: () => 0 });
    await produceSimulation(log, sim, 2);
    await runBoundedPipeline({ log, warehouse: reference, config, sinkBatchOffsets: 700 });
    expected = await fingerprint(reference);
    expect(Number(expected.inference_enriched!.split(':')[0])).toBeGreaterThan(1000);
    expect(Number(expected.load_latency_correlations!.split(':')[0])).toBeGreaterThan(100);
  });
  afterAll(async () => reference?.close());

  it('adds no row, window or late event, and counts each second copy as repeated', async () => {
    const warehouse = await createTestDatabase('repeats');
    const memory = new MemoryEventLog({ defaultPartitions: 4, now: () => 0 });
    await produceSimulation(memory, sim, 2);
    const { log, doubled } = retryingProducer(memory, outputs, 3);
    const counts = await runBoundedPipeline({ log, warehouse, config, sinkBatchOffsets: 700 });
    expect(doubled.get(TOPICS.enriched)).toBeGreaterThan(100);
    expect(doubled.get(TOPICS.correlation)).toBeGreaterThan(10);
    // Every second copy was written: the topics hold the originals and the copies.
    const enrichedRows = Number(expected.inference_enriched!.split(':')[0]);
    let onTopic = 0;
    for (let p = 0; p < 4; p++) onTopic += await memory.endOffset({ topic: TOPICS.enriched, partition: p });
    expect(onTopic).toBe(enrichedRows + doubled.get(TOPICS.enriched)!);
    expect(counts.correlation[TOPICS.enriched]!.repeated).toBe(doubled.get(TOPICS.enriched));
    expect(counts.sink[TOPICS.enriched]!.repeated).toBe(doubled.get(TOPICS.enriched));
    expect(counts.sink[TOPICS.correlation]!.repeated).toBe(doubled.get(TOPICS.correlation));
    expect(counts.sink[TOPICS.enriched]!.processed).toBe(enrichedRows);
    expect(await fingerprint(warehouse)).toEqual(expected);
    await warehouse.close();
  });

  /** The pipeline stopped in the join after `at` records, `forge(log)` written to the enriched topic, then run to the end. */
  async function forgedRun(name: string, forge: (log: MemoryEventLog) => Promise<void>) {
    const warehouse = await createTestDatabase(name);
    const log = new MemoryEventLog({ defaultPartitions: 4, now: () => 0 });
    await produceSimulation(log, sim, 2);
    await expect(runBoundedPipeline({
      log, warehouse, config, sinkBatchOffsets: 700,
      failPoint: (stage, point, done) => { if (stage === 'join' && point === 'after-commit' && done >= 3000) throw new Crash('join'); },
    })).rejects.toThrow(Crash);
    await forge(log);
    const warnings: Record<string, unknown>[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => void warnings.push(JSON.parse(l)) });
    const counts = await runBoundedPipeline({ log, warehouse, config, sinkBatchOffsets: 700, logger });
    return { warehouse, counts, warnings };
  }

  /** A real enriched record's headers, for a forger to copy. */
  const realHeaders = async (log: MemoryEventLog) => (await log.read({ topic: TOPICS.enriched, partition: 0 }, 0, 1))[0]!.headers;

  it('a record another producer wrote under a real lane (garbage at a far position, the settings header copied) stops nothing, also across a restart of the join', async () => {
    // The forged records land in every enriched partition under every input partition's lane (trials: one without the
    // settings header made the readers skip 3,890 real records as copies; one with it, the restarted join 4,557).
    const { warehouse, counts, warnings } = await forgedRun('repeats_forged', async (log) => {
      const { 'edgelat-settings': settings } = await realHeaders(log);
      await log.produce(TOPICS.enriched, Array.from({ length: 4 }, (_, lane) => Array.from({ length: 4 }, (__, partition) => ({
        key: null, partition, value: Buffer.from('garbage'),
        headers: { 'edgelat-lane': `join-load-latency:enriched:${lane}`, 'edgelat-seq': '[9000000000000000,0]', ...(lane % 2 === 0 ? { 'edgelat-settings': settings! } : {}) },
      }))).flat());
    });
    expect(counts.sink[TOPICS.enriched]).toMatchObject({ dead: 16 });
    expect(counts.sink[TOPICS.enriched]!.repeated ?? 0).toBe(0);
    const { dead_letters: dead, ...rest } = await fingerprint(warehouse);
    const { dead_letters: none, ...wanted } = expected;
    expect(rest).toEqual(wanted);
    // The simulator's own bad records, and the 16 forged ones.
    expect(Number(dead!.split(':')[0])).toBe(Number(none!.split(':')[0]) + 16);
    // The restarted join said it passed over the forged records in its scan (those of its own lanes it read).
    const passed = warnings.filter((w) => String(w.msg).startsWith('output records under this processor\'s lanes that it cannot have written'));
    expect(passed.length).toBeGreaterThan(0);
    expect(passed.every((w) => w.pipeline === 'join-load-latency')).toBe(true);
    await warehouse.close();
  });

  it('records under a lane without any settings header are said to be an older edgelat\'s or another producer\'s (an upgrade trial: bc8aff7\'s windows were blamed on another producer)', async () => {
    const { warehouse, warnings } = await forgedRun('repeats_forged_older', async (log) => {
      await log.produce(TOPICS.enriched, Array.from({ length: 4 }, (_, partition) => ({
        key: null, partition, value: Buffer.from('garbage'), headers: { 'edgelat-lane': `join-load-latency:enriched:${partition}`, 'edgelat-seq': '[9000000000000000,0]' },
      })));
    });
    const passed = warnings.filter((w) => String(w.msg).startsWith('output records under this processor\'s lanes'));
    expect(passed.length).toBeGreaterThan(0);
    expect(passed.every((w) => String(w.msg).startsWith('output records under this processor\'s lanes without a settings header are passed over: an edgelat older than this one wrote them'))).toBe(true);
    await warehouse.close();
  });

  it('a real record\'s bytes and headers written again at a far position stop nothing either: it is one more record, not a copy', async () => {
    const { warehouse, counts } = await forgedRun('repeats_forged_valid', async (log) => {
      const [real] = await log.read({ topic: TOPICS.enriched, partition: 0 }, 0, 1);
      await log.produce(TOPICS.enriched, [{ key: real!.key, partition: 0, value: real!.value, headers: { ...real!.headers, 'edgelat-seq': '[9999999999999,0]' } }]);
    });
    expect(counts.sink[TOPICS.enriched]!.repeated ?? 0).toBe(0);
    const [row] = await warehouse.query<{ c: number; u: number }>(`SELECT count() AS c, uniqExact(event_id) AS u FROM ${warehouse.database}.inference_enriched`);
    const rows = Number(expected.inference_enriched!.split(':')[0]);
    expect([Number(row!.c), Number(row!.u)]).toEqual([rows + 1, rows]);
    await warehouse.close();
  });

  it.each<[Stage, number]>([['correlation', 2500], ['sink', 4000], ['sink', 9000]])('and a crash of %s after %i records adds none either (the sink at 9000 resumes between a record and its copy: it needs the records before its offset)', async (stage, at) => {
    const warehouse = await createTestDatabase(`repeats_${stage}_${at}`);
    const memory = new MemoryEventLog({ defaultPartitions: 4, now: () => 0 });
    await produceSimulation(memory, sim, 2);
    const { log } = retryingProducer(memory, outputs, 2);
    let crashed = 0;
    for (let attempt = 0; ; attempt++) {
      expect(attempt).toBeLessThan(4);
      try {
        await runBoundedPipeline({
          log, warehouse, config, sinkBatchOffsets: 700,
          failPoint: (s, point, done) => {
            if (crashed === 0 && s === stage && point === 'after-commit' && done >= at) {
              crashed++;
              throw new Crash(`${s} after ${done}`);
            }
          },
        });
        break;
      } catch (error) {
        if (!(error instanceof Crash)) throw error;
      }
    }
    expect(crashed).toBe(1);
    expect(await fingerprint(warehouse)).toEqual(expected);
    await warehouse.close();
  });
});
