/**
 * The ONNX profiler (issue 5 item 1, acceptance D2) on graphs built here
 * with onnx-proto. Expected params / MACs / element ops are worked out in
 * closed form from each graph's definition (written-out layer formulas),
 * independently of the profiler; the conv and MatMul graphs' shapes are also
 * confirmed by running them in onnxruntime-node.
 */
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { OnnxProfileError, profileOnnx } from '../../../services/profiler/profile.ts';
import { ortShapes } from '../../helpers/ort-shapes.ts';
import { OnnxGraphBuilder, type AttrValue } from '../../helpers/onnx-graph.ts';

/** Conv MACs: Cout·Hout·Wout·(Cin/groups)·Kh·Kw (the issue-5 convention, also used for ConvTranspose). */
const convMacs = (cout: number, hout: number, wout: number, cinPerGroup: number, kh: number, kw: number) => cout * hout * wout * cinPerGroup * kh * kw;
/** Output size of a convolution / pooling window: floor((in + pads − d·(k−1) − 1) / s) + 1. */
const outSize = (i: number, k: number, s: number, pads: number, d = 1) => Math.floor((i + pads - d * (k - 1) - 1) / s) + 1;

describe('profileOnnx: convolution stacks', () => {
  it('counts strided, depthwise, grouped, dilated, 1×1, VALID/SAME and transposed convolutions, and pooling with ceil_mode', async () => {
    const g = new OnnxGraphBuilder('conv_stack', { inlineLimit: Infinity });
    const w = (name: string, dims: number[]) => g.weight(name, dims);
    const shapes: Record<string, number[]> = {};
    const out = (name: string, dims: number[]) => { shapes[name] = dims; g.output(name); return name; };
    const x = g.input('x', [1, 3, 32, 32]);
    const c0 = g.node('Conv', [x, w('w0', [16, 3, 3, 3]), w('b0', [16])], { pads: [1, 1, 1, 1] });
    const r0 = out(g.node('Relu', [c0]), [1, 16, 32, 32]);
    const c1 = g.node('Conv', [r0, w('w1', [32, 16, 3, 3])], { strides: [2, 2], pads: [1, 1, 1, 1] });
    const dw = out(g.node('Conv', [c1, w('w2', [32, 1, 3, 3])], { group: 32, dilations: [2, 2], pads: [2, 2, 2, 2] }), [1, 32, 16, 16]);
    const bn = g.node('BatchNormalization', [dw, w('s', [32]), w('b', [32]), w('m', [32]), w('v', [32])]);
    const gc = out(g.node('Conv', [bn, w('w3', [64, 8, 3, 3])], { group: 4, strides: [2, 2], auto_pad: 'SAME_UPPER' }), [1, 64, 8, 8]);
    const pw = g.node('Conv', [g.node('LeakyRelu', [gc], { alpha: 0.1 }), w('w4', [24, 64, 1, 1])]);
    const va = out(g.node('Conv', [pw, w('w5', [24, 24, 3, 3])], { auto_pad: 'VALID' }), [1, 24, 6, 6]);
    const t1 = out(g.node('ConvTranspose', [va, w('w6', [24, 12, 4, 4])], { strides: [2, 2], pads: [1, 1, 1, 1] }), [1, 12, 12, 12]);
    const t2 = out(g.node('ConvTranspose', [t1, w('w7', [12, 4, 3, 3])], { group: 2, strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }), [1, 8, 24, 24]);
    const t3 = out(g.node('ConvTranspose', [t2, w('w8', [8, 8, 3, 3])], { strides: [2, 2], output_shape: [48, 48] }), [1, 8, 48, 48]);
    const p1 = out(g.node('MaxPool', [g.node('HardSwish', [t3])], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }), [1, 8, 24, 24]);
    const p2 = out(g.node('AveragePool', [p1], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 }), [1, 8, 13, 13]);
    const p3 = out(g.node('MaxPool', [p2], { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 }), [1, 8, 7, 7]);
    out(g.node('Flatten', [g.node('GlobalAveragePool', [p3])]), [1, 8]);
    const bytes = g.build();

    // The expected dims follow the written-out formulas; onnxruntime agrees with them.
    expect([outSize(32, 3, 2, 2), outSize(16, 3, 1, 4, 2), Math.ceil(16 / 2), outSize(8, 3, 1, 0)]).toEqual([16, 16, 8, 6]);
    expect([(6 - 1) * 2 + 4 - 2, (12 - 1) * 2 + 1 + 3 - 2, Math.ceil((48 - 3) / 2) + 1, Math.ceil((24 + 2 - 3) / 2) + 1, Math.ceil((13 + 2 - 2) / 2)]).toEqual([12, 24, 24, 13, 7]);
    expect(await ortShapes(bytes, { x: [1, 3, 32, 32] })).toEqual(shapes);

    const macs = convMacs(16, 32, 32, 3, 3, 3) + convMacs(32, 16, 16, 16, 3, 3) + convMacs(32, 16, 16, 1, 3, 3) + convMacs(64, 8, 8, 8, 3, 3)
      + convMacs(24, 8, 8, 64, 1, 1) + convMacs(24, 6, 6, 24, 3, 3)
      + convMacs(12, 12, 12, 24, 4, 4) + convMacs(8, 24, 24, 12 / 2, 3, 3) + convMacs(8, 48, 48, 8, 3, 3);
    const params = 16 * 3 * 9 + 16 + 32 * 16 * 9 + 32 * 9 + 4 * 32 + 64 * 8 * 9 + 24 * 64 + 24 * 24 * 9 + 24 * 12 * 16 + 12 * 4 * 9 + 8 * 8 * 9;
    // Relu, BN, LeakyRelu, HardSwish, MaxPool, AveragePool, MaxPool, GlobalAveragePool, Flatten.
    const elementOps = 16 * 32 * 32 + 32 * 16 * 16 + 64 * 8 * 8 + 8 * 48 * 48 + 8 * 24 * 24 + 8 * 13 * 13 + 8 * 7 * 7 + 8 + 8;
    expect(macs).toBe(4_515_072);
    const p = profileOnnx(bytes);
    expect(p).toMatchObject({ params, macs, flops: 2 * macs, element_ops: elementOps, weight_bytes: 4 * params, precision: 'float32', unknown_shape_nodes: [] });
    expect(p.op_histogram).toEqual({ Conv: 6, ConvTranspose: 3, Relu: 1, BatchNormalization: 1, LeakyRelu: 1, HardSwish: 1, MaxPool: 2, AveragePool: 1, GlobalAveragePool: 1, Flatten: 1 });
    expect(p.inputs).toEqual([{ name: 'x', shape: [1, 3, 32, 32], dtype: 'float32', symbolic: [null, null, null, null] }]);
    expect(p.input_bytes).toBe(4 * 3 * 32 * 32);
  });

  it('counts 1-D and 3-D convolutions with every spatial dim multiplied in', async () => {
    const g = new OnnxGraphBuilder('conv_nd', { inlineLimit: Infinity });
    g.output(g.node('Conv', [g.input('a', [2, 4, 10]), g.weight('w1', [6, 4, 3])], { pads: [1, 1] }));
    g.output(g.node('Conv', [g.input('v', [1, 2, 4, 8, 8]), g.weight('w3', [4, 2, 3, 3, 3])], { pads: [1, 1, 1, 1, 1, 1], strides: [1, 2, 2] }));
    const bytes = g.build();
    expect(Object.values(await ortShapes(bytes, { a: [2, 4, 10], v: [1, 2, 4, 8, 8] }))).toEqual([[2, 6, 10], [1, 4, 4, 4, 4]]);
    const p = profileOnnx(bytes);
    expect(p.macs).toBe(2 * 6 * 10 * 4 * 3 + 4 * (4 * 4 * 4) * 2 * 27);
    expect(p.params).toBe(6 * 4 * 3 + 4 * 2 * 27);
  });
});

