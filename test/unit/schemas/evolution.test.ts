import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  codecFor,
  ConfluentFraming,
  createEvolvingDecoder,
  createLongAwareType,
  decodeEvolved,
  HttpSchemaRegistryClient,
  InMemorySchemaRegistry,
  loadSchema,
  parseSchemaText,
  SCHEMA_REGISTRY_CONTENT_TYPE,
  schemaFingerprint,
  SchemaRegistryError,
  schemaRegistryFromEnv,
  singleObjectHeader,
  UnknownSchemaIdError,
  WriterSchemaRegistry,
  type LoadSample,
} from '../../../schemas/index.ts';

const fixture = (rel: string): string => readFileSync(new URL(`../../fixtures/${rel}`, import.meta.url), 'utf8');

interface C11Input {
  schema_registry: Record<string, object>;
  messages: { kafka_offset: number; value_hex: string }[];
}
const c11 = JSON.parse(fixture('cases/C11.json')) as C11Input;
const v0Schema = JSON.parse(fixture('avro/load-sample.v0.avsc')) as { fields: { name: string }[] } & object;

const T0 = Date.UTC(2024, 5, 1, 12, 0, 0); // 1717243200000
const sample: LoadSample = {
  edge_server_id: 'edge-07',
  ts: T0,
  cpu_util: 0.42,
  gpu_util: 0.87,
  mem_util: 0.61,
  queue_depth: 9,
  concurrency: 4,
  requests_per_s: 173.5,
  temperature_c: 71.5,
  power_w: 14.2,
};
const { temperature_c: _t, power_w: _p, ...v0Value } = sample;

/** Single-object Avro written with `schema` (its own fingerprint). */
function singleObject(schema: object, value: object): Buffer {
  return Buffer.concat([singleObjectHeader(schemaFingerprint(schema)), createLongAwareType(schema).toBuffer(value)]);
}

describe('C11: confluent framing, registry ids 101 (v1) and 102 (v2), reader v2', () => {
  it('reads all three messages through schema resolution with no errors', async () => {
    const registry = new InMemorySchemaRegistry(c11.schema_registry);
    const framing = new ConfluentFraming(registry, { readerSchemas: { LoadSample: c11.schema_registry['102']! } });
    const results = [];
    for (const m of c11.messages) results.push(await framing.decode('LoadSample', Buffer.from(m.value_hex, 'hex')));
    expect(c11.messages.map((m) => m.kafka_offset)).toEqual([0, 1, 2]);
    expect(results).toEqual([
      { ok: true, value: { server_id: 'edge-a', ts: 1717243200000, gpu_util: 0.5, queue_depth: null } },
      { ok: true, value: { server_id: 'edge-a', ts: 1717243201000, gpu_util: 0.625, queue_depth: 7 } },
      { ok: true, value: { server_id: 'edge-b', ts: 1717243202000, gpu_util: 0.75, queue_depth: null } },
    ]);
    expect(new Date(1717243200000).toISOString()).toBe('2024-06-01T12:00:00.000Z');
  });

  it('fetches each writer schema once (cached by id)', async () => {
    const registry = new InMemorySchemaRegistry(c11.schema_registry);
    const ids: number[] = [];
    const counting = { getSchema: (id: number) => (ids.push(id), registry.getSchema(id)), register: registry.register.bind(registry) };
    const framing = new ConfluentFraming(counting, { readerSchemas: { LoadSample: c11.schema_registry['102']! } });
    for (const m of c11.messages) expect((await framing.decode('LoadSample', Buffer.from(m.value_hex, 'hex'))).ok).toBe(true);
    expect(ids).toEqual([101, 102]);
  });

  it('shows the fault: decoding v1 bytes as v2 without a resolver fails', () => {
    const body = Buffer.from(c11.messages[0]!.value_hex, 'hex').subarray(5);
    expect(() => createLongAwareType(c11.schema_registry['102']!).fromBuffer(body)).toThrow();
  });
});

