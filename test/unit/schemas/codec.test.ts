import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import {
  codecFor,
  codecs,
  createLongAwareType,
  longType,
  rabinFingerprint,
  rabinFingerprint64,
  readWithWriterSchema,
  toJsonText,
  type CorrelationUpdate,
  type DeadLetter,
  type EnrichedInference,
  type InferenceEvent,
  type LateEvent,
  type LoadSample,
  type RecordKind,
} from '../../../schemas/index.ts';
import { readZigZagVarint, writeZigZagVarint } from '../../../schemas/long.ts';
import { checkSemantics } from '../../../schemas/validate.ts';
import { firstInvalidUtf8 } from '../../../schemas/utf8.ts';
import { isUtf8 } from 'node:buffer';

const T0 = Date.UTC(2024, 5, 1, 12, 0, 0, 123); // 1717243200123

const inference: InferenceEvent = {
  event_id: 'ev-7f3a-0001',
  request_id: 'req-19c2',
  ts: T0,
  edge_server_id: 'edge-07',
  device_id: 'cam-0042',
  model_id: 'yolov8n',
  model_version: '2024.05.2',
  chip: 'jetson-orin-nx',
  runtime: 'tensorrt-8.6',
  batch_size: 4,
  input_bytes: 1_228_800,
  queue_ms: 3.25,
  io_ms: 1.5,
  compute_ms: 18.75,
  total_ms: 23.5,
  status: 'ok',
  deployment_id: 'dep-2024-06-01-a',
  role: 'production',
};
const load: LoadSample = {
  edge_server_id: 'edge-07',
  ts: T0 - 123,
  cpu_util: 0.42,
  gpu_util: 0.87,
  mem_util: 0.61,
  queue_depth: 9,
  concurrency: 4,
  requests_per_s: 173.5,
  temperature_c: 71.5,
  power_w: 14.2,
};
const enriched: EnrichedInference = {
  ...inference,
  cpu_util: 0.42,
  gpu_util: 0.87,
  mem_util: 0.61,
  queue_depth: 9,
  concurrency: 4,
  requests_per_s: 173.5,
  matched: true,
  load_ts: T0 - 123,
  load_age_ms: 123,
};
const unmatched: EnrichedInference = {
  ...inference,
  deployment_id: null,
  role: 'shadow',
  cpu_util: null,
  gpu_util: null,
  mem_util: null,
  queue_depth: null,
  concurrency: null,
  requests_per_s: null,
  matched: false,
  load_ts: null,
  load_age_ms: null,
};
const correlation: CorrelationUpdate = {
  scope: 'server×model×chip',
  edge_server_id: 'edge-07',
  model_id: 'yolov8n',
  chip: 'jetson-orin-nx',
  window_start: T0 - 60_000,
  window_end: T0,
  x_metric: 'gpu_util',
  y_metric: 'total_ms',
  n: 412,
  pearson_r: 0.83,
  ci_low: 0.8,
  ci_high: 0.857,
  slope: 41.2,
  intercept: -6.5,
  p_value: 1.2e-9,
  null_reason: null,
  alert_state: 'firing',
};
const undefinedCorrelation: CorrelationUpdate = {
  ...correlation,
  scope: 'server',
  model_id: null,
  chip: null,
  n: 2,
  pearson_r: null,
  ci_low: null,
  ci_high: null,
  slope: null,
  intercept: null,
  p_value: null,
  null_reason: 'n_lt_3',
  alert_state: 'none',
};
const deadLetter: DeadLetter = {
  topic: 'edge.inference.v1',
  partition: 3,
  offset: 104_857,
  key_b64: Buffer.from('edge-07').toString('base64'),
  raw_b64: Buffer.from([0xde, 0xad, 0xbe, 0xef]).toString('base64'),
  error: 'unrecognised encoding: first bytes "deadbeef"',
  path: '',
  consumer_group: 'edgelat-join',
  ts: T0,
};
const lateEvent: LateEvent = {
  topic: 'edge.inference.v1',
  partition: 0,
  offset: 11,
  ts: T0 - 11_000,
  watermark: T0 - 2_000,
  operator: 'join-load-latency',
  edge_server_id: 'edge-05',
  record_json: '{"event_id":"ev-11","total_ms":80}',
};

const shadowResult = {
  event_id: 'sh-1', request_id: 'req-42-7', ts: 1717236005123, request_ts: 1717236002000, edge_server_id: 'edge-03', device_id: 'edge-03-shadow0',
  model_id: 'resnet50', model_version: 'v2', chip: 'hailo-8', runtime: 'hailort', queue_ms: 0.5, io_ms: 1.25, compute_ms: 6.5, total_ms: 8.25, status: 'ok', deployment_id: 'shadow-7',
};
const shadowVerdict = {
  edge_server_id: 'edge-03', model_id: 'resnet50', production_chip: 'jetson-orin', production_version: 'v1', shadow_chip: 'hailo-8', shadow_version: 'v2',
  window_start: 1717236000000, window_end: 1717236300000, pairs: 812, unpaired_production: 203, unpaired_shadow: 1,
  production_p50_ms: 9.5, production_p90_ms: 14.25, production_p99_ms: 30.5, shadow_p50_ms: 7.75, shadow_p90_ms: 11.5, shadow_p99_ms: 22.25,
  ratio: 0.8125, ratio_ci_low: 0.79, ratio_ci_high: 0.835, confidence: 0.95, wilcoxon_w_plus: 10234.5, wilcoxon_p: 1.5e-40, tolerance: 0.1,
  verdict: 'BETTER', slo_p99_ms: 50, shadow_meets_slo: true, failed_pairs: 4,
};

const roundTrips: Array<[string, RecordKind, unknown]> = [
  ['InferenceEvent, deployment_id set', 'InferenceEvent', inference],
  ['InferenceEvent, deployment_id null, timeout', 'InferenceEvent', { ...inference, deployment_id: null, status: 'timeout', role: 'shadow' }],
  ['LoadSample, optional fields set', 'LoadSample', load],
  ['LoadSample, optional fields null', 'LoadSample', { ...load, temperature_c: null, power_w: null, queue_depth: 0, cpu_util: 0, gpu_util: 1 }],
  ['LoadSample at absolute zero, drawing 0 W', 'LoadSample', { ...load, temperature_c: -273.15, power_w: 0 }],
  ['EnrichedInference, matched', 'EnrichedInference', enriched],
  ['EnrichedInference, unmatched (all nulls)', 'EnrichedInference', unmatched],
  ['CorrelationUpdate, defined', 'CorrelationUpdate', correlation],
  ['CorrelationUpdate, undefined statistics', 'CorrelationUpdate', undefinedCorrelation],
  ['DeadLetter, key set', 'DeadLetter', deadLetter],
  ['DeadLetter, key null', 'DeadLetter', { ...deadLetter, key_b64: null }],
  ['LateEvent', 'LateEvent', lateEvent],
  ['ShadowResult', 'ShadowResult', shadowResult],
  ['ShadowVerdict, decided', 'ShadowVerdict', shadowVerdict],
  ['ShadowVerdict, too few pairs (nulls)', 'ShadowVerdict', {
    ...shadowVerdict, pairs: 3, production_p50_ms: null, production_p90_ms: null, production_p99_ms: null, shadow_p50_ms: null, shadow_p90_ms: null, shadow_p99_ms: null,
    ratio: null, ratio_ci_low: null, ratio_ci_high: null, wilcoxon_w_plus: null, wilcoxon_p: null, verdict: 'INCONCLUSIVE', slo_p99_ms: null, shadow_meets_slo: null,
  }],
];

