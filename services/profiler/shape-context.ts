/**
 * What a shape rule sees of a node: its inputs' inferred shapes (and values,
 * for small constants), its attributes, and the helpers every rule shares
 * (numpy broadcasting, axis normalisation).
 */
import onnxProto from 'onnx-proto';
import { attr, attrFloats, attrInt, attrInts, attrString } from './onnx-values.ts';

type INodeProto = onnxProto.onnx.INodeProto;

/** What the profiler knows of a tensor: its concrete shape, and its values when it is a small constant. */
export interface TensorInfo {
  /** Dims with the batch and other symbolic dims resolved; null when unknown. */
  shape: number[] | null;
  /** Row-major values of a small constant (folded), else absent. */
  value?: number[];
}

/** A rule cannot infer a node's output (missing shape, unsupported attribute; dims that contradict each other: {@link ShapeConflict}): the node is listed, not fatal. */
export class ShapeGap extends Error {}

/**
 * Input shapes a rule knows that contradict each other (MatMul / Gemm inner dims, a Conv's channels against its
 * weight, shapes that do not broadcast): onnxruntime refuses such a model. The node is reported unknown even when
 * value_info declares its output, and nothing of it is counted (a trial's MatMul of [1,100] by [256,512] with a
 * declared output had been counted as 131,072 MACs from the weight alone). Not fatal: a symbolic dim the profile
 * set to 1 or to the batch can meet a real dim here.
 */
export class ShapeConflict extends ShapeGap {}

/** A shape rule: one {@link TensorInfo} per node output (missing entries are unknown). */
export type ShapeRule = (c: RuleContext) => TensorInfo[];

/** One node under inference. */
export class RuleContext {
  /**
   * @param inputs  One entry per node input: null where the input is omitted (empty name).
   * @param opset   Version of the default ONNX domain the model imports.
   */
  constructor(readonly node: INodeProto, readonly inputs: readonly (TensorInfo | null)[], readonly opset: number) {}

  /** Whether input `i` is given (not omitted). */
  has(i: number): boolean {
    return i < this.inputs.length && this.inputs[i] !== null;
  }

  /** Shape of input `i`. @throws {ShapeGap} if omitted or unknown. */
  shape(i: number): number[] {
    const s = this.inputs[i]?.shape;
    if (!s) throw new ShapeGap(`input ${JSON.stringify(this.node.input?.[i] ?? i)} has no known shape`);
    return s;
  }

  /** Folded values of input `i`. @throws {ShapeGap} if omitted or not a known constant. */
  value(i: number): number[] {
    const v = this.inputs[i]?.value;
    if (!v) throw new ShapeGap(`input ${JSON.stringify(this.node.input?.[i] ?? i)} is not a known constant`);
    return v;
  }

  /** Values of optional input `i`: null when omitted or empty. @throws {ShapeGap} if given but not a known constant. */
  optValue(i: number): number[] | null {
    if (!this.has(i)) return null;
    const v = this.value(i);
    return v.length > 0 ? v : null;
  }

  /** An INT attribute or `def`. */
  int(name: string, def: number): number {
    return attrInt(this.node, name, def);
  }

  /** An INTS attribute or `def`. */
  ints(name: string, def: number[] | null = null): number[] | null {
    return attrInts(this.node, name, def);
  }

  /** A FLOATS attribute or `def`. */
  floats(name: string): number[] | null {
    return attrFloats(this.node, name);
  }

  /** A STRING attribute or `def`. */
  str(name: string, def: string): string {
    return attrString(this.node, name, def);
  }

  /** Whether the attribute is present. */
  hasAttr(name: string): boolean {
    return attr(this.node, name) !== undefined;
  }

  /** Axes from input `i` (newer opsets) or attribute `name` (older ones); null when neither. */
  axes(i: number, name: string): number[] | null {
    return this.has(i) ? this.value(i) : this.ints(name);
  }
}

/** Normalise a possibly negative axis into [0, rank). @throws {ShapeGap} when out of range. */
export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new ShapeGap(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** Numpy (multidirectional) broadcast of shapes. @throws {ShapeGap} when they do not broadcast. */
export function broadcast(shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let k = 0; k < rank; k++) {
    let d = 1;
    for (const s of shapes) {
      const x = s[s.length - rank + k] ?? 1;
      if (x === 1) continue;
      if (d !== 1 && d !== x) throw new ShapeConflict(`shapes ${JSON.stringify(shapes)} do not broadcast`);
      d = x;
    }
    out.push(d);
  }
  return out;
}

/** Product of dims (unchecked; callers check the final output). */
export const prod = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** A tensor of the given shape, and values when known. */
export const tensor = (shape: number[], value?: number[]): TensorInfo => (value ? { shape, value } : { shape });
