import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { decodeLogRecord } from '../../../pipelines/runtime/decode.ts';
import { dlqTopic, TOPICS } from '../../../pipelines/topics.ts';
import {
  codecFor,
  defaultWriterSchemas,
  InMemorySchemaRegistry,
  loadSchema,
  schemaFingerprint,
  SchemaRegistryError,
  type LoadSample,
  type RecordKind,
  type SchemaRegistryClient,
} from '../../../schemas/index.ts';
import { ConfluentWireEventLog, withSchemaRegistry } from '../../../services/eventlog/confluent-wire.ts';
import { REGISTRY_SLOW_MS } from '../../../services/eventlog/confluent-convert.ts';
import { MemoryEventLog } from '../../../services/eventlog/memory.ts';
import { sampleRecords } from '../../helpers/sample-records.ts';

/** `00` + 4-byte big-endian id + body, written out by hand (Confluent "Wire format"). */
const confluent = (id: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([0, (id >>> 24) & 0xff, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff]), body]);
/** Avro body with plain avsc (no edgelat long type, no codec): an independent reference encoder. */
const avscBody = (schema: object, value: object): Buffer => avro.Type.forSchema(schema as avro.Schema).toBuffer(value);

const v0Schema = JSON.parse(readFileSync(new URL('../../fixtures/avro/load-sample.v0.avsc', import.meta.url), 'utf8')) as object;
const current = loadSchema('LoadSample') as { fields: object[] };
const newerSchema = { ...current, fields: [...current.fields, { name: 'fan_rpm', type: 'int', default: 0 }] };
const T0 = Date.UTC(2024, 5, 1, 12, 0, 0);
const sample: LoadSample = {
  edge_server_id: 'edge-07', ts: T0, cpu_util: 0.42, gpu_util: 0.87, mem_util: 0.61, queue_depth: 9, concurrency: 4, requests_per_s: 173.5, temperature_c: 71.5, power_w: 14.2,
};
const { temperature_c: _t, power_w: _p, ...v0Value } = sample;

/** A registry client that counts calls and can be taken down (network error) or made to refuse (401). */
function controllableClient(inner: SchemaRegistryClient = new InMemorySchemaRegistry()) {
  const calls = { getSchema: [] as number[], register: [] as string[] };
  let mode: 'up' | 'down' | 'refuse' = 'up';
  const fail = (what: string): never => {
    if (mode === 'down') throw new SchemaRegistryError(`schema registry ${what} failed: connect econnrefused`, null, { retriable: true });
    throw new SchemaRegistryError(`schema registry ${what} returned http 401`, 401);
  };
  const client: SchemaRegistryClient = {
    async getSchema(id) {
      calls.getSchema.push(id);
      if (mode !== 'up') fail(`GET /schemas/ids/${id}`);
      return inner.getSchema(id);
    },
    async register(subject, schema) {
      calls.register.push(subject);
      if (mode !== 'up') fail(`POST /subjects/${subject}/versions`);
      return inner.register(subject, schema);
    },
  };
  return { client, calls, set: (m: typeof mode) => void (mode = m) };
}

