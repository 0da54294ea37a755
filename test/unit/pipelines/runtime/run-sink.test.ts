/**
 * SinkRun's insert blocks over offsets that skip (Kafka's transaction markers: one offset after each transaction holds
 * a control record no consumer sees; a compacted topic's removed records). A review: a block closed only when a
 * record's offset + 1 was a multiple of the block size, so offsets that jumped over the boundary left the block open
 * past it, where the linger rule cuts a block only once the reader has caught up: under a steady backlog nothing was
 * written or committed.
 */
import { describe, expect, it } from 'vitest';
import { SinkRun } from '../../../../pipelines/runtime/run-sink.ts';
import { TOPICS } from '../../../../pipelines/topics.ts';
import { codecFor } from '../../../../schemas/index.ts';
import { MemoryEventLog } from '../../../../services/eventlog/memory.ts';
import type { Warehouse } from '../../../../services/warehouse/types.ts';
import { makeInference, prng } from '../../../helpers/factories.ts';

const tp = { topic: TOPICS.inference, partition: 0 };

/** A warehouse that drops an insert whose deduplication token it has seen (as ClickHouse does), keeping the tokens it took. */
function dedupWarehouse(): Warehouse & { rows: Map<string, Record<string, unknown>[]>; tokens: string[] } {
  const rows = new Map<string, Record<string, unknown>[]>();
  const tokens: string[] = [];
  return {
    database: 'edgelat', rows, tokens,
    migrate: async () => [],
    insert: async (table, r, options) => {
      const token = options?.dedupToken ?? '';
      if (tokens.includes(token)) return;
      tokens.push(token);
      rows.set(table, [...(rows.get(table) ?? []), ...r]);
    },
    query: async () => [], queryText: async () => '', streamText: async () => undefined, exec: async () => undefined, close: async () => undefined,
  };
}

/**
 * One partition of inference events written as transactions of 1 to 5 records (seeded; `size` records each when
 * given), each followed by its marker (one offset without a record); with `hole`, that many offsets without records
 * halfway through.
 * @returns the log and the offsets that hold records.
 */
async function transactional(transactions: number, hole = 0, size?: number): Promise<{ log: MemoryEventLog; offsets: number[] }> {
  const log = new MemoryEventLog({ defaultPartitions: 1 });
  await log.ensureTopic(TOPICS.inference, 1);
  const rnd = prng(3);
  const offsets: number[] = [];
  let n = 0;
  for (let t = 0; t < transactions; t++) {
    if (hole > 0 && t === Math.floor(transactions / 2)) log.skipOffsets(tp, hole);
    const placed = await log.produce(TOPICS.inference, Array.from({ length: size ?? 1 + Math.floor(rnd() * 5) }, () => {
      const e = makeInference({ event_id: `evt-${n++}`, edge_server_id: 'edge-1', ts: Date.UTC(2024, 5, 1) + n * 10 });
      return { key: 'edge-1', value: codecFor('InferenceEvent').encode(e), partition: 0 };
    }));
    offsets.push(...placed.map((p) => p.offset));
    log.skipOffsets(tp, 1);
  }
  return { log, offsets };
}

/** The offset ranges of the inserts into inference_events, from their tokens (`…:from-to@first log timestamp`). */
const ranges = (w: ReturnType<typeof dedupWarehouse>): string[] =>
  w.tokens.filter((t) => t.startsWith('edgelat.inference_events:')).map((t) => t.split(':').at(-1)!.replace(/@-?\d+$/, ''));

/** The blocks [k·B, (k+1)·B) that hold records, as `from-to`, the last one cut at `lastEnd` when given. */
function expectedBlocks(offsets: number[], B: number, lastEnd?: number): string[] {
  const ks = [...new Set(offsets.map((o) => Math.floor(o / B)))];
  return ks.map((k, i) => `${k * B}-${i === ks.length - 1 && lastEnd !== undefined ? lastEnd : (k + 1) * B}`);
}

