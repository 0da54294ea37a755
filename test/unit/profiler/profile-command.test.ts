/**
 * `edgelat profile` (services/cli/profile.ts), the terminal table
 * (services/profiler/format.ts) and the tiny-cnn fixture CLI and HTTP tests use.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { describe, expect, it, vi } from 'vitest';
import { profileCommand } from '../../../services/cli/profile.ts';
import { UsageError } from '../../../services/cli/usage-error.ts';
import { formatProfile, mebibytes } from '../../../services/profiler/format.ts';
import { uncountedText } from '../../../services/profiler/uncounted.ts';
import { dimFlag } from '../../../services/cli/common.ts';
import { InvalidArgumentError } from 'commander';
import { printable } from '../../../services/names.ts';
import { profileOnnx } from '../../../services/profiler/profile.ts';
import { TINY_CNN, tinyCnn } from '../../fixtures/onnx/make-fixtures.ts';
import { OnnxGraphBuilder } from '../../helpers/onnx-graph.ts';

const fixture = fileURLToPath(new URL('../../fixtures/onnx/tiny-cnn.onnx', import.meta.url));

/** Run `fn` with stdout captured. */
async function captured<T>(fn: () => Promise<T>): Promise<{ result: T; out: string }> {
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    const result = await fn();
    return { result, out: write.mock.calls.map((c) => String(c[0])).join('') };
  } finally {
    write.mockRestore();
  }
}

describe('tiny-cnn fixture', () => {
  it('is what make-fixtures.ts writes, runs in onnxruntime, and profiles to its documented figures', async () => {
    const bytes = readFileSync(fixture);
    expect(Buffer.compare(bytes, Buffer.from(tinyCnn()))).toBe(0);
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ image: new ort.Tensor('float32', new Float32Array(2 * 3 * 32 * 32).fill(0.5), [2, 3, 32, 32]) });
    await session.release();
    expect(out.probs!.dims).toEqual([2, 10]);
    expect(profileOnnx(bytes)).toMatchObject({
      model_id: 'tiny_cnn', model_version: '1', params: TINY_CNN.params, macs: TINY_CNN.macs, element_ops: TINY_CNN.elementOps,
      weight_bytes: TINY_CNN.weightBytes, precision: 'float32', unknown_shape_nodes: [],
    });
  });
});

describe('profileCommand', () => {
  it('takes the graph name as model_id only when it is an id, else the file name, saying so (a trial: a name with a bell and a right-to-left override was printed, and recommend --profile refused it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgelat-graph-name-'));
    const named = (name: string): Uint8Array => {
      const g = new OnnxGraphBuilder(name);
      g.output(g.node('Relu', [g.input('x', [1, 4])]));
      return g.build();
    };
    expect(profileOnnx(named('resnet-small')).model_id).toBe('resnet-small');
    const bad = named(`bad\u0007name\u202e${'x'.repeat(1000)}`);
    expect(profileOnnx(bad).model_id).toBe('');
    expect(profileOnnx(bad, { modelId: 'given' }).model_id).toBe('given');
    const file = join(dir, 'my-net.onnx');
    writeFileSync(file, bad);
    const note = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const { result } = await captured(() => profileCommand(file, { json: true }));
      expect(result.model_id).toBe('my-net');
      expect(note.mock.calls.map((c) => String(c[0]))).toEqual(['edgelat: note: model_id is "my-net" (the file name): the ONNX graph has no name that is an id (at most 256 characters, no blanks around it, no control, bidirectional or invisible characters); --model-id names it\n']);
      const odd = join(dir, ' spaced .onnx');
      writeFileSync(odd, bad);
      expect((await captured(() => profileCommand(odd, { json: true }))).result.model_id).toBe('model');
    } finally {
      note.mockRestore();
    }
  });

  it('prints one JSON line or the table', async () => {
    const json = await captured(() => profileCommand(fixture, { json: true, batch: 2 }));
    expect(json.out.endsWith('\n') && !json.out.slice(0, -1).includes('\n')).toBe(true);
    expect(JSON.parse(json.out)).toEqual(json.result);
    expect(json.result).toMatchObject({ batch: 2, macs: 2 * TINY_CNN.macs });
    const table = await captured(() => profileCommand(fixture, { json: false, modelId: 'cnn-a' }));
    expect(table.out).toMatch(/^model {9}cnn-a \(version 1\)$/m);
    expect(table.out).toMatch(/^MACs {10}295\.07 K {3}\(295,072\)$/m);
    expect(table.out).toMatch(/^FLOPs {9}590\.14 K/m);
    expect(table.out).toMatch(/^weights {7}6\.29 KiB {3}float32$/m);
    expect(table.out).toMatch(/^inputs {8}image float32 \[N=1, 3, 32, 32\]$/m);
    expect(table.out).toMatch(/^operators {5}Conv +2$/m);
  });

  it('names the file when there is no model (missing, unnamed graph, garbage, truncated) in one line', async () => {
    await expect(profileCommand('/nonexistent/m.onnx', { json: false })).rejects.toThrow(new UsageError('model file "/nonexistent/m.onnx": no such file'));
    // A device never ends (a trial: `profile /dev/urandom` read for ever): refused before reading.
    await expect(profileCommand('/dev/urandom', { json: false })).rejects.toThrow(new UsageError('model file "/dev/urandom": not a regular file (a pipe or device is not read)'));
    const dir = mkdtempSync(join(tmpdir(), 'edgelat-profile-'));
    const garbage = join(dir, 'garbage.onnx');
    writeFileSync(garbage, 'definitely not protobuf\n');
    const truncated = join(dir, 'cut.onnx');
    writeFileSync(truncated, readFileSync(fixture).subarray(0, 3000));
    for (const file of [garbage, truncated, dir]) {
      const error = await profileCommand(file, { json: false }).then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).toMatch(new RegExp(`^model file ".*${file.split('/').pop()}": [^\\n]+$`));
    }
    await expect(profileCommand(fixture, { json: false, batch: 0 })).rejects.toThrow(UsageError);
    await expect(profileCommand(fixture, { json: false, modelId: ' ' })).rejects.toThrow(new UsageError('--model-id: expected a non-empty id, got " " (leave it out to use the graph or file name)'));
    // An id recommend --profile takes (a re-test: 300 letters and a right-to-left override were printed, then refused there).
    await expect(profileCommand(fixture, { json: false, modelId: 'y'.repeat(300) })).rejects.toThrow(new UsageError('--model-id: expected an id of at most 256 characters, got 300'));
    await expect(profileCommand(fixture, { json: false, modelId: 'x\u202eq' })).rejects.toThrow(/^--model-id: expected an id without bidirectional or line-separator marks, got U\+202E/);
  });
});

