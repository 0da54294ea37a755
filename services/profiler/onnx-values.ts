/**
 * Reading values out of decoded ONNX protobufs for the profiler: the error
 * type, int64 conversion, element types, checked arithmetic, attributes and
 * small constant tensors.
 */
import onnxProto from 'onnx-proto';

type INodeProto = onnxProto.onnx.INodeProto;
type IAttributeProto = onnxProto.onnx.IAttributeProto;
type ITensorProto = onnxProto.onnx.ITensorProto;

/** A protobuf int64 as onnx-proto decodes it (a number or a `Long`). */
export type Int64 = number | { toNumber(): number; toString(): string } | null | undefined;

/**
 * The bytes are not a profilable ONNX model: a failed decode, a truncated or
 * empty file, a broken graph, or a count beyond 2^53. The message is one line.
 */
export class OnnxProfileError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message.replace(/[\u0000-\u001f\u007f]+/g, ' '), { cause: options.cause });
    this.name = 'OnnxProfileError';
  }
}

/** An int64 as a number (approximate beyond 2^53; callers that need exact dims use {@link toDim}). */
export function int64(v: Int64): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : Number(v.toString());
}

/**
 * An int64 that must be a dimension.
 * @throws {OnnxProfileError} if it is negative or not below 2^53; `what` names it.
 */
