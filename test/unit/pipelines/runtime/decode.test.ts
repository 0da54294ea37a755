import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { joinLoadLatency } from '../../../../pipelines/join-load-latency.ts';
import { decodeLogRecord, misplacedKey, partitionCounts } from '../../../../pipelines/runtime/decode.ts';
import { ProcessorRun } from '../../../../pipelines/runtime/run-processor.ts';
import { SinkRun } from '../../../../pipelines/runtime/run-sink.ts';
import { TOPICS } from '../../../../pipelines/topics.ts';
import { codecFor, registerWriterSchema, schemaFingerprint, type LoadSample } from '../../../../schemas/index.ts';
import type { EnrichedInference } from '../../../../schemas/types.ts';
import { MemoryEventLog } from '../../../../services/eventlog/memory.ts';
import type { LogRecord } from '../../../../services/eventlog/types.ts';
import type { Warehouse } from '../../../../services/warehouse/types.ts';
import { makeEnriched, makeInference, makeLoad } from '../../../helpers/factories.ts';
import { readTopic } from '../../../helpers/pipeline.ts';

/** A warehouse that keeps what it is given, by table. */
function fakeWarehouse(): Warehouse & { rows: Map<string, unknown[]> } {
  const rows = new Map<string, unknown[]>();
  return {
    database: 'edgelat', rows,
    migrate: async () => [],
    insert: async (table, r) => { rows.set(table, [...(rows.get(table) ?? []), ...r]); },
    query: async () => [], queryText: async () => '', streamText: async () => undefined, exec: async () => undefined, close: async () => undefined,
  };
}

const v0 = JSON.parse(readFileSync(new URL('../../../fixtures/avro/load-sample.v0.avsc', import.meta.url), 'utf8')) as { fields: object[] };
/**
 * An older writer version: v0 with a field of this file's own (its default written), so that no other unit
 * file run in the same fork (they share the process's writer registry) has registered it before this one.
 */
const v0Schema = { ...v0, fields: [...v0.fields, { name: 'decode_test_note', type: ['null', 'string'], default: null }] } as object;
const T0 = Date.UTC(2024, 5, 1, 12, 0, 0);
const sample: LoadSample = {
  edge_server_id: 'edge-07', ts: T0, cpu_util: 0.42, gpu_util: 0.87, mem_util: 0.61, queue_depth: 9, concurrency: 4, requests_per_s: 173.5, temperature_c: 71.5, power_w: 14.2,
};
const { temperature_c: _t, power_w: _p, ...v0Value } = sample;
/** Single-object Avro with a hand-built header and plain avsc's body (independent of the codec). */
const v0Bytes = (value: object): Buffer =>
  Buffer.concat([Buffer.from([0xc3, 0x01]), schemaFingerprint(v0Schema), avro.Type.forSchema(v0Schema as avro.Schema).toBuffer(value)]);
const record = (value: Buffer, key = 'edge-07'): LogRecord => ({ topic: TOPICS.load, partition: 0, offset: 41, key, value, headers: {}, timestampMs: T0 });

describe('decodeLogRecord: writer schema versions (case C11)', () => {
  it('dead-letters an unregistered writer version, naming its fingerprint', () => {
    const result = decodeLogRecord(record(v0Bytes(v0Value)));
    expect(result).toMatchObject({ ok: false, path: '' });
    expect(result.ok ? '' : result.reason).toContain(JSON.stringify(schemaFingerprint(v0Schema).toString('hex')));
  });

  it('reads a registered older version as the current LoadSample, defaults filled, and still applies the runtime checks', () => {
    registerWriterSchema('LoadSample', v0Schema);
    expect(decodeLogRecord(record(v0Bytes(v0Value)))).toEqual({ ok: true, value: { ...v0Value, temperature_c: null, power_w: null } });
    expect(decodeLogRecord(record(v0Bytes({ ...v0Value, gpu_util: 1.5 })))).toMatchObject({ ok: false, path: 'gpu_util' });
    expect(decodeLogRecord(record(v0Bytes(v0Value), 'edge-99'))).toMatchObject({ ok: false, path: 'key' });
  });

  it('reads the current version and JSON as before', () => {
    const codec = codecFor('LoadSample');
    expect(decodeLogRecord(record(codec.encode(sample)))).toEqual({ ok: true, value: sample });
    expect(decodeLogRecord(record(codec.encodeJson(sample)))).toEqual({ ok: true, value: sample });
  });
});

