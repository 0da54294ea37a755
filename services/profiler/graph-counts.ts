/**
 * Counting a graph's work under the profiler's convention (types.ts), with
 * the subgraphs of control-flow nodes: a Loop body times its trip count, a
 * Scan body times its scan length, the costlier branch of an If. Outer-scope
 * values a subgraph reads are visible to it (ONNX IR scoping).
 */
import onnxProto from 'onnx-proto';
import { add, dtypeName, dtypeSize, int64, mul, numel, OnnxProfileError, toDim } from './onnx-values.ts';
import { macCount } from './shape-compute.ts';
import { normAxis, ShapeConflict, tensor, type RuleContext, type TensorInfo } from './shape-context.ts';
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
  /** Body nodes left for following changing carried shapes trip by trip, over the whole model: {@link MAX_STEPPED_NODES}. */
  stepped?: { left: number };
}

/** Whether a dimension is fixed (dim_value set; onnx-proto leaves it null otherwise). */
export const hasDimValue = (d: onnxProto.onnx.TensorShapeProto.IDimension): boolean => d.dimValue !== null && d.dimValue !== undefined;

/**
 * The typed data fields of a TensorProto (onnx.proto3) and the element types each may hold: float16, bfloat16, the
 * 8- and 16-bit types and bool travel in int32_data, complex types as pairs.
 */
const TYPED_FIELDS: Readonly<Record<string, { name: string; types: readonly number[] }>> = {
  floatData: { name: 'float_data', types: [1, 14] },
  int32Data: { name: 'int32_data', types: [2, 3, 4, 5, 6, 9, 10, 16, 17, 18, 19, 20, 21, 22, 23] },
  stringData: { name: 'string_data', types: [8] },
  int64Data: { name: 'int64_data', types: [7] },
  doubleData: { name: 'double_data', types: [11, 15] },
  uint64Data: { name: 'uint64_data', types: [12, 13] },
};

/**
 * Element count and bytes of an initializer.
 * @throws {OnnxProfileError} if its data type is UNDEFINED (0) or not an ONNX type, it has elements but neither data
 *   nor an external-data reference, external data has no location, typed data sits in the wrong field or does not
 *   match the dims, raw data does not match the dims, or the count reaches 2^53.
 */