describe('SinkRun: insert blocks over offsets that skip (transaction markers, compaction)', () => {
  it('closes each block on its aligned boundary when an offset reaches or passes it, and commits it, under a steady backlog', async () => {
    const { log, offsets } = await transactional(60);
    expect(offsets.length).toBe(188);
    expect(await log.endOffset(tp)).toBe(248);
    const warehouse = dedupWarehouse();
    // Backlog: the whole partition is there before the first poll, read 7 records a poll; linger 0 cuts a partial
    // block only where the reader has caught up, or where the block's aligned end is past the partition's end.
    const run = new SinkRun({ log, warehouse, topics: [TOPICS.inference], batchOffsets: 16, lingerMs: 0, maxBatch: 7 });
    await run.start();
    for (let i = 0; i < 10; i++) await run.runBatch();
    // 70 records read (offsets up to 93): the blocks below 80 are written and committed, none cut short.
    expect(offsets[69]).toBe(93);
    expect(ranges(warehouse)).toEqual(['0-16', '16-32', '32-48', '48-64', '64-80']);
    expect(warehouse.rows.get('edgelat.inference_events')!.map((r) => r.event_id)).toEqual(offsets.filter((o) => o < 80).map((_, i) => `evt-${i}`));
    await log.seal(TOPICS.inference);
    while (!(await run.runBatch()));
    await run.close();
    // To the end: the last block ends after the partition's last record (offset 246; its marker at 247).
    expect(offsets.at(-1)).toBe(246);
    expect(ranges(warehouse)).toEqual(expectedBlocks(offsets, 16, 247));
    expect(warehouse.rows.get('edgelat.inference_events')!.map((r) => r.event_id)).toEqual(offsets.map((_, i) => `evt-${i}`));
  });

  it('writes and commits under a steady backlog when no record sits just below a boundary (transactions of 3: offsets 4k to 4k + 2)', async () => {
    const { log, offsets } = await transactional(50, 0, 3);
    const warehouse = dedupWarehouse();
    const run = new SinkRun({ log, warehouse, topics: [TOPICS.inference], batchOffsets: 16, lingerMs: 0, maxBatch: 10 });
    await run.start();
    for (let i = 0; i < 6; i++) await run.runBatch();
    // 60 records read (offsets up to 78): four blocks of 12 records each, the records of the fifth buffered.
    expect(offsets[59]).toBe(78);
    expect(ranges(warehouse)).toEqual(['0-16', '16-32', '32-48', '48-64']);
    expect(warehouse.rows.get('edgelat.inference_events')).toHaveLength(48);
    await run.close();
    // Committed at the last block's end: a member that takes the partition over starts there.
    const next = dedupWarehouse();
    await log.seal(TOPICS.inference);
    await new SinkRun({ log, warehouse: next, topics: [TOPICS.inference], batchOffsets: 16 }).runToEnd();
    expect(ranges(next)[0]).toBe('64-80');
    expect(next.rows.get('edgelat.inference_events')).toHaveLength(150 - 48);
  });

  it('passes over a stretch of offsets without records as long as several blocks, forming no block there', async () => {
    const { log, offsets } = await transactional(20, 100);
    const warehouse = dedupWarehouse();
    await log.seal(TOPICS.inference);
    await new SinkRun({ log, warehouse, topics: [TOPICS.inference], batchOffsets: 16, maxBatch: 5 }).runToEnd();
    const got = ranges(warehouse);
    expect(got).toEqual(expectedBlocks(offsets, 16, offsets.at(-1)! + 1));
    // Every block lies within one aligned range [k·16, (k + 1)·16): none spans the hole.
    expect(got.every((r) => { const [a, b] = r.split('-').map(Number); return a! % 16 === 0 && b! - a! <= 16; })).toBe(true);
    expect(warehouse.rows.get('edgelat.inference_events')!).toHaveLength(offsets.length);
  });

  it('forms the same blocks after a crash at any point, so a replay adds no row (the tokens are built from the block ranges)', async () => {
    const reference = dedupWarehouse();
    {
      const { log } = await transactional(40);
      await log.seal(TOPICS.inference);
      await new SinkRun({ log, warehouse: reference, topics: [TOPICS.inference], batchOffsets: 16, maxBatch: 7 }).runToEnd();
    }
    for (const crashAt of [10, 33, 61, 90]) {
      const { log, offsets } = await transactional(40);
      await log.seal(TOPICS.inference);
      const warehouse = dedupWarehouse();
      // A crash after the insert, before its commit: the next member reads that block again.
      const first = new SinkRun({
        log, warehouse, topics: [TOPICS.inference], batchOffsets: 16, maxBatch: 7,
        failPoint: (point, done) => { if (point === 'after-produce' && done >= crashAt) throw new Error('crash'); },
      });
      await expect(first.runToEnd()).rejects.toThrow('crash');
      await new SinkRun({ log, warehouse, topics: [TOPICS.inference], batchOffsets: 16, maxBatch: 5 }).runToEnd();
      expect(ranges(warehouse)).toEqual(ranges(reference));
      expect(warehouse.rows.get('edgelat.inference_events')!.map((r) => r.event_id)).toEqual(offsets.map((_, i) => `evt-${i}`));
    }
  });
});

describe('SinkRun on a topic deleted and created again', () => {
  it('writes the new topic\'s records, whose offsets start at 0 again on the same cluster (a trial: 8 of its 10 dropped as duplicates)', async () => {
    const warehouse = dedupWarehouse();
    const day = Date.UTC(2024, 5, 1, 10);
    for (const [tag, n, from] of [['old', 8, day], ['new', 10, day + 86_400_000]] as const) {
      // A Kafka log's id is the cluster's: the same before and after the topic was deleted.
      const log = new MemoryEventLog({ defaultPartitions: 1 });
      Object.defineProperty(log, 'id', { value: 'kafka-same-cluster' });
      await log.ensureTopic(TOPICS.inference, 1);
      await log.produce(TOPICS.inference, Array.from({ length: n }, (_, i) => ({
        key: 'edge-01', timestampMs: from + i * 1000,
        value: codecFor('InferenceEvent').encode(makeInference({ edge_server_id: 'edge-01', ts: from + i * 1000, event_id: `${tag}-${i}` })),
      })));
      await log.seal(TOPICS.inference);
      expect((await new SinkRun({ log, warehouse, topics: [TOPICS.inference], batchOffsets: 4 }).runToEnd())[TOPICS.inference]).toMatchObject({ consumed: n, processed: n });
    }
    const ids = warehouse.rows.get('edgelat.inference_events')!.map((r) => r.event_id);
    expect([ids.filter((e) => String(e).startsWith('old')).length, ids.filter((e) => String(e).startsWith('new')).length]).toEqual([8, 10]);
  });
});
