/**
 * Shape rules of the layout and constant operators — Reshape, Flatten,
 * Transpose, Concat, Squeeze / Unsqueeze, Slice, Split, Pad, Expand, Tile,
 * Gather, Shape, Constant... — with folding of small constants so that
 * Shape → Gather → Unsqueeze → Concat → Reshape chains resolve.
 */
import onnxProto from 'onnx-proto';
import { attr, int64, MAX_FOLDED, tensorValues, toDim } from './onnx-values.ts';
import { broadcast, normAxis, prod, RuleContext, ShapeGap, tensor, type ShapeRule, type TensorInfo } from './shape-context.ts';

type ITensorProto = onnxProto.onnx.ITensorProto;

/**
 * Shape and (small) values of a TensorProto.
 * @param what  Names the tensor in errors.
 * @throws {OnnxProfileError} if a dim is negative or not below 2^53.
 */
export function constantTensor(t: ITensorProto, what: string): TensorInfo {
  const shape = (t.dims ?? []).map((d) => toDim(d, what));
  return tensor(shape, tensorValues(t, prod(shape)) ?? undefined);
}

const reshape: ShapeRule = (c) => {
  const x = c.shape(0);
  const target = c.has(1) ? c.value(1) : c.ints('shape');
  if (!target) throw new ShapeGap('no constant target shape');
  const allowZero = c.int('allowzero', 0) === 1;
  const out = target.map((d, i) => (d === 0 && !allowZero ? (x[i] ?? NaN) : d));
  const free = out.indexOf(-1);
  if (out.some((d, i) => !Number.isSafeInteger(d) || d < (i === free ? -1 : 0)) || out.lastIndexOf(-1) !== free) throw new ShapeGap(`target shape ${JSON.stringify(target)} is invalid for ${JSON.stringify(x)}`);
  const total = prod(x);
  if (free >= 0) {
    const known = -prod(out);
    if (known === 0 || total % known !== 0) throw new ShapeGap(`cannot reshape ${JSON.stringify(x)} to ${JSON.stringify(target)}`);
    out[free] = total / known;
  }
  if (prod(out) !== total) throw new ShapeGap(`cannot reshape ${JSON.stringify(x)} to ${JSON.stringify(target)}`);
  return [tensor(out, c.inputs[0]?.value)];
};

const flatten: ShapeRule = (c) => {
  const x = c.shape(0);
  const raw = c.int('axis', 1);
  const axis = raw < 0 ? raw + x.length : raw;
  if (axis < 0 || axis > x.length) throw new ShapeGap(`axis ${raw} out of range for rank ${x.length}`);
  return [tensor([prod(x.slice(0, axis)), prod(x.slice(axis))], c.inputs[0]?.value)];
};

const transpose: ShapeRule = (c) => {
  const x = c.shape(0);
  const perm = c.ints('perm') ?? x.map((_, i) => x.length - 1 - i);
  if (perm.length !== x.length || new Set(perm).size !== perm.length || perm.some((p) => !(p >= 0 && p < x.length))) throw new ShapeGap(`perm ${JSON.stringify(perm)} is not a permutation of rank ${x.length}`);
  return [tensor(perm.map((p) => x[p]!), x.length <= 1 ? c.inputs[0]?.value : undefined)];
};

const concat: ShapeRule = (c) => {
  const shapes = (c.node.input ?? []).map((_, i) => c.shape(i));
  const first = shapes[0] ?? [];
  const axis = normAxis(c.int('axis', 0), first.length);
  const out = [...first];
  for (const s of shapes.slice(1)) {
    if (s.length !== first.length || s.some((d, i) => i !== axis && d !== first[i])) throw new ShapeGap(`cannot concatenate ${JSON.stringify(shapes)} on axis ${axis}`);
    out[axis]! += s[axis]!;
  }
  const values = c.inputs.map((t) => t?.value);
  const folded = first.length === 1 && values.every(Boolean) && values.reduce((n, v) => n + v!.length, 0) <= MAX_FOLDED;
  return [tensor(out, folded ? values.flatMap((v) => v!) : undefined)];
};

