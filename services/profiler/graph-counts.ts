/**
 * Counting a graph's work under the profiler's convention (types.ts), with
 * the subgraphs of control-flow nodes: a Loop body times its trip count, a
 * Scan body times its scan length, the costlier branch of an If. Outer-scope
 * values a subgraph reads are visible to it (ONNX IR scoping).
 */
import onnxProto from 'onnx-proto';
import { add, dtypeName, dtypeSize, int64, mul, numel, OnnxProfileError, toDim } from './onnx-values.ts';
import { macCount } from './shape-compute.ts';
import { normAxis, tensor, type RuleContext, type TensorInfo } from './shape-context.ts';
import { inferShapes, isDefaultDomain, subgraphs } from './shape-inference.ts';
import { constantTensor } from './shape-layout.ts';

const { onnx } = onnxProto;
type IGraphProto = onnxProto.onnx.IGraphProto;
type INodeProto = onnxProto.onnx.INodeProto;
type ITensorProto = onnxProto.onnx.ITensorProto;
type IValueInfoProto = onnxProto.onnx.IValueInfoProto;

/** What a graph's nodes add up to (per run of the graph). */
export interface GraphCounts {
  /** Multiply-accumulates (types.ts convention). */
  macs: number;
  /** Element operations of the other operators. */
  elementOps: number;
  /** Entries of `unknown_shape_nodes`: a node's id, `: why` when there is a reason; subgraph nodes as `parent/child`. */
  unknown: string[];
}

/** Weights found while counting (initializers at any depth). */
export interface WeightTally {
  params: number;
  bytes: number;
  /** Element type name → bytes, for the precision. */
  byType: Map<string, number>;
}

/** What every graph of one model shares while it is counted. */
export interface CountScope {
  /** Version of the default ONNX domain the model imports. */
  opset: number;
  /** dim_param → value, from the graph inputs (the batch and other symbolic dims). */
  symbols: Map<string, number>;
  /** Operator → node count, over every graph (a subgraph's node counts once, however often it runs). */
  histogram: Record<string, number>;
  weights: WeightTally;
}

/** Whether a dimension is fixed (dim_value set; onnx-proto leaves it null otherwise). */
export const hasDimValue = (d: onnxProto.onnx.TensorShapeProto.IDimension): boolean => d.dimValue !== null && d.dimValue !== undefined;

/**
 * Element count and bytes of an initializer.
 * @throws {OnnxProfileError} if its data type is UNDEFINED (0), it has elements but neither data nor an external-data
 *   reference, raw data does not match the dims, or the count reaches 2^53.
 */
function weightSize(t: ITensorProto, shape: readonly number[], what: string): { count: number; bytes: number } {
  const count = numel(shape, what);
  // onnxruntime refuses both at session creation; the profile would count weights that are not there.
  if (!t.dataType) throw new OnnxProfileError(`${what}: data type 0 (UNDEFINED): not a tensor onnxruntime can load`);
  const held = [t.rawData, t.floatData, t.int32Data, t.stringData, t.int64Data, t.doubleData, t.uint64Data].some((d) => (d?.length ?? 0) > 0);
  if (count > 0 && !held && t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new OnnxProfileError(`${what}: dims ${JSON.stringify(shape)} but no data and no external-data reference`);
  }
  const size = dtypeSize(t.dataType);
  const bytes = t.dataType === 8 ? (t.stringData ?? []).reduce((s, x) => s + x.length, 0) : Math.ceil(mul(count, size * 2, what) / 2);
  const raw = t.rawData?.length ?? 0;
  if (raw > 0 && size >= 1 && raw !== bytes) throw new OnnxProfileError(`${what}: ${raw} bytes of raw data, but dims ${JSON.stringify(shape)} of ${dtypeName(t.dataType)} need ${bytes}`);
  return { count, bytes };
}

/**
 * Tally a graph's initializers and sparse initializers into `weights` and put their shapes (and small values) in `env`.
 * @throws {OnnxProfileError} on a bad dim, raw data that does not match the dims, or a count of 2^53.
 */
export function addInitializers(graph: IGraphProto, env: Map<string, TensorInfo>, weights: WeightTally): void {
  const tally = (t: ITensorProto, shape: readonly number[], what: string) => {
    const { count, bytes } = weightSize(t, shape, what);
    weights.params = add(weights.params, count, 'params');
    weights.bytes = add(weights.bytes, bytes, 'weight bytes');
    weights.byType.set(dtypeName(t.dataType), (weights.byType.get(dtypeName(t.dataType)) ?? 0) + bytes);
  };
  for (const t of graph.initializer ?? []) {
    const what = `initializer ${JSON.stringify(t.name ?? '')}`;
    const info = constantTensor(t, what);
    tally(t, info.shape!, what);
    if (t.name) env.set(t.name, info);
  }
  for (const s of graph.sparseInitializer ?? []) {
    const what = `sparse initializer ${JSON.stringify(s.values?.name ?? '')}`;
    const values = s.values ?? {};
    tally(values, (values.dims ?? []).map((d) => toDim(d, what)), what);
    if (values.name) env.set(values.name, { shape: (s.dims ?? []).map((d) => toDim(d, what)) });
  }
}

