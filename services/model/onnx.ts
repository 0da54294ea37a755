/**
 * ONNX export of a {@link GbtModel} (an `ai.onnx.ml` TreeEnsembleRegressor,
 * written with onnx-proto) and scoring with onnxruntime-node.
 *
 * The graph: input `features` float32 [N, F] → TreeEnsembleRegressor
 * (aggregate SUM, base value = the model's base, BRANCH_LEQ splits at the
 * model's float32 thresholds, leaf weights as float32) → output `prediction`
 * float32 [N, 1]. ONNX compares features as float32, and the learner already
 * splits on fround(x) <= threshold, so the decisions are the same; only the
 * sum of float32 leaf weights differs from the float64 TypeScript predictor
 * (relative 1e-6 typically).
 * @see https://onnx.ai/onnx/operators/onnx_aionnxml_TreeEnsembleRegressor.html
 */
import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import type { GbtModel } from './gbt.ts';

const { onnx } = onnxProto;

/** Name of the model's input tensor: float32 [N, featureCount]. */
export const ONNX_INPUT = 'features';
/** Name of the model's output tensor: float32 [N, 1]. */
export const ONNX_OUTPUT = 'prediction';

/**
 * Serialise a trained ensemble as an ONNX model (opset 17, ai.onnx.ml 3).
 * @param metadata  Key/value strings stored in the model's `metadata_props`
 *                  (feature names, encodings the features need); read back by {@link readOnnxMetadata}.
 * @returns the ModelProto bytes.
 * @throws {RangeError} if the model has no features.
 */
export function exportGbtToOnnx(model: GbtModel, producerVersion = '0', metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  if (model.featureCount < 1) throw new RangeError(`featureCount: expected >= 1, got ${model.featureCount}`);
  const A = onnx.AttributeProto.AttributeType;
  const n = { treeids: [] as number[], nodeids: [] as number[], featureids: [] as number[], values: [] as number[], modes: [] as string[], truenodeids: [] as number[], falsenodeids: [] as number[] };
  const t = { treeids: [] as number[], nodeids: [] as number[], ids: [] as number[], weights: [] as number[] };
  model.trees.forEach((tree, treeId) => {
    tree.feature.forEach((feature, node) => {
      const leaf = feature < 0;
      n.treeids.push(treeId);
      n.nodeids.push(node);
      n.featureids.push(leaf ? 0 : feature);
      n.values.push(leaf ? 0 : tree.threshold[node]!);
      n.modes.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
      n.truenodeids.push(leaf ? 0 : tree.left[node]!);
      n.falsenodeids.push(leaf ? 0 : tree.right[node]!);
      if (leaf) {
        t.treeids.push(treeId);
        t.nodeids.push(node);
        t.ids.push(0);
        t.weights.push(tree.value[node]!);
      }
    });
  });
  const ints = (name: string, v: number[]): onnxProto.onnx.IAttributeProto => ({ name, type: A.INTS, ints: v });
  const floats = (name: string, v: number[]): onnxProto.onnx.IAttributeProto => ({ name, type: A.FLOATS, floats: v });
  const strings = (name: string, v: string[]): onnxProto.onnx.IAttributeProto => ({ name, type: A.STRINGS, strings: v.map((s) => Buffer.from(s)) });
  const attribute: onnxProto.onnx.IAttributeProto[] = [
    { name: 'n_targets', type: A.INT, i: 1 },
    { name: 'aggregate_function', type: A.STRING, s: Buffer.from('SUM') },
    { name: 'post_transform', type: A.STRING, s: Buffer.from('NONE') },
    floats('base_values', [model.base]),
  ];
  if (model.trees.length > 0) {
    attribute.push(
      ints('nodes_treeids', n.treeids), ints('nodes_nodeids', n.nodeids), ints('nodes_featureids', n.featureids), floats('nodes_values', n.values),
      strings('nodes_modes', n.modes), ints('nodes_truenodeids', n.truenodeids), ints('nodes_falsenodeids', n.falsenodeids),
      ints('target_treeids', t.treeids), ints('target_nodeids', t.nodeids), ints('target_ids', t.ids), floats('target_weights', t.weights),
    );
  } else {
    // No tree (training stopped at round 0): one leaf of weight 0 keeps the operator valid.
    attribute.push(
      ints('nodes_treeids', [0]), ints('nodes_nodeids', [0]), ints('nodes_featureids', [0]), floats('nodes_values', [0]), strings('nodes_modes', ['LEAF']),
      ints('nodes_truenodeids', [0]), ints('nodes_falsenodeids', [0]), ints('target_treeids', [0]), ints('target_nodeids', [0]), ints('target_ids', [0]), floats('target_weights', [0]),
    );
  }
  const tensor = (name: string, width: number) => ({
    name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: width }] } } },
  });
  const proto = onnx.ModelProto.create({
    irVersion: 8, producerName: 'edgelat', producerVersion,
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    opsetImport: [{ domain: '', version: 17 }, { domain: 'ai.onnx.ml', version: 3 }],
    graph: {
      name: 'edgelat_latency_gbt',
      node: [{ opType: 'TreeEnsembleRegressor', domain: 'ai.onnx.ml', name: 'ensemble', input: [ONNX_INPUT], output: [ONNX_OUTPUT], attribute }],
      input: [tensor(ONNX_INPUT, model.featureCount)],
      output: [tensor(ONNX_OUTPUT, 1)],
    },
  });
  return onnx.ModelProto.encode(proto).finish();
}

/**
 * The `metadata_props` of an ONNX model as a record.
 * @throws {Error} if the bytes are not an ONNX ModelProto (protobuf decode error).
 */