describe('round trip', () => {
  it.each(roundTrips)('%s: single-object avro', (_name, kind, value) => {
    const codec = codecFor(kind) as { encode(v: unknown): Buffer; decode(b: Buffer): unknown; fingerprint: Buffer };
    const bytes = codec.encode(value);
    expect([...bytes.subarray(0, 2)]).toEqual([0xc3, 0x01]);
    expect(bytes.subarray(2, 10)).toEqual(codec.fingerprint);
    expect(codec.decode(bytes)).toEqual({ ok: true, value });
  });

  it.each(roundTrips)('%s: json', (_name, kind, value) => {
    const codec = codecFor(kind) as { encodeJson(v: unknown): Buffer; decode(b: Buffer): unknown };
    const bytes = codec.encodeJson(value);
    expect(bytes.toString('utf8').startsWith('{')).toBe(true);
    expect(codec.decode(bytes)).toEqual({ ok: true, value });
    expect(codec.decode(Buffer.from(`\n  ${bytes.toString('utf8')}  `))).toEqual({ ok: true, value });
  });

  it('fills a missing nullable field from its default and ignores unknown properties in json', () => {
    const { deployment_id: _omitted, ...rest } = inference;
    const json = Buffer.from(JSON.stringify({ ...rest, extra_field: 1 }));
    expect(codecs.InferenceEvent.decode(json)).toEqual({ ok: true, value: { ...inference, deployment_id: null } });
  });

  it('throws a non-retriable error when asked to encode an invalid record', () => {
    expect(() => codecs.LoadSample.encode({ ...load, gpu_util: 1.7 })).toThrow(/cannot encode LoadSample: gpu_util: value 1.7 is outside \[0, 1\]/);
  });
});

describe('C10: avro long beyond 2^53 and safe negatives decode exactly', () => {
  const c10 = JSON.parse(readFileSync(new URL('../../fixtures/cases/C10.json', import.meta.url), 'utf8')) as {
    writer_schema: object;
    messages: Array<{ kafka_offset: number; avro_body_hex: string }>;
  };
  const expected = [
    { request_seq: -4503599627370497, ts: 1717243200123, ts_ns: 1717243200123456789n, latency_ms: 87.25 },
    { request_seq: 9007199254740993n, ts: 1717243200456, ts_ns: 1717243200456000001n, latency_ms: 91.5 },
    { request_seq: 42, ts: 1717243201000, ts_ns: 1717243201000000000n, latency_ms: 12 },
  ];

  it.each(c10.messages.map((m, i) => [m.kafka_offset, m.avro_body_hex, expected[i]!] as const))(
    'offset %i',
    (_offset, hex, want) => {
      const result = readWithWriterSchema(c10.writer_schema, Buffer.from(hex, 'hex'));
      expect(result).toEqual({ ok: true, value: want });
      if (!result.ok) return;
      expect(typeof result.value.request_seq).toBe(typeof want.request_seq);
      expect(new Date(result.value.ts as number).toISOString().startsWith('2024-06-01T12:00:0')).toBe(true);
      // Re-encoding gives back the Java producer's bytes exactly.
      expect(createLongAwareType(c10.writer_schema).toBuffer(result.value).toString('hex')).toBe(hex);
    },
  );

  it('documents the bug: the default avsc long decodes offset 0 request_seq as +2^52', () => {
    const plain = avro.Type.forSchema({ type: 'record', name: 'S', fields: [{ name: 'request_seq', type: 'long' }] });
    expect(plain.decode(Buffer.from(c10.messages[0]!.avro_body_hex, 'hex'), 0).value.request_seq).toBe(4503599627370496);
  });
});

describe('an Avro int beyond 32 bits (C10 kind: avsc reads any varint as an int)', () => {
  /** Single-object bytes of `kind` whose int fields were written as longs (a writer that does not check its ints). */
  const withLongInts = (kind: RecordKind, value: Record<string, unknown>): Buffer => {
    const codec = codecFor(kind);
    const schema = JSON.parse(JSON.stringify(codec.type.schema()).replace(/"int"/g, '"long"')) as object;
    return Buffer.concat([Buffer.from([0xc3, 0x01]), codec.fingerprint, createLongAwareType(schema).toBuffer(value)]);
  };

  it('refuses it naming the field and the value, where it was stored wrapped and failed the join (a trial)', () => {
    const big = withLongInts('InferenceEvent', { ...inference, batch_size: 2 ** 40 });
    expect(codecFor('InferenceEvent').decode(big)).toEqual({ ok: false, path: 'batch_size', reason: 'batch_size: value 1099511627776 is outside the Avro int range -2147483648..2147483647 (its varint is a long\'s)' });
    expect(codecFor('LoadSample').decode(withLongInts('LoadSample', { ...load, concurrency: 2 ** 32 }))).toMatchObject({ ok: false, path: 'concurrency' });
    expect(codecFor('LoadSample').decode(withLongInts('LoadSample', { ...load, queue_depth: -(2 ** 31) - 1 }))).toMatchObject({ ok: false, path: 'queue_depth' });
    // A union with int (an enriched record's queue_depth), and the int range's own ends still read.
    expect(codecFor('EnrichedInference').decode(withLongInts('EnrichedInference', { ...enriched, queue_depth: 2 ** 40 + 7 }))).toMatchObject({ ok: false, path: 'queue_depth' });
    expect(codecFor('LoadSample').decode(withLongInts('LoadSample', { ...load, queue_depth: 2 ** 31 - 1 }))).toEqual({ ok: true, value: { ...load, queue_depth: 2 ** 31 - 1 } });
  });
});

describe('exact long varints', () => {
  it('avsc registry alone misses {type: long, logicalType}; createLongAwareType covers it', () => {
    const schema = { type: 'record', name: 'T', fields: [{ name: 'ts', type: { type: 'long', logicalType: 'timestamp-millis' } }] };
    const body = writeZigZagVarint(1717243200123456789n);
    expect(() => avro.Type.forSchema(schema as avro.Schema, { registry: { long: longType } }).fromBuffer(body)).toThrow(/precision/);
    expect(createLongAwareType(schema).fromBuffer(body)).toEqual({ ts: 1717243200123456789n });
  });

  const cases: Array<number | bigint> = [
    0, -1, 1, 63, -64, 64, 2 ** 31, -(2 ** 31) - 1, 2 ** 52 - 1, -(2 ** 52), -(2 ** 52) - 1, 2 ** 52 + 1,
    Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 9007199254740992n, -9007199254740993n,
    2n ** 63n - 1n, -(2n ** 63n),
  ];
  const reference = (v: bigint): string => {
    let z = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
    const out: number[] = [];
    do {
      const b = Number(z & 0x7fn);
      z >>= 7n;
      out.push(z > 0n ? b | 0x80 : b);
    } while (z > 0n);
    return Buffer.from(out).toString('hex');
  };
  it.each(cases.map((v) => [String(v), v] as const))('%s encodes like the spec and decodes exactly', (_s, v) => {
    const bytes = writeZigZagVarint(v);
    expect(bytes.toString('hex')).toBe(reference(BigInt(v)));
    const back = readZigZagVarint(bytes);
    expect(BigInt(back)).toBe(BigInt(v));
    expect(typeof back).toBe(Number.isSafeInteger(Number(v)) && BigInt(Number(v)) === BigInt(v) ? 'number' : 'bigint');
  });
  it('rejects a varint above 64 bits', () => {
    expect(() => readZigZagVarint(Buffer.from('ffffffffffffffffff7f', 'hex'))).toThrow(RangeError);
  });
});

