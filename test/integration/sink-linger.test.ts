/**
 * Streaming runs write partial warehouse blocks after `lingerMs`, and a crash
 * between the insert and the commit of such a block still adds no row: the
 * block's end is committed as a plan before the insert, so the member that
 * resumes forms the same block (same deduplication token) even though more
 * records arrived meanwhile. Without the plan it would write [0, 16) and the
 * 10 rows of [0, 10) would be there twice.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SinkRun } from '../../pipelines/runtime/run-sink.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import { codecFor } from '../../schemas/index.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { makeInference } from '../helpers/factories.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

class Crash extends Error {}

const t0 = Date.UTC(2024, 5, 1, 10);
const records = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => ({
    key: 'edge-01',
    value: codecFor('InferenceEvent').encode(makeInference({ edge_server_id: 'edge-01', ts: t0 + (from + i) * 10, event_id: `l-${from + i}` })),
  }));

/** Run `fn` with only Date faked (the linger is measured on the wall clock, set by hand; the warehouse's I/O runs as usual). */
async function withFakeDate(fn: () => Promise<void>): Promise<void> {
  vi.useFakeTimers({ toFake: ['Date'] });
  try {
    await fn();
  } finally {
    vi.useRealTimers();
  }
}

describe('warehouse-sink partial blocks after the linger time', () => {
  let warehouse: ChdbWarehouse;
  beforeAll(async () => {
    warehouse = await createTestDatabase('linger');
  });
  afterAll(async () => {
    await warehouse?.close();
  });

  const count = async () => (await warehouse.query<{ c: number; u: number }>(`SELECT count() AS c, uniqExact(event_id) AS u FROM ${warehouse.database}.inference_events`))[0];
  const committed = async (log: MemoryEventLog) => {
    const c = await log.consumer('edgelat-warehouse-sink', [TOPICS.inference]);
    try {
      return await c.committed({ topic: TOPICS.inference, partition: 0 });
    } finally {
      await c.close();
    }
  };

  it('writes a partial block once it lingered, and a crash after its insert adds no row on resume', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    await log.produce(TOPICS.inference, records(0, 10));

    // First member: with lingerMs 0 the 10 buffered records are written at once; it crashes after the insert, before the commit.
    let crash = true;
    const first = new SinkRun({
      log, warehouse, topics: [TOPICS.inference], batchOffsets: 4096, lingerMs: 0,
      failPoint: (point) => { if (point === 'after-produce' && crash) throw new Crash('after insert'); },
    });
    await first.start();
    await expect(first.runBatch()).rejects.toThrow(Crash);
    await first.close();
    expect(await count()).toEqual({ c: 10, u: 10 });
    // Only the plan is committed: the block starts at 0 and ends at 10.
    expect(await committed(log)).toMatchObject({ offset: 0, metadata: JSON.stringify({ block_end: 10, block_size: 4096 }) });

    // More records arrive; the next member resumes at the plan: it re-forms [0, 10) (deduplicated), then [10, 16).
    crash = false;
    await log.produce(TOPICS.inference, records(10, 16));
    const second = new SinkRun({ log, warehouse, topics: [TOPICS.inference], batchOffsets: 4096, lingerMs: 0 });
    await second.start();
    await second.runBatch();
    await second.runBatch();
    expect(await count()).toEqual({ c: 16, u: 16 });
    await second.close();
    expect(await committed(log)).toMatchObject({ offset: 16 });
  });

  it('a member resuming behind a full block whose commit was lost forms that block again, however small its polls', async () => {
    // The two-instance pipeline test once found 4,096 correlation rows twice: the first owner wrote the aligned block
    // [0, 4096) and lost its commit in a rebalance; the next owner, reading that backlog in slow polls, cut it by
    // the linger time into blocks of other tokens. Here: blocks of 10, polls of 4 records, lingerMs 0.
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    const before = (await count())!;
    await log.produce(TOPICS.inference, records(200, 225));
    const first = new SinkRun({
      log, warehouse, topics: [TOPICS.inference], batchOffsets: 10, lingerMs: 0,
      failPoint: (point) => { if (point === 'after-produce') throw new Crash('commit lost'); },
    });
    await first.start();
    await expect(first.runBatch()).rejects.toThrow(Crash);
    await first.close();
    expect((await count())!.c - before.c).toBe(10); // [0, 10) written, nothing committed
    const second = new SinkRun({ log, warehouse, topics: [TOPICS.inference], batchOffsets: 10, lingerMs: 0, maxBatch: 4 });
    await second.start();
    for (let i = 0; i < 10; i++) await second.runBatch();
    await second.close();
    const after = (await count())!;
    expect([after.c - before.c, after.u - before.u]).toEqual([25, 25]);
    expect(await committed(log)).toMatchObject({ offset: 25 });
  });

  it('a member of another block size (EDGELAT_SINK_BATCH_OFFSETS) resuming behind a written block forms it as its writer did', async () => {
    // A trial: blocks of 1,000 written, the commit lost, a restart with 600 wrote [0, 600) and [600, 1200): 1,000 rows twice.
    // Here blocks of 10 then 6: the committed block size makes the resuming member form [10, 20) first, then align on 6.
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    const before = (await count())!;
    await log.produce(TOPICS.inference, records(500, 530));
    let writes = 0;
    const first = new SinkRun({
      log, warehouse, topics: [TOPICS.inference], batchOffsets: 10, lingerMs: 0,
      // [0, 10) written and committed, [10, 20) written and its commit lost.
      failPoint: (point) => { if (point === 'after-produce' && ++writes === 2) throw new Crash('commit lost'); },
    });
    await first.start();
    await expect(first.runBatch()).rejects.toThrow(Crash);
    await first.close();
    expect((await count())!.c - before.c).toBe(20);
    expect(await committed(log)).toMatchObject({ offset: 10, metadata: JSON.stringify({ block_size: 10 }) });
    const second = new SinkRun({ log, warehouse, topics: [TOPICS.inference], batchOffsets: 6, lingerMs: 0 });
    await second.start();
    for (let i = 0; i < 5; i++) await second.runBatch();
    await second.close();
    const after = (await count())!;
    expect([after.c - before.c, after.u - before.u]).toEqual([30, 30]);
    expect(await committed(log)).toMatchObject({ offset: 30, metadata: JSON.stringify({ block_size: 6 }) });
  });

  it.each([
    ['another block size', 700, { batchOffsets: 3 }],
    ['the same block size with a linger and one-record polls', 720, { batchOffsets: 4, lingerMs: 0, maxBatch: 1 }],
    ['the same settings', 740, { batchOffsets: 4 }],
  ] as const)('the partial block a bounded run wrote at the end of input is formed again by a member resuming with %s', async (_label, from, settings) => {
    // A trial: 10 records in blocks of 4, killed after inserting the last block [8, 10) and before its commit; the next
    // run formed [8, 9) and [9, 10) (other tokens): two rows twice. The end-of-input block is planned first now.
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    const before = (await count())!;
    await log.produce(TOPICS.inference, records(from, from + 10));
    await log.seal(TOPICS.inference);
    let writes = 0;
    const first = new SinkRun({
      log, warehouse, topics: [TOPICS.inference], batchOffsets: 4,
      failPoint: (point) => { if (point === 'after-produce' && ++writes === 3) throw new Crash('killed before the commit'); },
    });
    await expect(first.runToEnd()).rejects.toThrow(Crash);
    await first.close();
    expect((await count())!.c - before.c).toBe(10);
    expect(await committed(log)).toMatchObject({ offset: 8, metadata: JSON.stringify({ block_end: 10, block_size: 4 }) });
    await new SinkRun({ log, warehouse, topics: [TOPICS.inference], ...settings }).runToEnd();
    const after = (await count())!;
    expect([after.c - before.c, after.u - before.u]).toEqual([10, 10]);
    expect(await committed(log)).toMatchObject({ offset: 10 });
  });

  it('asks for a lingering partition\'s end offset at most once per linger time while it reads a backlog', async () => {
    // A backlog read one record set per fetch (librdkafka's mock cluster serves one per partition per fetch) is many
    // small polls: asking the broker for the end offset at each of them slowed a restarted sink to 4.5 ms per poll.
    const inner = new MemoryEventLog({ defaultPartitions: 1 });
    let endOffsetCalls = 0;
    const log = new Proxy(inner, {
      get(target, prop, receiver) {
        if (prop === 'endOffset') return (...args: Parameters<MemoryEventLog['endOffset']>) => (endOffsetCalls++, target.endOffset(...args));
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const before = (await count())!.c;
    // A backlog past the block's aligned end (blocks of 40, 90 records): a full block may have been written over it.
    await inner.produce(TOPICS.inference, records(300, 390));
    await withFakeDate(async () => {
      const run = new SinkRun({ log, warehouse, topics: [TOPICS.inference], batchOffsets: 40, lingerMs: 50, maxBatch: 1 });
      await run.start();
      endOffsetCalls = 0; // start() asks for the dead-letter topic's end
      await run.runBatch();
      vi.setSystemTime(Date.now() + 60);
      // 30 polls within the linger time after the first check: one check, not a backlog's end, nothing written.
      for (let i = 0; i < 30; i++) await run.runBatch();
      expect(endOffsetCalls).toBe(1);
      expect((await count())!.c).toBe(before);
      for (let i = 0; i < 9; i++) await run.runBatch(); // the block [0, 40) is full: written as a whole
      expect((await count())!.c).toBe(before + 40);
      for (let i = 0; i < 50; i++) await run.runBatch(); // [40, 80) full: written; [80, 90) read
      expect((await count())!.c).toBe(before + 80);
      vi.setSystemTime(Date.now() + 60);
      await run.runBatch(); // at the partition's end and lingered: written
      expect(endOffsetCalls).toBe(2);
      expect((await count())!.c).toBe(before + 90);
      await run.close();
    });
  });

  it('cuts a block that lingered behind a partition end still short of the block\'s aligned end (a steady stream: a trial\'s rows waited for a whole block)', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    const before = (await count())!.c;
    await log.produce(TOPICS.inference, records(400, 410));
    await withFakeDate(async () => {
      // Polls of 2 keep the member behind the end (10), as a live stream's end stays a little ahead.
      const run = new SinkRun({ log, warehouse, topics: [TOPICS.inference], batchOffsets: 4096, lingerMs: 50, maxBatch: 2 });
      await run.start();
      await run.runBatch();
      expect((await count())!.c).toBe(before);
      vi.setSystemTime(Date.now() + 60);
      await run.runBatch(); // 4 read of 10, lingered: [0, 4) written (nobody can have written the block [0, 4096))
      expect((await count())!.c).toBe(before + 4);
      expect(await committed(log)).toMatchObject({ offset: 4 });
      await run.close();
    });
  });

  it('keeps rows in memory until the linger time has passed, and writes nothing partial without it', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    const before = (await count())!.c;
    await log.produce(TOPICS.inference, records(100, 105));
    const run = new SinkRun({ log, warehouse, topics: [TOPICS.inference], batchOffsets: 4096, lingerMs: 300 });
    await run.start();
    await run.runBatch();
    expect((await count())!.c).toBe(before); // buffered, not yet due
    // Counted as processed (edgelat_records_out_total) once written, not while buffered.
    expect(run.counts[TOPICS.inference]).toEqual({ consumed: 5, processed: 0, late: 0, dead: 0 });
    await new Promise((r) => setTimeout(r, 350));
    await run.runBatch();
    expect((await count())!.c).toBe(before + 5);
    expect(run.counts[TOPICS.inference]).toEqual({ consumed: 5, processed: 5, late: 0, dead: 0 });
    await run.close();
  });
});
