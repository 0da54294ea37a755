/**
 * Running a test model in onnxruntime-node to read its output shapes: the
 * reference the profiler's shape inference is checked against.
 */
import * as ort from 'onnxruntime-node';

/**
 * Output dims of each graph output in onnxruntime, fed float32 zeros.
 * @param inputs  Input name → dims.
 * @returns       Output name → dims, in the graph's output order.
 * @throws whatever onnxruntime throws for a model it refuses.
 */
export async function ortShapes(bytes: Uint8Array, inputs: Record<string, number[]>): Promise<Record<string, readonly number[]>> {
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  const feeds = Object.fromEntries(Object.entries(inputs).map(([k, dims]) => [k, new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims)]));
  const out = await session.run(feeds);
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.dims]));
}
