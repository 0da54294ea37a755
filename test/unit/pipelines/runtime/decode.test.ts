import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { decodeLogRecord } from '../../../../pipelines/runtime/decode.ts';
import { TOPICS } from '../../../../pipelines/topics.ts';
import { codecFor, registerWriterSchema, schemaFingerprint, type LoadSample } from '../../../../schemas/index.ts';
import type { LogRecord } from '../../../../services/eventlog/types.ts';

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