describe('profileOnnx: MLP and MatMul', () => {
  /** 784 → 256 (Gemm, transB) → 128 (MatMul + Add) → 10 (Gemm) → Softmax, batch dim "N". */
  function mlp(batchDim: number | string | null = 'N'): Uint8Array {
    const g = new OnnxGraphBuilder('mlp');
    const h1 = g.node('Relu', [g.node('Gemm', [g.input('x', [batchDim, 784]), g.weight('w1', [256, 784]), g.weight('b1', [256])], { transB: 1 })]);
    const h2 = g.node('Relu', [g.node('Add', [g.node('MatMul', [h1, g.weight('w2', [256, 128])]), g.weight('b2', [128])])]);
    g.output(g.node('Softmax', [g.node('Gemm', [h2, g.weight('w3', [128, 10]), g.weight('b3', [10])])], { axis: 1 }));
    return g.build({ modelVersion: 3 });
  }
  const MLP = { params: 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10, macs: 784 * 256 + 256 * 128 + 128 * 10, elementOps: 256 + 128 + 128 + 10 };

  it('counts Gemm (transB) and MatMul + Add; a symbolic batch is 1 by default and k× with {batch: k}', () => {
    const p = profileOnnx(mlp());
    expect(p).toMatchObject({ model_id: 'mlp', model_version: '3', params: MLP.params, macs: MLP.macs, flops: 2 * MLP.macs, element_ops: MLP.elementOps, batch: 1 });
    expect(p.inputs).toEqual([{ name: 'x', shape: [1, 784], dtype: 'float32', symbolic: ['N', null] }]);
    const p4 = profileOnnx(mlp(), { batch: 4, modelId: 'mlp-b4' });
    expect(p4).toMatchObject({ model_id: 'mlp-b4', params: MLP.params, macs: 4 * MLP.macs, element_ops: 4 * MLP.elementOps, batch: 4, input_bytes: 4 * 784 * 4 });
    for (const dim of [0, null]) expect(profileOnnx(mlp(dim), { batch: 3 })).toMatchObject({ macs: 3 * MLP.macs, inputs: [{ shape: [3, 784], symbolic: ['?', null] }] });
    expect(() => profileOnnx(mlp(), { batch: 0 })).toThrow(RangeError);
    // A batch with no batch dim to set is refused, not a batch-1 profile labelled batch 8 (a trial); batch 1 is the profile.
    expect(() => profileOnnx(mlp(1), { batch: 8 })).toThrow(new OnnxProfileError('batch 8: no input of the model has a batch dim to set (a symbolic or unknown first dim): x [1, 784]; leave the batch out, or export the model with a dynamic batch dim'));
    expect(profileOnnx(mlp(1), { batch: 1 })).toMatchObject({ macs: MLP.macs, batch: 1 });
    // A time-major input [seq, N, 64] (an LSTM's default layout): its symbolic dims shown by name, and --dim offered for the batch.
    const g = new OnnxGraphBuilder('tm', { inlineLimit: Infinity });
    g.output(g.node('MatMul', [g.input('x', [20, 'N', 64]), g.weight('w', [64, 32])]));
    const timeMajor = g.build();
    expect(() => profileOnnx(timeMajor, { batch: 4 })).toThrow(new OnnxProfileError('batch 4: no input of the model has a batch dim to set (a symbolic or unknown first dim): x [20, N, 64]; leave the batch out, or a batch that is not the first dim (a time-major RNN\'s [seq, batch, …]) is set by its name: --dim N=4 (?dim=N=4 over HTTP)'));
    expect(profileOnnx(timeMajor, { dims: { N: 4 } }).macs).toBe(20 * 4 * 64 * 32);
    // Its first dim symbolic too, [seq, N, 64]: the batch is N, and seq a dim like the others (a re-test: "batch 8" profiled
    // seq 8, N 1); so with a second input [N, 64] (a re-test: no spelling set N there).
    const g2 = new OnnxGraphBuilder('tm2', { inlineLimit: Infinity });
    g2.output(g2.node('MatMul', [g2.input('x', ['seq', 'N', 64]), g2.weight('w', [64, 32])]));
    const both = g2.build();
    expect(profileOnnx(both, { batch: 8, dims: { seq: 20 } })).toMatchObject({ macs: 20 * 8 * 64 * 32, batch: 8, inputs: [{ shape: [20, 8, 64] }], unknown_shape_nodes: [] });
    expect(profileOnnx(both, { batch: 8 })).toMatchObject({ macs: 8 * 64 * 32, inputs: [{ shape: [1, 8, 64] }], unknown_shape_nodes: ['input "x" dim 0 "seq": not set, counted as 1 (a lower bound; set it: --dim seq=<n>, or ?dim=seq=<n> over HTTP)'] });
    expect(() => profileOnnx(both, { dims: { N: 8 } })).toThrow(/^dim "N" is the batch dim/);
    const g3 = new OnnxGraphBuilder('tm3', { inlineLimit: Infinity });
    g3.output(g3.node('MatMul', [g3.input('x', ['seq', 'N', 64]), g3.weight('w', [64, 32])]));
    g3.output(g3.node('MatMul', [g3.input('y', ['N', 64]), g3.weight('v', [64, 16])]));
    expect(profileOnnx(g3.build(), { batch: 8, dims: { seq: 20 } })).toMatchObject({ macs: 20 * 8 * 64 * 32 + 8 * 64 * 16, inputs: [{ shape: [20, 8, 64] }, { shape: [8, 64] }] });
    // A first dim named as a batch stays the batch's (set with it, not by name).
    expect(() => profileOnnx(mlp(), { dims: { N: 4 } })).toThrow(/is the batch dim/);
  });

  it('sets named symbolic dims past the batch ({dims}); one left unset, or unknown, counts as 1 and is listed (the MACs are a lower bound)', async () => {
    // x [N, seq, 64] · W [64, 32]: MACs = N·seq·64·32 (MatMul over the last two dims); a trial's seq was 1 without a word.
    const build = (seqDim: string | number | null) => {
      const g = new OnnxGraphBuilder('seq', { inlineLimit: Infinity });
      const x = g.input('x', ['N', seqDim, 64]);
      g.output(g.node('MatMul', [x, g.weight('w', [64, 32])]));
      return g.build();
    };
    const bytes = build('seq');
    // onnxruntime runs it at N = 2, seq = 128: the product is [2, 128, 32].
    expect(await ortShapes(bytes, { x: [2, 128, 64] })).toEqual({ matmul_0_out: [2, 128, 32] });
    const unset = profileOnnx(bytes);
    expect([unset.macs, unset.inputs[0]!.shape, unset.unknown_shape_nodes]).toEqual([64 * 32, [1, 1, 64], ['input "x" dim 1 "seq": not set, counted as 1 (a lower bound; set it: --dim seq=<n>, or ?dim=seq=<n> over HTTP)']]);
    const set = profileOnnx(bytes, { batch: 2, dims: { seq: 128 } });
    expect([set.macs, set.inputs[0]!.shape, set.input_bytes, set.unknown_shape_nodes]).toEqual([2 * 128 * 64 * 32, [2, 128, 64], 2 * 128 * 64 * 4, []]);
    // An unknown dim (no value, no name) past the batch is listed too; a negative dim_value is as unknown.
    expect(profileOnnx(build(null)).unknown_shape_nodes).toEqual(['input "x" dim 1: unknown (no value or name), counted as 1 (a lower bound)']);
    // A dim_value that is there but no size is named as such (a trial: -5 was reported as "no value or name").
    for (const v of [-5, -1]) {
      expect(profileOnnx(build(v)).unknown_shape_nodes).toEqual([`input "x" dim 1: dim_value ${v} is not a size (converters write -1 or 0 for an unknown dim), counted as 1 (a lower bound)`]);
    }
    // The batch is set as the batch; a name no input has is refused, naming those it has; a value below 1 is a RangeError.
    expect(() => profileOnnx(bytes, { dims: { N: 4 } })).toThrow(new OnnxProfileError('dim "N" is the batch dim (the first of an input): set it with the batch, not as a dim'));
    expect(() => profileOnnx(bytes, { dims: { sequence: 4 } })).toThrow(new OnnxProfileError('dim "sequence": no input has a symbolic dim of that name; its symbolic dims: "N", "seq"'));
    expect(() => profileOnnx(bytes, { dims: { seq: 0 } })).toThrow(new RangeError('dims.seq: expected an integer >= 1, got 0'));
  });

  it('reports the dtype holding most weight bytes as the precision', () => {
    const g = new OnnxGraphBuilder('half', { inlineLimit: 0 });
    g.output(g.node('Gemm', [g.input('x', [2, 64], 'float16'), g.weight('w', [64, 32], 'float16'), g.weight('b', [32], 'float32')]));
    expect(profileOnnx(g.build())).toMatchObject({ precision: 'float16', weight_bytes: 2 * 64 * 32 + 4 * 32, input_bytes: 2 * 2 * 64, macs: 2 * 32 * 64 });
  });

  it('broadcasts batched and 1-D MatMul operands as numpy does', async () => {
    const g = new OnnxGraphBuilder('matmuls', { inlineLimit: Infinity });
    const a = g.input('a', [4, 16, 32]);
    g.output(g.node('MatMul', [a, g.weight('b', [32, 8])]));
    g.output(g.node('MatMul', [g.input('c', [2, 1, 5, 6]), g.input('d', [3, 6, 7])]));
    g.output(g.node('MatMul', [g.input('e', [6]), g.weight('f', [6, 7])]));
    g.output(g.node('MatMul', [a, g.weight('v', [32])]));
    g.output(g.node('Gemm', [g.input('t', [9, 5]), g.weight('u', [7, 9])], { transA: 1, transB: 1 }));
    const bytes = g.build();
    const dims = await ortShapes(bytes, { a: [4, 16, 32], c: [2, 1, 5, 6], d: [3, 6, 7], e: [6], t: [9, 5] });
    expect(Object.values(dims)).toEqual([[4, 16, 8], [2, 3, 5, 7], [7], [4, 16], [5, 7]]);
    expect(profileOnnx(bytes).macs).toBe(4 * 16 * 8 * 32 + 2 * 3 * 5 * 7 * 6 + 7 * 6 + 4 * 16 * 32 + 5 * 7 * 9);
  });
});

