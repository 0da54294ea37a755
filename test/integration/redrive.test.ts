import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dlqTopic, TOPICS } from '../../pipelines/topics.ts';
import { codecFor, createLongAwareType, loadSchema, registerWriterSchema, schemaFingerprint, singleObjectHeader } from '../../schemas/index.ts';
import { loadConfig } from '../../services/config.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import { REDRIVE_HEADER, redriveDeadLetters } from '../../services/pipeline/redrive.ts';
import { runBoundedPipeline } from '../../services/pipeline/embedded.ts';
import { formatTopicRedrive, parseRedriveTopics } from '../../services/cli/redrive.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { at, makeInference, makeLoad } from '../helpers/factories.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

/** InferenceEvent as a newer producer writes it: a field added with a default (a compatible change edgelat does not know yet). */
const newerSchema = (() => {
  const s = loadSchema('InferenceEvent') as { fields: object[] };
  return { ...s, fields: [...s.fields, { name: 'firmware', type: 'string', default: '' }] };
})();

/** Dead letters are produced back to their source topic as they came, and processed once what failed them is mended. */
describe('pipeline redrive', () => {
  let warehouse: ChdbWarehouse;
  beforeAll(async () => {
    warehouse = await createTestDatabase('redrive');
  });
  afterAll(async () => warehouse?.close());

  it('a record of an unknown writer schema, dead-lettered, is processed after the schema is registered and it is redriven; garbage is dead-lettered again', async () => {
    const t0 = at('2024-06-01T10:00:00.000Z');
    const event = (i: number) => makeInference({ edge_server_id: 'edge-01', ts: t0 + 500 + i * 100, event_id: `e-${i}` });
    const newer = Buffer.concat([singleObjectHeader(schemaFingerprint(newerSchema)), createLongAwareType(newerSchema).toBuffer({ ...event(1), firmware: '2.1' })]);
    const garbage = Buffer.from('not avro');
    const good = { key: 'edge-01', value: codecFor('InferenceEvent').encode(event(0)), timestampMs: t0 + 600 };
    const inputs = async (log: MemoryEventLog, bad = true) => {
      await log.produce(TOPICS.load, [0, 1].map((i) => ({ key: 'edge-01', value: codecFor('LoadSample').encode(makeLoad({ edge_server_id: 'edge-01', ts: t0 + i * 1000 })) })));
      await log.produce(TOPICS.inference, [good, ...(bad ? [{ key: 'edge-01', value: newer, timestampMs: t0 + 700 }, { key: 'edge-01', value: garbage, timestampMs: t0 + 800 }] : [])]);
    };
    // First run: the newer record and the garbage are dead letters (on edge.inference.v1.dlq, as the sink writes them).
    const first = new MemoryEventLog({ defaultPartitions: 1 });
    await inputs(first);
    await first.seal(TOPICS.inference);
    await first.seal(TOPICS.load);
    const w1 = await createTestDatabase('redrive_first');
    try {
      const counts = await runBoundedPipeline({ log: first, warehouse: w1, config: loadConfig({}) });
      expect(counts.sink[TOPICS.inference]).toEqual({ consumed: 3, processed: 1, late: 0, dead: 2 });
    } finally {
      await w1.close();
    }
    const dlq = await first.read({ topic: dlqTopic(TOPICS.inference), partition: 0 }, 0, 10);
    expect(dlq).toHaveLength(2);

    // The same dead letters on a log whose source topics are open (the first run sealed its own); its input topic holds
    // the good record only, as though the bad ones had been read and passed over (a new log cannot mark them read).
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    await inputs(log, false);
    // Dead-lettered 10 s and 11 s after t0 (the .dlq records' log time: when the sink wrote them). Without the first
    // sink's lane headers: this log's sink has written none of its dead letters.
    const deadAt = (i: number) => t0 + 10_000 + i * 1000;
    await log.produce(dlqTopic(TOPICS.inference), dlq.map((r, i) => ({ key: r.key, value: r.value, timestampMs: deadAt(i) })));

    // A dry run lists them and produces nothing.
    const dry = await redriveDeadLetters(log, log, { topics: [TOPICS.inference, TOPICS.load], dryRun: true });
    expect(dry.map((r) => [r.topic, r.read, r.matched, r.produced])).toEqual([[TOPICS.inference, 2, 2, 0], [TOPICS.load, 0, 0, 0]]);
    expect(dry[0]!.letters.map((l) => [l.partition, l.offset, l.ts, l.dead_lettered_ts, l.bytes])).toEqual([[0, 1, t0 + 700, deadAt(0), newer.length], [0, 2, t0 + 800, deadAt(1), garbage.length]]);
    expect(dry[0]!.letters[0]!.error).toContain('unknown schema fingerprint');
    expect([dry[0]!.first_ts, dry[0]!.last_ts, dry[0]!.sealed]).toEqual([deadAt(0), deadAt(1), false]);
    expect(await log.endOffset({ topic: TOPICS.inference, partition: 0 })).toBe(1);
    const text = formatTopicRedrive(dry[0]!, true);
    expect(text).toContain(`${dlqTopic(TOPICS.inference)} → ${TOPICS.inference}: 2 read, 2 picked (dead-lettered 2024-06-01T10:00:10.000Z to 2024-06-01T10:00:11.000Z), 2 to produce (dry run: nothing produced)\n`);
    expect(text).toContain(`  ${dlqTopic(TOPICS.inference)} 0:0 (dead-lettered 2024-06-01T10:00:10.000Z)  source 0:1 at 2024-06-01T10:00:00.700Z, ${newer.length} bytes: `);

    // The filters: by error text (case-insensitive) and by when they were dead-lettered [since, until) (a trial: by the
    // source's log time, a --since of the day of the failures picked none of them).
    const byError = await redriveDeadLetters(log, log, { topics: [TOPICS.inference], dryRun: true, errorContains: 'UNKNOWN SCHEMA' });
    expect(byError[0]!.letters.map((l) => l.offset)).toEqual([1]);
    const byTime = await redriveDeadLetters(log, log, { topics: [TOPICS.inference], dryRun: true, sinceMs: deadAt(0) + 1, untilMs: deadAt(1) + 1 });
    expect(byTime[0]!.letters.map((l) => l.offset)).toEqual([2]);
    expect((await redriveDeadLetters(log, log, { topics: [TOPICS.inference], dryRun: true, untilMs: deadAt(0) }))[0]!.matched).toBe(0);

    // Mended: the newer writer schema is known. Both are produced back, bytes, key, partition and log time as they came.
    registerWriterSchema('InferenceEvent', newerSchema);
    const done = await redriveDeadLetters(log, log, { topics: [TOPICS.inference] });
    expect(done.map((r) => [r.read, r.matched, r.produced])).toEqual([[2, 2, 2]]);
    const back = await log.read({ topic: TOPICS.inference, partition: 0 }, 1, 10);
    expect(back.map((r) => [r.key, r.value.equals(newer) || r.value.equals(garbage), r.timestampMs, r.headers[REDRIVE_HEADER]])).toEqual([
      ['edge-01', true, t0 + 700, `${dlqTopic(TOPICS.inference)}:0:0`],
      ['edge-01', true, t0 + 800, `${dlqTopic(TOPICS.inference)}:0:1`],
    ]);
    expect(back[0]!.value.equals(newer)).toBe(true);

    // The pipeline reads them as new records: the newer one is processed, the garbage is a dead letter again.
    await log.seal(TOPICS.inference);
    await log.seal(TOPICS.load);
    const counts = await runBoundedPipeline({ log, warehouse, config: loadConfig({}) });
    expect(counts.sink[TOPICS.inference]).toEqual({ consumed: 3, processed: 2, late: 0, dead: 1 });
    const events = await warehouse.query<{ event_id: string; n: number }>(`SELECT event_id, count() AS n FROM ${warehouse.database}.inference_events GROUP BY event_id ORDER BY event_id`);
    expect(events.map((e) => [e.event_id, Number(e.n)])).toEqual([['e-0', 1], ['e-1', 1]]);
    const dead = await warehouse.query<{ offset: number; error: string }>(`SELECT offset, error FROM ${warehouse.database}.dead_letters WHERE topic = '${TOPICS.inference}' ORDER BY offset`);
    expect(dead.map((d) => Number(d.offset))).toEqual([2]);
    // The garbage failed again: its dead letter names the one it was a redrive of, and a later redrive passes that copy
    // over and picks its origin (a trial: each run had doubled the records that still failed: 2, 4, 8).
    expect(dead[0]!.error).toMatch(/ \[a redrive of edge\.inference\.v1\.dlq:0:1\]$/);
    const again = await redriveDeadLetters(log, log, { topics: [TOPICS.inference], dryRun: true });
    expect(again.map((r) => [r.read, r.matched, r.redrive_copies, r.sealed])).toEqual([[3, 2, 1, true]]);
    expect(formatTopicRedrive(again[0]!, true).split('\n')[0]).toMatch(/2 to produce \(dry run: nothing produced\); 1 dead letter\(s\) of earlier redrives passed over \(their origins are picked\); edge\.inference\.v1 is sealed: `pipeline run --until-end` reads them too \(it drains each topic to its end\)$/);
    // With nothing to produce, whether the topic is sealed is not asked.
    const none = await redriveDeadLetters(log, log, { topics: [TOPICS.inference], errorContains: 'no such error' });
    expect([none[0]!.produced, none[0]!.sealed]).toEqual([0, undefined]);
  });

  it('a dead letter without its bytes on .dlq (too large for Kafka) is counted, not produced; a .dlq record that is no dead letter is skipped', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 2 });
    await log.ensureTopic(TOPICS.load);
    const dl = { topic: TOPICS.load, partition: 1, offset: 7, key_b64: Buffer.from('edge-02').toString('base64'), raw_b64: '', error: 'x [raw bytes left out of this record: 1200000 bytes]', path: '', consumer_group: 'g', ts: 1_717_236_000_000 };
    await log.produce(dlqTopic(TOPICS.load), [
      { key: 'edge-02', partition: 1, value: codecFor('DeadLetter').encode(dl), timestampMs: 1_717_236_000_000 },
      { key: 'edge-02', partition: 1, value: codecFor('DeadLetter').encode({ ...dl, offset: 8, raw_b64: Buffer.from([0xde, 0xad]).toString('base64'), error: 'garbage' }), timestampMs: 1_717_236_000_000 },
      { key: 'edge-02', partition: 1, value: Buffer.from('{"not":"a dead letter"}') },
    ]);
    const [r] = await redriveDeadLetters(log, log, { topics: [TOPICS.load] });
    expect([r!.read, r!.matched, r!.produced, r!.without_bytes, r!.undecodable]).toEqual([3, 2, 1, 1, 1]);
    const produced = await log.read({ topic: TOPICS.load, partition: 1 }, 0, 10);
    expect(produced.map((p) => [p.key, p.value.toString('hex'), p.timestampMs])).toEqual([['edge-02', 'dead', 1_717_236_000_000]]);
    expect(formatTopicRedrive(r!, false)).toBe(`${dlqTopic(TOPICS.load)} → ${TOPICS.load}: 3 read, 2 picked (dead-lettered 2024-06-01T10:00:00.000Z to 2024-06-01T10:00:00.000Z), 1 produced; `
      + `not produced: 1 without their bytes on ${dlqTopic(TOPICS.load)} (too large for a Kafka message: the dead_letters table keeps them), 1 ${dlqTopic(TOPICS.load)} record(s) that could not be read as a dead letter (topic: required field is missing (no default), got undefined)\n`);
    // Why, in the first one's words (a trial: a registry that had lost the .dlq records' schema id read as "not a dead letter").
    expect(r!.undecodable_reason).toBe('topic: required field is missing (no default), got undefined');
  });

  it('a second copy of a dead letter on .dlq (the sink\'s send retried without idempotence) is passed over, not produced twice', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    await log.ensureTopic(TOPICS.load);
    const letter = (offset: number) => ({
      key: 'edge-02', partition: 0, timestampMs: 1_717_236_000_000,
      value: codecFor('DeadLetter').encode({ topic: TOPICS.load, partition: 0, offset, key_b64: null, raw_b64: Buffer.from([offset]).toString('base64'), error: 'garbage', path: '', consumer_group: 'g', ts: 1_717_236_000_000 }),
      headers: { 'edgelat-lane': `warehouse-sink:dlq:${TOPICS.load}:0`, 'edgelat-seq': JSON.stringify([offset]) },
    });
    // Letters of source offsets 3 and 5, the send of both repeated, then 9.
    await log.produce(dlqTopic(TOPICS.load), [letter(3), letter(5), letter(3), letter(5), letter(9)]);
    const [r] = await redriveDeadLetters(log, log, { topics: [TOPICS.load] });
    expect([r!.read, r!.matched, r!.produced, r!.repeated]).toEqual([5, 3, 3, 2]);
    const produced = await log.read({ topic: TOPICS.load, partition: 0 }, 0, 10);
    expect(produced.map((p) => p.value.toString('hex'))).toEqual(['03', '05', '09']);
    expect(formatTopicRedrive(r!, false)).toBe(`${dlqTopic(TOPICS.load)} → ${TOPICS.load}: 5 read, 3 picked (dead-lettered 2024-06-01T10:00:00.000Z to 2024-06-01T10:00:00.000Z), 3 produced; `
      + '2 second copies of dead letters passed over (a send the sink\'s producer retried)\n');
  });

  it('--topics names source topics edgelat dead-letters', () => {
    expect(parseRedriveTopics('edge.load.v1, edge.load.v1,edge.inference.v1')).toEqual(['edge.load.v1', 'edge.inference.v1']);
    expect(() => parseRedriveTopics('edge.inference.v1.dlq')).toThrow('--topics: "edge.inference.v1.dlq" is a dead-letter topic; name its source topic, "edge.inference.v1"');
    expect(() => parseRedriveTopics('edge.infrence.v1')).toThrow(/--topics: "edge\.infrence\.v1" is not a topic edgelat dead-letters \(known: edge\.inference\.v1, /);
    expect(() => parseRedriveTopics(' , ')).toThrow(/name at least one source topic/);
    expect(parseRedriveTopics(undefined)).toContain(TOPICS.shadow);
  });
});