describe('decodeLogRecord: a shadow result\'s request_ts', () => {
  const shadow = {
    event_id: 'sh-1', request_id: 'rq-1', ts: T0, request_ts: T0 - 800, edge_server_id: 'edge-07', device_id: 'edge-07-shadow0', model_id: 'resnet50', model_version: 'v2',
    chip: 'hailo-8', runtime: 'hailort', queue_ms: 0, io_ms: 1, compute_ms: 9, total_ms: 10, status: 'ok', deployment_id: null,
  };
  const at = (value: object, timestampMs: number): LogRecord => ({ topic: TOPICS.shadow, partition: 0, offset: 7, key: 'edge-07', value: Buffer.from(JSON.stringify(value)), headers: {}, timestampMs });

  it('dead-letters one far ahead of the log timestamp or of the result\'s own ts, naming request_ts (a trial: one in 2100 held the group\'s commit back for good)', () => {
    expect(decodeLogRecord(at(shadow, T0 + 50))).toMatchObject({ ok: true, value: { request_ts: T0 - 800 } });
    const in2100 = Date.UTC(2100, 0, 1);
    expect(decodeLogRecord(at({ ...shadow, request_ts: in2100 }, T0 + 50))).toEqual({
      ok: false, path: 'request_ts',
      reason: `request_ts: value ${in2100} is ${in2100 - T0 - 50} ms ahead of the record's log timestamp ${T0 + 50} (more than 3600000 ms: a device clock in the future?)`,
    });
    // No plausible log timestamp (an in-memory log): against ts; 1 h ahead of it is still clock skew, 1 h and 1 ms is not.
    expect(decodeLogRecord(at({ ...shadow, request_ts: T0 + 3_600_000 }, 0)).ok).toBe(true);
    expect(decodeLogRecord(at({ ...shadow, request_ts: T0 + 3_600_001 }, 0))).toMatchObject({ ok: false, path: 'request_ts', reason: expect.stringContaining(`request_ts: value ${T0 + 3_600_001} is 3600001 ms after the result's own ts ${T0}`) });
    expect(decodeLogRecord(at({ ...shadow, request_ts: T0 + 120_000 }, 0), { maxEventTimeAheadMs: 60_000 })).toMatchObject({ ok: false, path: 'request_ts' });
  });
});