describe('CRC-64-AVRO (Rabin) fingerprints', () => {
  // Apache Avro share/test/data/schema-tests.txt, as Java signed longs.
  const vectors: Array<[string, bigint]> = [
    ['"null"', 7195948357588979594n],
    ['"boolean"', -6970731678124411036n],
    ['"int"', 8247732601305521295n],
    ['"long"', -3434872931120570953n],
    ['"string"', -8142146995180207161n],
    ['{"name":"foo","type":"fixed","size":15}', 1756455273707447556n],
    ['{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"}]}', 7843277075252814651n],
  ];
  it.each(vectors)('%s', (canonical, signed) => {
    const fp = rabinFingerprint(canonical);
    expect(fp.length).toBe(8);
    expect(fp.readBigInt64LE()).toBe(signed);
  });

  const bitByBit = (bytes: Uint8Array): bigint => {
    const EMPTY = 0xc15d213aa4d7a795n;
    let fp = EMPTY;
    for (const b of bytes) {
      fp ^= BigInt(b);
      for (let k = 0; k < 8; k++) fp = (fp >> 1n) ^ ((fp & 1n) === 1n ? EMPTY : 0n);
    }
    return fp;
  };
  it('table-driven matches a bit-by-bit implementation', () => {
    const inputs = ['', 'a', 'hello world', '"null"', 'é×€😀', ...Object.values(codecs).map((c) => c.canonicalForm)];
    for (const s of inputs) expect(rabinFingerprint64(Buffer.from(s, 'utf8'))).toBe(bitByBit(Buffer.from(s, 'utf8')));
  });
  it('uses the parsing canonical form (full name, no doc/default/logicalType) and is stable', () => {
    const c = codecs.InferenceEvent;
    expect(c.canonicalForm.startsWith('{"name":"edgelat.InferenceEvent","type":"record","fields":[{"name":"event_id","type":"string"},')).toBe(true);
    expect(c.canonicalForm).toContain('{"name":"ts","type":"long"}');
    expect(c.canonicalForm).toContain('{"name":"deployment_id","type":["null","string"]}');
    expect(c.canonicalForm).not.toMatch(/doc|default|logicalType|namespace/);
    expect(c.fingerprint).toEqual(rabinFingerprint(c.canonicalForm));
    expect(new Set(Object.values(codecs).map((x) => x.fingerprint.toString('hex'))).size).toBe(Object.keys(codecs).length);
  });
});

const ie = codecs.InferenceEvent;
const framed = (kind: RecordKind, record: object): Buffer =>
  Buffer.concat([Buffer.from([0xc3, 0x01]), codecFor(kind).fingerprint, codecFor(kind).type.toBuffer(record)]);
const json = (o: object): Buffer => Buffer.from(toJsonText(o));
const withoutServer = (() => {
  const { edge_server_id: _x, ...rest } = inference;
  return rest;
})();
const good = ie.encode(inference);