export function readOnnxMetadata(bytes: Uint8Array): Record<string, string> {
  const proto = onnx.ModelProto.decode(bytes);
  return Object.fromEntries((proto.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
}

/**
 * Keep onnxruntime's usage telemetry off unless the environment asks for it (`ORT_DISABLE_TELEMETRY=0`; unset or
 * empty: off):
 * onnxruntime-node 1.30 otherwise writes a device id and an event queue under
 * `$HOME/.cache/Microsoft/DeveloperTools/.onnxruntime/` at each session it creates (a trial: 3 MB of it), and
 * where HOME cannot be written prints a coloured warning on stderr. Read when a session is created, so setting it
 * here, before the first, is enough.
 */
function telemetryOff(): void {
  // Set but empty (an env file's `ORT_DISABLE_TELEMETRY=`) is unset, not a choice (a re-test: it turned telemetry on).
  if (!process.env.ORT_DISABLE_TELEMETRY) process.env.ORT_DISABLE_TELEMETRY = '1';
}

/** An ONNX latency model loaded in onnxruntime-node (CPU). */
export class OnnxScorer {
  private constructor(private readonly session: ort.InferenceSession, readonly featureCount: number) {}

  /**
   * Load model bytes (from {@link exportGbtToOnnx}).
   * @throws {RangeError} if the model does not have one float32 [N, F] input named `features`.
   */
  static async load(bytes: Uint8Array): Promise<OnnxScorer> {
    const proto = onnx.ModelProto.decode(bytes);
    const input = proto.graph?.input?.find((i) => i.name === ONNX_INPUT);
    const width = Number(input?.type?.tensorType?.shape?.dim?.[1]?.dimValue ?? NaN);
    if (!input || !Number.isInteger(width) || width < 1) throw new RangeError(`model: expected an input "${ONNX_INPUT}" of shape [N, F], found ${JSON.stringify(proto.graph?.input?.map((i) => i.name) ?? [])}`);
    telemetryOff();
    return new OnnxScorer(await ort.InferenceSession.create(bytes), width);
  }

  /**
   * Predict rows of `featureCount` finite numbers each (converted to float32).
   * @returns one prediction per row (float32 values).
   * @param rows  N rows (arrays or typed arrays, Float64Array included) of `featureCount` numbers each; they are
   *              copied into one float32 [N, F] tensor.
   * @throws {RangeError} naming the row and column of a wrong-width row, a row that is not an array (a single
   *   event passed as a flat row of numbers: use {@link predictOne}), or a non-finite value (case C17: a wrong
   *   dtype or rank is refused with a clear error, never passed to the runtime or skipped).
   */
  async predict(rows: readonly ArrayLike<number>[]): Promise<Float32Array> {
    const F = this.featureCount;
    if (!Array.isArray(rows)) throw new RangeError(`${ONNX_INPUT}: expected an array of rows (float32 [N, ${F}]), got ${describe(rows)}`);
    const data = new Float32Array(rows.length * F);
    rows.forEach((row: unknown, i) => {
      if (typeof row === 'number') {
        throw new RangeError(`${ONNX_INPUT}[${i}]: expected a row of ${F} features (float32 [N, ${F}]), got the number ${row}; score one event as [row] or with predictOne(row)`);
      }
      if (row === null || typeof row !== 'object' || typeof (row as { length?: unknown }).length !== 'number') {
        throw new RangeError(`${ONNX_INPUT}[${i}]: expected a row of ${F} features (float32 [N, ${F}]), got ${describe(row)}`);
      }
      const r = row as ArrayLike<unknown>;
      if (r.length !== F) throw new RangeError(`${ONNX_INPUT}[${i}]: expected ${F} features (float32 [N, ${F}]), got ${r.length}`);
      for (let j = 0; j < F; j++) {
        const v = r[j];
        if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${ONNX_INPUT}[${i}][${j}]: expected a finite number, got ${describeFeature(v)}`);
        data[i * F + j] = v;
      }
    });
    if (rows.length === 0) return new Float32Array(0);
    const out = await this.session.run({ [ONNX_INPUT]: new ort.Tensor('float32', data, [rows.length, F]) });
    return out[ONNX_OUTPUT]!.data as Float32Array;
  }

  /**
   * Predict one event: its `featureCount` features scored as a float32 [1, F] tensor (case C17: a single
   * event is a batch of one row, never a rank-1 tensor).
   * @returns the prediction (a float32 value).
   * @throws {RangeError} as {@link predict}, naming row 0.
   */
  async predictOne(row: ArrayLike<number>): Promise<number> {
    return (await this.predict([row]))[0]!;
  }

  /** Release the onnxruntime session. */
  async close(): Promise<void> {
    await this.session.release();
  }
}

/**
 * A feature value that is not a finite number, as an error names it: the number itself (NaN, Infinity), else its
 * kind and value (a trial: an array [0.25], a rank-3 batch, and the string "0.25" both read "got 0.25"; a
 * BigInt64Array's 0n read "got 0").
 */
function describeFeature(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'bigint') return `the bigint ${v}n (a BigInt64Array row? give numbers)`;
  if (Array.isArray(v) || ArrayBuffer.isView(v)) {
    const text = JSON.stringify(Array.from(v as ArrayLike<unknown>, (x) => (typeof x === 'bigint' ? `${x}n` : x)));
    return `an array ${text.length > 40 ? `${text.slice(0, 40)}…` : text} (rows are flat: float32 [N, F], one number per feature)`;
  }
  return describe(v);
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name} of ${(v as unknown as ArrayLike<number>).length} values (one event's row? use predictOne)`;
  return typeof v === 'object' ? `an object (${v.constructor?.name ?? 'no prototype'}) without a length` : `${typeof v} ${String(v)}`;
}