describe('ConfluentWireEventLog on the in-process log', () => {
  it('round-trips every record kind: 00 + the registry id + the same avro body on the log, the original single-object bytes for consumers', async () => {
    const inner = new MemoryEventLog({ defaultPartitions: 2 });
    const registry = new InMemorySchemaRegistry();
    const log = new ConfluentWireEventLog(inner, { client: registry });
    expect(log.id).toBe(inner.id);
    const seen = new Set<number>();
    for (const s of sampleRecords()) {
      const original = codecFor(s.kind).encode(s.value as never);
      const [placed] = await log.produce(s.topic, [{ key: s.key, value: original, headers: { seq: '1' }, timestampMs: T0 }]);
      const subjectIds = registry.subjects.get(`${s.topic}-value`);
      expect(subjectIds, s.kind).toHaveLength(1);
      const id = subjectIds![0]!;
      seen.add(id);
      expect(await registry.getSchema(id)).toEqual(loadSchema(s.kind));

      const [stored] = await inner.read({ topic: s.topic, partition: placed!.partition }, placed!.offset, placed!.offset + 1);
      expect(stored!.value[0]).toBe(0x00);
      expect(stored!.value.readUInt32BE(1)).toBe(id);
      expect(stored!.value).toEqual(confluent(id, avscBody(loadSchema(s.kind), s.value)));
      expect(stored!.value.subarray(5)).toEqual(original.subarray(10));

      const consumer = await log.consumer(`g-${s.kind}`, [s.topic]);
      const { records } = await consumer.poll(100);
      expect(records).toHaveLength(1);
      expect(records[0]!.value).toEqual(original);
      expect(records[0]).toMatchObject({ topic: s.topic, partition: placed!.partition, offset: placed!.offset, key: s.key, headers: { seq: '1' }, timestampMs: T0 });
      expect(decodeLogRecord(records[0]!)).toEqual({ ok: true, value: s.value });
      expect(await log.read({ topic: s.topic, partition: placed!.partition }, 0, 1)).toEqual(records);
      await consumer.close();
    }
    expect(seen.size).toBe(6);
  });

  it('reads an older (v0 fixture) and a newer writer version from the registry as the current LoadSample', async () => {
    const registry = new InMemorySchemaRegistry({ 7: v0Schema });
    const newerId = await registry.register(`${TOPICS.load}-value`, newerSchema);
    const inner = new MemoryEventLog({ defaultPartitions: 1 });
    const log = new ConfluentWireEventLog(inner, { client: registry });
    const oldBytes = confluent(7, avscBody(v0Schema, v0Value));
    const newBytes = confluent(newerId, avscBody(newerSchema, { ...sample, ts: T0 + 1000, fan_rpm: 3200 }));
    await inner.produce(TOPICS.load, [{ key: 'edge-07', value: oldBytes }, { key: 'edge-07', value: newBytes }]);
    // Without the decorator the runtime cannot read them (the fault this fixes).
    const raw = await inner.read({ topic: TOPICS.load, partition: 0 }, 0, 2);
    expect(decodeLogRecord(raw[0]!)).toMatchObject({ ok: false, path: '' });
    expect(defaultWriterSchemas().lookup(schemaFingerprint(v0Schema))).toBeUndefined();

    const { records } = await (await log.consumer('g', [TOPICS.load])).poll(10);
    expect(records[0]!.value).toEqual(Buffer.concat([Buffer.from([0xc3, 0x01]), schemaFingerprint(v0Schema), oldBytes.subarray(5)]));
    expect(defaultWriterSchemas().lookup(schemaFingerprint(v0Schema))?.kind).toBe('LoadSample');
    expect(records.map((r) => decodeLogRecord(r))).toEqual([
      { ok: true, value: { ...v0Value, temperature_c: null, power_w: null } },
      { ok: true, value: { ...sample, ts: T0 + 1000 } },
    ]);
  });

  it('passes an unknown schema id through unchanged; the runtime dead-letters it naming the id', async () => {
    const inner = new MemoryEventLog({ defaultPartitions: 1 });
    const registry = new InMemorySchemaRegistry();
    const lateId = await registry.register('elsewhere-value', loadSchema('LateEvent'));
    const log = new ConfluentWireEventLog(inner, { client: registry });
    const unknown = Buffer.from('000000' + '03e7' + '0e656467652d3037', 'hex'); // id 999
    const otherKind = confluent(lateId, codecFor('LateEvent').encode(sampleRecords()[5]!.value as never).subarray(10));
    const json = codecFor('LoadSample').encodeJson(sample);
    const garbage = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]);
    const strangeFingerprint = Buffer.concat([Buffer.from('c3010102030405060708', 'hex'), Buffer.from([0])]);
    await inner.produce(TOPICS.load, [unknown, otherKind].map((value) => ({ key: 'edge-07', value })));
    await log.produce(TOPICS.load, [json, garbage, strangeFingerprint].map((value) => ({ key: 'edge-07', value })));

    const stored = await inner.read({ topic: TOPICS.load, partition: 0 }, 0, 5);
    expect(stored.map((r) => r.value)).toEqual([unknown, otherKind, json, garbage, strangeFingerprint]);
    expect(registry.subjects.has(`${TOPICS.load}-value`)).toBe(false);

    const { records } = await (await log.consumer('g', [TOPICS.load])).poll(10);
    expect(records.map((r) => r.value)).toEqual([unknown, otherKind, json, garbage, strangeFingerprint]);
    const results = records.map((r) => decodeLogRecord(r));
    // The registry's reason, not the codec's "framing not handled" (a breaker trial found the real one only in a log line).
    expect(results[0]).toEqual({ ok: false, path: '', reason: 'confluent schema-registry framing: the schema registry has no schema id 999; the value is kept as it came' });
    expect(results[1]).toEqual({ ok: false, path: '', reason: `confluent schema-registry framing: schema id ${lateId} is a LateEvent schema, but ${TOPICS.load} carries LoadSample; the value is kept as it came` });
    expect(results[2]).toEqual({ ok: true, value: sample });
    expect(results[3]!.ok).toBe(false);
    expect(results[4]!.ok ? '' : results[4]!.reason).toContain('"0102030405060708"');
  });

  it('dead-letters the records of a schema id the registry forbids (403: its subject\'s ACL), and reads them once it is granted', async () => {
    // A trial: a 403 for one id stopped the pipeline, and every restart, before anything else was read.
    const registry = new InMemorySchemaRegistry();
    let forbidden = true;
    const client: SchemaRegistryClient = {
      async getSchema(id) {
        if (forbidden) throw new SchemaRegistryError(`schema registry GET /schemas/ids/${id} returned http 403: "forbidden"`, 403);
        return registry.getSchema(id);
      },
      register: (subject, schema) => registry.register(subject, schema),
    };
    const inner = new MemoryEventLog({ defaultPartitions: 1 });
    const id = await registry.register(`${TOPICS.load}-value`, loadSchema('LoadSample'));
    const value = confluent(id, codecFor('LoadSample').encode(sample).subarray(10));
    await inner.produce(TOPICS.load, [{ key: 'edge-07', value }]);
    const log = new ConfluentWireEventLog(inner, { client });
    const [r] = (await (await log.consumer('g', [TOPICS.load])).poll(10)).records;
    expect(r!.value).toEqual(value);
    expect(decodeLogRecord(r!)).toEqual({ ok: false, path: '', reason: `confluent schema-registry framing: the schema registry refuses schema id ${id} (http 403: "forbidden"): grant the principal read access to its subject, then redrive; the value is kept as it came` });
    // Not cached: once granted, the same record reads.
    forbidden = false;
    const [again] = await log.read({ topic: TOPICS.load, partition: 0 }, 0, 1);
    expect(decodeLogRecord(again!)).toEqual({ ok: true, value: sample });
  });

  it('asks the registry once per (topic, fingerprint) and once per schema id', async () => {
    const { client, calls } = controllableClient();
    const log = new ConfluentWireEventLog(new MemoryEventLog({ defaultPartitions: 1 }), { client });
    const load = codecFor('LoadSample');
    for (let i = 0; i < 3; i++) await log.produce(TOPICS.load, [0, 1].map((k) => ({ key: 'edge-07', value: load.encode({ ...sample, ts: T0 + 10 * i + k }) })));
    await log.produce(dlqTopic(TOPICS.load), [{ key: null, value: codecFor('DeadLetter').encode(sampleRecords()[4]!.value as never) }]);
    expect(calls.register).toEqual([`${TOPICS.load}-value`, `${TOPICS.load}.dlq-value`]);
    for (const g of ['a', 'b']) expect((await (await log.consumer(g, [TOPICS.load])).poll(100)).records).toHaveLength(6);
    expect((await log.read({ topic: TOPICS.load, partition: 0 }, 0, 6)).map((r) => decodeLogRecord(r).ok)).toEqual([true, true, true, true, true, true]);
    expect(calls.getSchema).toEqual([1]);
  });

  it('throws a retriable error when the registry is down and re-delivers the same records once it is back', async () => {
    const { client, set } = controllableClient();
    const inner = new MemoryEventLog({ defaultPartitions: 1 });
    const log = new ConfluentWireEventLog(inner, { client });
    const values = [0, 1, 2, 3, 4].map((i) => codecFor('LoadSample').encode({ ...sample, ts: T0 + i }));
    await log.produce(TOPICS.load, values.map((value) => ({ key: 'edge-07', value })));
    const consumer = await log.consumer('g', [TOPICS.load]);

    set('down');
    const err = await consumer.poll(3).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaRegistryError);
    expect((err as SchemaRegistryError).retriable).toBe(true);
    set('refuse');
    const refused = await consumer.poll(3).catch((e: unknown) => e);
    expect((refused as SchemaRegistryError).retriable).toBe(false);
    // The refusal names the first record that needs the schema (a trial saw only the id).
    expect((refused as SchemaRegistryError).message).toBe(`schema registry GET /schemas/ids/1 returned http 401 (schema id 1 of the record at ${TOPICS.load} partition 0 offset 0)`);

    set('up');
    const first = await consumer.poll(3);
    const second = await consumer.poll(3);
    expect([...first.records, ...second.records].map((r) => r.offset)).toEqual([0, 1, 2, 3, 4]);
    expect([...first.records, ...second.records].map((r) => r.value)).toEqual(values);
  });

  it('produces nothing when registering the schema fails', async () => {
    const { client, set } = controllableClient();
    const inner = new MemoryEventLog({ defaultPartitions: 1 });
    const log = new ConfluentWireEventLog(inner, { client });
    await log.ensureTopic(TOPICS.load);
    set('down');
    const err = await log.produce(TOPICS.load, [{ key: 'edge-07', value: codecFor('LoadSample').encode(sample) }]).catch((e: unknown) => e);
    expect((err as SchemaRegistryError).retriable).toBe(true);
    expect(await inner.endOffset({ topic: TOPICS.load, partition: 0 })).toBe(0);
    set('up');
    await log.produce(TOPICS.load, [{ key: 'edge-07', value: codecFor('LoadSample').encode(sample) }]);
    expect((await inner.read({ topic: TOPICS.load, partition: 0 }, 0, 1))[0]!.value[0]).toBe(0);
  });
});