const invalid: Array<[string, RecordKind, Buffer, string, string[]]> = [
  ['garbage bytes', 'InferenceEvent', Buffer.from([0xde, 0xad, 0xbe, 0xef]), '', ['unrecognised encoding', '"deadbeef"']],
  ['empty buffer', 'InferenceEvent', Buffer.alloc(0), '', ['empty message', '""']],
  ['blank text', 'InferenceEvent', Buffer.from('  \n'), '', ['blank message']],
  ['json array', 'InferenceEvent', Buffer.from('[1,2]'), '', ['unrecognised encoding', '"5b312c325d"']],
  ['confluent framing', 'InferenceEvent', Buffer.from('000000006502', 'hex'), '', ['confluent', 'schema id 101', 'is read only through a schema registry: set EDGELAT_SCHEMA_REGISTRY_URL', 'then redrive it', '"000000006502"']],
  // A trial: garbage starting 00 was called confluent framing "(schema id 4294862689)"; a registry's ids are positive 32-bit ints.
  ['00 then no schema id', 'InferenceEvent', Buffer.from('00fffe6701', 'hex'), '', ['unrecognised encoding', '"00fffe6701"']],
  ['00 then schema id 0', 'InferenceEvent', Buffer.from('0000000000aa', 'hex'), '', ['unrecognised encoding']],
  // The field the body ends in is named (a trial: a negative string length named none).
  ['truncated avro (last 3 bytes cut)', 'InferenceEvent', good.subarray(0, good.length - 3), 'role', ['role (from byte ', 'truncated avro body']],
  // A trial: a header alone read "truncated avro body: 0 bytes end inside the record; last bytes \"\"".
  ['single-object header alone', 'InferenceEvent', good.subarray(0, 10), '', ['empty avro body: the record is its header alone']],
  ['header only', 'InferenceEvent', good.subarray(0, 6), '', ['truncated single-object header', `"${good.subarray(0, 6).toString('hex')}"`]],
  ['trailing bytes', 'InferenceEvent', Buffer.concat([good, Buffer.from([0x00, 0x01])]), '', ['trailing bytes', '"0001"']],
  ['unknown fingerprint', 'InferenceEvent', Buffer.concat([Buffer.from('c3010102030405060708', 'hex'), good.subarray(10)]), '', ['unknown schema fingerprint', '"0102030405060708"']],
  ['another kind\'s fingerprint', 'InferenceEvent', codecs.LoadSample.encode(load), '', ['unknown schema fingerprint', 'fingerprint of LoadSample', `"${codecs.LoadSample.fingerprint.toString('hex')}"`]],
  ['json wrong type', 'InferenceEvent', json({ ...inference, total_ms: 'fast' }), 'total_ms', ['total_ms: value "fast" is not a double']],
  ['json missing required field', 'InferenceEvent', json(withoutServer), 'edge_server_id', ['edge_server_id: required field is missing']],
  ['json empty object', 'InferenceEvent', Buffer.from('{}'), 'event_id', ['event_id: required field is missing']],
  // The first problem in schema order: a wrong type before a missing field is named, not the missing one (a trial:
  // "gpu_util: required field is missing" for a load sample whose cpu_util was "high").
  ['json wrong type before a missing field', 'LoadSample', Buffer.from('{"edge_server_id":"edge-11","ts":1717236262000,"cpu_util":"high"}'), 'cpu_util', ['cpu_util: value "high" is not a double']],
  // A trial: the error named no field ("object value expected after ':' at position 255").
  ['json NaN (not json)', 'InferenceEvent', Buffer.from(toJsonText(inference).replace('"io_ms":1.5', '"io_ms": NaN')), 'io_ms', ['invalid json in the value of "io_ms": ', 'NaN']],
  // A re-test: an error past the value's first character, or inside a union's branch, named no field.
  ['json -Infinity', 'LoadSample', Buffer.from(toJsonText(load).replace('"temperature_c":71.5', '"temperature_c":-Infinity')), 'temperature_c', ['invalid json in the value of "temperature_c": ']],
  ['json number with two points', 'LoadSample', Buffer.from(toJsonText(load).replace('"cpu_util":0.42', '"cpu_util":0.4.2')), 'cpu_util', ['invalid json in the value of "cpu_util": ']],
  ['json NaN in a union branch', 'LoadSample', Buffer.from(toJsonText(load).replace('"power_w":14.2', '"power_w":{"double":NaN}')), 'power_w', ['invalid json in the value of "power_w": ']],
  ['json cut after a comma', 'InferenceEvent', Buffer.from(toJsonText(inference).slice(0, 40).replace(/,[^,]*$/, ',')), '', ['invalid json: ']],
  ['json trailing text', 'InferenceEvent', Buffer.from(`${toJsonText(inference)} x`), '', ['invalid json']],
  ['json ts beyond 2^53', 'InferenceEvent', Buffer.from(toJsonText({ ...inference, ts: 1717243200123456789n })), 'ts', ['ts: value 1717243200123456789 is not an epoch-milliseconds safe integer']],
  ['json ts zero', 'InferenceEvent', json({ ...inference, ts: 0 }), 'ts', ['ts: value 0 is outside the accepted event-time range']],
  ['json ts 1970 (clock reset)', 'InferenceEvent', json({ ...inference, ts: 120_000 }), 'ts', ['ts: value 120000 is outside the accepted event-time range']],
  ['json ts in microseconds', 'InferenceEvent', json({ ...inference, ts: 1717243200123000 }), 'ts', ['ts: value 1717243200123000 is outside']],
  // A trial: events of 2150 (DateTime64 holds them) wrapped in toDateTime: a 100-year TTL deleted them at once. The range ends at 2^32 s.
  ['json ts at 2^32 s (2106-02-07T06:28:16Z)', 'InferenceEvent', json({ ...inference, ts: 2 ** 32 * 1000 }), 'ts', ['ts: value 4294967296000 is outside the accepted event-time range [2000-01-01, 2106-02-07T06:28:16Z)']],
  ['json ts in 2150', 'LoadSample', json({ ...load, ts: Date.UTC(2150, 0, 1) }), 'ts', ['is outside the accepted event-time range']],
  ['json lone surrogate', 'InferenceEvent', Buffer.from(JSON.stringify({ ...inference }).replace('"edge_server_id":"', '"edge_server_id":"edge-\\ud800')), 'edge_server_id', ['is not well-formed unicode']],
  ['json ts fractional', 'InferenceEvent', json({ ...inference, ts: 1717243200123.5 }), 'ts', ['ts: value 1717243200123.5 is not a long']],
  ['json status not allowed', 'InferenceEvent', json({ ...inference, status: 'fine' }), 'status', ['status: value "fine" is not one of "ok", "error", "timeout"']],
  ['json role not allowed', 'InferenceEvent', json({ ...inference, role: 'canary' }), 'role', ['"canary"']],
  ['json empty event_id', 'InferenceEvent', json({ ...inference, event_id: '' }), 'event_id', ['event_id: value "" is empty']],
  // A trial: an empty request_id (what pairs a shadow with its production event) was stored, and would pair every such shadow with one request.
  ['json empty request_id', 'InferenceEvent', json({ ...inference, request_id: '' }), 'request_id', ['request_id: value "" is empty; a non-empty string is required']],
  // A trial: a 300,000-character device_id made a late event of 1.8 MB (its control characters escaped ×6).
  ['json device_id of 300,000 characters', 'InferenceEvent', json({ ...inference, device_id: '\u0001'.repeat(300_000) }), 'device_id', ['device_id: value "\\u0001', 'has 300000 characters, more than 256: not an id']],
  ['avro model_version of 257 characters', 'InferenceEvent', framed('InferenceEvent', { ...inference, model_version: 'v'.repeat(257) }), 'model_version', ['model_version: value "vvv', 'has 257 characters, more than 256: not an id']],
  // A control character makes another id that prints as this one (a trial: "bert\u0000-99" beside bert-99).
  ['json model_id holding NUL', 'InferenceEvent', json({ ...inference, model_id: 'bert\u0000-99' }), 'model_id', ['model_id: value "bert\\u0000-99" holds the control character U+0000: not an id']],
  ['avro chip holding DEL', 'InferenceEvent', framed('InferenceEvent', { ...inference, chip: 'orin\u007f' }), 'chip', ['chip: value "orin\\u007f" holds the control character U+007F: not an id']],
  // The rest of the id rule: blanks around, a character that does not show, a bidirectional mark (a re-test: stored).
  ['json model_id with a trailing blank', 'InferenceEvent', json({ ...inference, model_id: 'bert-99 ' }), 'model_id', ['model_id: value "bert-99 " has blanks around it: not an id']],
  ['json model_id with a zero-width space', 'InferenceEvent', json({ ...inference, model_id: 'bert-99\u200b' }), 'model_id', ['holds U+200B, a character that does not show: not an id']],
  ['avro edge_server_id with an override', 'InferenceEvent', framed('InferenceEvent', { ...inference, edge_server_id: '\u202eedge-01' }), 'edge_server_id', ['edge_server_id: value "\\u202eedge-01" holds U+202E, a bidirectional or line-separator mark: not an id']],
  // One text in two spellings (a trial: "édge" composed and decomposed were two servers that print alike).
  ['json edge_server_id decomposed', 'InferenceEvent', json({ ...inference, edge_server_id: 'e\u0301dge' }), 'edge_server_id', ['edge_server_id: value "e\u0301dge" is not in Unicode NFC (composed) form (the combining mark U+0301): its NFC form prints alike and is another id']],
  ['json batch_size 0', 'InferenceEvent', json({ ...inference, batch_size: 0 }), 'batch_size', ['batch_size: value 0 is not a safe integer >= 1']],
  ['json batch_size not an int', 'InferenceEvent', json({ ...inference, batch_size: 2.5 }), 'batch_size', ['batch_size: value 2.5 is not an int']],
  ['json negative input_bytes', 'InferenceEvent', json({ ...inference, input_bytes: -1 }), 'input_bytes', ['value -1']],
  ['json deployment_id wrong type', 'InferenceEvent', json({ ...inference, deployment_id: 7 }), 'deployment_id', ['deployment_id: value 7 is not null or a string']],
  ['avro negative io_ms', 'InferenceEvent', framed('InferenceEvent', { ...inference, io_ms: -3 }), 'io_ms', ['io_ms: value -3 is not a duration >= 0 ms']],
  ['avro NaN total_ms', 'InferenceEvent', framed('InferenceEvent', { ...inference, total_ms: NaN }), 'total_ms', ['total_ms: value NaN is not a finite number']],
  // A breaker trial: 1e308 passed and overflowed the windows' sums, blanking 5 minutes of correlations.
  ['json total_ms of 1e308', 'InferenceEvent', json({ ...inference, total_ms: 1e308 }), 'total_ms', ['total_ms: value 1e+308 is above one day (86400000 ms): not a request\'s duration (a unit other than ms?)']],
  ['avro compute_ms just above a day', 'InferenceEvent', framed('InferenceEvent', { ...inference, compute_ms: 86_400_000.5 }), 'compute_ms', ['compute_ms: value 86400000.5 is above one day']],
  ['json requests_per_s of 1e300', 'LoadSample', json({ ...load, requests_per_s: 1e300 }), 'requests_per_s', ['requests_per_s: value 1e+300 is above 1000000000 requests per second']],
  // A trial: 1e-170 passed, and its square underflowed, so the windows called a varying series constant (r null).
  ['json requests_per_s of 1e-170', 'LoadSample', json({ ...load, requests_per_s: 1e-170 }), 'requests_per_s', ['requests_per_s: value 1e-170 is not 0 and below 1e-100 in magnitude']],
  ['avro gpu_util of 5e-324', 'LoadSample', framed('LoadSample', { ...load, gpu_util: 5e-324 }), 'gpu_util', ['gpu_util: value 5e-324 is not 0 and below 1e-100']],
  ['json io_ms of 1e-101', 'InferenceEvent', json({ ...inference, io_ms: 1e-101 }), 'io_ms', ['io_ms: value 1e-101 is not 0']],
  ['avro ts beyond 2^53', 'InferenceEvent', framed('InferenceEvent', { ...inference, ts: 1717243200123456789n }), 'ts', ['ts: value 1717243200123456789 is not an epoch-milliseconds safe integer']],
  ['json util out of range', 'LoadSample', json({ ...load, gpu_util: 1.7 }), 'gpu_util', ['gpu_util: value 1.7 is outside [0, 1]']],
  ['json negative queue_depth', 'LoadSample', json({ ...load, queue_depth: -2 }), 'queue_depth', ['value -2']],
  // Every bad field named, not the first only (a trial: cpu_util 1.5 and queue_depth -1, only cpu_util named); path the first.
  ['json two bad fields', 'LoadSample', json({ ...load, cpu_util: 1.5, queue_depth: -1 }), 'cpu_util', ['cpu_util: value 1.5 is outside [0, 1] (a utilisation fraction); queue_depth: value -1 is not a safe integer >= 0']],
  ['json negative requests_per_s', 'LoadSample', json({ ...load, requests_per_s: -0.5 }), 'requests_per_s', ['requests_per_s: value -0.5 is not >= 0']],
  ['json overflowing double', 'LoadSample', Buffer.from(toJsonText(load).replace('"requests_per_s":173.5', '"requests_per_s":1e400')), 'requests_per_s', ['value Infinity is not a finite number']],
  ['json temperature wrong type', 'LoadSample', json({ ...load, temperature_c: 'hot' }), 'temperature_c', ['"hot"']],
  // A trial: a power draw of −100 W and −500 °C were stored as readings.
  ['json negative power_w', 'LoadSample', json({ ...load, power_w: -100 }), 'power_w', ['power_w: value -100 is not >= 0']],
  ['avro temperature below absolute zero', 'LoadSample', framed('LoadSample', { ...load, temperature_c: -500 }), 'temperature_c', ['temperature_c: value -500 is below absolute zero (-273.15 °C)']],
  ['json enriched util out of range', 'EnrichedInference', json({ ...enriched, cpu_util: -0.1 }), 'cpu_util', ['value -0.1']],
  ['json alert_state not allowed', 'CorrelationUpdate', json({ ...correlation, alert_state: 'panic' }), 'alert_state', ['"panic"']],
  ['json x_metric not allowed', 'CorrelationUpdate', json({ ...correlation, x_metric: 'disk_util' }), 'x_metric', ['"disk_util"']],
  // A trial: records like these passed decoding, fired an alert, and a null bound stopped alerts tail.
  ['json r above 1', 'CorrelationUpdate', json({ ...correlation, pearson_r: 7.5 }), 'pearson_r', ['pearson_r: value 7.5 is outside [-1, 1] (a correlation coefficient)']],
  ['json ci bounds beyond [-1, 1]', 'CorrelationUpdate', json({ ...correlation, ci_low: -3, ci_high: 99 }), 'ci_low', ['ci_low: value -3 is outside [-1, 1] (a correlation coefficient); ci_high: value 99 is outside [-1, 1]']],
  ['json ci upside down', 'CorrelationUpdate', json({ ...correlation, ci_low: 0.9, ci_high: 0.1 }), 'ci_low', ['ci_low: value 0.9 is above ci_high 0.1']],
  ['json p_value above 1', 'CorrelationUpdate', json({ ...correlation, p_value: 1.5 }), 'p_value', ['p_value: value 1.5 is outside [0, 1] (a probability)']],
  ['json window reversed', 'CorrelationUpdate', json({ ...correlation, window_start: correlation.window_end + 1 }), 'window_start', [`window_start: value ${correlation.window_end + 1} is after window_end ${correlation.window_end}`]],
  ['json scope not allowed', 'CorrelationUpdate', json({ ...correlation, scope: 'galaxy' }), 'scope', ['scope: value "galaxy" is not one of "server", "server×model", "server×model×chip"']],
  ['json negative offset', 'DeadLetter', json({ ...deadLetter, offset: -1 }), 'offset', ['offset: value -1']],
  ['json watermark beyond 2^53', 'LateEvent', Buffer.from(toJsonText({ ...lateEvent, watermark: 9007199254740993n })), 'watermark', ['9007199254740993']],
  ['invalid utf-8 json', 'InferenceEvent', Buffer.from([0x7b, 0xff, 0x7d]), '', ['invalid utf-8 in json text at byte 1: "7bff7d" (from byte 0)']],
];

