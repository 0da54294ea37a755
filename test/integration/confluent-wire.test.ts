/**
 * Confluent Schema Registry framing through a real HTTP registry (a fastify
 * server speaking the REST subset HttpSchemaRegistryClient uses, see
 * test/helpers/schema-registry.ts): every record kind round-trips, older writer
 * versions are resolved, unknown ids are dead-lettered with their raw bytes,
 * outages are retriable; the whole bounded pipeline over the framed log writes
 * exactly the warehouse rows of the plain run; and, where kcat is available,
 * the framed bytes cross a Kafka-protocol broker unchanged.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import avro from 'avsc';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeLogRecord } from '../../pipelines/runtime/decode.ts';
import { dlqTopic, TOPICS } from '../../pipelines/topics.ts';
import { codecFor, HttpSchemaRegistryClient, loadSchema, SCHEMA_REGISTRY_CONTENT_TYPE, SchemaRegistryError, type LoadSample, type RecordKind } from '../../schemas/index.ts';
import { loadConfig } from '../../services/config.ts';
import { ConfluentWireEventLog, REGISTRY_RETRY, withSchemaRegistry } from '../../services/eventlog/confluent-wire.ts';
import { KafkaEventLog } from '../../services/eventlog/kafka.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import type { Consumer, LogRecord } from '../../services/eventlog/types.ts';
import { produceSimulation } from '../../services/pipeline/demo.ts';
import { runBoundedPipeline } from '../../services/pipeline/embedded.ts';
import { normalizeSimConfig, simulateFleet } from '../../services/simulator/index.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { fingerprint } from '../helpers/fingerprint.ts';
import { kafkaTestsCanRun, MOCK_GROUP_TIMEOUTS, startKafkaMock, type KafkaMock } from '../helpers/kafka-mock.ts';
import { sampleRecords } from '../helpers/sample-records.ts';
import { startSchemaRegistryStub, type SchemaRegistryStub } from '../helpers/schema-registry.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

const confluent = (id: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([0, (id >>> 24) & 0xff, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff]), body]);
const avscBody = (schema: object, value: object): Buffer => avro.Type.forSchema(schema as avro.Schema).toBuffer(value);
const v0Schema = JSON.parse(readFileSync(new URL('../fixtures/avro/load-sample.v0.avsc', import.meta.url), 'utf8')) as object;
const T0 = Date.UTC(2024, 5, 1, 12, 0, 0);
const sample: LoadSample = {
  edge_server_id: 'edge-07', ts: T0, cpu_util: 0.42, gpu_util: 0.87, mem_util: 0.61, queue_depth: 9, concurrency: 4, requests_per_s: 173.5, temperature_c: 71.5, power_w: 14.2,
};
const { temperature_c: _t, power_w: _p, ...v0Value } = sample;

describe('ConfluentWireEventLog through a real HTTP schema registry', () => {
  let stub: SchemaRegistryStub;
  const warehouses: ChdbWarehouse[] = [];
  beforeAll(async () => {
    stub = await startSchemaRegistryStub({ username: 'edgelat', password: 's3cr:t', firstId: 41 });
  });
  afterAll(async () => {
    for (const w of warehouses) await w.close();
    await stub.close();
  });

  it('round-trips every record kind: one POST per subject, one GET per id, basic auth from the URL', async () => {
    const inner = new MemoryEventLog({ defaultPartitions: 2 });
    const log = withSchemaRegistry(inner, stub.urlWithCredentials);
    const before = stub.requests.length;
    for (const s of sampleRecords()) {
      const original = codecFor(s.kind).encode(s.value as never);
      const [placed] = await log.produce(s.topic, [{ key: s.key, value: original }, { key: s.key, value: original }]);
      const id = stub.subjects.get(`${s.topic}-value`)![0]!;
      expect(JSON.parse(stub.schemas.get(id)!)).toEqual(loadSchema(s.kind));
      const [stored] = await inner.read({ topic: s.topic, partition: placed!.partition }, placed!.offset, placed!.offset + 1);
      expect(stored!.value).toEqual(confluent(id, avscBody(loadSchema(s.kind), s.value)));
      const { records } = await (await log.consumer(`g-${s.kind}`, [s.topic])).poll(10);
      expect(records.map((r) => r.value)).toEqual([original, original]);
      expect(decodeLogRecord(records[0]!)).toEqual({ ok: true, value: s.value });
    }
    const made = stub.requests.slice(before);
    expect(made.filter((r) => r.method === 'POST').map((r) => r.url)).toEqual(sampleRecords().map((s) => `/subjects/${encodeURIComponent(`${s.topic}-value`)}/versions`));
    expect(made.filter((r) => r.method === 'GET').map((r) => r.url)).toEqual([41, 42, 43, 44, 45, 46].map((id) => `/schemas/ids/${id}`));
    expect(new Set(made.map((r) => r.authorization))).toEqual(new Set([`Basic ${Buffer.from('edgelat:s3cr:t').toString('base64')}`]));
    expect(made.filter((r) => r.method === 'POST').every((r) => r.contentType === SCHEMA_REGISTRY_CONTENT_TYPE)).toBe(true);
  });

  it('reads a record another producer wrote with an older registered version (v0 fixture) as the current LoadSample', async () => {
    const auth = `Basic ${Buffer.from('edgelat:s3cr:t').toString('base64')}`;
    const res = await fetch(`${stub.url}/subjects/${TOPICS.load}-value/versions`, {
      method: 'POST', headers: { 'content-type': SCHEMA_REGISTRY_CONTENT_TYPE, authorization: auth }, body: JSON.stringify({ schema: JSON.stringify(v0Schema) }),
    });
    const { id } = (await res.json()) as { id: number };
    const inner = new MemoryEventLog({ defaultPartitions: 1 });
    await inner.produce(TOPICS.load, [{ key: 'edge-07', value: confluent(id, avscBody(v0Schema, v0Value)) }]);
    const [r] = await withSchemaRegistry(inner, stub.urlWithCredentials).read({ topic: TOPICS.load, partition: 0 }, 0, 1);
    expect(decodeLogRecord(r!)).toEqual({ ok: true, value: { ...v0Value, temperature_c: null, power_w: null } });

    // A registered version the reader cannot resolve (cpu_util a string): the dead letter names the registry's id,
    // which operators look schemas up by, beside the fingerprint (a trial found the fingerprint alone).
    const bad = JSON.parse(JSON.stringify(v0Schema)) as { fields: { name: string; type: unknown }[] };
    bad.fields.find((f) => f.name === 'cpu_util')!.type = 'string';
    const badRes = await fetch(`${stub.url}/subjects/${TOPICS.load}-value/versions`, {
      method: 'POST', headers: { 'content-type': SCHEMA_REGISTRY_CONTENT_TYPE, authorization: auth }, body: JSON.stringify({ schema: JSON.stringify(bad) }),
    });
    const { id: badId } = (await badRes.json()) as { id: number };
    const badLog = new MemoryEventLog({ defaultPartitions: 1 });
    await badLog.produce(TOPICS.load, [{ key: 'edge-07', value: confluent(badId, avscBody(bad, { ...v0Value, cpu_util: 'high' })) }]);
    const [b] = await withSchemaRegistry(badLog, stub.urlWithCredentials).read({ topic: TOPICS.load, partition: 0 }, 0, 1);
    const failed = decodeLogRecord(b!);
    expect(failed.ok ? '' : failed.reason).toMatch(new RegExp(`^writer schema "[0-9a-f]{16}" \\(schema registry id ${badId}\\) of LoadSample: `));
  });

  it('passes an id the registry does not have (404) through; the runtime dead-letters the raw bytes naming the id', async () => {
    const inner = new MemoryEventLog({ defaultPartitions: 1 });
    const raw = confluent(9999, avscBody(loadSchema('LoadSample'), sample));
    await inner.produce(TOPICS.load, [{ key: 'edge-07', value: raw }]);
    const { records } = await (await withSchemaRegistry(inner, stub.urlWithCredentials).consumer('g', [TOPICS.load])).poll(10);
    expect(records[0]!.value).toEqual(raw);
    const result = decodeLogRecord(records[0]!);
    expect(result).toMatchObject({ ok: false, path: '' });
    expect(result.ok ? '' : result.reason).toContain('schema id 9999');
  });

  it('waits out a registry outage (503): the pipeline\'s back-off polls again until it answers, one warning a retry; without retries the error is retriable and the same records come again; bad credentials are not retriable', async () => {
    const inner = new MemoryEventLog({ defaultPartitions: 1 });
    await withSchemaRegistry(inner, stub.urlWithCredentials).produce(TOPICS.load, [0, 1, 2].map((i) => ({ key: 'edge-07', value: codecFor('LoadSample').encode({ ...sample, ts: T0 + i }) })));
    const want = [0, 1, 2].map((i) => ({ ok: true, value: { ...sample, ts: T0 + i } }));

    const once: Consumer = await withSchemaRegistry(inner, stub.urlWithCredentials, undefined, { retries: 0 }).consumer('g0', [TOPICS.load]);
    stub.down = true;
    const err = await once.poll(10).catch((e: unknown) => e);
    if (!(err instanceof SchemaRegistryError)) stub.down = false; // the next tests need the registry
    expect(err).toBeInstanceOf(SchemaRegistryError);
    expect(err).toMatchObject({ retriable: true, status: 503 });

    // The pipeline's log (REGISTRY_RETRY's behaviour, with short delays): the poll waits for the registry.
    const warnings: { msg: string; attempt: number; err: string }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line)) });
    const patient: Consumer = await withSchemaRegistry(inner, stub.urlWithCredentials, logger, { ...REGISTRY_RETRY, initialRetryTimeMs: 20, maxRetryTimeMs: 40 }).consumer('g1', [TOPICS.load]);
    const polled = patient.poll(10);
    try {
      await sleep(300);
      expect(warnings.length).toBeGreaterThanOrEqual(3);
      expect(warnings[0]).toMatchObject({ msg: 'schema registry unavailable; retrying', attempt: 1 });
      expect(warnings[0]!.err).toMatch(/returned http 503/);
    } finally {
      stub.down = false;
    }
    expect((await polled).records.map((r) => decodeLogRecord(r))).toEqual(want);
    expect((await once.poll(10)).records.map((r) => decodeLogRecord(r))).toEqual(want);

    const wrong = new ConfluentWireEventLog(new MemoryEventLog(), { client: new HttpSchemaRegistryClient(stub.url.replace('http://', 'http://edgelat:wrong@')), retry: REGISTRY_RETRY });
    const refused = await wrong.produce(TOPICS.load, [{ key: 'edge-07', value: codecFor('LoadSample').encode(sample) }]).catch((e: unknown) => e);
    expect(refused).toMatchObject({ retriable: false, status: 401 });
    expect((refused as Error).message).not.toContain('wrong');
  });

  it('dead-letters framed records that fail after the header swap with the bytes that came off the log, and names the framing a wrong header lacks', async () => {
    const inner = new MemoryEventLog({ defaultPartitions: 1 });
    const log = withSchemaRegistry(inner, stub.urlWithCredentials);
    const schema = loadSchema('LoadSample');
    await log.produce(TOPICS.load, [{ key: 'edge-07', value: codecFor('LoadSample').encode(sample) }]);
    const id = stub.subjects.get(`${TOPICS.load}-value`)![0]!;
    // A resolvable id whose value fails a field check, its body cut short, its header alone, bytes after it, a wrong magic byte, 3 bytes.
    const outOfRange = confluent(id, avscBody(schema, { ...sample, ts: T0 + 1000, cpu_util: 1.5 }));
    const good = confluent(id, avscBody(schema, { ...sample, ts: T0 + 2000 }));
    const bad = [outOfRange, good.subarray(0, 20), good.subarray(0, 5), Buffer.concat([good, Buffer.from([1, 2])]), Buffer.concat([Buffer.from([1]), good.subarray(1)]), Buffer.from([0, 0, 2])];
    await inner.produce(TOPICS.load, bad.map((value) => ({ key: 'edge-07', value })));
    await inner.seal(TOPICS.load);
    await inner.seal(TOPICS.inference);
    const warehouse = await createTestDatabase('framed_dead');
    warehouses.push(warehouse);
    const counts = await runBoundedPipeline({ log, warehouse, config: loadConfig({}) });
    expect(counts.sink[TOPICS.load]).toEqual({ consumed: 7, processed: 1, late: 0, dead: 6 });
    const rows = await warehouse.query<{ offset: number; raw_b64: string; error: string; path: string }>(
      `SELECT offset, raw_b64, error, path FROM ${warehouse.database}.dead_letters ORDER BY offset`,
    );
    expect(rows.map((r) => r.offset)).toEqual([1, 2, 3, 4, 5, 6]);
    rows.forEach((r, i) => expect(Buffer.from(r.raw_b64, 'base64').toString('hex')).toBe(bad[i]!.toString('hex')));
    expect(rows[0]).toMatchObject({ path: 'cpu_util' });
    expect(rows[0]!.error).toContain('1.5');
    expect(rows[4]!.error).toBe(`confluent schema-registry framing: expected 00 + a 4-byte schema id + the Avro body (or single-object Avro, or a JSON object), got first bytes ${bad[4]!.subarray(0, 8).toString('hex').replace(/(..)(?!$)/g, '$1 ')} … (${bad[4]!.length} bytes); the value is kept as it came`);
    expect(rows[5]!.error).toBe('confluent schema-registry framing: a Confluent header is 5 bytes (00 + a 4-byte schema id), the value has 3: 00 00 02; the value is kept as it came');
    const dlq = await log.read({ topic: dlqTopic(TOPICS.load), partition: 0 }, 0, 6);
    expect(dlq.map((r) => { const d = codecFor('DeadLetter').decode(r.value); return d.ok ? d.value.raw_b64 : d.reason; })).toEqual(bad.map((b) => b.toString('base64')));
  });

  it('runs the whole bounded pipeline over the framed log with exactly the warehouse rows of the plain run', async () => {
    const config = { ...loadConfig({}), windowSizeMs: 60_000, windowSlideMs: 15_000 };
    const sim = simulateFleet(normalizeSimConfig({ seed: 21, servers: 3, durationMs: 2 * 60_000, maxJitterMs: 2600 }));
    const reference = await createTestDatabase('plain');
    const framed = await createTestDatabase('framed');
    warehouses.push(reference, framed);
    const plainLog = new MemoryEventLog({ defaultPartitions: 4, now: () => 0 });
    await produceSimulation(plainLog, sim, 2);
    const plainCounts = await runBoundedPipeline({ log: plainLog, warehouse: reference, config });

    const inner = new MemoryEventLog({ defaultPartitions: 4, now: () => 0 });
    const log = withSchemaRegistry(inner, stub.urlWithCredentials);
    await produceSimulation(log, sim, 2);
    const framedCounts = await runBoundedPipeline({ log, warehouse: framed, config });
    expect(framedCounts).toEqual(plainCounts);
    expect(plainCounts.join[TOPICS.inference]!.dead).toBe(2);
    const { dead_letters: _d, ...expected } = await fingerprint(reference);
    expect(Number(expected.inference_enriched!.split(':')[0])).toBeGreaterThan(500);
    const { dead_letters: _f, ...got } = await fingerprint(framed);
    expect(got).toEqual(expected);
    // The dead letters keep the same bytes; the garbage one's error names the framing the registry setting expects.
    const dead = (w: ChdbWarehouse) => w.query<{ offset: number; raw_b64: string; path: string; error: string }>(`SELECT offset, raw_b64, path, error FROM ${w.database}.dead_letters ORDER BY offset`);
    const [plainDead, framedDead] = [await dead(reference), await dead(framed)];
    expect(framedDead.map(({ error: _e, ...d }) => d)).toEqual(plainDead.map(({ error: _e, ...d }) => d));
    expect(framedDead.map((d) => d.error)).toEqual([
      'confluent schema-registry framing: expected 00 + a 4-byte schema id + the Avro body (or single-object Avro, or a JSON object), got first bytes de ad be ef 00 01 (6 bytes); the value is kept as it came',
      plainDead[1]!.error,
    ]);

    // On the log itself every Avro value is Confluent-framed; only the two injected bad records are not.
    const other: Record<string, number> = {};
    let framedCount = 0;
    for (const topic of [TOPICS.inference, TOPICS.load, TOPICS.enriched, TOPICS.correlation, TOPICS.late, dlqTopic(TOPICS.inference)]) {
      for (let partition = 0; partition < ((await inner.partitionCount(topic)) ?? 0); partition++) {
        for (const r of await inner.read({ topic, partition }, 0, await inner.endOffset({ topic, partition }))) {
          if (r.value[0] === 0) framedCount++;
          else other[topic] = (other[topic] ?? 0) + 1;
        }
      }
    }
    expect(other).toEqual({ [TOPICS.inference]: 2 });
    expect(framedCount).toBeGreaterThan(1000);
  }, 120_000);
});

const external = process.env.EDGELAT_TEST_KAFKA_BROKERS?.split(',').map((s) => s.trim()).filter(Boolean);
const haveKafka = kafkaTestsCanRun('the Confluent framing test on Kafka');

describe.skipIf(!haveKafka)('ConfluentWireEventLog over Kafka', () => {
  let mock: KafkaMock | null = null;
  let stub: SchemaRegistryStub;
  beforeAll(async () => {
    stub = await startSchemaRegistryStub({ firstId: 7 });
    if (!external) mock = await startKafkaMock();
  });
  afterAll(async () => {
    await mock?.stop();
    await stub.close();
  });

  it('carries 00 + schema id + body through the broker and hands consumers the single-object bytes', async () => {
    const suffix = randomUUID().slice(0, 8);
    const kinds: Record<string, RecordKind> = { [`cw-load-${suffix}`]: 'LoadSample', [`cw-inference-${suffix}`]: 'InferenceEvent' };
    const inner = await KafkaEventLog.connect({ brokers: external ?? mock!.brokers, clientId: 'edgelat-confluent-wire-test', retries: 3, ...(external ? {} : MOCK_GROUP_TIMEOUTS) });
    try {
      const log = new ConfluentWireEventLog(inner, { client: new HttpSchemaRegistryClient(stub.url), kindOfTopic: (t) => kinds[t] ?? null });
      const samples = sampleRecords();
      const originals = new Map<string, Buffer>();
      for (const [topic, kind] of Object.entries(kinds)) {
        await log.ensureTopic(topic, 2);
        const s = samples.find((x) => x.kind === kind)!;
        originals.set(topic, codecFor(kind).encode(s.value as never));
        await log.produce(topic, [{ key: s.key, value: originals.get(topic)! }]);
        await log.seal(topic);
      }
      const consumer = await log.consumer(`cw-${suffix}`, Object.keys(kinds));
      const got: LogRecord[] = [];
      const deadline = Date.now() + 30_000;
      while (got.length < 2 && Date.now() < deadline) got.push(...(await consumer.poll(10)).records);
      await consumer.close();
      got.sort((a, b) => a.topic.localeCompare(b.topic));
      expect(got.map((r) => [r.topic, r.value])).toEqual([...originals.entries()].sort(([a], [b]) => a.localeCompare(b)));
      for (const r of got) {
        const [stored] = await inner.read({ topic: r.topic, partition: r.partition }, r.offset, r.offset + 1);
        const id = stub.subjects.get(`${r.topic}-value`)![0]!;
        expect(stored!.value).toEqual(confluent(id, originals.get(r.topic)!.subarray(10)));
        expect(codecFor(kinds[r.topic]!).decode(r.value).ok).toBe(true);
      }
    } finally {
      await inner.close();
    }
  }, 90_000);
});