/** The shape a value_info declares, symbolic dims resolved; null when it declares none or a dim is unresolved. */
function declaredShape(vi: IValueInfoProto | undefined, symbols: ReadonlyMap<string, number>): number[] | null {
  const dims = vi?.type?.tensorType?.shape?.dim;
  if (!dims) return null;
  const shape = dims.map((d) => (hasDimValue(d) ? int64(d.dimValue) : (symbols.get(d.dimParam ?? '') ?? NaN)));
  return shape.every((d) => Number.isSafeInteger(d) && d >= 0) ? shape : null;
}

/**
 * Count a graph's nodes: MACs of the MAC operators, element operations of the others (their output elements), the
 * work of Loop / Scan / If subgraphs, and the nodes whose shape is unknown. Node outputs are added to `env`.
 * @param env     Name → info of what the graph sees: its inputs, initializers and, for a subgraph, the enclosing scopes.
 * @param prefix  Prepended to the ids of unknown nodes (`loop/` inside a Loop named loop).
 * @throws {OnnxProfileError} on a broken graph (see inferShapes) or a count of 2^53 or more.
 */
export function countGraph(graph: IGraphProto, env: Map<string, TensorInfo>, scope: CountScope, prefix = ''): GraphCounts {
  const declared = new Map<string, IValueInfoProto>();
  for (const vi of [...(graph.valueInfo ?? []), ...(graph.output ?? [])]) if (vi.name) declared.set(vi.name, vi);
  const inner = new Map<INodeProto, GraphCounts>();
  const nested = (c: RuleContext, id: string): TensorInfo[] => {
    const { outputs, counts } = controlFlow(c, env, scope, `${prefix}${id}`);
    inner.set(c.node, counts);
    return outputs;
  };
  const total: GraphCounts = { macs: 0, elementOps: 0, unknown: [] };
  for (const r of inferShapes(graph.node ?? [], env, scope.opset, (name) => declaredShape(declared.get(name), scope.symbols), nested)) {
    const op = isDefaultDomain(r.node) ? (r.node.opType ?? '?') : `${r.node.domain}.${r.node.opType ?? '?'}`;
    scope.histogram[op] = (scope.histogram[op] ?? 0) + 1;
    const sub = inner.get(r.node);
    if (sub) {
      // Its work is its subgraphs'; an unknown output shape only leaves what reads it uncounted.
      total.macs = add(total.macs, sub.macs, 'MACs');
      total.elementOps = add(total.elementOps, sub.elementOps, 'element ops');
      total.unknown.push(...sub.unknown);
      continue;
    }
    if (!r.known) {
      total.unknown.push(`${prefix}${r.conflict === null ? r.id : `${r.id}: ${r.conflict}`}`);
      continue;
    }
    let m: number | null = null;
    try {
      m = isDefaultDomain(r.node) ? macCount(r.context, r.outputs[0]!.shape!) : null;
    } catch (error) {
      if (error instanceof OnnxProfileError) throw new OnnxProfileError(`${r.label}: ${error.message}`, { cause: error });
      total.unknown.push(`${prefix}${r.id}`);
      continue;
    }
    if (m !== null) total.macs = add(total.macs, m, 'MACs');
    else for (const o of r.outputs) if (o?.shape) total.elementOps = add(total.elementOps, numel(o.shape, 'element ops'), 'element ops');
  }
  return total;
}

/** A subgraph's counts and the shapes of its outputs. */
interface SubgraphRun { counts: GraphCounts; outputs: (number[] | null)[] }

/**
 * Count a subgraph once, its inputs bound to `inputs` (a shape, or null to take the subgraph's declared one).
 * Runs on a copy of the enclosing environment, so its values stay inside it.
 */
function runSubgraph(graph: IGraphProto, inputs: readonly (number[] | null)[], env: ReadonlyMap<string, TensorInfo>, scope: CountScope, path: string): SubgraphRun {
  const local = new Map(env);
  addInitializers(graph, local, scope.weights);
  (graph.input ?? []).forEach((vi, i) => {
    if (vi.name && !local.has(vi.name)) local.set(vi.name, { shape: inputs[i] ?? declaredShape(vi, scope.symbols) });
  });
  const counts = countGraph(graph, local, scope, `${path}/`);
  return { counts, outputs: (graph.output ?? []).map((vi) => (vi.name ? (local.get(vi.name)?.shape ?? null) : null)) };
}

/** Counts × n (a loop's trips). @throws {OnnxProfileError} if a count reaches 2^53. */
const times = (c: GraphCounts, n: number): GraphCounts => ({ macs: mul(c.macs, n, 'MACs'), elementOps: mul(c.elementOps, n, 'element ops'), unknown: c.unknown });

/** Largest trip count taken as a count (INT64_MAX-like bounds mean "until cond is false"). */
const MAX_TRIPS = 2 ** 31;