describe('decodeLogRecord: the same decision for every reader, whenever it reads (no clock is read)', () => {
  afterEach(() => vi.useRealTimers());
  const T = Date.UTC(2024, 5, 1, 10, 0, 0);
  /** The decision on `r` with this process's clock at each of `clocks`. */
  const decideAt = (r: LogRecord, clocks: number[]) => clocks.map((c) => { vi.setSystemTime(c); return decodeLogRecord(r); });

  it('dead-letters event time far ahead of the log timestamp, naming both, at any reader clock (a device clock in the future)', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const ahead = { ...sample, ts: T + 3_610_000 };
    const r = { ...record(codecFor('LoadSample').encode(ahead)), timestampMs: T };
    const dead = { ok: false, path: 'ts', reason: `ts: value ${T + 3_610_000} is 3610000 ms ahead of the record's log timestamp ${T} (more than 3600000 ms: a device clock in the future?)` };
    expect(decideAt(r, [T, T + 30_000, T + 7_200_000])).toEqual([dead, dead, dead]);
    // Up to the bound is clock skew; the bound is the setting's.
    const near = { ...record(codecFor('LoadSample').encode({ ...sample, ts: T + 3_600_000 })), timestampMs: T };
    expect(decodeLogRecord(near)).toEqual({ ok: true, value: { ...sample, ts: T + 3_600_000 } });
    expect(decodeLogRecord(near, { maxEventTimeAheadMs: 60_000 })).toMatchObject({ ok: false, path: 'ts' });
  });

  it('takes a log timestamp ahead of the reader\'s clock as it comes: read at once or 30 s later, the same (a review: dead for the join, a good row for the sink)', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    // ts = CreateTime, both 1 h 10 s past the clock: the record alone cannot tell a fast producer clock here
    // (README: LogAppendTime on the telemetry topics catches it); every reader keeps it, whenever it reads.
    const fast = { ...sample, ts: T + 3_610_000 };
    const r = { ...record(codecFor('LoadSample').encode(fast)), timestampMs: T + 3_610_000 };
    const ok = { ok: true, value: fast };
    expect(decideAt(r, [T, T + 30_000, T + 3_700_000])).toEqual([ok, ok, ok]);
    // Without a plausible log timestamp nothing is compared with it.
    expect(decodeLogRecord({ ...record(codecFor('LoadSample').encode({ ...sample, ts: Date.UTC(2105, 0, 1) })), timestampMs: 0 }).ok).toBe(true);
  });

  it('the join and the sink, reading 30 s apart, agree on what is dead (each record ends in an enriched row or a dead letter, not one of them alone)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(T);
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    for (const t of [TOPICS.inference, TOPICS.load]) await log.ensureTopic(t, 1);
    const later = T + 3_610_000;
    // A producer whose clock runs 1 h 10 s ahead stamps ts and CreateTime alike (evt-fast); another device's ts is
    // 1 h 10 s ahead of a log timestamp its gateway stamped (evt-dead): the first is kept by both, the second dead for both.
    await log.produce(TOPICS.load, [{ key: 'edge-1', value: codecFor('LoadSample').encode(makeLoad({ edge_server_id: 'edge-1', ts: later - 100 })), timestampMs: later - 100 }]);
    await log.produce(TOPICS.inference, [
      { key: 'edge-1', value: codecFor('InferenceEvent').encode(makeInference({ event_id: 'evt-fast', edge_server_id: 'edge-1', ts: later })), timestampMs: later },
      { key: 'edge-1', value: codecFor('InferenceEvent').encode(makeInference({ event_id: 'evt-dead', edge_server_id: 'edge-1', ts: later + 1 })), timestampMs: T },
    ]);
    for (const t of [TOPICS.inference, TOPICS.load]) await log.seal(t);
    const checks = { maxEventTimeAheadMs: 3_600_000 };
    const joinCounts = await new ProcessorRun({ log, processor: joinLoadLatency(), checks }).runToEnd();
    vi.setSystemTime(T + 30_000);
    const warehouse = fakeWarehouse();
    const sinkCounts = await new SinkRun({ log, warehouse, topics: [TOPICS.inference], checks }).runToEnd();
    expect(joinCounts[TOPICS.inference]).toMatchObject({ dead: 1, late: 0 });
    expect(sinkCounts[TOPICS.inference]).toMatchObject({ dead: 1 });
    const enriched = (await readTopic<EnrichedInference>(log, TOPICS.enriched)).map((e) => [e.value.event_id, e.value.matched]);
    expect(enriched).toEqual([['evt-fast', true]]);
    expect((warehouse.rows.get('edgelat.inference_events') ?? []).map((x) => (x as { event_id: string }).event_id)).toEqual(['evt-fast']);
    const letters = warehouse.rows.get('edgelat.dead_letters') ?? [];
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ offset: 1, error: expect.stringContaining('ts: value') });
  });
});