describe('evolving decoder (single-object avro, writer found by fingerprint)', () => {
  const registry = new WriterSchemaRegistry();
  registry.register('LoadSample', v0Schema);
  const newer = loadSchema('LoadSample') as { fields: object[] };
  const newerSchema = { ...newer, fields: [...newer.fields, { name: 'fan_rpm', type: 'int', default: 0 }] };
  registry.register('LoadSample', newerSchema);
  const decoder = createEvolvingDecoder('LoadSample', { registry });

  it('reads an older version (v0 fixture) into the current LoadSample; added optional fields are null', () => {
    expect(v0Schema.fields.map((f) => f.name)).not.toContain('temperature_c');
    const bytes = singleObject(v0Schema, v0Value);
    expect(bytes.subarray(2, 10)).not.toEqual(codecFor('LoadSample').fingerprint);
    expect(codecFor('LoadSample').decode(bytes).ok).toBe(false); // unchanged for existing callers
    expect(decoder.decode(bytes)).toEqual({ ok: true, value: { ...v0Value, temperature_c: null, power_w: null } });
    expect(decodeEvolved('LoadSample', bytes, registry)).toEqual({ ok: true, value: { ...v0Value, temperature_c: null, power_w: null } });
  });

  it('reads a newer version (extra field with a default) into the current LoadSample; the field is dropped', () => {
    const bytes = singleObject(newerSchema, { ...sample, fan_rpm: 3200 });
    expect(decoder.decode(bytes)).toEqual({ ok: true, value: sample });
  });

  it('reads the current version and JSON exactly like codecFor(kind).decode', () => {
    const codec = codecFor('LoadSample');
    expect(decoder.decode(codec.encode(sample))).toEqual({ ok: true, value: sample });
    expect(decoder.decode(codec.encodeJson(sample))).toEqual(codec.decode(codec.encodeJson(sample)));
  });

  it('applies the same validation to resolved records', () => {
    const result = decoder.decode(singleObject(v0Schema, { ...v0Value, gpu_util: 1.5 }));
    expect(result).toMatchObject({ ok: false, path: 'gpu_util' });
  });

  it('reports an unknown fingerprint with the same failure as today, naming it', () => {
    const bytes = Buffer.concat([singleObjectHeader(Buffer.from('0102030405060708', 'hex')), Buffer.from([0])]);
    const result = decoder.decode(bytes);
    expect(result).toEqual(codecFor('LoadSample').decode(bytes));
    expect(result).toMatchObject({ ok: false, path: '' });
    expect(result.ok ? '' : result.reason).toContain('"0102030405060708"');
  });

  it('does not read another kind\'s version as this kind', () => {
    const bytes = codecFor('LateEvent').fingerprint;
    const result = decoder.decode(Buffer.concat([singleObjectHeader(bytes), Buffer.from([0])]));
    expect(result.ok ? '' : result.reason).toContain('LateEvent');
  });

  it('rejects a fingerprint registered for two kinds', () => {
    expect(() => registry.register('InferenceEvent', v0Schema)).toThrow(RangeError);
    expect(registry.versions('LoadSample')).toHaveLength(3);
  });
});

describe('named types match by unqualified name (Avro 1.11 "Schema Resolution")', () => {
  it('reads a writer that is the same record in another namespace, and refuses one with another name', () => {
    const registry = new WriterSchemaRegistry();
    const current = loadSchema('LoadSample') as { name: string; namespace?: string; fields: object[] };
    const elsewhere = { ...current, namespace: 'com.example.telemetry', fields: [...current.fields, { name: 'fan_rpm', type: 'int', default: 0 }] };
    const renamed = { ...elsewhere, name: 'ServerLoad' };
    registry.register('LoadSample', elsewhere);
    registry.register('LoadSample', renamed);
    const decoder = createEvolvingDecoder('LoadSample', { registry });
    expect(current.namespace).not.toBe('com.example.telemetry');
    // avsc compared full names, so this went to the dead-letter queue: "no alias found for com.example.telemetry.loadsample".
    expect(decoder.decode(singleObject(elsewhere, { ...sample, fan_rpm: 3200 }))).toEqual({ ok: true, value: sample });
    const other = decoder.decode(singleObject(renamed, { ...sample, fan_rpm: 3200 }));
    expect(other).toMatchObject({ ok: false, path: '' });
    expect(other.ok ? '' : other.reason).toContain('no alias found for com.example.telemetry.ServerLoad');
  });
});

describe('writer schemas with long defaults beyond 2^53 (a trial: a registry writer schema\'s Long.MAX_VALUE default crashed pipeline run)', () => {
  it('registers such a writer schema as text and reads its records; a default beyond int64 is refused naming the number', () => {
    const registry = new WriterSchemaRegistry();
    const current = loadSchema('LoadSample') as { fields: object[] };
    const text = JSON.stringify({ ...current, fields: [...current.fields, { name: 'seq', type: 'long', default: 7 }] }).replace('"default":7', '"default":9223372036854775807');
    registry.register('LoadSample', text);
    const parsed = parseSchemaText(text) as object;
    registry.register('LoadSample', parsed);
    const decoder = createEvolvingDecoder('LoadSample', { registry });
    expect(decoder.decode(singleObject(parsed, { ...sample, seq: 2n ** 60n }))).toEqual({ ok: true, value: sample });
    const beyond = text.replace('9223372036854775807', '9223372036854775808');
    expect(() => registry.register('LoadSample', beyond)).toThrow('the number 9223372036854775808 in the schema is outside the long range −2^63..2^63−1');
  });
});

