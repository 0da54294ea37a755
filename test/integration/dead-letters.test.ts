import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS, dlqTopic } from '../../pipelines/topics.ts';
import { SinkRun, sourceKeyText } from '../../pipelines/runtime/run-sink.ts';
import { LANE_HEADER, SEQ_HEADER } from '../../pipelines/runtime/lanes.ts';
import { codecFor } from '../../schemas/index.ts';
import type { DeadLetter } from '../../schemas/types.ts';
import { loadConfig } from '../../services/config.ts';
import pino from 'pino';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import { partitionForKey } from '../../services/eventlog/murmur2.ts';
import { inputPartitions, runBoundedPipeline } from '../../services/pipeline/embedded.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { at, makeInference, makeLoad } from '../helpers/factories.ts';
import { readTopic } from '../helpers/pipeline.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

/** A5: bad records on edge.inference.v1 land in dead_letters with raw bytes, error and offset; the run goes on. */
describe('dead letters', () => {
  let warehouse: ChdbWarehouse;
  beforeAll(async () => {
    warehouse = await createTestDatabase('a5');
  });
  afterAll(async () => warehouse?.close());

  it('garbage bytes, a wrong type and a missing field each become a dead letter', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    const t0 = at('2024-06-01T10:00:00.000Z');
    const good = (i: number) => makeInference({ edge_server_id: 'edge-01', ts: t0 + i * 100, event_id: `good-${i}` });
    const { edge_server_id: _gone, ...missing } = good(99);
    const bad = [
      Buffer.from([0xde, 0xad, 0xbe, 0xef]),
      Buffer.from(JSON.stringify({ ...good(98), total_ms: 'fast' })),
      Buffer.from(JSON.stringify(missing)),
    ];
    const inference = codecFor('InferenceEvent');
    await log.produce(TOPICS.load, [0, 1, 2].map((i) => ({ key: 'edge-01', value: codecFor('LoadSample').encode(makeLoad({ edge_server_id: 'edge-01', ts: t0 + i * 1000 })) })));
    await log.produce(TOPICS.inference, [
      { key: 'edge-01', value: inference.encode(good(0)) },
      { key: 'edge-01', value: bad[0]! },
      { key: 'edge-01', value: inference.encode(good(1)) },
      { key: 'edge-01', value: bad[1]! },
      { key: null, value: bad[2]! },
      { key: 'edge-01', value: inference.encode(good(2)) },
    ]);
    await log.seal(TOPICS.inference);
    await log.seal(TOPICS.load);
    const counts = await runBoundedPipeline({ log, warehouse, config: loadConfig({}) });
    expect(counts.join[TOPICS.inference]).toEqual({ consumed: 6, processed: 3, late: 0, dead: 3 });
    expect(counts.sink[TOPICS.inference]).toEqual({ consumed: 6, processed: 3, late: 0, dead: 3 });

    const rows = await warehouse.query<{ offset: number; raw_b64: string; error: string; path: string; topic: string; partition: number }>(
      `SELECT topic, partition, offset, raw_b64, error, path FROM ${warehouse.database}.dead_letters ORDER BY offset`,
    );
    expect(rows.map((r) => [r.topic, r.partition, r.offset])).toEqual([[TOPICS.inference, 0, 1], [TOPICS.inference, 0, 3], [TOPICS.inference, 0, 4]]);
    rows.forEach((r, i) => expect(Buffer.from(r.raw_b64, 'base64').equals(bad[i]!)).toBe(true));
    expect(rows[0]!.path).toBe('');
    expect(rows[1]!.path).toBe('total_ms');
    expect(rows[1]!.error).toContain('"fast"');
    expect(rows[2]!.path).toBe('edge_server_id');
    const dlq = await readTopic<DeadLetter>(log, dlqTopic(TOPICS.inference));
    expect(dlq.map((d) => d.value.offset)).toEqual([1, 3, 4]);
    // Each keeps its source record's key (a trial found every DLQ record unkeyed: a DLQ consumer could not route by server).
    expect(dlq.map((d) => (d.record.key === null ? null : String(d.record.key)))).toEqual(['edge-01', 'edge-01', null]);
    expect([sourceKeyText(Buffer.from('edge-01').toString('base64')), sourceKeyText(Buffer.from([0xff, 0xfe]).toString('base64')), sourceKeyText(null)]).toEqual(['edge-01', null, null]);
    const [n] = await warehouse.query<{ c: number }>(`SELECT count() AS c FROM ${warehouse.database}.inference_enriched`);
    expect(n!.c).toBe(3);
  });

  it('records keyed otherwise than edge_server_id, or dated far ahead of their log time, are dead letters; a bad log timestamp still gets a dead letter', async () => {
    const w2 = await createTestDatabase('a5b');
    try {
      const log = new MemoryEventLog({ defaultPartitions: 4 });
      const now = Date.now();
      const inference = codecFor('InferenceEvent');
      const ok = makeInference({ edge_server_id: 'edge-01', ts: now - 1000, event_id: 'ok' });
      await log.produce(TOPICS.inference, [
        { key: 'edge-01', value: inference.encode(ok), timestampMs: now },
        { key: null, value: inference.encode({ ...ok, event_id: 'null-key' }), timestampMs: now },
        { key: 'device-7', value: inference.encode({ ...ok, event_id: 'wrong-key' }), timestampMs: now },
        { key: 'edge-01', value: inference.encode({ ...ok, event_id: 'future', ts: now + 10 * 365 * 86_400_000 }), timestampMs: now },
        { key: 'edge-01', value: Buffer.from('garbage'), timestampMs: -1 },
      ]);
      await log.seal(TOPICS.inference);
      await log.seal(TOPICS.load);
      const counts = await runBoundedPipeline({ log, warehouse: w2, config: loadConfig({}) });
      expect(counts.join[TOPICS.inference]).toEqual({ consumed: 5, processed: 1, late: 0, dead: 4 });
      const rows = await w2.query<{ path: string; error: string; ts: string }>(`SELECT path, error, toString(ts) AS ts FROM ${w2.database}.dead_letters ORDER BY path, error`);
      expect(rows.map((r) => r.path)).toEqual(['', 'key', 'key', 'ts']);
      expect(rows[1]!.error).toContain('record key "device-7" does not equal edge_server_id "edge-01"');
      expect(rows[2]!.error).toContain('record key null');
      expect(rows[3]!.error).toMatch(/ms ahead of the record's log timestamp/);
      expect(Date.parse(`${rows[0]!.ts.replace(' ', 'T')}Z`)).toBeGreaterThan(now - 60_000); // log time -1: stamped with the time it was found
    } finally {
      await w2.close();
    }
  });

  it('a record on another partition than murmur2 gives its key is processed, and warned about once per key (a trial\'s kcat events met no load)', async () => {
    const w3 = await createTestDatabase('a5c');
    try {
      const log = new MemoryEventLog({ defaultPartitions: 4 });
      const t0 = at('2024-06-01T10:00:00.000Z');
      const home = partitionForKey('edge-01', 4);
      const elsewhere = (home + 1) % 4;
      await log.produce(TOPICS.load, [0, 1].map((i) => ({ key: 'edge-01', value: codecFor('LoadSample').encode(makeLoad({ edge_server_id: 'edge-01', ts: t0 + i * 1000 })) })));
      // Two events where a CRC32 producer put them, one where murmur2 does.
      await log.produce(TOPICS.inference, [0, 1, 2].map((i) => ({
        key: 'edge-01', partition: i < 2 ? elsewhere : home, value: codecFor('InferenceEvent').encode(makeInference({ edge_server_id: 'edge-01', ts: t0 + 500 + i * 100, event_id: `e-${i}` })),
      })));
      await log.seal(TOPICS.inference);
      await log.seal(TOPICS.load);
      const warnings: { msg: string; topic: string; partition: number }[] = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line)) });
      const counts = await runBoundedPipeline({ log, warehouse: w3, config: loadConfig({}), logger });
      expect(counts.join[TOPICS.inference]).toEqual({ consumed: 3, processed: 3, late: 0, dead: 0 });
      expect(warnings.map((w) => [w.topic, w.partition, w.msg.slice(0, 110)])).toEqual([
        [TOPICS.inference, elsewhere, `record key "edge-01" is on partition ${elsewhere} of ${TOPICS.inference}, where Kafka's default partitioner (murmur2) puts it on ${home} of 4`.slice(0, 110)],
      ]);
      // Only the event on the load's partition met its load sample.
      const matched = await w3.query<{ event_id: string; matched: number }>(`SELECT event_id, matched FROM ${w3.database}.inference_enriched ORDER BY event_id`);
      expect(matched.map((r) => [r.event_id, Number(r.matched)])).toEqual([['e-0', 0], ['e-1', 0], ['e-2', 1]]);
    } finally {
      await w3.close();
    }
  });

  it('inputPartitions creates the join\'s inputs if missing and warns when their partition counts differ', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 4 });
    await log.ensureTopic(TOPICS.load, 2);
    const warnings: { msg: string }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line)) });
    expect([...(await inputPartitions(log, true, logger))]).toEqual([[TOPICS.inference, 4], [TOPICS.load, 2], [TOPICS.shadow, 4]]);
    expect(warnings.map((w) => w.msg)).toEqual([`the join's input topics have different partition counts (${TOPICS.inference} 4, ${TOPICS.load} 2, ${TOPICS.shadow} 4): one server's records land on different partitions of each, and its inference events will not meet its load samples; give them the same count`]);
    const shadowApart = new MemoryEventLog({ defaultPartitions: 2 });
    await shadowApart.ensureTopic(TOPICS.shadow, 1);
    warnings.length = 0;
    await inputPartitions(shadowApart, true, logger);
    expect(warnings.map((w) => w.msg)).toEqual([`shadow-compare's input topics have different partition counts (${TOPICS.inference} 2, ${TOPICS.load} 2, ${TOPICS.shadow} 1): one server's records land on different partitions of each, and its shadow results will not meet their production requests (shadow-compare counts the results unpaired, and its production requests in no verdict); give them the same count`]);
    const same = new MemoryEventLog({ defaultPartitions: 4 });
    warnings.length = 0;
    expect([...(await inputPartitions(same, false, logger))]).toEqual([[TOPICS.inference, 4], [TOPICS.load, 4]]);
    expect(warnings).toEqual([]);
  });

  it('every dead letter reaches .dlq once across a crash between its send and the commit, and a forged dead letter at a far offset stops none', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    const t0 = at('2024-06-01T10:00:00.000Z');
    // 16 records, every third (offsets 2, 5, 8, 11, 14) garbage; blocks of 4 offsets.
    await log.produce(TOPICS.inference, Array.from({ length: 16 }, (_, i) => ({
      key: 'edge-01', value: i % 3 === 2 ? Buffer.from([0xde, 0xad, i]) : codecFor('InferenceEvent').encode(makeInference({ edge_server_id: 'edge-01', ts: t0 + i * 100, event_id: `d-${i}` })),
    })));
    await log.seal(TOPICS.inference);
    const w = await createTestDatabase('a5_dlq_crash');
    try {
      // Crash after block [8, 12) sent its dead letters (offsets 8 and 11) to .dlq, before its commit (11 records done before it).
      const first = new SinkRun({ log, warehouse: w, topics: [TOPICS.inference], batchOffsets: 4, failPoint: (p, n) => { if (p === 'after-produce' && n === 11) throw new Error('crash'); } });
      await expect(first.runToEnd()).rejects.toThrow('crash');
      const sent = async () => (await readTopic<DeadLetter>(log, dlqTopic(TOPICS.inference))).map((d) => d.value.offset);
      expect(await sent()).toEqual([2, 5, 8, 11]);
      // Another producer writes a valid dead letter under the partition's lane at a far offset.
      const forged: DeadLetter = { topic: TOPICS.inference, partition: 0, offset: 99_999_999, key_b64: null, raw_b64: '', error: 'forged', path: '', consumer_group: 'x', ts: t0 };
      await log.produce(dlqTopic(TOPICS.inference), [{ key: null, partition: 0, value: codecFor('DeadLetter').encode(forged), headers: { [LANE_HEADER]: `warehouse-sink:dlq:${TOPICS.inference}:0`, [SEQ_HEADER]: '[99999999]' } }]);
      await new SinkRun({ log, warehouse: w, topics: [TOPICS.inference], batchOffsets: 4 }).runToEnd();
      // The re-formed block [8, 12) sends nothing again; 14 follows the forged letter.
      expect(await sent()).toEqual([2, 5, 8, 11, 99_999_999, 14]);
      const [row] = await w.query<{ c: number }>(`SELECT count() AS c FROM ${w.database}.dead_letters`);
      expect(Number(row!.c)).toBe(5);
    } finally {
      await w.close();
    }
  });
});