describe('misplacedKey: the partition murmur2 gives the key (co-partitioning of the join inputs)', () => {
  const partitions = new Map([[TOPICS.load, 4]]);
  const on = (partition: number, key: string | null = 'edge-07') => ({ topic: TOPICS.load, partition, key });

  it('names a record on another partition than murmur2 gives its key, and both partitions (a trial: kcat\'s CRC32 partitioner)', () => {
    // murmur2 of "edge-07" (Kafka's Java DefaultPartitioner: toPositive(murmur2(key)) % 4), worked out independently.
    const expected = (murmur2Reference(Buffer.from('edge-07')) & 0x7fffffff) % 4;
    expect(misplacedKey(on(expected), partitions)).toBeNull();
    const wrong = (expected + 1) % 4;
    expect(misplacedKey(on(wrong), partitions)).toBe(
      `record key "edge-07" is on partition ${wrong} of ${TOPICS.load}, where Kafka's default partitioner (murmur2) puts it on ${expected} of 4: `
      + 'the join reads each partition alone, so this server\'s records meet only if every input topic places its key alike, '
      + 'and its enriched records, ahead of the other servers\' there, can make theirs late to the correlation; '
      + 'produce with the murmur2 partitioner (librdkafka clients such as confluent-kafka and kcat: partitioner=murmur2_random; kafkajs: its default, not the LegacyPartitioner)');
    // Read by shadow-compare (a trial: its warning told the join's consequence).
    expect(misplacedKey(on(wrong), partitions, 'shadow-compare')).toContain(
      `on ${expected} of 4: shadow-compare reads each partition alone, so this server's shadow results pair with its production events only if both topics place its key alike (else both sides are counted unpaired); produce with the murmur2 partitioner`);
    // Another topic, one partition, or no key: nothing to check.
    expect(misplacedKey({ ...on(wrong), topic: TOPICS.inference }, partitions)).toBeNull();
    expect(misplacedKey(on(0), new Map([[TOPICS.load, 1]]))).toBeNull();
    expect(misplacedKey(on(wrong, null), partitions)).toBeNull();
  });

  it('partitionCounts reads each topic once and leaves out the ones the log does not have', async () => {
    const asked: string[] = [];
    const log = { partitionCount: async (t: string) => { asked.push(t); return t === TOPICS.load ? 4 : null; } };
    expect([...(await partitionCounts(log, [TOPICS.load, TOPICS.inference, TOPICS.load]))]).toEqual([[TOPICS.load, 4]]);
    expect(asked).toEqual([TOPICS.load, TOPICS.inference]);
  });
});

/** MurmurHash2 as Kafka's Java client computes it (seed 0x9747b28c, m 0x5bd1e995, r 24), written from its source. */
function murmur2Reference(data: Buffer): number {
  const m = 0x5bd1e995;
  let h = (0x9747b28c ^ data.length) | 0;
  const whole = data.length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data.readInt32LE(i);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = data.length & 3;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) {
    h ^= data[whole]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h;
}

describe('decodeLogRecord: edgelat\'s output topics', () => {
  it('takes their event times as the processors did (a re-test: an input 2 h ahead, within both bounds, was dead-lettered as enriched output)', () => {
    const now = Date.UTC(2026, 11, 6, 12);
    // An input within both bounds: ts 1 h past its log time, which is 1 h past the clock.
    const input = { ...sample, ts: now + 7_200_000 };
    expect(decodeLogRecord({ ...record(codecFor('LoadSample').encode(input)), timestampMs: now + 3_600_000 }).ok).toBe(true);
    // Its enriched output, made now: 2 h ahead of its log time, and read as it was made.
    const enriched = makeEnriched({ edge_server_id: 'edge-07', ts: now + 7_200_000 });
    const out: LogRecord = { topic: TOPICS.enriched, partition: 0, offset: 3, key: 'edge-07', value: codecFor('EnrichedInference').encode(enriched), headers: {}, timestampMs: now };
    expect(decodeLogRecord(out)).toEqual({ ok: true, value: enriched });
    // The key check still holds there.
    expect(decodeLogRecord({ ...out, key: 'edge-99' })).toMatchObject({ ok: false, path: 'key' });
  });
});