/**
 * ResNet-50 (v1.5, as torchvision: stride on the 3×3 conv) from its definition: stem 7×7/2 conv + BN + Relu +
 * 3×3/2 maxpool, bottleneck stages [3, 4, 6, 3] of widths 64/128/256/512 (×4 out), a projection shortcut on each
 * stage's first block, global average pool, Flatten, Gemm 2048 → 1000. Returns the graph and its counts in
 * closed form at batch 1: conv MACs = Cout·Hout²·Cin·k², params = Cout·Cin·k² (+ 4·C per BN: scale, bias, mean, var).
 */
function resnet50(): { bytes: Uint8Array; params: number; macs: number; elementOps: number } {
  const g = new OnnxGraphBuilder('resnet50', { inlineLimit: 0 });
  let params = 0;
  let macs = 0;
  let elementOps = 0;
  let n = 0;
  const conv = (x: string, cin: number, cout: number, k: number, s: number, hin: number): [string, number] => {
    const pad = (k - 1) / 2;
    const hout = Math.floor((hin + 2 * pad - k) / s) + 1;
    params += cout * cin * k * k;
    macs += cout * hout * hout * cin * k * k;
    return [g.node('Conv', [x, g.weight(`conv${n++}.w`, [cout, cin, k, k])], { kernel_shape: [k, k], strides: [s, s], pads: [pad, pad, pad, pad] }), hout];
  };
  const bn = (x: string, c: number, h: number) => {
    params += 4 * c;
    elementOps += c * h * h;
    const p = `bn${n++}`;
    return g.node('BatchNormalization', [x, g.weight(`${p}.scale`, [c]), g.weight(`${p}.bias`, [c]), g.weight(`${p}.mean`, [c]), g.weight(`${p}.var`, [c])]);
  };
  const relu = (x: string, c: number, h: number) => { elementOps += c * h * h; return g.node('Relu', [x]); };
  const [stem, h112] = conv(g.input('image', ['N', 3, 224, 224]), 3, 64, 7, 2, 224);
  let x = g.node('MaxPool', [relu(bn(stem, 64, h112), 64, h112)], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] });
  let h = 56;
  elementOps += 64 * h * h;
  let cin = 64;
  for (const [width, blocks, stride] of [[64, 3, 1], [128, 4, 2], [256, 6, 2], [512, 3, 2]] as const) {
    for (let b = 0; b < blocks; b++) {
      const s = b === 0 ? stride : 1;
      const [c1, h1] = conv(x, cin, width, 1, 1, h);
      const [c2, h2] = conv(relu(bn(c1, width, h1), width, h1), width, width, 3, s, h1);
      const [c3, h3] = conv(relu(bn(c2, width, h2), width, h2), width, 4 * width, 1, 1, h2);
      const shortcut = b === 0 ? bn(conv(x, cin, 4 * width, 1, s, h)[0], 4 * width, h3) : x;
      elementOps += 2 * 4 * width * h3 * h3; // Add, Relu
      x = g.node('Relu', [g.node('Add', [bn(c3, 4 * width, h3), shortcut])]);
      [cin, h] = [4 * width, h3];
    }
  }
  elementOps += 2048 + 2048; // GlobalAveragePool, Flatten
  params += 2048 * 1000 + 1000;
  macs += 2048 * 1000;
  g.output(g.node('Gemm', [g.node('Flatten', [g.node('GlobalAveragePool', [x])]), g.weight('fc.w', [1000, 2048]), g.weight('fc.b', [1000])], { transB: 1 }));
  return { bytes: g.build(), params, macs, elementOps };
}