function weightSize(t: ITensorProto, shape: readonly number[], what: string): { count: number; bytes: number } {
  const count = numel(shape, what);
  // onnxruntime refuses each of these at session creation; the profile would count weights that are not there.
  if (!t.dataType) throw new OnnxProfileError(`${what}: data type 0 (UNDEFINED): not a tensor onnxruntime can load`);
  if (dtypeName(t.dataType).startsWith('dtype')) throw new OnnxProfileError(`${what}: data type ${t.dataType} is not an ONNX element type`);
  const external = t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL;
  if (external && !(t.externalData ?? []).some((e) => e.key === 'location' && e.value)) throw new OnnxProfileError(`${what}: external data without a location`);
  const typed = Object.entries(TYPED_FIELDS).filter(([field]) => ((t as Record<string, ArrayLike<unknown> | null | undefined>)[field]?.length ?? 0) > 0);
  if (count > 0 && typed.length === 0 && !(t.rawData?.length) && !external) {
    throw new OnnxProfileError(`${what}: dims ${JSON.stringify(shape)} but no data and no external-data reference`);
  }
  for (const [field, spec] of typed) {
    const length = (t as Record<string, ArrayLike<unknown>>)[field]!.length;
    if (!spec.types.includes(t.dataType)) throw new OnnxProfileError(`${what}: ${spec.name} holds the data of a ${dtypeName(t.dataType)} tensor (ONNX keeps it in another field)`);
    const want = count * (t.dataType === 14 || t.dataType === 15 ? 2 : 1);
    if (dtypeSize(t.dataType) >= 1 && length !== want) throw new OnnxProfileError(`${what}: ${spec.name} holds ${length} value(s), dims ${JSON.stringify(shape)} need ${want}`);
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
    // A custom domain's operator (com.microsoft.FusedConv, …) may hide any amount of work: its declared output shape
    // lets later nodes be counted, but its own work is not (counting its output elements as element operations
    // gave a FusedConv 3.2 M element ops and 0 MACs, unlisted).
    if (!isCountedDomain(r.node)) {
      total.unknown.push(`${prefix}${r.id}: ${op} of a custom domain not counted`);
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

/**
 * Whether the profiler counts a node's own work: the default ONNX domain, and ai.onnx.ml (tree ensembles, linear
 * classifiers, scalers: no MACs under the convention, their output elements as element operations).
 */
const isCountedDomain = (node: INodeProto): boolean => isDefaultDomain(node) || node.domain === 'ai.onnx.ml';

/** Deepest nesting of subgraphs the profiler follows (Loop in If in Loop ... ): deeper ones are refused, not cut off. */
export const MAX_NESTING = 64;

/**
 * How deep a graph's subgraphs nest (0: none), walked without recursion so a hostile file cannot overflow the stack.
 * @throws {OnnxProfileError} past {@link MAX_NESTING} levels (a trial: 2000 nested Ifs overflowed the stack at ~450,
 *   and the profile came out at 0 MACs with one unexplained unknown node).
 */
export function checkNesting(graph: IGraphProto): number {
  let deepest = 0;
  const stack: [IGraphProto, number][] = [[graph, 0]];
  while (stack.length > 0) {
    const [g, depth] = stack.pop()!;
    deepest = Math.max(deepest, depth);
    if (depth > MAX_NESTING) throw new OnnxProfileError(`subgraphs (Loop, Scan, If bodies) nest more than ${MAX_NESTING} levels deep: not profiled`);
    for (const n of g.node ?? []) for (const sub of subgraphs(n)) stack.push([sub, depth + 1]);
  }
  return deepest;
}

/**
 * A subgraph's values over its enclosing scopes': reads fall through to the parent, writes stay here. Nothing is
 * copied (a trial: a chain of 10,000 Ifs copied the growing outer values 20,000 times, 42 s).
 */
class ScopedEnv extends Map<string, TensorInfo> {
  constructor(private readonly parent: ReadonlyMap<string, TensorInfo>) {
    super();
  }

  override get(name: string): TensorInfo | undefined {
    return super.has(name) ? super.get(name) : this.parent.get(name);
  }

  override has(name: string): boolean {
    return super.has(name) || this.parent.has(name);
  }
}

/** A subgraph's counts and the shapes of its outputs. */
interface SubgraphRun { counts: GraphCounts; outputs: (number[] | null)[] }

/**
 * Count a subgraph once, its inputs bound to `inputs` (a shape, or null to take the subgraph's declared one).
 * Its values stay in its own scope over the enclosing one ({@link ScopedEnv}).
 */
function runSubgraph(graph: IGraphProto, inputs: readonly (number[] | null)[], env: ReadonlyMap<string, TensorInfo>, scope: CountScope, path: string): SubgraphRun {
  const local = new ScopedEnv(env);
  addInitializers(graph, local, scope.weights);
  // A body input named like an outer value hides it (onnxruntime binds the input: a trial's body input X took the
  // outer X's shape).
  (graph.input ?? []).forEach((vi, i) => {
    if (vi.name && !(graph.initializer ?? []).some((t) => t.name === vi.name)) local.set(vi.name, { shape: inputs[i] ?? declaredShape(vi, scope.symbols) });
  });
  const counts = countGraph(graph, local, scope, `${path}/`);
  return { counts, outputs: (graph.output ?? []).map((vi) => (vi.name ? (local.get(vi.name)?.shape ?? null) : null)) };
}

/** Counts × n (a loop's trips). @throws {OnnxProfileError} if a count reaches 2^53. */
const times = (c: GraphCounts, n: number): GraphCounts => ({ macs: mul(c.macs, n, 'MACs'), elementOps: mul(c.elementOps, n, 'element ops'), unknown: c.unknown });

/** Most trips counted one by one when a loop's carried shapes change from trip to trip; the rest are listed as uncounted. */
export const MAX_STEPPED_TRIPS = 256;

/**
 * Most body nodes (nodes × runs) one model spends on trips followed one by one, a few seconds of work: nested loops
 * that each change shape would otherwise multiply them (a trial: 39 loops of 255 changing trips of a 3,000-node body
 * took 87 s). Past it, later changing trips are not followed: listed as a lower bound.
 */
export const MAX_STEPPED_NODES = 1_000_000;

/** Nodes of a graph and of every subgraph in it. */
function bodySize(graph: IGraphProto): number {
  return (graph.node ?? []).reduce((n, node) => n + 1 + subgraphs(node).reduce((m, g) => m + bodySize(g), 0), 0);
}

const sameShape = (x: number[] | null, y: number[] | null): boolean =>
  x === null ? y === null : y !== null && x.length === y.length && x.every((d, i) => d === y[i]);

/** How a Loop or Scan body is wired: its inputs from the carried shapes, and its carried and scan outputs. */
interface BodyWiring {
  /** The carried shapes may not change from run to run (Scan's state: onnxruntime refuses it). */
  fixedState?: boolean;
  inputs: (carried: readonly (number[] | null)[]) => (number[] | null)[];
  carriedOut: (outputs: readonly (number[] | null)[]) => (number[] | null)[];
  scansOut: (outputs: readonly (number[] | null)[]) => (number[] | null)[];
}

/**
 * Count `trips` runs of a loop body, each run's carried inputs being the previous run's carried outputs. A run that
 * hands back the shapes it was given makes every later run the same: its counts × the trips left. Otherwise runs are
 * counted one by one (a trial: a body that doubled its carried value had its first trip counted 3 times), up to
 * {@link MAX_STEPPED_TRIPS} and while the model's {@link MAX_STEPPED_NODES} last; beyond that the loop is listed as a
 * lower bound. Operators and weights are tallied once.
 * @returns The counts, the final carried shapes, and each scan output's per-trip shape (null when it changes).
 */
function iterate(body: IGraphProto, wiring: BodyWiring, carried: readonly (number[] | null)[], trips: number, env: ReadonlyMap<string, TensorInfo>, scope: CountScope, path: string):
{ counts: GraphCounts; carried: (number[] | null)[]; scans: (number[] | null)[] } {
  const budget = (scope.stepped ??= { left: MAX_STEPPED_NODES });
  const size = bodySize(body);
  const quiet: CountScope = { ...scope, histogram: {}, weights: { params: 0, bytes: 0, byType: new Map() } };
  let state = [...carried];
  let total: GraphCounts = { macs: 0, elementOps: 0, unknown: [] };
  let scans: (number[] | null)[] = [];
  for (let t = 0; t < Math.max(trips, 1); t++) {
    if (t > 0 && (budget.left -= size) < 0) {
      total.unknown = [...total.unknown, `${path}: carried shapes change every trip; ${t} of ${trips} trips counted (a lower bound: the profile's ${MAX_STEPPED_NODES.toLocaleString('en-US')} body nodes for such trips are spent)`];
      return { counts: total, carried: state.map(() => null), scans: scans.map(() => null) };
    }
    const run = runSubgraph(body, wiring.inputs(state), env, t === 0 ? scope : quiet, path);
    const next = wiring.carriedOut(run.outputs);
    const perTrip = wiring.scansOut(run.outputs);
    // onnxruntime stacks a scan output's per-trip values: it refuses one whose shape changes from trip to trip.
    const moved = t === 0 ? -1 : scans.findIndex((s, j) => s !== null && (perTrip[j] ?? null) !== null && !sameShape(s, perTrip[j]!));
    if (moved >= 0) throw new ShapeConflict(`scan output ${moved} changes shape from trip to trip (${JSON.stringify(scans[moved])} → ${JSON.stringify(perTrip[moved])})`);
    scans = t === 0 ? perTrip : scans.map((s, j) => (sameShape(s, perTrip[j] ?? null) ? s : null));
    if (t === 0) total.unknown = run.counts.unknown;
    if (trips === 0) return { counts: times(run.counts, 0), carried: state, scans };
    const stable = next.every((shape, k) => sameShape(shape, state[k] ?? null));
    const changed = wiring.fixedState ? next.findIndex((shape, k) => shape !== null && (state[k] ?? null) !== null && !sameShape(shape, state[k]!)) : -1;
    if (changed >= 0) throw new ShapeConflict(`state ${changed} changes shape from slice to slice (${JSON.stringify(state[changed])} → ${JSON.stringify(next[changed])})`);
    const repeat = stable ? trips - t : 1;
    total = { macs: add(total.macs, mul(run.counts.macs, repeat, 'MACs'), 'MACs'), elementOps: add(total.elementOps, mul(run.counts.elementOps, repeat, 'element ops'), 'element ops'), unknown: total.unknown };
    state = next;
    if (stable) break;
    if (t + 1 === MAX_STEPPED_TRIPS && trips > MAX_STEPPED_TRIPS) {
      total.unknown = [...total.unknown, `${path}: carried shapes change every trip; ${MAX_STEPPED_TRIPS} of ${trips} trips counted (a lower bound)`];
      return { counts: total, carried: next.map(() => null), scans: scans.map(() => null) };
    }
  }
  return { counts: total, carried: state, scans };
}

/**
 * Shapes and counts of a node with subgraphs.
 * - Loop (M, cond, carried...): the body once per trip when M is a known constant (M < 0: no trip; an upper bound
 *   if cond can end it earlier), else once and listed (`trip count unknown`, M of 2^53 or more: unbounded); carried
 *   shapes that change from trip to trip are followed ({@link iterate}); outputs: the carried values' final shapes,
 *   and each scan output [M, ...].
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
    const n = (node.input ?? []).length - 2;
    const wiring: BodyWiring = { inputs: (v) => [[], [], ...v], carriedOut: (o) => o.slice(1, 1 + n), scansOut: (o) => o.slice(1 + n) };
    const carried = Array.from({ length: Math.max(n, 0) }, (_, k) => shapeOf(k + 2));
    const m = c.inputs[0]?.value;
    // M < 0 runs no trip (as onnxruntime); M of 2^53 or more is exporters' "unbounded" (INT64_MAX): cond ends the loop.
    const trips = m?.length === 1 && Number.isSafeInteger(m[0]) ? Math.max(m[0]!, 0) : null;
    const run = iterate(body, wiring, carried, trips ?? 1, env, scope, path);
    const scans = run.scans.map((s) => (s && trips !== null ? [trips, ...s] : null));
    if (trips !== null) return { outputs: wrap([...run.carried, ...scans]), counts: run.counts };
    const why = m?.length === 1 ? `trip count ${m[0]! >= 2 ** 53 ? '2^53 or more (unbounded: the condition ends the loop)' : 'is not an integer'}` : 'trip count unknown';
    return { outputs: wrap([...run.carried, ...scans]), counts: { ...run.counts, unknown: [...run.counts.unknown, `${path}: ${why}, body counted once (a lower bound)`] } };
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
    const wiring: BodyWiring = { fixedState: true, inputs: (v) => [...v, ...sliced.map((x) => x.s)], carriedOut: (o) => o.slice(0, nState), scansOut: (o) => o.slice(nState) };
    const length = sliced[0]?.len ?? null;
    // onnxruntime refuses scan inputs of different lengths, and a state whose shape changes from slice to slice.
    const lengths = [...new Set(sliced.flatMap((x) => (x.len === null ? [] : [x.len])))];
    if (lengths.length > 1) throw new ShapeConflict(`scan inputs have different lengths along their scan axes: ${lengths.join(', ')}`);
    const run = iterate(body, wiring, Array.from({ length: Math.max(nState, 0) }, (_, k) => shapeOf(k)), length ?? 1, env, scope, path);
    const outAxes = c.ints('scan_output_axes') ?? [];
    const scans = run.scans.map((s, j) => {
      if (!s || length === null) return null;
      const axis = normAxis(outAxes[j] ?? 0, s.length + 1);
      return [...s.slice(0, axis), length, ...s.slice(axis)];
    });
    const outputs = wrap([...run.carried, ...scans]);
    if (length !== null) return { outputs, counts: run.counts };
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