const squeeze: ShapeRule = (c) => {
  const x = c.shape(0);
  const given = c.axes(1, 'axes');
  const axes = new Set((given ?? x.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => normAxis(a, x.length)));
  if ([...axes].some((a) => x[a] !== 1)) throw new ShapeGap(`cannot squeeze axes ${JSON.stringify(given)} of ${JSON.stringify(x)}`);
  return [tensor(x.filter((_, i) => !axes.has(i)), c.inputs[0]?.value)];
};

const unsqueeze: ShapeRule = (c) => {
  const x = c.shape(0);
  const given = c.axes(1, 'axes');
  if (!given) throw new ShapeGap('no axes');
  const rank = x.length + given.length;
  const axes = new Set(given.map((a) => normAxis(a, rank)));
  if (axes.size !== given.length) throw new ShapeGap(`repeated axes ${JSON.stringify(given)}`);
  const rest = [...x];
  return [tensor(Array.from({ length: rank }, (_, i) => (axes.has(i) ? 1 : rest.shift()!)), c.inputs[0]?.value)];
};

const shapeOf: ShapeRule = (c) => {
  const x = c.shape(0);
  const clamp = (v: number) => Math.min(x.length, Math.max(0, v < 0 ? v + x.length : v));
  const v = x.slice(clamp(c.int('start', 0)), clamp(c.int('end', x.length)));
  return [tensor([v.length], v)];
};

const gather: ShapeRule = (c) => {
  const data = c.shape(0);
  const idx = c.shape(1);
  const axis = normAxis(c.int('axis', 0), data.length);
  const out = [...data.slice(0, axis), ...idx, ...data.slice(axis + 1)];
  const dv = c.inputs[0]?.value;
  const iv = c.inputs[1]?.value;
  const picked = data.length === 1 && dv && iv ? iv.map((i) => dv[i < 0 ? i + dv.length : i]) : undefined;
  return [tensor(out, picked?.every((v) => v !== undefined) ? (picked as number[]) : undefined)];
};

const constant: ShapeRule = (c) => {
  const a = (name: string) => attr(c.node, name);
  const t = a('value')?.t;
  if (t) return [constantTensor(t, `Constant ${JSON.stringify(c.node.name ?? '')}`)];
  const sparse = a('sparse_value')?.sparseTensor;
  if (sparse) return [tensor((sparse.dims ?? []).map((d) => toDim(d, 'sparse constant')))];
  if (a('value_float')) return [tensor([], [a('value_float')!.f ?? 0])];
  if (a('value_int')) return [tensor([], [int64(a('value_int')!.i)])];
  if (a('value_floats')) return [tensor([a('value_floats')!.floats?.length ?? 0], [...(a('value_floats')!.floats ?? [])])];
  if (a('value_ints')) return [tensor([a('value_ints')!.ints?.length ?? 0], (a('value_ints')!.ints ?? []).map(int64))];
  if (a('value_string')) return [tensor([])];
  if (a('value_strings')) return [tensor([a('value_strings')!.strings?.length ?? 0])];
  throw new ShapeGap('Constant without a value attribute');
};

const constantOfShape: ShapeRule = (c) => {
  const shape = c.value(0);
  const t = attr(c.node, 'value')?.t;
  const fill = t ? (tensorValues(t, 1)?.[0] ?? 0) : 0;
  return [tensor(shape, prod(shape) <= MAX_FOLDED ? Array<number>(prod(shape)).fill(fill) : undefined)];
};

const slice: ShapeRule = (c) => {
  const x = c.shape(0);
  const old = c.opset < 10 && !c.has(1);
  const starts = old ? c.ints('starts') : c.value(1);
  const ends = old ? c.ints('ends') : c.value(2);
  if (!starts || !ends || starts.length !== ends.length) throw new ShapeGap('starts and ends must be constants of one length');
  const axes = (old ? c.ints('axes') : c.optValue(3)) ?? starts.map((_, i) => i);
  const steps = (old ? null : c.optValue(4)) ?? starts.map(() => 1);
  const out = [...x];
  const ranges: [number, number, number][] = x.map((d) => [0, d, 1]);
  axes.forEach((raw, i) => {
    const a = normAxis(raw, x.length);
    const d = x[a]!;
    const s = steps[i]!;
    if (!s) throw new ShapeGap('step 0');
    const fix = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v < 0 ? v + d : v));
    const b = s > 0 ? fix(starts[i]!, 0, d) : fix(starts[i]!, 0, d - 1);
    const e = s > 0 ? fix(ends[i]!, 0, d) : fix(ends[i]!, -1, d - 1);
    out[a] = Math.max(0, Math.ceil((e - b) / s));
    ranges[a] = [b, e, s];
  });
  const v = c.inputs[0]?.value;
  const [b, , s] = ranges[0] ?? [0, 0, 1];
  return [tensor(out, x.length === 1 && v ? Array.from({ length: out[0]! }, (_, k) => v[b + k * s]!) : undefined)];
};