describe('profileOnnx: ResNet-50', () => {
  const model = resnet50();

  it('matches the closed-form counts and the published figures (4.09 GMACs, 25.56 M params + BN running stats)', () => {
    expect(model.macs).toBe(4_089_184_256);
    expect(model.params).toBe(25_610_152); // torchvision's 25,557,032 + 2 × 26,560 BN running mean/var
    expect(model.elementOps).toBe(26_446_848); // BN, Relu, MaxPool, Add, GlobalAveragePool, Flatten outputs
    const p = profileOnnx(model.bytes);
    expect(p).toMatchObject({ params: model.params, macs: model.macs, flops: 2 * model.macs, element_ops: model.elementOps, weight_bytes: 4 * model.params, unknown_shape_nodes: [] });
    expect(Math.abs(p.macs / 4.09e9 - 1)).toBeLessThan(0.01);
    expect(Math.abs(p.params / 25.557e6 - 1)).toBeLessThan(0.01);
    expect(p.op_histogram).toEqual({ Conv: 53, BatchNormalization: 53, Relu: 49, MaxPool: 1, Add: 16, GlobalAveragePool: 1, Flatten: 1, Gemm: 1 });
    expect(model.bytes.length).toBeLessThan(64 * 1024); // weights are external-data references
  });

  it('scales MACs and element ops, not params, with the batch', () => {
    expect(profileOnnx(model.bytes, { batch: 8 })).toMatchObject({ params: model.params, macs: 8 * model.macs, element_ops: 8 * model.elementOps, batch: 8 });
  });
});