describe('formatProfile', () => {
  it('uses G/M units, MiB, lists the top operators and the nodes it could not count', () => {
    const text = formatProfile({
      model_id: 'm', model_version: '', params: 25_610_152, macs: 4_089_184_256, flops: 8_178_368_512, element_ops: 26_446_848,
      weight_bytes: 102_440_608, precision: 'float16', inputs: [], input_bytes: 0, batch: 1, unknown_shape_nodes: ['a', 'b'],
      op_histogram: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`Op${i}`, 10 - i])),
    });
    expect(text).toContain('params        25.61 M    (25,610,152)');
    expect(text).toContain('MACs          4.09 G     (4,089,184,256)');
    expect(text).toContain('weights       97.69 MiB  float16');
    expect(text).toContain('+ 2 more type(s), 3 node(s)');
    expect(text).toContain('unknown shape 2 node(s) not counted: a; b');
  });

  it('counts the input dims counted as 1 apart from the nodes not counted; `--dim NAME=N` sets them (a trial: seq was 1 without a word)', async () => {
    const g = new OnnxGraphBuilder('seq');
    g.output(g.node('MatMul', [g.input('x', ['N', 'seq', 64]), g.weight('w', [64, 32])]));
    const dir = mkdtempSync(join(tmpdir(), 'edgelat-dim-'));
    const file = join(dir, 'seq.onnx');
    writeFileSync(file, g.build());
    const unset = await captured(() => profileCommand(file, { json: false }));
    expect(unset.out).toContain('unknown shape 1 dim(s) counted as 1: input "x" dim 1 "seq": not set, counted as 1 (a lower bound; set it: --dim seq=<n>, or ?dim=seq=<n> over HTTP)');
    const set = await captured(() => profileCommand(file, { json: true, dim: dimFlag('seq=128') }));
    expect([set.result.macs, set.result.unknown_shape_nodes]).toEqual([128 * 64 * 32, []]);
    await expect(profileCommand(file, { json: true, dim: { sequence: 2 } })).rejects.toThrow(new UsageError(`model file ${JSON.stringify(file)}: dim "sequence": no input has a symbolic dim of that name; its symbolic dims: "N", "seq"`));
    expect(uncountedText(['input "x" dim 2: unknown (no value or name), counted as 1 (a lower bound)', 'n1', 'n2'])).toBe('1 dim(s) counted as 1, 2 node(s) not counted');
    // The flag: NAME=N, N an integer 1..1,000,000, a name once.
    expect(dimFlag('b=2', dimFlag('a=1'))).toEqual({ a: 1, b: 2 });
    for (const [bad, message] of [
      ['seq', '--dim must be NAME=N (a symbolic dim of the model\'s inputs, e.g. seq=128), got "seq"'],
      ['=4', '--dim must be NAME=N (a symbolic dim of the model\'s inputs, e.g. seq=128), got "=4"'],
      ['seq=0', '--dim seq must be an integer from 1 to 1000000, got "0"'],
      ['seq=1.5', '--dim seq must be an integer from 1 to 1000000, got "1.5"'],
    ] as const) expect(() => dimFlag(bad)).toThrow(new InvalidArgumentError(message));
    expect(() => dimFlag('seq=3', { seq: 2 })).toThrow(new InvalidArgumentError('--dim "seq" given twice (2 and "3")'));
    // Bytes in the largest binary unit reached (a trial: "2441406.25 MiB per request" for 2.33 TiB).
    expect([mebibytes(64), mebibytes(6_441), mebibytes(102_435_840), mebibytes(2_560_000_000_000), mebibytes(2 ** 30)]).toEqual(['64 bytes', '6.29 KiB', '97.69 MiB', '2.33 TiB', '1.00 GiB']);
    // At most 64, as POST /v1/profile takes (a trial: the CLI took any number).
    const sixtyFour = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`d${i}`, 1]));
    expect(Object.keys(dimFlag('d63=2', Object.fromEntries(Object.entries(sixtyFour).slice(0, 63))))).toHaveLength(64);
    expect(() => dimFlag('extra=2', sixtyFour)).toThrow(new InvalidArgumentError('--dim takes at most 64 dims (one --dim NAME=N each; "extra" is the 65th)'));
  });

  it('names an input of unknown rank as such, not as a scalar [], and its input bytes a lower bound (a trial read [] and 0.00 MiB)', () => {
    const g = new OnnxGraphBuilder('ranks');
    const x = g.input('x', null);
    const t = g.input('t', [1, 8], 'int64');
    g.output(g.node('Relu', [x]));
    g.output(g.node('Cast', [t], { to: 1 }));
    const p = profileOnnx(g.build());
    expect(p.inputs).toEqual([
      { name: 'x', shape: [], dtype: 'float32', symbolic: [], rank_unknown: true },
      { name: 't', shape: [1, 8], dtype: 'int64', symbolic: [null, null] },
    ]);
    expect(p.input_bytes).toBe(64);
    const text = formatProfile(p);
    expect(text).toContain('inputs        x float32 [rank unknown: no shape in the file]\n              t int64 [1, 8]\n');
    expect(text).toContain('input bytes   at least 64 bytes per request (without x: rank unknown)\n');
    // A dim with neither a value nor a name is counted as 1: a lower bound too.
    const open = new OnnxGraphBuilder('open');
    open.output(open.node('Relu', [open.input('u', [1, null, 4])]));
    expect(formatProfile(profileOnnx(open.build()))).toContain('inputs        u float32 [1, ?=1, 4]\ninput bytes   at least 16 bytes per request (u with an unknown dim (?) counted as 1)\n');
    // An unnamed first dim is the batch, set by --batch: no lower bound (a re-test: "[?=8, 16]" was said counted as 1).
    const batchOnly = new OnnxGraphBuilder('batch-only');
    batchOnly.output(batchOnly.node('Relu', [batchOnly.input('b', [null, 16])]));
    expect(formatProfile(profileOnnx(batchOnly.build(), { batch: 8 }))).toContain('inputs        b float32 [?=8, 16]\ninput bytes   512 bytes per request\n');
    const scalar = new OnnxGraphBuilder('scalar');
    scalar.output(scalar.node('Relu', [scalar.input('s', [])]));
    const q = profileOnnx(scalar.build());
    expect([q.inputs, q.input_bytes]).toEqual([[{ name: 's', shape: [], dtype: 'float32', symbolic: [] }], 4]);
    expect(formatProfile(q)).toContain('inputs        s float32 []\ninput bytes   4 bytes per request\n');
  });

  it('shows names from the file with control and bidi characters escaped (a trial printed U+202E, a newline and NUL raw)', () => {
    const text = formatProfile({
      model_id: 'evil\u202Egpj.exe\nfake row\u0000', model_version: '', params: 1, macs: 0, flops: 0, element_ops: 0, weight_bytes: 4, precision: 'float32',
      inputs: [{ name: 'x\u001b[31m', shape: [1], dtype: 'float32', symbolic: [null] }], input_bytes: 4, batch: 1, unknown_shape_nodes: [], op_histogram: { Relu: 1 },
    });
    expect(text.split('\n')[0]).toBe('model         evil\\u202egpj.exe\\u000afake row\\u0000');
    expect(text).toContain('inputs        x\\u001b[31m float32 [1]');
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u202e]/);
    expect(printable('résumé 模型 — ok')).toBe('résumé 模型 — ok');
    expect(printable('a\u200fb\u2028c')).toBe('a\\u200fb\\u2028c');
  });
});
