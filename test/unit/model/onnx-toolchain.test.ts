/**
 * The ONNX toolchain the latency model will use (issue 4) installs and works
 * on a fresh machine: a one-tree `ai.onnx.ml` TreeEnsembleRegressor written
 * with onnx-proto is scored by onnxruntime-node's CPU build (shipped in the
 * package; `.npmrc` skips its CUDA download) exactly as the tree says,
 * including inputs at the float32 threshold and one float32 step either side
 * (BRANCH_LEQ: x <= threshold goes left).
 */
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

const { onnx } = onnxProto;

/** One tree: x0 <= t → 10, else 20 (a TreeEnsembleRegressor, opset ai.onnx.ml 3). */
function oneTreeModel(threshold: number): Uint8Array {
  const A = onnx.AttributeProto.AttributeType;
  const ints = (name: string, v: number[]) => ({ name, type: A.INTS, ints: v });
  const floats = (name: string, v: number[]) => ({ name, type: A.FLOATS, floats: v });
  const strings = (name: string, v: string[]) => ({ name, type: A.STRINGS, strings: v.map((s) => Buffer.from(s)) });
  const node = {
    opType: 'TreeEnsembleRegressor', domain: 'ai.onnx.ml', input: ['x'], output: ['y'], name: 'tree',
    attribute: [
      ints('nodes_treeids', [0, 0, 0]), ints('nodes_nodeids', [0, 1, 2]), ints('nodes_featureids', [0, 0, 0]),
      floats('nodes_values', [threshold, 0, 0]), strings('nodes_modes', ['BRANCH_LEQ', 'LEAF', 'LEAF']),
      ints('nodes_truenodeids', [1, 0, 0]), ints('nodes_falsenodeids', [2, 0, 0]),
      ints('target_treeids', [0, 0]), ints('target_nodeids', [1, 2]), ints('target_ids', [0, 0]), floats('target_weights', [10, 20]),
      { name: 'n_targets', type: A.INT, i: 1 },
    ],
  };
  const tensor = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => (d < 0 ? { dimParam: 'N' } : { dimValue: d })) } } } });
  const model = onnx.ModelProto.create({
    irVersion: 8, producerName: 'edgelat-test',
    opsetImport: [{ domain: '', version: 17 }, { domain: 'ai.onnx.ml', version: 3 }],
    graph: { name: 'g', node: [node], input: [tensor('x', [-1, 1])], output: [tensor('y', [-1, 1])] },
  });
  return onnx.ModelProto.encode(model).finish();
}

describe('ONNX toolchain', () => {
  it('scores a TreeEnsembleRegressor built with onnx-proto in onnxruntime-node as the tree says', async () => {
    const t = Math.fround(0.3); // thresholds are float32
    const session = await ort.InferenceSession.create(oneTreeModel(t));
    const below = new Float32Array([t]);
    const bits = new Uint32Array(below.buffer);
    const at = below[0]!;
    bits[0]! -= 1;
    const justBelow = below[0]!;
    const above = new Float32Array([t]);
    new Uint32Array(above.buffer)[0]! += 1;
    const inputs = new Float32Array([-5, justBelow, at, above[0]!, 7]);
    const out = await session.run({ x: new ort.Tensor('float32', inputs, [inputs.length, 1]) });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([10, 10, 10, 20, 20]);
    expect(out.y!.dims).toEqual([5, 1]);
    await session.release();
  });

  it('refuses an input of the wrong dtype with a clear error (case C17 kind)', async () => {
    const session = await ort.InferenceSession.create(oneTreeModel(0.5));
    await expect(session.run({ x: new ort.Tensor('float64', new Float64Array([0.1]), [1, 1]) })).rejects.toThrow(/type|double|float/i);
    await session.release();
  });
});