describe('profileOnnx: layout, normalisation and constant folding', () => {
  it('infers Shape → Gather → Unsqueeze → Concat → Reshape (0 and -1), Transpose, Squeeze/Unsqueeze, Resize, Slice, Split, Pad...', () => {
    const g = new OnnxGraphBuilder('layout');
    const x = g.input('x', ['N', 8, 4, 4]);
    const batch = g.node('Unsqueeze', [g.node('Gather', [g.node('Shape', [x]), g.weight('zero', [], 'int64', [0])]), g.ints('ax0', [0])]);
    const flat = g.node('Reshape', [x, g.node('Concat', [batch, g.ints('minus1', [-1])], { axis: 0 })]); // [N, 128]
    const seq = g.node('Transpose', [g.node('Reshape', [x, g.ints('s3', [0, 8, 16])])], { perm: [0, 2, 1] }); // [N, 16, 8]
    const sq = g.node('Squeeze', [g.node('Unsqueeze', [seq, g.ints('ax1', [1])]), g.ints('ax1b', [1])]); // [N, 1, 16, 8] → [N, 16, 8]
    const ln = g.node('LayerNormalization', [sq, g.weight('ln.s', [8]), g.weight('ln.b', [8])], { axis: -1 });
    g.output(g.node('ReduceMean', [ln], { axes: [1], keepdims: 0 })); // [N, 8]
    const up = g.node('Resize', [x, '', g.weight('scales', [4], 'float32', [1, 1, 2, 2])], { mode: 'nearest' }); // [N, 8, 8, 8]
    const biased = g.node('Add', [up, g.node('Constant', [], { value: { tensor: { dims: [1, 8, 1, 1], dataType: 1, floatData: Array(8).fill(0.5) } } })]);
    const clipped = g.node('Dropout', [g.node('Clip', [biased, g.weight('lo', [], 'float32', [0]), g.weight('hi', [], 'float32', [6])])]);
    g.output(g.node('Concat', [g.node('GlobalMaxPool', [clipped]), g.node('GlobalMaxPool', [clipped])], { axis: 1 })); // [N, 16, 1, 1]
    g.output(g.node('Slice', [flat, g.ints('st', [0]), g.ints('en', [64]), g.ints('axs', [1])])); // [N, 64]
    for (const part of g.nodeOutputs('Split', [flat, g.ints('sp', [32, 96])], { axis: 1 }, { outputs: 2 })) g.output(part);
    g.output(g.node('Pad', [x, g.ints('pads', [0, 0, 1, 1, 0, 0, 1, 1])])); // [N, 8, 6, 6]
    g.output(g.node('Expand', [g.node('Flatten', [x], { axis: 2 }), g.ints('to', [3, 1, 1])])); // [N, 128, 1] → [3, 128, 1] at N = 1
    const p = profileOnnx(g.build({ opset: 13 }));
    expect(p.unknown_shape_nodes).toEqual([]);
    const expected = 4 + 1 + 1 + 2 + 128 // Shape, Gather, Unsqueeze, Concat, Reshape
      + 128 * 5 + 8 // Reshape, Transpose, Unsqueeze, Squeeze, LayerNormalization; ReduceMean
      + 8 + 512 * 4 + 8 * 2 + 16 // Constant, Resize, Add, Clip, Dropout; 2 GlobalMaxPool; Concat
      + 64 + 128 + 8 * 36 + 128 + 3 * 128; // Slice, Split, Pad, Flatten, Expand
    expect(p.element_ops).toBe(expected);
    expect(p.macs).toBe(0);
    expect(profileOnnx(g.build({ opset: 13 }), { batch: 2 }).unknown_shape_nodes).toEqual([]);
  });

  it('reads the attribute forms of older opsets (Squeeze/Unsqueeze axes, Upsample scales, Resize sizes)', () => {
    const g = new OnnxGraphBuilder('old');
    const x = g.input('x', [1, 4, 5, 5]);
    const y = g.node('Squeeze', [g.node('Unsqueeze', [x], { axes: [0] })], { axes: [0] });
    g.output(g.node('Resize', [y, '', '', g.ints('sizes', [1, 4, 10, 15])]));
    const p11 = profileOnnx(g.build({ opset: 11 }));
    expect(p11).toMatchObject({ unknown_shape_nodes: [], element_ops: 100 + 100 + 4 * 10 * 15 });
    const u = new OnnxGraphBuilder('upsample');
    u.output(u.node('Upsample', [u.input('x', [1, 2, 3, 3]), u.weight('sc', [4], 'float32', [1, 1, 2, 3])]));
    expect(profileOnnx(u.build({ opset: 9 })).element_ops).toBe(2 * 6 * 9);
  });

  it('lists a node whose input shapes contradict each other, with why, even when value_info declares its output (a trial: 131,072 MACs from the weight alone)', () => {
    // MatMul [1,100] × [256,512], output declared [1,512]; the Relu after it still reads the declared shape.
    const m = new OnnxGraphBuilder('mismatch');
    m.output(m.node('Relu', [m.node('MatMul', [m.input('x', [1, 100]), m.weight('w', [256, 512])], {}, { name: 'mm' })], {}, { name: 'act' }));
    m.declare('mm_out', [1, 512]);
    const mm = profileOnnx(m.build());
    expect(mm).toMatchObject({ macs: 0, element_ops: 512, unknown_shape_nodes: ['mm: inner dims differ: [1,100] × [256,512]'] });
    // A Conv whose input has 3 channels against a weight for 16; an Add of [1,10] and [7] (no broadcast).
    const c = new OnnxGraphBuilder('conv-mismatch');
    c.output(c.node('Conv', [c.input('x', [1, 3, 8, 8]), c.weight('w', [4, 16, 3, 3])], {}, { name: 'conv' }), [1, 4, 6, 6]);
    expect(profileOnnx(c.build())).toMatchObject({ macs: 0, unknown_shape_nodes: ['conv: input [1,3,8,8] does not fit weight [4,16,3,3] with group 1'] });
    const a = new OnnxGraphBuilder('add-mismatch');
    a.output(a.node('Add', [a.input('x', [1, 10]), a.weight('b', [7])], {}, { name: 'add' }), [1, 10]);
    expect(profileOnnx(a.build())).toMatchObject({ element_ops: 0, unknown_shape_nodes: ['add: shapes [[1,10],[7]] do not broadcast'] });
    // The same graphs with shapes that fit are counted (the check is the conflict, not the declaration).
    const ok = new OnnxGraphBuilder('fits');
    ok.output(ok.node('MatMul', [ok.input('x', [1, 256]), ok.weight('w', [256, 512])], {}, { name: 'mm' }), [1, 512]);
    expect(profileOnnx(ok.build())).toMatchObject({ macs: 256 * 512, unknown_shape_nodes: [] });
  });

  it('lists nodes it cannot infer (and what depends on them) unless value_info declares their shape', () => {
    const build = (declare: boolean) => {
      const g = new OnnxGraphBuilder('custom');
      const y = g.node('MyOp', [g.input('x', [1, 16])], {}, { domain: 'com.example', name: 'mine' });
      g.output(g.node('MatMul', [g.node('Relu', [y], { }, { name: 'after' }), g.weight('w', [16, 4])], {}, { name: 'fc' }));
      if (declare) g.declare(y, [1, 16]);
      return profileOnnx(g.build());
    };
    expect(build(false)).toMatchObject({ unknown_shape_nodes: ['mine', 'after', 'fc'], macs: 0, element_ops: 0 });
    expect(build(false).op_histogram).toEqual({ 'com.example.MyOp': 1, Relu: 1, MatMul: 1 });
    // A declared shape lets the nodes after it be counted; the custom operator's own work stays unknown, and listed
    // (a com.microsoft.FusedConv had counted as its 3.2 M output elements, 0 MACs, nothing listed).
    expect(build(true)).toMatchObject({ unknown_shape_nodes: ['mine: com.example.MyOp of a custom domain not counted'], macs: 16 * 4, element_ops: 16 });
    // ai.onnx.ml is ONNX's own (no MACs under the convention): a declared Scaler counts its output elements, unlisted.
    const ml = new OnnxGraphBuilder('ml');
    ml.output(ml.node('Scaler', [ml.input('x', [1, 16])], {}, { domain: 'ai.onnx.ml', name: 'scale' }), [1, 16]);
    expect(profileOnnx(ml.build())).toMatchObject({ unknown_shape_nodes: [], macs: 0, element_ops: 16 });
  });
});