describe('ConfluentFraming with the in-memory registry', () => {
  it('round-trips encode -> decode with the current LoadSample under subject <topic>-value', async () => {
    const registry = new InMemorySchemaRegistry();
    const framing = new ConfluentFraming(registry);
    const bytes = await framing.encode('LoadSample', sample, 'edge.load.v1');
    expect(bytes[0]).toBe(0);
    const id = bytes.readUInt32BE(1);
    expect(registry.subjects.get('edge.load.v1-value')).toEqual([id]);
    expect(await framing.decode('LoadSample', bytes)).toEqual({ ok: true, value: sample });
    expect((await framing.encode('LoadSample', sample, 'edge.load.v1')).readUInt32BE(1)).toBe(id);
  });

  it('reads an old writer version registered under another id into the current schema', async () => {
    const registry = new InMemorySchemaRegistry({ 7: v0Schema });
    const body = createLongAwareType(v0Schema).toBuffer(v0Value);
    const bytes = Buffer.concat([Buffer.from([0, 0, 0, 0, 7]), body]);
    expect(await new ConfluentFraming(registry).decode('LoadSample', bytes)).toEqual({ ok: true, value: { ...v0Value, temperature_c: null, power_w: null } });
  });

  it('reports an unknown schema id and a bad header as {ok:false}, naming the id', async () => {
    const framing = new ConfluentFraming(new InMemorySchemaRegistry(c11.schema_registry));
    const unknown = await framing.decode('LoadSample', Buffer.from('00000003e70c', 'hex'));
    expect(unknown).toMatchObject({ ok: false, path: '' });
    expect(unknown.ok ? '' : unknown.reason).toContain('unknown schema id 999');
    const bad = await framing.decode('LoadSample', Buffer.from('c301', 'hex'));
    expect(bad.ok ? '' : bad.reason).toContain('expected confluent framing');
  });

  it('refuses to encode an invalid record', async () => {
    await expect(new ConfluentFraming(new InMemorySchemaRegistry()).encode('LoadSample', { ...sample, gpu_util: 2 }, 't')).rejects.toThrow(/gpu_util/);
  });
});

describe('HttpSchemaRegistryClient against a local REST stub', () => {
  const requests: { method: string; url: string; contentType: string | undefined; body: string }[] = [];
  const stored = new Map<number, string>([[101, JSON.stringify(c11.schema_registry['101'])]]);
  let server: Server;
  let url = '';

  const readBody = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const body = await readBody(req);
      requests.push({ method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], body });
      res.setHeader('content-type', SCHEMA_REGISTRY_CONTENT_TYPE);
      const byId = /^\/schemas\/ids\/(\d+)$/.exec(req.url ?? '');
      if (req.method === 'GET' && byId) {
        const schema = stored.get(Number(byId[1]));
        res.statusCode = schema ? 200 : 404;
        res.end(JSON.stringify(schema ? { schema } : { error_code: 40403, message: 'Schema not found' }));
        return;
      }
      if (req.method === 'POST' && /^\/subjects\/[^/]+\/versions$/.test(req.url ?? '') && !req.url!.startsWith('/subjects/boom')) {
        const schema = (JSON.parse(body) as { schema: string }).schema;
        const id = [...stored].find(([, s]) => s === schema)?.[0] ?? 200 + stored.size;
        stored.set(id, schema);
        res.end(JSON.stringify({ id }));
        return;
      }
      res.statusCode = 500;
      res.end(JSON.stringify({ error_code: 50001, message: 'boom' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('gets a schema by id and registers under <topic>-value with the documented requests', async () => {
    const client = new HttpSchemaRegistryClient(url);
    expect(await client.getSchema(101)).toEqual(c11.schema_registry['101']);
    expect(requests.at(-1)).toMatchObject({ method: 'GET', url: '/schemas/ids/101' });

    const framing = new ConfluentFraming(client);
    const bytes = await framing.encode('LoadSample', sample, 'edge.load.v1');
    const post = requests.at(-1)!;
    expect(post).toMatchObject({ method: 'POST', url: '/subjects/edge.load.v1-value/versions', contentType: SCHEMA_REGISTRY_CONTENT_TYPE });
    expect(JSON.parse((JSON.parse(post.body) as { schema: string }).schema)).toEqual(loadSchema('LoadSample'));
    expect(await framing.decode('LoadSample', bytes)).toEqual({ ok: true, value: sample });
    expect(requests.at(-1)).toMatchObject({ method: 'GET', url: `/schemas/ids/${bytes.readUInt32BE(1)}` });
  });

  it('maps 404 to UnknownSchemaIdError ({ok:false} in decode) and 5xx to a retriable SchemaRegistryError', async () => {
    const client = new HttpSchemaRegistryClient(url);
    await expect(client.getSchema(404)).rejects.toBeInstanceOf(UnknownSchemaIdError);
    const result = await new ConfluentFraming(client).decode('LoadSample', Buffer.from('0000000194', 'hex'));
    expect(result.ok ? '' : result.reason).toContain('unknown schema id 404');
    const err = await client.register('boom', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaRegistryError);
    expect((err as SchemaRegistryError).retriable).toBe(true);
  });

  it('is chosen from EDGELAT_SCHEMA_REGISTRY_URL', () => {
    expect(schemaRegistryFromEnv({ EDGELAT_SCHEMA_REGISTRY_URL: url })).toBeInstanceOf(HttpSchemaRegistryClient);
    expect(schemaRegistryFromEnv({})).toBeNull();
  });
});