const split: ShapeRule = (c) => {
  const x = c.shape(0);
  const axis = normAxis(c.int('axis', 0), x.length);
  const n = (c.node.output ?? []).length;
  const d = x[axis]!;
  const sizes = (c.has(1) ? c.optValue(1) : c.ints('split')) ?? Array.from({ length: n }, (_, i) => Math.max(0, Math.min(Math.ceil(d / n), d - i * Math.ceil(d / n))));
  if (sizes.reduce((a, b) => a + b, 0) !== d) throw new ShapeGap(`split ${JSON.stringify(sizes)} does not add up to ${d}`);
  return sizes.map((s) => tensor(x.map((v, i) => (i === axis ? s : v))));
};

const pad: ShapeRule = (c) => {
  const x = c.shape(0);
  const pads = c.has(1) ? c.value(1) : (c.ints('pads') ?? c.ints('paddings'));
  const axes = (c.optValue(3) ?? x.map((_, i) => i)).map((a) => normAxis(a, x.length));
  if (!pads || pads.length !== 2 * axes.length) throw new ShapeGap('pads must be a constant of 2 × axes');
  const out = [...x];
  axes.forEach((a, i) => { out[a] = x[a]! + pads[i]! + pads[i + axes.length]!; });
  return [tensor(out)];
};

const topK: ShapeRule = (c) => {
  const x = c.shape(0);
  const axis = normAxis(c.int('axis', -1), x.length);
  const k = c.has(1) ? c.value(1)[0]! : c.int('k', NaN);
  const out = tensor(x.map((d, i) => (i === axis ? k : d)));
  return [out, out];
};

const range: ShapeRule = (c) => {
  const [start, limit, delta] = [c.value(0)[0]!, c.value(1)[0]!, c.value(2)[0]!];
  const n = Math.max(0, Math.ceil((limit - start) / delta));
  return [tensor([n], n <= MAX_FOLDED ? Array.from({ length: n }, (_, i) => start + i * delta) : undefined)];
};

const blocks = (toSpace: boolean): ShapeRule => (c) => {
  const [n, ch, h, w] = c.shape(0);
  const b = c.int('blocksize', 0);
  if (w === undefined || b < 1 || c.shape(0).length !== 4) throw new ShapeGap('needs an N×C×H×W input and blocksize');
  return [tensor(toSpace ? [n!, ch! / (b * b), h! * b, w * b] : [n!, ch! * b * b, h! / b, w / b])];
};

/** Shape rules of the layout and constant operators, by op type (default ONNX domain). */
export const LAYOUT_RULES: Readonly<Record<string, ShapeRule>> = {
  Reshape: reshape, Flatten: flatten, Transpose: transpose, Concat: concat, Squeeze: squeeze, Unsqueeze: unsqueeze,
  Shape: shapeOf, Size: (c: RuleContext) => [tensor([], [prod(c.shape(0))])], Gather: gather,
  GatherElements: (c) => [tensor(c.shape(1))], ScatterElements: (c) => [tensor(c.shape(0))], ScatterND: (c) => [tensor(c.shape(0))],
  Constant: constant, ConstantOfShape: constantOfShape, Slice: slice, Split: split, Pad: pad,
  Expand: (c) => [tensor(broadcast([c.shape(0), c.value(1)]))],
  Tile: (c) => [tensor(c.shape(0).map((d, i) => d * (c.value(1)[i] ?? NaN)))],
  TopK: topK, Range: range, DepthToSpace: blocks(true), SpaceToDepth: blocks(false),
};