describe('ConfluentWireEventLog.registryWait', () => {
  it('names a registry call unanswered for 2 s, and one that failed at once, until it is answered', async () => {
    const inner = new MemoryEventLog({ defaultPartitions: 1 });
    let answer!: (schema: object) => void;
    // A registry that accepts the call and answers only when the test says (a re-test: /healthz said 200 while it hung).
    const hanging = { getSchema: () => new Promise<object>((resolve) => { answer = resolve; }), register: () => Promise.resolve(1) };
    const log = new ConfluentWireEventLog(inner, { client: hanging });
    await inner.produce(TOPICS.load, [{ key: 'edge-07', value: confluent(7, avscBody(v0Schema, v0Value)) }]);
    const t0 = Date.now();
    const read = log.read({ topic: TOPICS.load, partition: 0 }, 0, 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(log.registryWait()).toBeNull(); // under REGISTRY_SLOW_MS: a call on its way, not a wait
    await new Promise((r) => setTimeout(r, REGISTRY_SLOW_MS));
    const waiting = log.registryWait();
    expect(waiting).toEqual({ call: 'get schema id 7', waiting_ms: expect.any(Number) as number, error: expect.stringMatching(/^no answer yet after \d+\.\d s$/) as string });
    expect(waiting!.waiting_ms).toBeGreaterThanOrEqual(REGISTRY_SLOW_MS);
    expect(waiting!.waiting_ms).toBeLessThanOrEqual(Date.now() - t0);
    answer(v0Schema);
    await read;
    expect(log.registryWait()).toBeNull();
  });
});

describe('withSchemaRegistry', () => {
  it('returns the log itself without a URL, a ConfluentWireEventLog over it with one', () => {
    const inner = new MemoryEventLog();
    expect(withSchemaRegistry(inner, null)).toBe(inner);
    expect(withSchemaRegistry(inner, undefined)).toBe(inner);
    expect(withSchemaRegistry(inner, '  ')).toBe(inner);
    const wrapped = withSchemaRegistry(inner, 'http://registry.invalid:8081');
    expect(wrapped).toBeInstanceOf(ConfluentWireEventLog);
    expect(wrapped.id).toBe(inner.id);
    expect(() => withSchemaRegistry(inner, 'not a url')).toThrow(TypeError);
  });
});

// Keep the kinds list honest: every kind has a sample.
it('has a sample of every record kind', () => {
  expect(sampleRecords().map((s) => s.kind).sort()).toEqual((['CorrelationUpdate', 'DeadLetter', 'EnrichedInference', 'InferenceEvent', 'LateEvent', 'LoadSample'] satisfies RecordKind[]).sort());
});