export function toDim(v: Int64, what: string): number {
  const n = int64(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new OnnxProfileError(`${what}: dim ${JSON.stringify(v === null || v === undefined ? null : String(v))} is not an integer in [0, 2^53)`);
  return n;
}

/**
 * a · b, exact.
 * @throws {OnnxProfileError} if the product reaches 2^53; `what` names the count.
 */
export function mul(a: number, b: number, what: string): number {
  const r = a * b;
  if (!Number.isSafeInteger(r)) throw new OnnxProfileError(`${what}: ${a} × ${b} exceeds 2^53`);
  return r;
}

/**
 * a + b, exact.
 * @throws {OnnxProfileError} if the sum reaches 2^53; `what` names the count.
 */
export function add(a: number, b: number, what: string): number {
  const r = a + b;
  if (!Number.isSafeInteger(r)) throw new OnnxProfileError(`${what}: ${a} + ${b} exceeds 2^53`);
  return r;
}

/**
 * Highest tensor rank the profiler takes. Real models stay under 10 (ONNX Runtime's broadcast kernels are built for
 * rank ≤ 8 or so); shape inference costs rank × nodes, so a small file whose input has rank 100,000 held the profile
 * worker for minutes (a trial).
 */
export const MAX_RANK = 64;

/**
 * Element count of a shape.
 * @throws {OnnxProfileError} if it reaches 2^53, or the rank is above {@link MAX_RANK}.
 */
export function numel(shape: readonly number[], what: string): number {
  if (shape.length > MAX_RANK) throw new OnnxProfileError(`${what}: rank ${shape.length} is above ${MAX_RANK}, more than any model's tensors have (a broken or hostile file)`);
  let n = 1;
  // The message is built only for the throw: built for every dim it made a profile quadratic in the rank (a trial: a
  // 40-KB file of 50 nodes on an input of rank 10,000 took a minute).
  for (const d of shape) {
    const r = n * d;
    if (!Number.isSafeInteger(r)) mul(n, d, `${what} of shape ${JSON.stringify(shape)}: element count`);
    n = r;
  }
  return n;
}

/** ONNX TensorProto.DataType code → [name, bytes per element]; 4-bit types count 0.5. */
const DTYPES: Record<number, [string, number]> = {
  1: ['float32', 4], 2: ['uint8', 1], 3: ['int8', 1], 4: ['uint16', 2], 5: ['int16', 2], 6: ['int32', 4], 7: ['int64', 8],
  8: ['string', 0], 9: ['bool', 1], 10: ['float16', 2], 11: ['float64', 8], 12: ['uint32', 4], 13: ['uint64', 8],
  14: ['complex64', 8], 15: ['complex128', 16], 16: ['bfloat16', 2], 17: ['float8e4m3fn', 1], 18: ['float8e4m3fnuz', 1],
  19: ['float8e5m2', 1], 20: ['float8e5m2fnuz', 1], 21: ['uint4', 0.5], 22: ['int4', 0.5], 23: ['float4e2m1', 0.5],
};

/** Element type name (`float32`, `int8`, ...) of a DataType code; `dtype<code>` when unknown. */
export function dtypeName(code: number | null | undefined): string {
  return DTYPES[code ?? 0]?.[0] ?? `dtype${code ?? 0}`;
}

/** Bytes per element of a DataType code (0 for strings and unknown codes, 0.5 for 4-bit types). */
export function dtypeSize(code: number | null | undefined): number {
  return DTYPES[code ?? 0]?.[1] ?? 0;
}

/** The attribute of a node by name, if present. */
export function attr(node: INodeProto, name: string): IAttributeProto | undefined {
  return node.attribute?.find((a) => a.name === name);
}

/** An INT attribute, or `def` when absent. */
export function attrInt(node: INodeProto, name: string, def: number): number {
  const a = attr(node, name);
  return a && a.i !== null && a.i !== undefined ? int64(a.i) : def;
}

/** An INTS attribute, or `def` when absent. */
export function attrInts(node: INodeProto, name: string, def: number[] | null = null): number[] | null {
  const a = attr(node, name);
  return a?.ints && a.ints.length > 0 ? a.ints.map(int64) : def;
}

/** A FLOATS attribute, or `def` when absent. */
export function attrFloats(node: INodeProto, name: string, def: number[] | null = null): number[] | null {
  const a = attr(node, name);
  return a?.floats && a.floats.length > 0 ? [...a.floats] : def;
}

/** A STRING attribute (UTF-8), or `def` when absent. */
export function attrString(node: INodeProto, name: string, def: string): string {
  const s = attr(node, name)?.s;
  return s && s.length > 0 ? Buffer.from(s).toString('utf8') : def;
}

/** Largest constant whose values the profiler folds (elements). */
export const MAX_FOLDED = 4096;

/**
 * The values of a small numeric tensor (int and float types), or null when it
 * is large, external, a string or an unsupported type.
 */
export function tensorValues(t: ITensorProto, count: number): number[] | null {
  if (count > MAX_FOLDED || t.dataLocation === 1) return null;
  const type = t.dataType ?? 0;
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  if (raw) {
    const size = dtypeSize(type);
    if (size < 1 || raw.length !== count * size) return null;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const read: Record<number, (i: number) => number> = {
      1: (i) => view.getFloat32(i * 4, true), 2: (i) => view.getUint8(i), 3: (i) => view.getInt8(i),
      4: (i) => view.getUint16(i * 2, true), 5: (i) => view.getInt16(i * 2, true), 6: (i) => view.getInt32(i * 4, true),
      7: (i) => Number(view.getBigInt64(i * 8, true)), 9: (i) => view.getUint8(i), 11: (i) => view.getFloat64(i * 8, true),
      12: (i) => view.getUint32(i * 4, true), 13: (i) => Number(view.getBigUint64(i * 8, true)),
    };
    const f = read[type];
    return f ? Array.from({ length: count }, (_, i) => f(i)) : null;
  }
  const pick = (arr: ArrayLike<number | Int64> | null | undefined): number[] | null =>
    arr && arr.length === count ? Array.from(arr as ArrayLike<Int64>, int64) : null;
  if (type === 1) return pick(t.floatData);
  if (type === 11) return pick(t.doubleData);
  if (type === 7) return pick(t.int64Data);
  if (type === 12 || type === 13) return pick(t.uint64Data);
  if ([2, 3, 4, 5, 6, 9].includes(type)) return pick(t.int32Data);
  return null;
}
