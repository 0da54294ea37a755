import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { ConfluentFraming, createEvolvingDecoder, createLongAwareType, InMemorySchemaRegistry, loadSchema, readWithWriterSchema, schemaFingerprint, singleObjectHeader, WriterSchemaRegistry } from '../../../schemas/index.ts';

// Avro 1.11 "Schema Resolution": "if writer's is a union, but reader's is not: if the reader's schema matches the
// selected writer's schema, it is recursively resolved against it. If they do not match, an error is signalled."
// The error is the datum's: avsc refused the whole writer schema (a trial, after linkedin/avro-util#355).

const record = (fields: object[]): object => ({ type: 'record', name: 'R', fields });
const bytesOf = (schema: object, value: object): Buffer => avro.Type.forSchema(schema as avro.Schema).toBuffer(value);

describe('a writer union read into a non-union reader field', () => {
  const reader = record([{ name: 'id', type: 'string' }, { name: 'x', type: 'double' }, { name: 'n', type: 'int' }]);
  const writer = record([{ name: 'id', type: 'string' }, { name: 'x', type: ['null', 'double'], default: null }, { name: 'n', type: ['null', 'int'], default: null }]);

  it('reads a record whose writer chose a branch the reader reads', () => {
    expect(readWithWriterSchema(writer, bytesOf(writer, { id: 'a', x: 0.25, n: 3 }), reader)).toEqual({ ok: true, value: { id: 'a', x: 0.25, n: 3 } });
  });

  it('fails only the record whose writer chose a branch the reader cannot read, naming the field and the value', () => {
    expect(readWithWriterSchema(writer, bytesOf(writer, { id: 'b', x: null, n: 3 }), reader)).toEqual({
      ok: false, path: 'x',
      reason: 'x: value null, written as a branch of ["null","double"], is not a double as the reader\'s schema has it (avro schema resolution: a writer\'s union branch the reader cannot read)',
    });
    expect(readWithWriterSchema(writer, bytesOf(writer, { id: 'c', x: 1, n: null }), reader)).toMatchObject({ ok: false, path: 'n' });
  });

  it('promotes the branches it reads (int and long to double) and unwraps values of an ambiguous widened union', () => {
    const w = record([{ name: 'x', type: ['int', 'string', 'long'] }, { name: 'k', type: ['int', 'long'] }]);
    const r = record([{ name: 'x', type: 'double' }, { name: 'k', type: 'int' }]);
    // x: branch 0 (int 7); k: branch 0 (int 5) — bytes written by hand: union index, zig-zag value.
    expect(readWithWriterSchema(w, Buffer.from([0x00, 0x0e, 0x00, 0x0a]), r)).toEqual({ ok: true, value: { x: 7, k: 5 } });
    // x: branch 2 (long 2^53 + 1, promoted once to the nearest double); k: branch 0 (int −1).
    expect(readWithWriterSchema(w, Buffer.concat([Buffer.from([0x04]), longBytes(2n ** 53n + 1n), Buffer.from([0x00, 0x01])]), r))
      .toEqual({ ok: true, value: { x: 2 ** 53, k: -1 } });
    // k: branch 1 (long): checked by value, so a long 5 is the int 5, and a long beyond the int range fails naming k.
    expect(readWithWriterSchema(w, Buffer.from([0x00, 0x0e, 0x02, 0x0a]), r)).toEqual({ ok: true, value: { x: 7, k: 5 } });
    expect(readWithWriterSchema(w, Buffer.concat([Buffer.from([0x00, 0x0e, 0x02]), longBytes(2n ** 40n)]), r))
      .toMatchObject({ ok: false, path: 'k', reason: expect.stringMatching(/^k: value 1099511627776, written as a branch of \["int","long"\], is not an int/) });
    // x: branch 1 (string "a"): fails naming x.
    expect(readWithWriterSchema(w, Buffer.from([0x02, 0x02, 0x61, 0x00, 0x0a]), r)).toMatchObject({ ok: false, path: 'x', reason: expect.stringContaining('value "a"') });
  });

  it('reads a writer union with branches the reader\'s union lacks branch by branch (a trial: every record of such a writer was dead-lettered)', () => {
    // temperature_c ["null","float","double","string"] into ["null","double"]; deployment_id ["null","string","long"] into ["null","string"].
    const w = record([{ name: 't', type: ['null', 'float', 'double', 'string'] }, { name: 'd', type: ['null', 'string', 'long'] }]);
    const r = record([{ name: 't', type: ['null', 'double'], default: null }, { name: 'd', type: ['null', 'string'], default: null }]);
    // Bytes by hand: union index then value (zig-zag varint; float 4 bytes, double 8 bytes little-endian).
    const f32 = Buffer.alloc(4);
    f32.writeFloatLE(41.5);
    const f64 = Buffer.alloc(8);
    f64.writeDoubleLE(63.125);
    const str = (x: string) => Buffer.concat([Buffer.from([x.length * 2]), Buffer.from(x)]);
    expect(readWithWriterSchema(w, Buffer.concat([Buffer.from([0x02]), f32, Buffer.from([0x02]), str('dep-7')]), r)).toEqual({ ok: true, value: { t: 41.5, d: 'dep-7' } });
    expect(readWithWriterSchema(w, Buffer.concat([Buffer.from([0x04]), f64, Buffer.from([0x00])]), r)).toEqual({ ok: true, value: { t: 63.125, d: null } });
    // The branches the reader reads none of fail the record that chose them, naming the field and the value.
    expect(readWithWriterSchema(w, Buffer.concat([Buffer.from([0x00, 0x04]), Buffer.from([0x0a])]), r))
      .toEqual({ ok: false, path: 'd', reason: 'd: value 5, written as a branch of ["null","string","long"], is not one of null, string as the reader\'s schema has it (avro schema resolution: a writer\'s union branch the reader cannot read)' });
    expect(readWithWriterSchema(w, Buffer.concat([Buffer.from([0x06]), str('hot'), Buffer.from([0x00])]), r)).toMatchObject({ ok: false, path: 't', reason: expect.stringContaining('value "hot"') });
    // A record branch of one field the reader lacks is no wrapped value (a re-test: {a: 1} was kept as 1), into a union
    // or a non-union alike; a map branch of one key too.
    const L = { type: 'record', name: 'L', fields: [{ name: 'a', type: 'int' }] };
    const wr = record([{ name: 'v', type: ['null', 'double', L] }]);
    expect(readWithWriterSchema(wr, bytesOf(wr, { v: { a: 1 } }), record([{ name: 'v', type: ['null', 'double'] }]))).toMatchObject({ ok: false, path: 'v' });
    expect(readWithWriterSchema(record([{ name: 'v', type: ['double', L] }]), bytesOf(record([{ name: 'v', type: ['double', L] }]), { v: { a: 1 } }), record([{ name: 'v', type: 'double' }]))).toMatchObject({ ok: false, path: 'v' });
    const wm = record([{ name: 'v', type: ['null', 'double', { type: 'map', values: 'int' }] }]);
    expect(readWithWriterSchema(wm, bytesOf(wm, { v: { a: 1 } }), record([{ name: 'v', type: ['null', 'double'] }]))).toMatchObject({ ok: false, path: 'v' });
    expect(readWithWriterSchema(wr, bytesOf(wr, { v: 2.5 }), record([{ name: 'v', type: ['null', 'double'] }]))).toEqual({ ok: true, value: { v: 2.5 } });
    // A writer union the reader reads whole, or none of, is avsc's as before: read, or refused.
    expect(readWithWriterSchema(record([{ name: 't', type: ['null', 'float'] }, { name: 'd', type: ['null', 'string'] }]), Buffer.from([0x00, 0x00]), r)).toEqual({ ok: true, value: { t: null, d: null } });
  });

  it('follows records nested in records', () => {
    const inner = (t: unknown) => ({ name: 'load', type: { type: 'record', name: 'L', fields: [{ name: 'u', type: t }] } });
    const w = record([inner(['null', 'float'])]);
    const r = record([inner('double')]);
    expect(readWithWriterSchema(w, bytesOf(w, { load: { u: 0.5 } }), r)).toEqual({ ok: true, value: { load: { u: 0.5 } } });
    expect(readWithWriterSchema(w, bytesOf(w, { load: { u: null } }), r)).toMatchObject({ ok: false, path: 'load.u' });
  });

  it('follows arrays, maps and a union\'s record branch, and bridges a record branch with unions inside (a re-test: each refused the whole writer schema)', () => {
    const L = (u: unknown) => ({ type: 'record', name: 'L', fields: [{ name: 'u', type: u }] });
    const cases: [string, object, object, object, object, string][] = [
      // [label, writer, reader, a record with values, the same with a null where the reader has none, the path named]
      ['array items', record([{ name: 'xs', type: { type: 'array', items: L(['null', 'double']) } }]), record([{ name: 'xs', type: { type: 'array', items: L('double') } }]),
        { xs: [{ u: 1.5 }, { u: 2 }] }, { xs: [{ u: 1.5 }, { u: null }] }, 'xs[1].u'],
      ['map values', record([{ name: 'm', type: { type: 'map', values: ['null', 'double'] } }]), record([{ name: 'm', type: { type: 'map', values: 'double' } }]),
        { m: { p50: 1.5, p99: 9 } }, { m: { p50: 1.5, p99: null } }, 'm["p99"]'],
      ['a union\'s record branch', record([{ name: 'load', type: ['null', L(['null', 'double'])] }]), record([{ name: 'load', type: ['null', L('double')] }]),
        { load: { u: 0.5 } }, { load: { u: null } }, 'load.u'],
      ['a writer union of the reader\'s record with a union inside', record([{ name: 'load', type: ['null', L(['null', 'double'])] }]), record([{ name: 'load', type: L('double') }]),
        { load: { u: 0.5 } }, { load: { u: null } }, 'load.u'],
    ];
    for (const [label, writer, reader, good, bad, path] of cases) {
      expect([label, readWithWriterSchema(writer, bytesOf(writer, good), reader)]).toEqual([label, { ok: true, value: good }]);
      expect([label, readWithWriterSchema(writer, bytesOf(writer, bad), reader)]).toEqual([label, { ok: false, path, reason: `${path}: value null, written as a branch of ["null","double"], is not a double as the reader's schema has it (avro schema resolution: a writer's union branch the reader cannot read)` }]);
    }
    // The record itself null where the reader has the record alone: named at the field.
    const [, writer, reader] = cases[3]!;
    expect(readWithWriterSchema(writer, bytesOf(writer, { load: null }), reader)).toMatchObject({ ok: false, path: 'load', reason: expect.stringMatching(/^load: value null, written as a branch of \["null",\{"name":"L","type":"record",.*\}\], is not a record as the reader's schema has it/) });
  });

  it('names avsc\'s TypeError on a writer it cannot resolve as avsc\'s, not as a crash', () => {
    const top = ['null', { type: 'record', name: 'R', fields: [{ name: 'a', type: 'int' }] }];
    expect(readWithWriterSchema(top, Buffer.from([0x02, 0x02]), record([{ name: 'a', type: 'int' }]))).toEqual({
      ok: false, path: '', reason: 'invalid or incompatible schema: the writer\'s schema could not be resolved to the reader\'s (avsc: cannot read properties of undefined (reading \'length\'))',
    });
  });

  it('still refuses a writer union of which the reader reads no branch (the schemas cannot be resolved)', () => {
    const w = record([{ name: 'x', type: ['null', 'string'] }]);
    expect(readWithWriterSchema(w, bytesOf(w, { x: 'a' }), record([{ name: 'x', type: 'double' }])))
      .toEqual({ ok: false, path: 'x', reason: 'invalid or incompatible schema: field x: cannot read "null" as "double"' });
  });

  it('decodes LoadSample records of a producer that made cpu_util nullable, through Confluent framing and single-object Avro', async () => {
    const base = loadSchema('LoadSample') as { fields: { name: string }[] } & object;
    const nullable = { ...base, fields: base.fields.map((f) => (f.name === 'cpu_util' ? { name: 'cpu_util', type: ['null', 'double'], default: null } : f)) };
    const value = { edge_server_id: 'edge-07', ts: 1717243200123, cpu_util: 0.25, gpu_util: 0.5, mem_util: 0.5, queue_depth: 3, concurrency: 2, requests_per_s: 10, temperature_c: null, power_w: null };
    const body = createLongAwareType(nullable).toBuffer(value);
    const nullBody = createLongAwareType(nullable).toBuffer({ ...value, cpu_util: null });
    const framing = new ConfluentFraming(new InMemorySchemaRegistry({ '501': nullable }));
    const framed = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0x01, 0xf5]), b]);
    expect(await framing.decode('LoadSample', framed(body))).toEqual({ ok: true, value });
    expect(await framing.decode('LoadSample', framed(nullBody))).toMatchObject({ ok: false, path: 'cpu_util', reason: expect.stringMatching(/^schema id 501 of LoadSample: cpu_util: value null/) });
    const writers = new WriterSchemaRegistry();
    writers.register('LoadSample', nullable);
    const decoder = createEvolvingDecoder('LoadSample', { registry: writers });
    const single = (b: Buffer) => Buffer.concat([singleObjectHeader(schemaFingerprint(nullable)), b]);
    expect(decoder.decode(single(body))).toEqual({ ok: true, value });
    expect(decoder.decode(single(nullBody))).toMatchObject({ ok: false, path: 'cpu_util' });
  });
});

/** Zig-zag varint bytes of a long. */
function longBytes(v: bigint): Buffer {
  let z = v >= 0n ? v << 1n : ((-v) << 1n) - 1n;
  const out: number[] = [];
  while (z >= 0x80n) {
    out.push(Number((z & 0x7fn) | 0x80n));
    z >>= 7n;
  }
  out.push(Number(z));
  return Buffer.from(out);
}