describe('invalid input yields a value, never a throw', () => {
  it.each(invalid)('%s', (_name, kind, bytes, path, fragments) => {
    let result: unknown;
    expect(() => {
      result = codecFor(kind).decode(bytes);
    }).not.toThrow();
    const r = result as { ok: boolean; path: string; reason: string };
    expect(r.ok).toBe(false);
    expect(r.path).toBe(path);
    expect(r.reason).toBe(r.reason.charAt(0).toLowerCase() + r.reason.slice(1));
    for (const f of fragments) expect(r.reason).toContain(f);
  });
});

describe('hostile bytes never throw', () => {
  it('every truncation of valid avro and json fails as a value', () => {
    const text = ie.encodeJson(inference);
    for (const whole of [good, text]) {
      for (let n = 0; n < whole.length; n++) {
        const r = ie.decode(whole.subarray(0, n));
        expect(r.ok, `prefix ${n}`).toBe(false);
      }
    }
  });
  it('random byte flips in the avro body return a result: a record, or a bad one with its reason (never a throw)', () => {
    let seed = 42;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const outcomes = { ok: 0, bad: 0 };
    for (let k = 0; k < 2000; k++) {
      const bytes = Buffer.from(good);
      for (let j = 0; j < 3; j++) bytes[10 + Math.floor(rand() * (bytes.length - 10))] = Math.floor(rand() * 256);
      const r = ie.decode(bytes);
      if (r.ok) {
        // A record that decodes is a whole InferenceEvent: its id and event time are there.
        expect([typeof r.value.event_id, Number.isSafeInteger(r.value.ts)], `flip ${k}`).toEqual(['string', true]);
        outcomes.ok++;
      } else {
        expect([typeof r.path, r.reason.length > 0], `flip ${k}`).toEqual(['string', true]);
        outcomes.bad++;
      }
    }
    // Both kinds occur (flips in a string's bytes decode; flips in lengths and enums do not).
    expect([outcomes.ok > 0, outcomes.bad > 0, outcomes.ok + outcomes.bad]).toEqual([true, true, 2000]);
  });
});

