/**
 * A small builder of ONNX models for tests, written with onnx-proto: graph
 * inputs with fixed or symbolic dims, initializers (inline raw data when
 * small, an external-data reference when large, so a 25M-parameter graph
 * stays a few KB), nodes with attributes, and the serialized ModelProto.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const A = onnx.AttributeProto.AttributeType;

/** Element types the builder writes. */
export type DType = 'float32' | 'float16' | 'float64' | 'int8' | 'uint8' | 'int32' | 'int64' | 'bool';
const CODES: Record<DType, number> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11 };
const SIZES: Record<DType, number> = { float32: 4, uint8: 1, int8: 1, int32: 4, int64: 8, bool: 1, float16: 2, float64: 8 };

/** An attribute value: integers → INT(S), other numbers → FLOAT(S), strings → STRING; wrap to force a type. */
export type AttrValue = number | number[] | string | { float: number } | { floats: number[] } | { tensor: onnxProto.onnx.ITensorProto } | { graph: onnxProto.onnx.IGraphProto };

/** Options of {@link OnnxGraphBuilder}. */
export interface BuilderOptions {
  /** Initializers up to this many elements get inline raw data (zeros unless given); larger ones an external-data reference. @default 4096 */
  inlineLimit?: number;
}

/** Raw little-endian bytes of values in a dtype (float16 written as zeros). */
function rawBytes(dtype: DType, count: number, values?: readonly number[]): Uint8Array {
  const buf = new ArrayBuffer(count * SIZES[dtype]);
  const v = new DataView(buf);
  values?.forEach((x, i) => {
    if (dtype === 'float32') v.setFloat32(i * 4, x, true);
    else if (dtype === 'float64') v.setFloat64(i * 8, x, true);
    else if (dtype === 'int64') v.setBigInt64(i * 8, BigInt(x), true);
    else if (dtype === 'int32') v.setInt32(i * 4, x, true);
    else if (dtype === 'int8') v.setInt8(i, x);
    else if (dtype === 'uint8' || dtype === 'bool') v.setUint8(i, x);
  });
  return new Uint8Array(buf);
}

/** A TensorProto with the given dims and (optional) values. */
export function tensorProto(name: string, dims: readonly number[], dtype: DType = 'float32', values?: readonly number[]): onnxProto.onnx.ITensorProto {
  const count = dims.reduce((a, b) => a * b, 1);
  return { name, dims: [...dims], dataType: CODES[dtype], rawData: rawBytes(dtype, count, values) };
}

function attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  if (typeof v === 'string') return { name, type: A.STRING, s: Buffer.from(v) };
  if (typeof v === 'number') return Number.isInteger(v) ? { name, type: A.INT, i: v } : { name, type: A.FLOAT, f: v };
  if (Array.isArray(v)) return v.every(Number.isInteger) ? { name, type: A.INTS, ints: v } : { name, type: A.FLOATS, floats: v };
  if ('float' in v) return { name, type: A.FLOAT, f: v.float };
  if ('floats' in v) return { name, type: A.FLOATS, floats: v.floats };
  if ('graph' in v) return { name, type: A.GRAPH, g: v.graph };
  return { name, type: A.TENSOR, t: v.tensor };
}

/** Builds one ONNX model; every method returns the name of what it added. */
export class OnnxGraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly valueInfo: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private externalOffset = 0;
  private counter = 0;

  constructor(readonly name = 'test_graph', private readonly options: BuilderOptions = {}) {}

  private valueInfoOf(name: string, dims: readonly (number | string | null)[] | null, dtype: DType): onnxProto.onnx.IValueInfoProto {
    const shape = dims ? { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : typeof d === 'string' ? { dimParam: d } : {})) } : undefined;
    return { name, type: { tensorType: { elemType: CODES[dtype], shape } } };
  }

  /** A graph input; a string dim is a dim_param, null an absent dim; `dims` null leaves the rank unknown. */
  input(name: string, dims: readonly (number | string | null)[] | null, dtype: DType = 'float32'): string {
    this.inputs.push(this.valueInfoOf(name, dims, dtype));
    return name;
  }

  /** A graph output (shape optional; dtype null leaves its type to the runtime). */
  output(name: string, dims: readonly (number | string | null)[] | null = null, dtype: DType | null = 'float32'): this {
    this.outputs.push(dtype ? this.valueInfoOf(name, dims, dtype) : { name });
    return this;
  }

  /** A value_info entry (a shape the file declares for an intermediate value). */
  declare(name: string, dims: readonly (number | string | null)[], dtype: DType = 'float32'): this {
    this.valueInfo.push(this.valueInfoOf(name, dims, dtype));
    return this;
  }

  /** An initializer of `dims`; values inline when given or small, else an external-data reference. */
  weight(name: string, dims: readonly number[], dtype: DType = 'float32', values?: readonly number[]): string {
    const count = dims.reduce((a, b) => a * b, 1);
    if (values || count <= (this.options.inlineLimit ?? 4096)) {
      this.initializers.push(tensorProto(name, dims, dtype, values));
    } else {
      const length = count * SIZES[dtype];
      this.initializers.push({
        name, dims: [...dims], dataType: CODES[dtype], dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [{ key: 'location', value: 'weights.bin' }, { key: 'offset', value: String(this.externalOffset) }, { key: 'length', value: String(length) }],
      });
      this.externalOffset += length;
    }
    return name;
  }

  /** A 1-D int64 initializer (shapes, axes, pads...). */
  ints(name: string, values: readonly number[]): string {
    return this.weight(name, [values.length], 'int64', values);
  }

  /** A node; `outputs` is a count (auto-named) or names. @returns the names of its outputs. */
  nodeOutputs(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, opts: { outputs?: number | string[]; name?: string; domain?: string } = {}): string[] {
    const name = opts.name ?? `${opType.toLowerCase()}_${this.counter++}`;
    const outputs = Array.isArray(opts.outputs) ? opts.outputs : Array.from({ length: opts.outputs ?? 1 }, (_, i) => (i === 0 ? `${name}_out` : `${name}_out${i}`));
    this.nodes.push({ opType, name, domain: opts.domain, input: [...inputs], output: outputs, attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) });
    return outputs;
  }

  /** A one-output node. @returns its output's name. */
  node(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, opts: { name?: string; domain?: string } = {}): string {
    return this.nodeOutputs(opType, inputs, attrs, opts)[0]!;
  }

  /** The GraphProto (also a Loop / Scan body or an If branch: pass it as `{ graph }`). */
  graph(): onnxProto.onnx.IGraphProto {
    return { name: this.name, node: this.nodes, input: this.inputs, output: this.outputs, initializer: this.initializers, valueInfo: this.valueInfo };
  }

  /** The ModelProto. */
  model(opts: { opset?: number; irVersion?: number; modelVersion?: number } = {}): onnxProto.onnx.ModelProto {
    return onnx.ModelProto.create({
      irVersion: opts.irVersion ?? 8, producerName: 'edgelat-test', modelVersion: opts.modelVersion,
      opsetImport: [{ domain: '', version: opts.opset ?? 17 }],
      graph: this.graph(),
    });
  }

  /** The serialized ModelProto. */
  build(opts: { opset?: number; irVersion?: number; modelVersion?: number } = {}): Uint8Array {
    return onnx.ModelProto.encode(this.model(opts)).finish();
  }
}