/**
 * Shapes and counts of a node with subgraphs.
 * - Loop (M, cond, carried...): the body once per trip when M is a known constant (an upper bound if cond can end
 *   it earlier), else once and listed (`trip count unknown`); outputs: the carried values' final shapes, and each
 *   scan output [M, ...].
 * - Scan (opset ≥ 9): the body once per slice along `scan_input_axes` of the first scan input; outputs: the state,
 *   and each scan output with the length inserted at `scan_output_axes`.
 * - If: the branch with more MACs (then element ops); outputs when both branches agree on them.
 * - Anything else with a subgraph (opset-8 Scan, a custom domain): not counted, listed.
 */
function controlFlow(c: RuleContext, env: ReadonlyMap<string, TensorInfo>, scope: CountScope, path: string): { outputs: TensorInfo[]; counts: GraphCounts } {
  const node = c.node;
  const graphAttr = (name: string) => node.attribute?.find((a) => a.name === name)?.g ?? null;
  const shapeOf = (i: number) => c.inputs[i]?.shape ?? null;
  const wrap = (shapes: readonly (number[] | null)[]) => shapes.map((s) => (s ? tensor(s) : { shape: null }));
  const op = isDefaultDomain(node) ? node.opType : null;

  if (op === 'Loop' && graphAttr('body')) {
    const body = graphAttr('body')!;
    const carried = (node.input ?? []).slice(2).map((_, k) => shapeOf(k + 2));
    const run = runSubgraph(body, [[], [], ...carried], env, scope, path);
    const m = c.inputs[0]?.value;
    const trips = m?.length === 1 && Number.isSafeInteger(m[0]) && m[0]! >= 0 && m[0]! <= MAX_TRIPS ? m[0]! : null;
    const finals = run.outputs.slice(1, 1 + carried.length);
    const scans = run.outputs.slice(1 + carried.length).map((s) => (s && trips !== null ? [trips, ...s] : null));
    if (trips !== null) return { outputs: wrap([...finals, ...scans]), counts: times(run.counts, trips) };
    return { outputs: wrap([...finals, ...scans]), counts: { ...run.counts, unknown: [...run.counts.unknown, `${path}: trip count unknown, body counted once (a lower bound)`] } };
  }

  if (op === 'Scan' && c.opset >= 9 && graphAttr('body')) {
    const body = graphAttr('body')!;
    const nScan = c.int('num_scan_inputs', 0);
    const nState = (node.input ?? []).length - nScan;
    const inAxes = c.ints('scan_input_axes') ?? Array<number>(nScan).fill(0);
    const sliced = (node.input ?? []).slice(nState).map((_, j) => {
      const s = shapeOf(nState + j);
      if (!s) return { s: null, len: null };
      const axis = normAxis(inAxes[j] ?? 0, s.length);
      return { s: s.filter((_, k) => k !== axis), len: s[axis]! };
    });
    const run = runSubgraph(body, [...(node.input ?? []).slice(0, nState).map((_, k) => shapeOf(k)), ...sliced.map((x) => x.s)], env, scope, path);
    const length = sliced[0]?.len ?? null;
    const outAxes = c.ints('scan_output_axes') ?? [];
    const scans = run.outputs.slice(nState).map((s, j) => {
      if (!s || length === null) return null;
      const axis = normAxis(outAxes[j] ?? 0, s.length + 1);
      return [...s.slice(0, axis), length, ...s.slice(axis)];
    });
    const outputs = wrap([...run.outputs.slice(0, nState), ...scans]);
    if (length !== null) return { outputs, counts: times(run.counts, length) };
    return { outputs, counts: { ...run.counts, unknown: [...run.counts.unknown, `${path}: scan length unknown, body counted once (a lower bound)`] } };
  }

  if (op === 'If' && graphAttr('then_branch') && graphAttr('else_branch')) {
    const a = runSubgraph(graphAttr('then_branch')!, [], env, scope, `${path}.then`);
    const b = runSubgraph(graphAttr('else_branch')!, [], env, scope, `${path}.else`);
    const pick = a.counts.macs > b.counts.macs || (a.counts.macs === b.counts.macs && a.counts.elementOps >= b.counts.elementOps) ? a : b;
    const same = (x: number[] | null, y: number[] | null) => x !== null && y !== null && x.length === y.length && x.every((d, i) => d === y[i]);
    return {
      outputs: wrap(a.outputs.map((s, i) => (same(s, b.outputs[i] ?? null) ? s : null))),
      counts: { macs: pick.counts.macs, elementOps: pick.counts.elementOps, unknown: [...a.counts.unknown, ...b.counts.unknown] },
    };
  }

  // Still visit the subgraphs, so their weights and operators are tallied as everywhere else.
  for (const g of subgraphs(node)) runSubgraph(g, [], env, scope, path);
  return { outputs: [], counts: { macs: 0, elementOps: 0, unknown: [`${path}: subgraph of ${op ?? `${node.domain}.${node.opType ?? '?'}`} not counted`] } };
}