describe('schema resolution (C11 style)', () => {
  it('fills an added nullable field with its default when reading v1 bytes with a v2 reader', () => {
    const v1 = { type: 'record', name: 'LoadSample', fields: [{ name: 'server_id', type: 'string' }, { name: 'ts', type: { type: 'long', logicalType: 'timestamp-millis' } }, { name: 'gpu_util', type: 'double' }] };
    const v2 = { ...v1, fields: [...v1.fields, { name: 'queue_depth', type: ['null', 'int'], default: null }] };
    const body = avro.Type.forSchema(v1 as avro.Schema).toBuffer({ server_id: 'edge-a', ts: 1717243200000, gpu_util: 0.5 });
    expect(readWithWriterSchema(v1, body, v2)).toEqual({ ok: true, value: { server_id: 'edge-a', ts: 1717243200000, gpu_util: 0.5, queue_depth: null } });
    expect(readWithWriterSchema(v1, body.subarray(0, 4)).ok).toBe(false);
    expect(readWithWriterSchema('{"type":"nope"}', body)).toMatchObject({ ok: false, path: '' });
  });

  it('keeps integer defaults beyond 2^53 in schema text exact (a trial: a writer\'s Long.MAX_VALUE default failed every record)', () => {
    // Bytes of {a: 42, seq: 7}: zig-zag varints 0x54 and 0x0e.
    const writer = '{"type":"record","name":"D","fields":[{"name":"a","type":"int"},{"name":"seq","type":"long","default":9223372036854775807}]}';
    const onlyA = '{"type":"record","name":"D","fields":[{"name":"a","type":"int"}]}';
    expect(readWithWriterSchema(writer, Buffer.from([0x54, 0x0e]))).toEqual({ ok: true, value: { a: 42, seq: 7 } });
    expect(readWithWriterSchema(writer, Buffer.from([0x54, 0x0e]), onlyA)).toEqual({ ok: true, value: { a: 42 } });
    // Reader defaults: a long's exact, a double's and a float's the nearest value of their type (Math.fround for float).
    const reader = '{"type":"record","name":"D","fields":[{"name":"a","type":"int"},{"name":"big","type":"long","default":9007199254740993},'
      + '{"name":"d","type":"double","default":100000000000000000001},{"name":"f","type":"float","default":0.1},{"name":"u","type":["long","null"],"default":-9223372036854775808}]}';
    expect(readWithWriterSchema(onlyA, Buffer.from([0x54]), reader)).toEqual({
      ok: true, value: { a: 42, big: 9007199254740993n, d: 1e20, f: Math.fround(0.1), u: -9223372036854775808n },
    });
    // An integer long default written with an exponent is its exact value; one beyond int64 is refused naming it.
    const exp = '{"type":"record","name":"D","fields":[{"name":"a","type":"int"},{"name":"e","type":"long","default":1e18}]}';
    expect(readWithWriterSchema(onlyA, Buffer.from([0x54]), exp)).toEqual({ ok: true, value: { a: 42, e: 10n ** 18n } });
    expect(readWithWriterSchema(exp.replace('1e18', '9223372036854775808'), Buffer.from([0x54, 0x0e])))
      .toEqual({ ok: false, path: '', reason: 'invalid or incompatible schema: the number 9223372036854775808 in the schema is outside the long range −2^63..2^63−1' });
  });

  it('names the field on which a writer\'s schema cannot be read as the reader\'s (a trial: "cannot read "string" as "double"" named none)', () => {
    const R = (fields: object[], name = 'E') => ({ type: 'record', name, fields });
    const reader = R([{ name: 'id', type: 'string' }, { name: 'total_ms', type: 'double' }, { name: 'status', type: 'string' },
      { name: 'load', type: R([{ name: 'cpu', type: 'double' }], 'L') }]);
    const cases: [string, object, string, string][] = [
      ['a string where the reader has a double', R([{ name: 'id', type: 'string' }, { name: 'total_ms', type: 'string' }, { name: 'status', type: 'string' }, { name: 'load', type: R([{ name: 'cpu', type: 'double' }], 'L') }]),
        'total_ms', 'cannot read "string" as "double"'],
      ['an enum where the reader has a string', R([{ name: 'id', type: 'string' }, { name: 'total_ms', type: 'double' }, { name: 'status', type: { type: 'enum', name: 'St', symbols: ['OK'] } }, { name: 'load', type: R([{ name: 'cpu', type: 'double' }], 'L') }]),
        'status', 'cannot read "St" as "string"'],
      ['a nested record\'s field', R([{ name: 'id', type: 'string' }, { name: 'total_ms', type: 'double' }, { name: 'status', type: 'string' }, { name: 'load', type: R([{ name: 'cpu', type: 'boolean' }], 'L') }]),
        'load.cpu', 'cannot read "boolean" as "double"'],
      ['a field the writer lacks, without a default', R([{ name: 'id', type: 'string' }, { name: 'status', type: 'string' }, { name: 'load', type: R([{ name: 'cpu', type: 'double' }], 'L') }]),
        'total_ms', 'the writer\'s schema has no such field and the reader\'s gives it no default'],
    ];
    for (const [label, writer, path, why] of cases) {
      expect([label, readWithWriterSchema(writer, Buffer.alloc(0), reader)]).toEqual([label, { ok: false, path, reason: `invalid or incompatible schema: field ${path}: ${why}` }]);
    }
  });
});

