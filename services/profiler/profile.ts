/**
 * The ONNX model profiler (issue 5 item 1, acceptance D2): decode a
 * ModelProto, infer every tensor's shape with the profiler's own rules
 * (shape-inference.ts), and count params, MACs, element operations, weight
 * bytes and the operator histogram under the convention of types.ts.
 */
import onnxProto from 'onnx-proto';
import { addInitializers, checkNesting, countGraph, hasDimValue, type WeightTally } from './graph-counts.ts';
import { add, dtypeName, dtypeSize, int64, mul, numel, OnnxProfileError, toDim } from './onnx-values.ts';
import type { TensorInfo } from './shape-context.ts';
import type { ModelProfile, ProfileInput } from './types.ts';
import { unsetDimEntry } from './uncounted.ts';
import { idProblem, quoteName } from '../names.ts';

export { OnnxProfileError } from './onnx-values.ts';

const { onnx } = onnxProto;
type IModelProto = onnxProto.onnx.IModelProto;
type IGraphProto = onnxProto.onnx.IGraphProto;
type IValueInfoProto = onnxProto.onnx.IValueInfoProto;

/** Options of {@link profileOnnx}. */
export interface ProfileOptions {
  /** Value of the symbolic batch dim (dim_param, or dim_value 0 / absent, at position 0 of a graph input). @default 1 */
  batch?: number;
  /** `model_id` of the profile. @default the graph name when it is an id (names.ts `idProblem`), else `''` */
  modelId?: string;
  /**
   * Values of named symbolic dims other than the batch (a sequence length: `{ seq: 128 }`), integers ≥ 1. A
   * symbolic or unknown dim left unset counts as 1 and is listed in `unknown_shape_nodes`: the MACs are then a lower bound.
   */
  dims?: Readonly<Record<string, number>>;
}

/**
 * Profile an ONNX model: params, MACs, FLOPs, element operations, weight
 * bytes, precision, operator histogram and inputs (see {@link ModelProfile}).
 *
 * Behaviour: shapes are inferred node by node; a node whose shape cannot be
 * inferred (an unsupported operator, a non-constant target shape...) falls
 * back to the file's value_info, else is listed in `unknown_shape_nodes` and
 * not counted. Loop and Scan bodies count once per trip (when the trip count is known, else once and listed), If
 * counts its costlier branch (graph-counts.ts).
 * @param bytes    The serialized ModelProto (weights may be external: only initializer dims are read).
 * @param options  Batch and model id.
 * @returns        The profile; every count is an exact integer below 2^53.
 * @throws {RangeError} if `options.batch` or a value of `options.dims` is not an integer >= 1.
 * @throws {OnnxProfileError} if a name of `options.dims` is no input's symbolic dim, or is the batch dim (set it with `batch`).
 * @throws {OnnxProfileError} (one-line message) if the bytes are empty, truncated, not an ONNX ModelProto, a batch
 *   other than 1 is asked of a model whose inputs have no symbolic or unknown first dim, the graph is broken (no nodes, an input nothing produces, a cycle), subgraphs nest more than 64 levels or a count reaches 2^53.
 * @example see test/unit/profiler/profile.test.ts
 */
