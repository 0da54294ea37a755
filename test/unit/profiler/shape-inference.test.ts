/**
 * The profiler's own shape rules, one operator form per row: the expected
 * output shape is written out by hand, and onnxruntime-node, running the same
 * one-node graph, must produce it too.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { inferShapes } from '../../../services/profiler/shape-inference.ts';
import type { TensorInfo } from '../../../services/profiler/shape-context.ts';
import { constantTensor } from '../../../services/profiler/shape-layout.ts';
import { OnnxGraphBuilder } from '../../helpers/onnx-graph.ts';

interface Case {
  name: string;
  opset?: number;
  /** Inputs are float32 with fixed dims; returns the outputs to check. */
  build: (g: OnnxGraphBuilder) => string[];
  expected: (number[] | null)[];
}

const x = (g: OnnxGraphBuilder, dims: number[], name = 'x') => g.input(name, dims);
const CASES: Case[] = [
  { name: 'Conv SAME_LOWER stride 2', build: (g) => [g.node('Conv', [x(g, [1, 2, 7, 7]), g.weight('w', [4, 2, 3, 3])], { auto_pad: 'SAME_LOWER', strides: [2, 2] })], expected: [[1, 4, 4, 4]] },
  { name: 'Conv SAME_UPPER stride 3', build: (g) => [g.node('Conv', [x(g, [1, 2, 7, 6]), g.weight('w', [4, 2, 3, 3])], { auto_pad: 'SAME_UPPER', strides: [3, 3] })], expected: [[1, 4, 3, 2]] },
  { name: 'Conv asymmetric pads', build: (g) => [g.node('Conv', [x(g, [1, 2, 7, 7]), g.weight('w', [4, 2, 3, 2])], { pads: [0, 1, 2, 0], strides: [2, 1] })], expected: [[1, 4, 4, 7]] },
  { name: 'ConvTranspose SAME_UPPER', build: (g) => [g.node('ConvTranspose', [x(g, [1, 2, 5, 5]), g.weight('w', [2, 3, 3, 3])], { auto_pad: 'SAME_UPPER', strides: [2, 2] })], expected: [[1, 3, 10, 10]] },
  { name: 'ConvTranspose dilated', build: (g) => [g.node('ConvTranspose', [x(g, [1, 2, 5]), g.weight('w', [2, 3, 3])], { dilations: [2] })], expected: [[1, 3, 9]] },
  { name: 'MaxPool VALID', build: (g) => [g.node('MaxPool', [x(g, [1, 2, 8, 8])], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'VALID' })], expected: [[1, 2, 3, 3]] },
  { name: 'AveragePool SAME_UPPER', build: (g) => [g.node('AveragePool', [x(g, [1, 2, 7, 7])], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' })], expected: [[1, 2, 4, 4]] },
  { name: 'MaxPool dilated with indices', build: (g) => g.nodeOutputs('MaxPool', [x(g, [1, 2, 7, 7])], { kernel_shape: [2, 2], dilations: [2, 2] }, { outputs: 2 }), expected: [[1, 2, 5, 5], [1, 2, 5, 5]] },
  { name: 'GlobalMaxPool 1-D', build: (g) => [g.node('GlobalMaxPool', [x(g, [2, 3, 9])])], expected: [[2, 3, 1]] },
  { name: 'Flatten axis -1 and 0', build: (g) => [g.node('Flatten', [x(g, [2, 3, 4])], { axis: -1 }), g.node('Flatten', ['x'], { axis: 0 })], expected: [[6, 4], [1, 24]] },
  { name: 'Squeeze without axes', build: (g) => [g.node('Squeeze', [x(g, [1, 3, 1, 2])])], expected: [[3, 2]] },
  { name: 'Unsqueeze negative axes', build: (g) => [g.node('Unsqueeze', [x(g, [3, 2]), g.ints('a', [-1, 0])])], expected: [[1, 3, 2, 1]] },
  { name: 'Shape start/end → ConstantOfShape', opset: 15, build: (g) => [g.node('ConstantOfShape', [g.node('Shape', [x(g, [2, 3, 4, 5])], { start: 1, end: -1 })])], expected: [[3, 4]] },
  { name: 'Slice negative step, clamped end', build: (g) => [g.node('Slice', [x(g, [10, 4]), g.ints('s', [-1]), g.ints('e', [-1000]), g.ints('a', [0]), g.ints('t', [-2])])], expected: [[5, 4]] },
  { name: 'Slice INT64_MAX end', build: (g) => [g.node('Slice', [x(g, [10, 4]), g.ints('s', [1, 1]), g.ints('e', [Number.MAX_SAFE_INTEGER, 3])])], expected: [[9, 2]] },
  { name: 'Gather axis 1, 2-D indices', build: (g) => [g.node('Gather', [x(g, [4, 5, 6]), g.weight('i', [2, 3], 'int64', [0, 1, 2, 3, 4, 0])], { axis: 1 })], expected: [[4, 2, 3, 6]] },
  { name: 'Split equal', build: (g) => g.nodeOutputs('Split', [x(g, [2, 9])], { axis: 1 }, { outputs: 3 }), expected: [[2, 3], [2, 3], [2, 3]] },
  { name: 'Split num_outputs uneven', opset: 18, build: (g) => g.nodeOutputs('Split', [x(g, [10, 2])], { num_outputs: 3 }, { outputs: 3 }), expected: [[4, 2], [4, 2], [2, 2]] },
  { name: 'Tile', build: (g) => [g.node('Tile', [x(g, [2, 3]), g.ints('r', [2, 2])])], expected: [[4, 6]] },
  { name: 'Expand', build: (g) => [g.node('Expand', [x(g, [3, 1]), g.ints('s', [2, 1, 4])])], expected: [[2, 3, 4]] },
  { name: 'Where broadcast', build: (g) => [g.node('Where', [g.node('Greater', [x(g, [3, 1]), x(g, [1, 4], 'y')]), 'x', g.weight('z', [], 'float32', [0])])], expected: [[3, 4]] },
  { name: 'ReduceSum axes input', opset: 13, build: (g) => [g.node('ReduceSum', [x(g, [2, 3, 4]), g.ints('a', [1])])], expected: [[2, 1, 4]] },
  { name: 'ReduceMean opset 18, ReduceMax all', opset: 18, build: (g) => [g.node('ReduceMean', [x(g, [2, 3, 4]), g.ints('a', [-1])], { keepdims: 0 }), g.node('ReduceMax', ['x'], { keepdims: 0 })], expected: [[2, 3], []] },
  { name: 'ArgMax', build: (g) => [g.node('ArgMax', [x(g, [2, 3, 4])], { axis: -1, keepdims: 0 })], expected: [[2, 3]] },
  { name: 'TopK', build: (g) => g.nodeOutputs('TopK', [x(g, [2, 10]), g.ints('k', [3])], {}, { outputs: 2 }), expected: [[2, 3], [2, 3]] },
  { name: 'DepthToSpace / SpaceToDepth', build: (g) => [g.node('DepthToSpace', [x(g, [1, 8, 3, 3])], { blocksize: 2 }), g.node('SpaceToDepth', ['x'], { blocksize: 3 })], expected: [[1, 2, 6, 6], [1, 72, 1, 1]] },
  { name: 'Resize sizes with axes', opset: 18, build: (g) => [g.node('Resize', [x(g, [1, 3, 4, 4]), '', '', g.ints('s', [8, 6])], { axes: [2, 3] })], expected: [[1, 3, 8, 6]] },
  { name: 'MatMul 1-D × 1-D', build: (g) => [g.node('MatMul', [x(g, [5]), g.weight('w', [5])])], expected: [[]] },
  { name: 'Pad with axes', opset: 18, build: (g) => [g.node('Pad', [x(g, [2, 3, 4]), g.ints('p', [1, 2, 3, 4]), '', g.ints('a', [0, 2])])], expected: [[6, 3, 10]] },
  { name: 'Range', build: (g) => [g.node('Range', [g.weight('a', [], 'float32', [0]), g.weight('b', [], 'float32', [10]), g.weight('c', [], 'float32', [3])])], expected: [[4]] },
  { name: 'LayerNormalization statistics', build: (g) => g.nodeOutputs('LayerNormalization', [x(g, [2, 3, 4]), g.weight('s', [3, 4]), g.weight('b', [3, 4])], { axis: 1 }, { outputs: 3 }), expected: [[2, 3, 4], [2, 1, 1], [2, 1, 1]] },
  { name: 'Einsum batched matmul', build: (g) => [g.node('Einsum', [x(g, [2, 3, 4]), x(g, [2, 4, 5], 'y')], { equation: 'bij,bjk->bik' })], expected: [[2, 3, 5]] },
  { name: 'Einsum implicit output', build: (g) => [g.node('Einsum', [x(g, [3, 4]), x(g, [4, 5], 'y')], { equation: 'kj,ji' })], expected: [[5, 3]] },
  { name: 'Einsum broadcast ellipsis', build: (g) => [g.node('Einsum', [x(g, [2, 1, 3, 4]), x(g, [2, 5, 4, 6], 'y')], { equation: '...ij,...jk->...ik' })], expected: [[2, 5, 3, 6]] },
  { name: 'Einsum transpose and trace', build: (g) => [g.node('Einsum', [x(g, [3, 4, 5])], { equation: 'abc->cba' }), g.node('Einsum', [x(g, [6, 6], 'y')], { equation: 'ii' })], expected: [[5, 4, 3], []] },
  { name: 'LSTM bidirectional', build: (g) => g.nodeOutputs('LSTM', [x(g, [7, 2, 10]), g.weight('w', [2, 4 * 6, 10]), g.weight('r', [2, 4 * 6, 6])], { hidden_size: 6, direction: 'bidirectional' }, { outputs: 3 }), expected: [[7, 2, 2, 6], [2, 2, 6], [2, 2, 6]] },
  { name: 'GRU reverse', build: (g) => g.nodeOutputs('GRU', [x(g, [7, 2, 10]), g.weight('w', [1, 3 * 6, 10]), g.weight('r', [1, 3 * 6, 6])], { hidden_size: 6, direction: 'reverse' }, { outputs: 2 }), expected: [[7, 1, 2, 6], [1, 2, 6]] },
  { name: 'RNN', build: (g) => g.nodeOutputs('RNN', [x(g, [7, 2, 10]), g.weight('w', [1, 6, 10]), g.weight('r', [1, 6, 6])], { hidden_size: 6 }, { outputs: 2 }), expected: [[7, 1, 2, 6], [1, 2, 6]] },
  { name: 'Reshape of a folded batch', build: (g) => [g.node('Reshape', [x(g, [2, 3, 4]), g.node('Concat', [g.node('Shape', ['x'], { end: 1 }), g.ints('m', [-1, 2])], { axis: 0 })])], expected: [[2, 6, 2]] },
];

/** Output shapes by the profiler's rules (inputs and initializers seeded as profile.ts does). */
function inferred(bytesModel: ReturnType<OnnxGraphBuilder['model']>, outputs: string[]): (number[] | null)[] {
  const graph = bytesModel.graph!;
  const env = new Map<string, TensorInfo>();
  for (const t of graph.initializer ?? []) env.set(t.name!, constantTensor(t, t.name!));
  for (const i of graph.input ?? []) env.set(i.name!, { shape: (i.type!.tensorType!.shape!.dim ?? []).map((d) => Number(d.dimValue)) });
  inferShapes(graph.node ?? [], env, Number(bytesModel.opsetImport![0]!.version), () => null);
  return outputs.map((o) => env.get(o)?.shape ?? null);
}

describe('shape rules', () => {
  it.each(CASES)('$name', async ({ build, expected, opset }) => {
    const g = new OnnxGraphBuilder('one_op', { inlineLimit: Infinity });
    const outputs = build(g);
    outputs.forEach((o) => g.output(o, null, null));
    const model = g.model({ opset: opset ?? 17 });
    expect(inferred(model, outputs)).toEqual(expected);
    const session = await ort.InferenceSession.create(g.build({ opset: opset ?? 17 }));
    const feeds = Object.fromEntries(model.graph!.input!.map((i) => {
      const dims = i.type!.tensorType!.shape!.dim!.map((d) => Number(d.dimValue));
      return [i.name!, new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims)];
    }));
    const out = await session.run(feeds);
    await session.release();
    expect(outputs.map((o) => [...out[o]!.dims])).toEqual(expected);
  });

  it('leaves data-dependent and custom operators unknown', () => {
    const g = new OnnxGraphBuilder('unknown');
    const outputs = [g.node('NonZero', [x(g, [3, 4])]), g.node('Unique', ['x']), g.node('Reshape', ['x', g.node('Shape', [g.node('NonZero', ['x'])])])];
    expect(inferred(g.model(), outputs)).toEqual([null, null, null]);
  });
});