describe('long promoted to double or float (C10 kind through schema resolution)', () => {
  // avsc read a promoted long with its inexact default reader: −(2^52+1) came back as +2^52 with no error.
  const writer = { type: 'record', name: 'S', fields: [{ name: 'x', type: 'long' }, { name: 'y', type: ['null', 'long'], default: null }] };
  const reader = (t: string) => ({ type: 'record', name: 'S', fields: [{ name: 'x', type: t }, { name: 'y', type: ['null', t], default: null }] });
  /** x then the union's branch 1 (long) with the same value. */
  const body = (v: bigint) => Buffer.concat([writeZigZagVarint(v), Buffer.from([2]), writeZigZagVarint(v)]);
  const values = [-(2n ** 52n) - 1n, -(2n ** 53n), -(2n ** 53n) - 1n, 2n ** 53n - 1n, 2n ** 53n + 1n, -(2n ** 63n), 2n ** 63n - 1n, -1717243200123456789n, -3n, 0n];

  it('rounds the exact long once to the nearest double (Number(bigint), ECMAScript ToNumber)', () => {
    for (const v of values) {
      expect(readWithWriterSchema(writer, body(v), reader('double'))).toEqual({ ok: true, value: { x: Number(v), y: Number(v) } });
    }
    expect(Number(-(2n ** 52n) - 1n)).toBe(-4503599627370497); // exactly representable: the sign and every digit kept
  });

  it('rounds to float32 for a float reader, and leaves int and float promotions as they were', () => {
    for (const v of values) {
      expect(readWithWriterSchema(writer, body(v), reader('float'))).toEqual({ ok: true, value: { x: Math.fround(Number(v)), y: Math.fround(Number(v)) } });
    }
    const ints = { type: 'record', name: 'S', fields: [{ name: 'x', type: 'int' }, { name: 'f', type: 'float' }] };
    const intBody = avro.Type.forSchema(ints as avro.Schema).toBuffer({ x: -2147483648, f: 0.1 });
    const wide = { type: 'record', name: 'S', fields: [{ name: 'x', type: 'double' }, { name: 'f', type: 'double' }] };
    expect(readWithWriterSchema(ints, intBody, wide)).toEqual({ ok: true, value: { x: -2147483648, f: Math.fround(0.1) } });
  });
});

describe('toJsonText', () => {
  it('writes bigint as bare digits', () => {
    expect(toJsonText({ a: 9007199254740993n })).toBe('{"a":9007199254740993}');
  });
  it('keeps -(2^63) exact and writes NaN as null like JSON.stringify', () => {
    expect(toJsonText([-(2n ** 63n), NaN, 1.5])).toBe('[-9223372036854775808,null,1.5]');
  });
});

describe('a latency record whose total is below its parts', () => {
  const json = (r: object): Buffer => Buffer.from(JSON.stringify(r));
  it('is refused naming total_ms and the sum (a trial: parts of 100 ms each, total 1 ms, enriched and trained on)', () => {
    const r = codecFor('InferenceEvent').decode(json({ ...inference, queue_ms: 100, io_ms: 100, compute_ms: 100, total_ms: 1 }));
    expect(r).toEqual({ ok: false, path: 'total_ms', reason: 'total_ms: value 1 is below queue_ms + io_ms + compute_ms = 300 (the total holds its parts)' });
    // Any status: a time-out's parts ran before it; a shadow result holds the same rule.
    expect(codecFor('InferenceEvent').decode(json({ ...inference, status: 'timeout', total_ms: 20 })).ok).toBe(false);
    const shadow = codecFor('ShadowResult').decode(json({ ...shadowResult, total_ms: shadowResult.total_ms / 2 }));
    expect(shadow.ok ? null : shadow.path).toBe('total_ms');
  });

  it('takes a total equal to its parts or above them (overhead), and one below them by rounding (1 % + 0.01 ms)', () => {
    const sum = inference.queue_ms + inference.io_ms + inference.compute_ms; // 23.5
    for (const total of [sum, sum + 40, sum * 0.99 - 0.01 + 1e-9]) {
      expect(codecFor('InferenceEvent').decode(json({ ...inference, total_ms: total })).ok, String(total)).toBe(true);
    }
    expect(codecFor('InferenceEvent').decode(json({ ...inference, total_ms: sum * 0.99 - 0.02 })).ok).toBe(false);
  });
});

describe('JSON records in Avro\'s own JSON encoding of unions', () => {
  const json = (r: object): Buffer => Buffer.from(JSON.stringify(r));
  it('reads {"string": "dep"} and {"double": 71.5} as the branch value (avro-tools writes unions so), null as null', () => {
    expect(codecFor('InferenceEvent').decode(json({ ...inference, deployment_id: { string: 'dep-2024-06-01-a' } }))).toEqual({ ok: true, value: inference });
    const load = { edge_server_id: 'edge-07', ts: T0, cpu_util: 0.42, gpu_util: 0.87, mem_util: 0.61, queue_depth: 9, concurrency: 4, requests_per_s: 173.5 };
    expect(codecFor('LoadSample').decode(json({ ...load, temperature_c: { double: 71.5 }, power_w: null }))).toEqual({ ok: true, value: { ...load, temperature_c: 71.5, power_w: null } });
  });

  it('still refuses an object that names no branch of the union, naming the field', () => {
    const r = codecFor('InferenceEvent').decode(json({ ...inference, deployment_id: { int: 5 } }));
    expect(r.ok ? null : [r.path, r.reason]).toEqual(['deployment_id', 'deployment_id: value {"int":5} is not null or a string']);
  });
});

