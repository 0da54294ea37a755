/**
 * Shape inference through an ONNX graph, by the profiler's own per-operator
 * rules (shape-compute.ts, shape-layout.ts): nodes are visited in dependency
 * order and every output gets a concrete shape, or the node is reported as
 * unknown. value_info shapes fill in what the rules cannot infer.
 */
import onnxProto from 'onnx-proto';
import { MAX_FOLDED, numel, OnnxProfileError } from './onnx-values.ts';

/** Longest node id an unknown node is listed under (its own part of a `parent/child` path), characters. */
export const MAX_ID_CHARS = 120;
/** Longest reason given for an unknown node's shape, characters (a conflict's message quotes shapes and values). */
export const MAX_REASON_CHARS = 300;

/** A text cut to `max` characters, the last of them `…`. */
export function capText(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
import { COMPUTE_RULES } from './shape-compute.ts';
import { RuleContext, ShapeConflict, type ShapeRule, type TensorInfo } from './shape-context.ts';
import { LAYOUT_RULES } from './shape-layout.ts';

type INodeProto = onnxProto.onnx.INodeProto;
type IGraphProto = onnxProto.onnx.IGraphProto;

const RULES: Readonly<Record<string, ShapeRule>> = { ...COMPUTE_RULES, ...LAYOUT_RULES };

/** One node after inference. */
export interface InferredNode {
  node: INodeProto;
  /** `node "name" (Op)`, or `node #index (Op)` when unnamed: for messages. */
  label: string;
  /** Name for `unknown_shape_nodes`: the node name, or `#index (Op)`. */
  id: string;
  /** The rule context (inputs, attributes) the counts are computed from. */
  context: RuleContext;
  /** One entry per named output: its info, or null when unknown. */
  outputs: (TensorInfo | null)[];
  /** True when every named output has a shape and the rule found no {@link ShapeConflict} among its inputs. */
  known: boolean;
  /** The contradiction the node's rule found among its input shapes (`ShapeConflict`), or null. */
  conflict: string | null;
}

/** Whether a node is in the default ONNX domain (the rules only know those operators). */
export const isDefaultDomain = (node: INodeProto): boolean => !node.domain || node.domain === 'ai.onnx';

/** Label a node for messages. */
export function nodeLabel(node: INodeProto, index: number): string {
  return node.name ? `node ${JSON.stringify(node.name)} (${node.opType ?? '?'})` : `node #${index} (${node.opType ?? '?'})`;
}

/** The subgraphs of a node's GRAPH / GRAPHS attributes (Loop and Scan `body`, If `then_branch` / `else_branch`). */
export function subgraphs(node: INodeProto): IGraphProto[] {
  return (node.attribute ?? []).flatMap((a) => [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]);
}

/**
 * Names a node's subgraphs read from the enclosing scopes (ONNX IR: a subgraph may use any value visible where its
 * node is): every node input in them, at any depth, that none of them defines as an input, initializer or output.
 */
export function outerReferences(node: INodeProto): string[] {
  const graphs = subgraphs(node);
  if (graphs.length === 0) return [];
  const defined = new Set<string>();
  const read = new Set<string>();
  const visit = (g: IGraphProto): void => {
    for (const v of [...(g.input ?? []).map((i) => i.name), ...(g.initializer ?? []).map((t) => t.name)]) if (v) defined.add(v);
    for (const n of g.node ?? []) {
      for (const o of n.output ?? []) if (o) defined.add(o);
      for (const i of n.input ?? []) if (i) read.add(i);
      subgraphs(n).forEach(visit);
    }
  };
  graphs.forEach(visit);
  return [...read].filter((name) => !defined.has(name));
}

/**
 * Order nodes so that every input (and every outer value a subgraph reads) is produced before it is read.
 * @param known  Names available before any node runs (graph inputs, initializers).
 * @throws {OnnxProfileError} on an input nothing produces, an output produced twice, or a cycle.
 */
export function sortNodes(nodes: readonly INodeProto[], known: { has(name: string): boolean }): number[] {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.output ?? []) {
      if (!o) continue;
      if (producer.has(o) || known.has(o)) throw new OnnxProfileError(`${nodeLabel(n, i)}: output ${JSON.stringify(o)} is already ${known.has(o) ? 'a graph input or initializer' : 'produced by another node'}`);
      producer.set(o, i);
    }
  });
  const deps = nodes.map((n, i) => {
    const from = new Set<number>();
    for (const name of [...(n.input ?? []), ...outerReferences(n)]) {
      if (!name || known.has(name)) continue;
      const p = producer.get(name);
      if (p === undefined) throw new OnnxProfileError(`${nodeLabel(n, i)}: input ${JSON.stringify(name)} is not a graph input, an initializer or any node's output`);
      from.add(p);
    }
    return from;
  });
  if (deps.every((d, i) => [...d].every((p) => p < i))) return nodes.map((_, i) => i);
  const users: number[][] = nodes.map(() => []);
  const waiting = deps.map((d, i) => { d.forEach((p) => users[p]!.push(i)); return d.size; });
  const order = waiting.flatMap((w, i) => (w === 0 ? [i] : []));
  for (let k = 0; k < order.length; k++) {
    for (const u of users[order[k]!]!) if (--waiting[u]! === 0) order.push(u);
  }
  const stuck = waiting.findIndex((w) => w > 0);
  if (stuck >= 0) throw new OnnxProfileError(`graph has a cycle through ${nodeLabel(nodes[stuck]!, stuck)}`);
  return order;
}