describe('profileOnnx: malformed models', () => {
  /** The error a call throws (fails the test when it returns). */
  function failure(bytes: Uint8Array): OnnxProfileError {
    try {
      profileOnnx(bytes);
    } catch (error) {
      expect(error).toBeInstanceOf(OnnxProfileError);
      expect((error as Error).message).not.toMatch(/\n/);
      return error as OnnxProfileError;
    }
    throw new Error(`profiled ${bytes.length} bytes without an error`);
  }
  const small = () => {
    const g = new OnnxGraphBuilder('small');
    g.output(g.node('Relu', [g.node('Conv', [g.input('x', ['N', 3, 8, 8]), g.weight('w', [4, 3, 3, 3])], { pads: [1, 1, 1, 1] })]));
    return g;
  };

  it('refuses a tensor of rank above 64, declared or inferred (a trial: a 40-KB file of Relus on a rank-10,000 input held the worker for a minute)', () => {
    const chain = (rank: number) => {
      const g = new OnnxGraphBuilder('deep');
      let y = g.input('x', Array.from({ length: rank }, () => 1));
      for (let i = 0; i < 5; i++) y = g.node('Relu', [y], {}, { name: `r${i}` });
      g.output(y);
      return g.build();
    };
    expect(profileOnnx(chain(64))).toMatchObject({ element_ops: 5, unknown_shape_nodes: [] });
    expect(failure(chain(65)).message).toMatch(/rank 65 is above 64/);
    expect(failure(chain(10_000)).message).toMatch(/^input "x": rank 10000 is above 64, more than any model's tensors have/);
    // A rank the file does not declare: a Reshape to a 100-dim shape, from a constant.
    const g = new OnnxGraphBuilder('reshaped');
    g.output(g.node('Relu', [g.node('Reshape', [g.input('x', [1, 1]), g.ints('s', Array.from({ length: 100 }, () => 1))], {}, { name: 'reshape' })], {}, { name: 'relu' }));
    expect(failure(g.build()).message).toMatch(/^node "reshape" \(Reshape\): output "[^"]+": rank 100 is above 64/);
  });

  it('keeps folded values, listed ids and the list itself bounded (a trial: Concat(v, v) chains doubled a constant to 2^28 elements from 1 KB; nested long names made a 361-MB answer)', () => {
    // 20 doublings of a 1-element constant: the value is dropped past MAX_FOLDED (4,096), the shape kept exact.
    const g = new OnnxGraphBuilder('doubling');
    let v = g.ints('v', [1]);
    for (let i = 0; i < 20; i++) v = g.node('Concat', [v, v], { axis: 0 }, { name: `c${i}` });
    g.output(g.node('Relu', [g.node('Cast', [v], { to: 1 }, { name: 'cast' })], {}, { name: 'relu' }));
    // Element ops: the Concats' outputs 2 + 4 + … + 2^20 = 2^21 − 2, then Cast and Relu 2^20 each.
    expect(profileOnnx(g.build())).toMatchObject({ element_ops: 2 ** 21 - 2 + 2 * 2 ** 20, unknown_shape_nodes: [] });
    // 1,500 nodes whose shape is unknown, with 500-character names: ids cut to 120 characters, at most 1,000 entries.
    const u = new OnnxGraphBuilder('unknowns');
    const x = u.input('x', [1, 4]);
    for (let i = 0; i < 1500; i++) u.output(u.node('MyOp', [x], {}, { domain: 'com.example', name: `${'n'.repeat(500)}${i}` }));
    const list = profileOnnx(u.build()).unknown_shape_nodes;
    expect(list).toHaveLength(1000);
    expect(list.at(-1)).toBe('… and 501 more nodes');
    expect(list[0]).toBe(`${'n'.repeat(119)}…`);
  });

  it('refuses an empty buffer, random bytes and other files with one line', () => {
    expect(failure(new Uint8Array(0)).message).toMatch(/^empty file/);
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 300; i++) failure(Uint8Array.from({ length: 1 + Math.floor(random() * 3000) }, () => Math.floor(random() * 256)));
    // JSON text (a profile's, given as the model file: a trial) is named so.
    expect(failure(Buffer.from('{"not": "onnx"}')).message).toBe('not an ONNX model: protobuf decode failed at byte 3 (a field needs 110 byte(s), the file has 15); it starts as JSON text does (a profile\'s JSON? recommend takes it as --profile, POST /v1/recommend as "profile")');
    expect(failure(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])).message).toMatch(/^not an ONNX model: /);
  });

  it('refuses a valid model truncated at any length', () => {
    const bytes = small().build();
    const messages = new Set<string>();
    for (let n = 1; n < bytes.length; n++) messages.add(failure(bytes.subarray(0, n)).message.replace(/\d+/g, '#'));
    expect([...messages].some((m) => m.startsWith('truncated file'))).toBe(true);
    const big = resnet50().bytes;
    for (const n of [1, 10, 100, 1000, Math.floor(big.length / 2), big.length - 1]) failure(big.subarray(0, n));
  });

  it('refuses attributes onnxruntime refuses: group, strides or dilations below 1, a kernel larger than the padded input', async () => {
    const conv = (attrs: Record<string, AttrValue>, spatial = 8, kernel = 3, opType = 'Conv') => {
      const g = new OnnxGraphBuilder('bad');
      const x = g.input('x', [1, 4, spatial, spatial]);
      g.output(opType === 'Conv' ? g.node('Conv', [x, g.weight('w', [4, 4, kernel, kernel])], attrs, { name: 'c1' }) : g.node(opType, [x], attrs, { name: 'c1' }));
      return g.build();
    };
    expect(failure(conv({ group: 0 })).message).toBe('node "c1" (Conv): attribute group [0]: expected integers ≥ 1');
    expect(failure(conv({ strides: [0, 0] })).message).toBe('node "c1" (Conv): attribute strides [0,0]: expected integers ≥ 1');
    expect(failure(conv({ dilations: [1, -2] })).message).toBe('node "c1" (Conv): attribute dilations [1,-2]: expected integers ≥ 1');
    expect(failure(conv({}, 2, 9)).message).toBe('node "c1" (Conv): output spatial dims [-6,-6]: the kernel [9,9] does not fit the (padded) input [2,2]');
    expect(failure(conv({ kernel_shape: [5, 5] }, 3, 3, 'MaxPool')).message).toBe('node "c1" (MaxPool): output spatial dims [-1,-1]: the kernel [5,5] does not fit the (padded) input [3,3]');
    // onnxruntime refuses the same models.
    await expect(ort.InferenceSession.create(conv({ strides: [0, 0] }), { logSeverityLevel: 3 }).then((s) => s.run({ x: new ort.Tensor('float32', new Float32Array(256), [1, 4, 8, 8]) }))).rejects.toThrow();
    await expect(ort.InferenceSession.create(conv({}, 2, 9), { logSeverityLevel: 3 }).then((s) => s.run({ x: new ort.Tensor('float32', new Float32Array(16), [1, 4, 2, 2]) }))).rejects.toThrow();
    // A kernel that just fits is fine: 3×3 on 3×3 gives 1×1.
    expect(profileOnnx(conv({}, 3, 3))).toMatchObject({ macs: convMacs(4, 1, 1, 4, 3, 3), unknown_shape_nodes: [] });
  });

  it('refuses broken graphs: no nodes, a missing input, a cycle, a repeated output', () => {
    expect(failure(new OnnxGraphBuilder('empty').build()).message).toBe('graph has no nodes');
    const missing = small();
    missing.node('Add', ['x', 'nope'], {}, { name: 'add1' });
    expect(failure(missing.build()).message).toBe('node "add1" (Add): input "nope" is not a graph input, an initializer or any node\'s output');
    const cycle = new OnnxGraphBuilder('cycle');
    cycle.input('x', [1]);
    cycle.nodeOutputs('Add', ['x', 'b'], {}, { name: 'a', outputs: ['a'] });
    cycle.nodeOutputs('Relu', ['a'], {}, { name: 'b', outputs: ['b'] });
    expect(failure(cycle.build()).message).toMatch(/^graph has a cycle through node "a" \(Add\)$/);
    const twice = new OnnxGraphBuilder('twice');
    twice.nodeOutputs('Relu', [twice.input('x', [1])], {}, { outputs: ['y'] });
    twice.nodeOutputs('Relu', ['x'], {}, { outputs: ['y'], name: 'r2' });
    expect(failure(twice.build()).message).toMatch(/^node "r2" \(Relu\): output "y" is already produced by another node$/);
  });

  it('refuses initializers onnxruntime cannot load: data type 0, dims without data (a trial: both were counted as weights)', async () => {
    const withWeight = (w: Record<string, unknown>) => {
      const g = small();
      const model = g.model();
      model.graph!.initializer!.push({ name: 'extra', ...w });
      model.graph!.node!.push({ opType: 'Relu', input: ['extra'], output: ['extra_out'], name: 'uses_extra' });
      return onnxProto.onnx.ModelProto.encode(model).finish();
    };
    const noData = withWeight({ dims: [64, 64], dataType: 1 });
    expect(failure(noData).message).toBe('initializer "extra": dims [64,64] but no data and no external-data reference');
    await expect(ort.InferenceSession.create(noData)).rejects.toThrow();
    expect(failure(withWeight({ dims: [2], dataType: 0, rawData: new Uint8Array(8) })).message).toBe('initializer "extra": data type 0 (UNDEFINED): not a tensor onnxruntime can load');
    // Close variants a trial found counted: short typed data, data in another type's field, an unknown type, external data without a file.
    expect(failure(withWeight({ dims: [8, 8], dataType: 1, floatData: [1] })).message).toBe('initializer "extra": float_data holds 1 value(s), dims [8,8] need 64');
    expect(failure(withWeight({ dims: [2], dataType: 1, int64Data: [1, 2] })).message).toBe('initializer "extra": int64_data holds the data of a float32 tensor (ONNX keeps it in another field)');
    expect(failure(withWeight({ dims: [2], dataType: 99, rawData: new Uint8Array(8) })).message).toBe('initializer "extra": data type 99 is not an ONNX element type');
    expect(failure(withWeight({ dims: [2], dataType: 1, dataLocation: 1, externalData: [{ key: 'offset', value: '0' }] })).message).toBe('initializer "extra": external data without a location');
    expect(profileOnnx(withWeight({ dims: [2, 2], dataType: 1, floatData: [1, 2, 3, 4] })).params).toBe(4 * 3 * 3 * 3 + 4);
    // An empty tensor needs no data.
    expect(profileOnnx(withWeight({ dims: [0, 4], dataType: 1 })).params).toBe(4 * 3 * 3 * 3);
  });

  it('refuses counts of 2^53 or more', () => {
    const huge = new OnnxGraphBuilder('huge', { inlineLimit: 0 });
    huge.node('Relu', [huge.input('x', [2 ** 20, 2 ** 20, 2 ** 20])]);
    expect(failure(huge.build()).message).toMatch(/exceeds 2\^53/);
    const weights = new OnnxGraphBuilder('weights', { inlineLimit: 0 });
    weights.node('Relu', [weights.weight('w', [2 ** 30, 2 ** 30, 2 ** 10])]);
    expect(failure(weights.build()).message).toMatch(/^initializer "w".*exceeds 2\^53/);
    const wide = new OnnxGraphBuilder('wide', { inlineLimit: 0 });
    wide.node('MatMul', [wide.input('a', [2 ** 26, 2 ** 20]), wide.weight('b', [2 ** 20, 2 ** 10])], {}, { name: 'mm' });
    expect(failure(wide.build()).message).toMatch(/^node "mm" \(MatMul\): .*exceeds 2\^53/);
  });
});