export function profileOnnx(bytes: Uint8Array, options: ProfileOptions = {}): ModelProfile {
  const batch = options.batch ?? 1;
  if (!Number.isSafeInteger(batch) || batch < 1) throw new RangeError(`batch: expected an integer >= 1, got ${JSON.stringify(batch)}`);
  const dims = new Map(Object.entries(options.dims ?? {}));
  for (const [name, v] of dims) if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`dims.${name}: expected an integer >= 1, got ${JSON.stringify(v)}`);
  try {
    return profileModel(decodeModel(bytes), batch, options.modelId, dims);
  } catch (error) {
    if (error instanceof OnnxProfileError) throw error;
    throw new OnnxProfileError(`cannot profile the model: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
}

/** Decode the bytes, naming what is wrong when they are not a model. */
function decodeModel(bytes: Uint8Array): IModelProto & { graph: IGraphProto } {
  if (!(bytes instanceof Uint8Array)) throw new OnnxProfileError(`not an ONNX model: expected bytes, got ${typeof bytes}`);
  if (bytes.length === 0) throw new OnnxProfileError('empty file (0 bytes): not an ONNX model');
  // Every ONNX exporter writes ir_version (field 1, varint: tag 0x08) first.
  const looksOnnx = bytes[0] === 0x08;
  let proto: IModelProto;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (error) {
    const message = (error as Error)?.message ?? String(error);
    const range = /index out of range: (\d+) \+ (\d+) > (\d+)/.exec(message);
    const wire = /invalid wire type (\d+) at offset (\d+)/.exec(message);
    if (range && looksOnnx) throw new OnnxProfileError(`truncated file: protobuf decode needs ${range[2]} more byte(s) at byte ${range[1]} but the file ends at byte ${range[3]}`);
    const at = range ? `at byte ${range[1]} (a field needs ${range[2]} byte(s), the file has ${range[3]})` : wire ? `at byte ${wire[2]} (invalid wire type ${wire[1]})` : `(${message})`;
    // JSON text (a profile's, given where the model's file goes: a trial got the decode failure alone).
    const json = /^(\uFEFF)?\s*[{[]/.test(new TextDecoder().decode(bytes.subarray(0, 4096))) ? '; it starts as JSON text does (a profile\'s JSON? recommend takes it as --profile, POST /v1/recommend as "profile")' : '';
    throw new OnnxProfileError(`not an ONNX model: protobuf decode failed ${at}${json}`, { cause: error });
  }
  const { graph } = proto;
  if (!graph) throw new OnnxProfileError(`not an ONNX model: no graph in ${bytes.length} bytes${looksOnnx ? ' (truncated file?)' : ''}`);
  if ((proto.opsetImport ?? []).length === 0 && int64(proto.irVersion) >= 3) throw new OnnxProfileError('truncated file or invalid model: no opset_import after the graph');
  if ((graph.node ?? []).length === 0) throw new OnnxProfileError('graph has no nodes');
  return proto as IModelProto & { graph: IGraphProto };
}

/** A symbolic dim name that reads as a batch (`N`, `B`, `bs`, `batch`, `batch_size`). */
const BATCH_LIKE = /^(n|b|bs|batch|batch_?size|nbatch)$/i;

/**
 * Read the graph inputs (initializers excluded), resolving symbolic dims; fills `symbols` with dim_param → value, and
 * `unset` with a line per dim past the batch that is counted as 1 (named but not in `given`, or unknown).
 */
function readInputs(graph: IGraphProto, skip: ReadonlySet<string>, batch: number, given: ReadonlyMap<string, number>, symbols: Map<string, number>, unset: string[]): ProfileInput[] {
  const real = (graph.input ?? []).filter((vi) => vi.name && !skip.has(vi.name));
  const dimsOf = (vi: IValueInfoProto) => vi.type?.tensorType?.shape?.dim ?? [];
  const symbolicName = (d: ReturnType<typeof dimsOf>[number] | undefined): string | null =>
    d?.dimParam && !(hasDimValue(d) && int64(d.dimValue) > 0) ? d.dimParam : null;
  // The batch: the symbolic first dims, unless some dim's name reads as a batch (`N`, `batch`, …); then the first dims
  // so named, or where none is, those so named past the first dim of a time-major input ([seq, N, …], an RNN's default
  // layout), whose `seq` is then a dim like the others (a re-test: `--batch 8` on [seq, N, 16] profiled seq 8, N 1, and
  // with a second input [N, 16] no spelling set N).
  const firstNames = real.map((vi) => symbolicName(dimsOf(vi)[0])).filter((n): n is string => n !== null);
  const firstLike = firstNames.filter((n) => BATCH_LIKE.test(n));
  const laterLike = firstLike.length > 0 ? [] : real.flatMap((vi) => (symbolicName(dimsOf(vi)[0]) === null ? []
    : dimsOf(vi).slice(1).map(symbolicName).filter((n): n is string => n !== null && BATCH_LIKE.test(n))));
  const batchNames = new Set(firstLike.length + laterLike.length > 0 ? [...firstLike, ...laterLike] : firstNames);
  for (const name of batchNames) symbols.set(name, batch);
  const named = new Set(real.flatMap((vi) => dimsOf(vi).flatMap((d) => (d.dimParam && !(hasDimValue(d) && int64(d.dimValue) > 0) ? [d.dimParam] : []))));
  for (const name of given.keys()) {
    if (batchNames.has(name)) throw new OnnxProfileError(`dim ${quoteName(name)} is the batch dim (${firstNames.includes(name) ? 'the first of an input' : 'of a time-major input, [seq, N, …]'}): set it with the batch, not as a dim`);
    if (!named.has(name)) throw new OnnxProfileError(`dim ${quoteName(name)}: no input has a symbolic dim of that name${named.size > 0 ? `; its symbolic dims: ${[...named].map((n) => quoteName(n)).join(', ')}` : ' (it has none)'}`);
    symbols.set(name, given.get(name)!);
  }
  return real.map((vi) => {
    const tt = vi.type?.tensorType;
    const shape: number[] = [];
    const symbolic: (string | null)[] = [];
    dimsOf(vi).forEach((d, i) => {
      // A negative dim_value (some converters write -1) is as unknown as an absent one.
      const value = hasDimValue(d) && int64(d.dimValue) > 0 ? toDim(d.dimValue, `input ${JSON.stringify(vi.name)}`) : 0;
      if (value > 0) {
        shape.push(value);
        symbolic.push(null);
        return;
      }
      const name = d.dimParam || '?';
      const isBatch = d.dimParam ? batchNames.has(d.dimParam) : i === 0;
      if (!isBatch && !(d.dimParam && symbols.has(d.dimParam))) {
        // Counted as 1: the MACs that grow with it are a lower bound (a trial: [N, seq, 64] profiled at seq 1 without a word).
        unset.push(unsetDimEntry(vi.name!, i, d.dimParam || null, hasDimValue(d) ? Number(int64(d.dimValue)) : null));
      }
      if (d.dimParam && !symbols.has(d.dimParam)) symbols.set(d.dimParam, 1);
      shape.push(isBatch ? batch : (d.dimParam ? symbols.get(d.dimParam)! : 1));
      symbolic.push(name);
    });
    const input: ProfileInput = { name: vi.name!, shape, dtype: tt ? dtypeName(tt.elemType) : 'unknown', symbolic };
    // No shape at all: the rank is unknown (not a scalar, whose shape has no dims).
    return tt?.shape ? input : { ...input, rank_unknown: true };
  });
}

/** Count everything of a decoded model. */
function profileModel(proto: IModelProto & { graph: IGraphProto }, batch: number, modelId: string | undefined, dims: ReadonlyMap<string, number>): ModelProfile {
  const { graph } = proto;
  checkNesting(graph);
  const env = new Map<string, TensorInfo>();
  const weights: WeightTally = { params: 0, bytes: 0, byType: new Map() };
  addInitializers(graph, env, weights);

  const symbols = new Map<string, number>();
  const unset: string[] = [];
  const inputs = readInputs(graph, new Set(env.keys()), batch, dims, symbols, unset);
  // A batch with nothing to set would profile batch 1 under the batch asked for (a trial: `--batch 8` on a fixed [1,16]).
  if (batch !== 1 && !inputs.some((input) => input.symbolic[0] !== undefined && input.symbolic[0] !== null)) {
    // Symbolic dims by their names (a trial: a time-major LSTM's [seq, N, input] read "x [20, 1, 32]", its batch N hidden).
    const shown = (input: (typeof inputs)[number]) => input.shape.map((d, k) => (typeof input.symbolic[k] === 'string' ? input.symbolic[k] : d)).join(', ');
    const fixed = inputs.map((input) => (input.rank_unknown ? `${input.name} (rank unknown)` : `${input.name} [${shown(input)}]`)).join(', ');
    const named = inputs.flatMap((input) => input.symbolic.filter((s, k): s is string => k > 0 && typeof s === 'string' && s !== '?'))[0]; // '?': a dim with no name
    const instead = named !== undefined
      ? `a batch that is not the first dim (a time-major RNN's [seq, batch, …]) is set by its name: --dim ${named}=${batch} (?dim=${named}=${batch} over HTTP)`
      : 'export the model with a dynamic batch dim';
    throw new OnnxProfileError(`batch ${batch}: no input of the model has a batch dim to set (a symbolic or unknown first dim): ${fixed || 'it has no inputs'}; leave the batch out, or ${instead}`);
  }
  let inputBytes = 0;
  const declaredInputs = new Map((graph.input ?? []).map((x) => [x.name, x] as const).reverse()); // the first of a name, as find() gave
  for (const input of inputs) {
    const vi = declaredInputs.get(input.name);
    const ranked = input.rank_unknown !== true;
    env.set(input.name, { shape: ranked ? input.shape : null });
    if (ranked) inputBytes = add(inputBytes, Math.ceil(numel(input.shape, `input ${JSON.stringify(input.name)}`) * dtypeSize(vi?.type?.tensorType?.elemType)), 'input bytes');
  }

  const opset = int64((proto.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version) || 1;
  const histogram: Record<string, number> = {};
  const { macs, elementOps, unknown } = countGraph(graph, env, { opset, symbols, histogram, weights });
  const { params, bytes: weightBytes, byType: bytesByType } = weights;

  const precision = [...bytesByType].reduce<[string, number] | null>((best, e) => (!best || e[1] > best[1] ? e : best), null)?.[0] ?? inputs[0]?.dtype ?? 'unknown';
  return {
    // The graph name only when it is an id (names.ts idProblem): `recommend --profile` and POST /v1/recommend refuse a
    // profile whose model_id is not (a trial: a name with a bell, a right-to-left override and 1,000 more letters).
    model_id: modelId ?? (graph.name && idProblem('model_id', graph.name) === null ? graph.name : ''),
    model_version: Object.prototype.hasOwnProperty.call(proto, 'modelVersion') ? String(proto.modelVersion) : '',
    params,
    macs,
    flops: mul(macs, 2, 'FLOPs'),
    element_ops: elementOps,
    weight_bytes: weightBytes,
    precision,
    op_histogram: histogram,
    inputs,
    input_bytes: inputBytes,
    batch,
    unknown_shape_nodes: listed([...unset, ...unknown]),
  };
}

/** Most entries of `unknown_shape_nodes`; past it, the first ones and a last entry that counts the rest. */
export const MAX_UNKNOWN_LISTED = 1000;

/** The unknown nodes as listed: at most {@link MAX_UNKNOWN_LISTED} (the last saying how many more), each at most 1,000 characters. */
function listed(all: string[]): string[] {
  const cut = (t: string) => (t.length <= 1000 ? t : `${t.slice(0, 999)}…`);
  if (all.length <= MAX_UNKNOWN_LISTED) return all.map(cut);
  return [...all.slice(0, MAX_UNKNOWN_LISTED - 1).map(cut), `… and ${all.length - (MAX_UNKNOWN_LISTED - 1)} more nodes`];
}