describe('strings are UTF-8 (Avro "Binary Encoding": a string is UTF-8 encoded character data)', () => {
  const schema = { type: 'record', name: 'R', fields: [{ name: 'id', type: 'string' }, { name: 'tag', type: ['null', 'string'] }, { name: 'm', type: { type: 'map', values: 'double' } }] };
  const type = createLongAwareType(schema);
  /** The body with the bytes of `from` (UTF-8) replaced by `to`, same length. */
  const patched = (body: Buffer, from: string, to: number[]): Buffer => {
    const i = body.indexOf(Buffer.from(from));
    expect(i).toBeGreaterThanOrEqual(0);
    const out = Buffer.from(body);
    Buffer.from(to).copy(out, i);
    return out;
  };

  it('valid text round-trips, U+FFFD sent as its own bytes included; bytes that are not UTF-8 fail, naming them', () => {
    const value = { id: 'edge-é-🚀-\uFFFD', tag: 'tag-A', m: { 'ké': 1.5 } };
    const body = type.toBuffer(value);
    expect(readWithWriterSchema(schema, body)).toEqual({ ok: true, value });
    // A lone continuation byte, an overlong '/', a surrogate half (ED A0 80) and a truncated 3-byte sequence.
    // The field holding them is named (a trial: bad UTF-8 in model_id named no field).
    for (const [from, bytes, hex, field] of [['edge', [0x80], '80', 'id'], ['tag-', [0xc0, 0xaf], 'c0af', 'tag'], ['ké', [0xed, 0xa0, 0x80], 'eda080', 'm']] as const) {
      const r = readWithWriterSchema(schema, patched(body, from, [...bytes]));
      expect(r.ok ? '' : r.path).toBe(field);
      expect(r.ok ? '' : r.reason).toMatch(new RegExp(`^${field} \\(from byte \\d+\\): invalid avro body: string of \\d+ bytes at byte \\d+ is not utf-8 \\(hex ${hex}`));
    }
    const cut = readWithWriterSchema(schema, patched(body, 'edge-é', [0x65, 0x64, 0x67, 0x65, 0x2d, 0xe2, 0x82]));
    expect(cut.ok ? '' : cut.reason).toMatch(/is not utf-8 \(hex 656467652de282/);
  });

  it('a writer\'s bytes resolved to a string are checked alike; a map keeps a key "__proto__" as its own', () => {
    const writer = { ...schema, fields: [{ name: 'id', type: 'bytes' }, ...schema.fields.slice(1)] };
    const w = createLongAwareType(writer);
    const ok = w.toBuffer({ id: Buffer.from('edge-07'), tag: null, m: {} });
    expect(readWithWriterSchema(writer, ok, schema)).toEqual({ ok: true, value: { id: 'edge-07', tag: null, m: {} } });
    const bad = w.toBuffer({ id: Buffer.from([0x65, 0xff]), tag: null, m: {} });
    const r = readWithWriterSchema(writer, bad, schema);
    expect(r.ok ? '' : r.reason).toMatch(/string of 2 bytes at byte 1 is not utf-8 \(hex 65ff\)/);
    // avsc's own map read assigned val['__proto__'] = 2, which set the prototype of nothing and dropped the key.
    const proto = readWithWriterSchema(schema, Buffer.from(`02${Buffer.from('x').toString('hex')}${'00'.repeat(1)}02125f5f70726f746f5f5f000000000000004000`, 'hex'));
    expect(proto.ok).toBe(true);
    const m = proto.ok ? (proto.value.m as Record<string, number>) : {};
    expect([Object.keys(m), m['__proto__'], Object.getPrototypeOf(m) === Object.prototype]).toEqual([['__proto__'], 2, true]);
    // A truncated map body is reported as truncated, not read as a shorter map.
    expect(readWithWriterSchema(schema, Buffer.from('02780002125f5f70726f746f5f5f0000', 'hex'))).toMatchObject({ ok: false, path: 'm', reason: expect.stringMatching(/^m \(from byte 3\): truncated avro body/) });
  });

  it('a JSON record\'s string that is not UTF-8 is named by its field, with its bytes and where it starts (a trial: only "invalid utf-8 in json text" and the record\'s first bytes)', () => {
    const text = Buffer.from(toJsonText({ ...inference, model_id: 'resXnet50' }));
    const at = text.indexOf('resXnet50');
    const bytes = Buffer.from(text);
    bytes[at + 3] = 0xff;
    const r = codecFor('InferenceEvent').decode(bytes);
    expect(r).toEqual({ ok: false, path: 'model_id', reason: `model_id: string of 9 bytes at byte ${at} is not utf-8 (hex 726573ff6e65743530); json text is utf-8` });
    // Nested (a union in Avro's JSON encoding, an array): the record's field, and the whole path (a re-test: "string").
    const union = Buffer.from(`${toJsonText(inference).slice(0, -1)},"deployment_id":{"string":"dep-X"}}`);
    const u = union.lastIndexOf('dep-X');
    union[u + 4] = 0xff;
    expect(codecFor('InferenceEvent').decode(union)).toEqual({ ok: false, path: 'deployment_id', reason: `deployment_id: string of 5 bytes at byte ${u} (at deployment_id.string) is not utf-8 (hex 6465702dff); json text is utf-8` });
    const listed = Buffer.from(`{"tags":["a,\\"]}",{"k":"vX"}]}`);
    listed[listed.indexOf('vX') + 1] = 0xfe;
    expect(codecFor('InferenceEvent').decode(listed)).toMatchObject({ ok: false, path: 'tags', reason: expect.stringMatching(/^tags: string of 2 bytes at byte \d+ \(at tags\.1\.k\) is not utf-8 \(hex 76fe\)/) });
    // Outside a value (in a key): the bytes around it, no field.
    const key = Buffer.from(text);
    key[key.indexOf('"model_id"') + 1] = 0xc0;
    const k = codecFor('InferenceEvent').decode(key);
    expect(k.ok ? '' : [k.path, k.reason]).toEqual(['', expect.stringMatching(/^invalid utf-8 in json text at byte \d+: "[0-9a-f]*c06f64656c5f6964[0-9a-f]*" \(from byte \d+\)$/)]);
  });

  it('firstInvalidUtf8 agrees with Node\'s own UTF-8 check (buffer.isUtf8) on random bytes: all before it valid, none with it', () => {
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    // Mostly text with some multi-byte characters, then random bytes dropped in (lead bytes, continuations, F5..FF).
    const base = Buffer.from('edge-é-🚀-\u0800-\uFFFD-\u{10FFFF}-ok');
    let bad = 0;
    for (let k = 0; k < 3000; k++) {
      const b = Buffer.from(base);
      for (let j = 0; j < 1 + (k % 3); j++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      const cut = b.subarray(0, Math.floor(rand() * (b.length + 1)));
      const i = firstInvalidUtf8(cut);
      if (i === -1) {
        expect(isUtf8(cut), cut.toString('hex')).toBe(true);
        continue;
      }
      bad++;
      expect([isUtf8(cut.subarray(0, i)), isUtf8(cut.subarray(0, i + 1)), isUtf8(cut)], `${cut.toString('hex')} at ${i}`).toEqual([true, false, false]);
    }
    expect(bad).toBeGreaterThan(1000);
    // Table 3-7's edges: overlong E0 80..9F, surrogates ED A0..BF, above U+10FFFF (F4 90), C0/C1 and F5 leads.
    for (const hex of ['e08080', 'eda080', 'f4908080', 'c0af', 'c1bf', 'f5808080']) expect(firstInvalidUtf8(Buffer.from(`61${hex}`, 'hex')), hex).toBe(1);
    for (const hex of ['e0a080', 'ed9fbf', 'f48fbfbf', 'c280', 'f0908080']) expect(firstInvalidUtf8(Buffer.from(`61${hex}`, 'hex')), hex).toBe(-1);
  });
});

describe('checkSemantics: the ids that passed are not checked again (hot path), and each field keeps its own rule', () => {
  it('a sound device_id "" does not make an empty model_id sound; an id refused in one record is refused in the next', () => {
    const rec = (over: Record<string, unknown>) => ({ edge_server_id: 'edge-01', model_id: 'resnet50', chip: 'c', device_id: 'cam-1', ...over });
    expect(checkSemantics(rec({ device_id: '' }))).toBeNull();
    expect(checkSemantics(rec({ model_id: '' }))?.reason).toBe('model_id: value "" is empty; a non-empty string is required');
    for (let i = 0; i < 2; i++) {
      expect(checkSemantics(rec({ chip: 'rk3588 ' }))?.reason).toBe('chip: value "rk3588 " has blanks around it: not an id');
      expect(checkSemantics(rec({}))).toBeNull();
    }
    // A sound id of one field is sound in another (the same rule), and a bad one stays bad there.
    expect(checkSemantics(rec({ model_id: 'edge-01' }))).toBeNull();
    expect(checkSemantics(rec({ device_id: 'bert\u0000-99' }))?.reason).toBe('device_id: value "bert\\u0000-99" holds the control character U+0000: not an id');
  });
});