/** A shape is usable when every dim is a non-negative safe integer. */
const validShape = (s: readonly number[]) => s.every((d) => Number.isSafeInteger(d) && d >= 0);

/**
 * The shape rule of a node with subgraphs (Loop, Scan, If): it sees the node and, through the environment it was
 * given, the enclosing scope's values. `id` is the node's {@link InferredNode.id}.
 */
export type NestedRule = (c: RuleContext, id: string) => TensorInfo[];

/**
 * Infer every node's output shapes, in dependency order.
 * @param env       Name → info of graph inputs and initializers; node outputs are added to it.
 * @param opset     Version of the default domain the model imports.
 * @param fallback  Shape of a value from value_info / graph outputs, used when a rule cannot infer it.
 * @param nested    Rule for nodes that have subgraphs (in any domain), replacing the per-operator rules for them.
 * @throws {OnnxProfileError} on a structural error (see {@link sortNodes}) or an output of 2^53 elements or more.
 */
export function inferShapes(
  nodes: readonly INodeProto[], env: Map<string, TensorInfo>, opset: number, fallback: (name: string) => number[] | null,
  nested?: NestedRule,
): InferredNode[] {
  const order = sortNodes(nodes, env);
  return order.map((index) => {
    const node = nodes[index]!;
    const label = nodeLabel(node, index);
    const context = new RuleContext(node, (node.input ?? []).map((name) => (name ? (env.get(name) ?? { shape: null }) : null)), opset);
    let inferred: TensorInfo[] = [];
    let conflict: string | null = null;
    // Capped: an unknown node inside subgraphs is listed under its parents' ids (a trial: 60 nested 3,000-character
    // names and 2,000 unknown nodes made a 361-MB answer).
    const id = capText(node.name || `#${index} (${node.opType ?? '?'})`, MAX_ID_CHARS);
    const rule = nested && subgraphs(node).length > 0 ? (c: RuleContext) => nested(c, id) : isDefaultDomain(node) ? RULES[node.opType ?? ''] : undefined;
    if (rule) {
      try {
        inferred = rule(context);
      } catch (error) {
        // A ShapeGap, or any other failure of a rule on odd input: the node's shape is unknown, not fatal.
        if (error instanceof OnnxProfileError) throw new OnnxProfileError(`${label}: ${error.message}`, { cause: error });
        if (error instanceof ShapeConflict) conflict = capText(error.message, MAX_REASON_CHARS);
        inferred = [];
      }
    }
    const outputs = (node.output ?? []).map((name, i) => {
      if (!name) return null;
      const mine = inferred[i];
      let info: TensorInfo | null = mine?.shape && validShape(mine.shape) ? mine : null;
      if (!info) {
        const s = fallback(name);
        info = s ? { shape: s } : null;
      }
      if (info?.shape) numel(info.shape, `${label}: output ${JSON.stringify(name)}`);
      // A folded value past MAX_FOLDED is dropped (its shape kept): Concat(v, v) chains had doubled one to 2^28
      // elements from a 1-KB file (a trial: 4 GB, 26 s).
      if (info?.value && info.value.length > MAX_FOLDED) info = { shape: info.shape };
      env.set(name, info ?? { shape: null });
      return info;
    });
    const known = conflict === null && outputs.every((o, i) => o !== null || !node.output?.[i]);
    return { node, label, id, context, outputs, known, conflict };
  });
}
