/**
 * Shape rules of the computing operators — convolutions, pooling, Gemm /
 * MatMul, normalisation, reductions, resizing, elementwise — and the MAC
 * count of the multiply-accumulate ones (issue 5 convention).
 */
import { add, MAX_FOLDED, mul, numel, OnnxProfileError } from './onnx-values.ts';
import { broadcast, normAxis, RuleContext, ShapeConflict, ShapeGap, tensor, type ShapeRule } from './shape-context.ts';

/** Operators whose work is counted as MACs: their data and weight input positions. */
export const MAC_OPS: Readonly<Record<string, { kind: 'conv' | 'convT' | 'gemm' | 'matmul'; a: number; b: number }>> = {
  Conv: { kind: 'conv', a: 0, b: 1 }, ConvInteger: { kind: 'conv', a: 0, b: 1 }, QLinearConv: { kind: 'conv', a: 0, b: 3 },
  ConvTranspose: { kind: 'convT', a: 0, b: 1 },
  Gemm: { kind: 'gemm', a: 0, b: 1 },
  MatMul: { kind: 'matmul', a: 0, b: 1 }, MatMulInteger: { kind: 'matmul', a: 0, b: 1 }, QLinearMatMul: { kind: 'matmul', a: 0, b: 3 },
};

/** Gate count of the recurrent operators: the rows of W and R are gates · hidden_size (ONNX operator specs). */
const RECURRENT_GATES: Readonly<Record<string, number>> = { RNN: 1, GRU: 3, LSTM: 4 };

/** Dims of an RNN / GRU / LSTM node: X [seq, batch, input] (layout 0) or [batch, seq, input] (layout 1), W [dirs, gates·hidden, input]. */
interface RecurrentDims { seq: number; batch: number; input: number; dirs: number; gates: number; hidden: number; layout: number }

/**
 * Read and check the dims of a recurrent node (ONNX RNN, GRU, LSTM specs).
 * @throws {ShapeGap} if X, W or R is unknown, X or W is not 3-D, hidden_size is missing (onnxruntime requires it),
 *   or the layout/direction is not one the spec defines.
 * @throws {ShapeConflict} if W does not fit X, the direction or hidden_size, or R is not [dirs, gates·hidden, hidden].
 */
function recurrentDims(c: RuleContext): RecurrentDims {
  const x = c.shape(0);
  const w = c.shape(1);
  if (x.length !== 3 || w.length !== 3) throw new ShapeGap(`X ${JSON.stringify(x)} and W ${JSON.stringify(w)} must be 3-D`);
  const layout = c.int('layout', 0);
  const direction = c.str('direction', 'forward');
  if (layout !== 0 && layout !== 1) throw new ShapeGap(`layout ${layout} is not 0 or 1`);
  if (!['forward', 'reverse', 'bidirectional'].includes(direction)) throw new ShapeGap(`direction ${JSON.stringify(direction)} is not forward, reverse or bidirectional`);
  const dirs = direction === 'bidirectional' ? 2 : 1;
  const gates = RECURRENT_GATES[c.node.opType ?? '']!;
  if (!c.hasAttr('hidden_size')) throw new ShapeGap('no hidden_size attribute (onnxruntime requires it)');
  const hidden = c.int('hidden_size', 0);
  const r = c.shape(2);
  if (r.length !== 3 || r[0] !== dirs || r[1] !== gates * hidden || r[2] !== hidden) {
    throw new ShapeConflict(`R ${JSON.stringify(r)} is not [${dirs}, ${gates * hidden}, ${hidden}] (directions, ${gates} gate(s) × hidden_size, hidden_size)`);
  }
  const [seq, batch] = layout === 0 ? [x[0]!, x[1]!] : [x[1]!, x[0]!];
  if (w[0] !== dirs || w[1] !== gates * hidden || w[2] !== x[2]) {
    throw new ShapeConflict(`W ${JSON.stringify(w)} does not fit X ${JSON.stringify(x)} with ${dirs} direction(s), ${gates} gate(s) and hidden_size ${hidden}`);
  }
  return { seq, batch, input: x[2]!, dirs, gates, hidden, layout };
}

/**
 * RNN / GRU / LSTM outputs: Y [seq, dirs, batch, hidden] and Y_h (and LSTM's Y_c) [dirs, batch, hidden]; with
 * layout 1, Y [batch, seq, dirs, hidden] and Y_h [batch, dirs, hidden] (ONNX operator specs).
 */
const recurrent: ShapeRule = (c) => {
  const d = recurrentDims(c);
  const last = d.layout === 0 ? [d.dirs, d.batch, d.hidden] : [d.batch, d.dirs, d.hidden];
  return [tensor(d.layout === 0 ? [d.seq, d.dirs, d.batch, d.hidden] : [d.batch, d.seq, d.dirs, d.hidden]), tensor(last), tensor(last)];
};

/**
 * MACs of RNN / GRU / LSTM: each time step of each direction multiplies X_t [batch, input] by Wᵀ and H_{t-1}
 * [batch, hidden] by Rᵀ, both of gates · hidden columns: seq · dirs · batch · gates · hidden · (input + hidden).
 * The gates' activations and peepholes are element work and not counted.
 */
function recurrentMacs(c: RuleContext): number {
  const d = recurrentDims(c);
  return [d.seq, d.dirs, d.batch, d.gates, d.hidden, d.input + d.hidden].reduce((a, b) => mul(a, b, 'MACs'), 1);
}

/** An Einsum equation resolved against its operands: each operand's index labels, the output's, and every label's size. */
interface EinsumPlan { terms: string[][]; output: string[]; sizes: Map<string, number> }

/**
 * Resolve an Einsum equation (numpy semantics, ONNX Einsum spec): explicit (`ij,jk->ik`) or implicit output
 * (labels seen once, in alphabetical order, after the broadcast `...` dims); `...` dims are right-aligned and
 * broadcast, a repeated letter must have one size.
 * @throws {ShapeGap} if the equation is missing or malformed or an operand's shape is unknown.
 * @throws {ShapeConflict} if a term's rank does not match its operand or one label has two sizes.
 */
function einsumPlan(c: RuleContext): EinsumPlan {
  const equation = c.str('equation', '').replace(/\s+/g, '');
  const sides = equation.split('->');
  const term = /^[A-Za-z]*(\.\.\.)?[A-Za-z]*$/;
  const lhs = sides[0]!.split(',');
  if (equation === '' || sides.length > 2 || ![...lhs, sides[1] ?? ''].every((t) => term.test(t))) throw new ShapeGap(`equation ${JSON.stringify(equation)} is not an Einsum equation`);
  if (lhs.length !== (c.node.input ?? []).length) throw new ShapeConflict(`equation ${JSON.stringify(equation)} has ${lhs.length} operand(s), the node ${(c.node.input ?? []).length}`);
  const shapes = lhs.map((_, i) => c.shape(i));
  const letters = (t: string) => [...t.replace('...', '')];
  const ellipsisRanks = lhs.flatMap((t, i) => (t.includes('...') ? [shapes[i]!.length - letters(t).length] : []));
  const ellipsisRank = Math.max(0, ...ellipsisRanks);
  // onnxruntime takes "..." for the same number of dims in every operand that has it.
  if (new Set(ellipsisRanks.filter((r) => r >= 0)).size > 1) throw new ShapeConflict(`"..." stands for ${[...new Set(ellipsisRanks)].join(' and ')} dims in different operands`);
  const sizes = new Map<string, number>();
  const terms = lhs.map((t, i) => {
    const shape = shapes[i]!;
    const [before, after] = t.includes('...') ? t.split('...') as [string, string] : [t, null];
    const broadcast = after === null ? 0 : shape.length - letters(t).length;
    if (broadcast < 0 || (after === null && letters(t).length !== shape.length)) throw new ShapeConflict(`term ${JSON.stringify(t)} does not fit operand ${i}'s shape ${JSON.stringify(shape)}`);
    const labels = [...before, ...Array.from({ length: broadcast }, (_, k) => `.${ellipsisRank - broadcast + k}`), ...(after ?? '')];
    labels.forEach((label, k) => {
      const size = shape[k]!;
      const seen = sizes.get(label);
      if (seen === undefined || (label.startsWith('.') && seen === 1)) sizes.set(label, size);
      else if (seen !== size && !(label.startsWith('.') && size === 1)) throw new ShapeConflict(`index ${JSON.stringify(label.startsWith('.') ? '...' : label)} is ${seen} in one operand and ${size} in operand ${i}`);
    });
    return labels;
  });
  const dots = Array.from({ length: ellipsisRank }, (_, k) => `.${k}`);
  let output: string[];
  if (sides.length === 2) {
    const [before, after] = sides[1]!.includes('...') ? sides[1]!.split('...') as [string, string] : [sides[1]!, null];
    output = [...before, ...(after === null ? [] : dots), ...(after ?? '')];
    const unknown = output.find((l) => !sizes.has(l) && !l.startsWith('.'));
    if (unknown !== undefined) throw new ShapeConflict(`output index ${JSON.stringify(unknown)} is in no operand`);
    const twice = output.find((l, i) => output.indexOf(l) !== i);
    if (twice !== undefined) throw new ShapeConflict(`output index ${JSON.stringify(twice)} is repeated`);
    if (after === null && lhs.some((t) => t.includes('...'))) throw new ShapeConflict('the operands have "..." and the output does not (onnxruntime refuses it)');
  } else {
    const count = new Map<string, number>();
    for (const l of terms.flat()) if (!l.startsWith('.')) count.set(l, (count.get(l) ?? 0) + 1);
    output = [...dots, ...[...count].filter(([, n]) => n === 1).map(([l]) => l).sort()];
  }
  for (const d of dots) if (!sizes.has(d)) sizes.set(d, 1);
  return { terms, output, sizes };
}

/** Einsum's output shape: the sizes of the output labels. */
const einsum: ShapeRule = (c) => {
  const plan = einsumPlan(c);
  return [tensor(plan.output.map((l) => plan.sizes.get(l)!))];
};

/**
 * MACs of an Einsum of two or more operands, contracted pairwise left to right as onnxruntime evaluates it: an
 * operand's labels that neither the output nor another operand has are summed out first (element work); each step
 * multiplies the running result by the next operand over the union U of their labels (Π_U size MACs) and keeps
 * the labels the output or a later operand needs. One operand (a transpose, trace or sum) is element work: null.
 */
function einsumMacs(c: RuleContext): number | null {
  const { terms, output, sizes } = einsumPlan(c);
  if (terms.length < 2) return null;
  // Labels needed after step k: the output's and those of operands k+1.. (the others are summed out first). Counted
  // from the end once (rebuilt per operand it was quadratic in their number: a trial's 20,000 operands took 32 s).
  const after: Set<string>[] = new Array(terms.length);
  let later = new Set(output);
  for (let k = terms.length - 1; k >= 0; k--) {
    after[k] = later;
    later = new Set([...later, ...terms[k]!]);
  }
  const neededAfter = (k: number) => after[k]!;
  let running = new Set(terms[0]!.filter((l) => neededAfter(0).has(l)));
  let macs = 0;
  for (let k = 1; k < terms.length; k++) {
    const keep = neededAfter(k);
    const operand = terms[k]!.filter((l) => keep.has(l) || running.has(l));
    const union = new Set([...running, ...operand]);
    macs = add(macs, [...union].reduce((m, l) => mul(m, sizes.get(l)!, 'MACs'), 1), 'MACs');
    running = new Set([...union].filter((l) => keep.has(l)));
  }
  return macs;
}

/**
 * Multiply-accumulates of a MAC operator, from its inferred output shape:
 * Conv: out elements · (Cin/group) · Πkernel (= W[1] · ΠW[2:]); ConvTranspose:
 * out elements · (Cin/group) · Πkernel (= W[0]/group · ΠW[2:]), the same
 * convention as Conv; Gemm / MatMul: out elements · K; RNN / GRU / LSTM and Einsum: see recurrentMacs and
 * einsumMacs.
 * @returns null when the node is not a MAC operator (or is a one-operand Einsum).
 * @throws {ShapeGap} if the weight / operand shape is unknown.
 * @throws {OnnxProfileError} if the count reaches 2^53.
 */
export function macCount(c: RuleContext, out: readonly number[]): number | null {
  const type = c.node.opType ?? '';
  if (type in RECURRENT_GATES) return recurrentMacs(c);
  if (type === 'Einsum') return einsumMacs(c);
  const op = MAC_OPS[type];
  if (!op) return null;
  const elems = numel(out, 'output');
  const w = c.shape(op.b);
  const group = c.int('group', 1);
  if (w.length < (op.kind === 'matmul' ? 1 : 2) || (op.kind === 'convT' && w[0]! % group !== 0)) throw new ShapeGap(`weight shape ${JSON.stringify(w)} does not fit the operator`);
  let inner: number;
  if (op.kind === 'conv') inner = numel(w.slice(1), 'weight');
  else if (op.kind === 'convT') inner = numel([w[0]! / group, ...w.slice(2)], 'weight');
  else if (op.kind === 'gemm') inner = c.int('transB', 0) ? w[1]! : w[0]!;
  else inner = w.length === 1 ? w[0]! : w[w.length - 2]!;
  return mul(elems, inner, 'MACs');
}

/**
 * An attribute that must hold integers ≥ 1 (group, strides, dilations, kernel_shape): onnxruntime refuses a model
 * otherwise, so the profile does too.
 * @throws {OnnxProfileError} naming the attribute and its value.
 */
function requirePositive(name: string, values: readonly number[]): void {
  if (values.some((v) => !(v >= 1))) throw new OnnxProfileError(`attribute ${name} ${JSON.stringify(values)}: expected integers ≥ 1`);
}

/**
 * Output spatial dims must be ≥ 1.
 * @throws {OnnxProfileError} when the (dilated) kernel does not fit the padded input.
 */
function requireOutput(out: readonly number[], input: readonly number[], kernel: readonly number[]): void {
  if (out.some((d) => d < 1)) throw new OnnxProfileError(`output spatial dims ${JSON.stringify(out)}: the kernel ${JSON.stringify(kernel)} does not fit the (padded) input ${JSON.stringify(input)}`);
}

/** Output spatial dims of a convolution or pooling window (auto_pad, pads, strides, dilations, ceil_mode). */
function windowed(c: RuleContext, inSp: readonly number[], kernel: readonly number[]): number[] {
  const k = inSp.length;
  const strides = c.ints('strides') ?? inSp.map(() => 1);
  const dil = c.ints('dilations') ?? inSp.map(() => 1);
  const autoPad = c.str('auto_pad', 'NOTSET');
  const pads = autoPad === 'VALID' ? Array<number>(2 * k).fill(0) : (c.ints('pads') ?? Array<number>(2 * k).fill(0));
  if (kernel.length !== k || strides.length !== k || dil.length !== k || pads.length !== 2 * k) throw new ShapeGap(`kernel/strides/dilations/pads do not match ${k} spatial dims`);
  if (!['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'].includes(autoPad)) throw new ShapeGap(`auto_pad ${JSON.stringify(autoPad)} is not supported`);
  requirePositive('strides', strides);
  requirePositive('dilations', dil);
  requirePositive('kernel_shape', kernel);
  const ceil = c.int('ceil_mode', 0) === 1;
  const out = inSp.map((x, i) => {
    const s = strides[i]!;
    if (autoPad.startsWith('SAME')) return Math.ceil(x / s);
    const span = x + pads[i]! + pads[i + k]! - (dil[i]! * (kernel[i]! - 1) + 1);
    if (!ceil) return Math.floor(span / s) + 1;
    const o = Math.ceil(span / s) + 1;
    return (o - 1) * s >= x + pads[i]! ? o - 1 : o; // the last window must start inside the input or its left padding
  });
  requireOutput(out, inSp, kernel);
  return out;
}

function conv(xi: number, wi: number): ShapeRule {
  return (c) => {
    const x = c.shape(xi);
    const w = c.shape(wi);
    const group = c.int('group', 1);
    requirePositive('group', [group]);
    if (x.length < 3 || w.length !== x.length || x[1] !== w[1]! * group) throw new ShapeConflict(`input ${JSON.stringify(x)} does not fit weight ${JSON.stringify(w)} with group ${group}`);
    return [tensor([x[0]!, w[0]!, ...windowed(c, x.slice(2), c.ints('kernel_shape') ?? w.slice(2))])];
  };
}

const convTranspose: ShapeRule = (c) => {
  const x = c.shape(0);
  const w = c.shape(1);
  const group = c.int('group', 1);
  requirePositive('group', [group]);
  if (x.length < 3 || w.length !== x.length || x[1] !== w[0]) throw new ShapeConflict(`input ${JSON.stringify(x)} does not fit weight ${JSON.stringify(w)}`);
  const k = x.length - 2;
  const head = [x[0]!, w[1]! * group];
  const given = c.ints('output_shape');
  if (given) return [tensor([...head, ...given.slice(-k)])];
  const kernel = c.ints('kernel_shape') ?? w.slice(2);
  const strides = c.ints('strides') ?? Array<number>(k).fill(1);
  const dil = c.ints('dilations') ?? Array<number>(k).fill(1);
  const outPad = c.ints('output_padding') ?? Array<number>(k).fill(0);
  const autoPad = c.str('auto_pad', 'NOTSET');
  const pads = autoPad === 'VALID' ? Array<number>(2 * k).fill(0) : (c.ints('pads') ?? Array<number>(2 * k).fill(0));
  if (kernel.length !== k || strides.length !== k || dil.length !== k || outPad.length !== k || pads.length !== 2 * k) throw new ShapeGap('attributes do not match the spatial rank');
  requirePositive('strides', strides);
  requirePositive('dilations', dil);
  requirePositive('kernel_shape', kernel);
  const out = x.slice(2).map((d, i) => (autoPad.startsWith('SAME')
    ? d * strides[i]!
    : strides[i]! * (d - 1) + outPad[i]! + (kernel[i]! - 1) * dil[i]! + 1 - pads[i]! - pads[i + k]!));
  requireOutput(out, x.slice(2), kernel);
  return [tensor([...head, ...out])];
};

const pool: ShapeRule = (c) => {
  const x = c.shape(0);
  const kernel = c.ints('kernel_shape');
  if (!kernel || x.length < 3) throw new ShapeGap('pooling needs kernel_shape and an N×C×spatial input');
  const out = tensor([x[0]!, x[1]!, ...windowed(c, x.slice(2), kernel)]);
  return [out, out];
};

const globalPool: ShapeRule = (c) => {
  const x = c.shape(0);
  return [tensor([...x.slice(0, 2), ...x.slice(2).map(() => 1)])];
};

const gemm: ShapeRule = (c) => {
  const a = c.shape(0);
  const b = c.shape(1);
  if (a.length !== 2 || b.length !== 2) throw new ShapeGap(`Gemm needs 2-D operands, got ${JSON.stringify([a, b])}`);
  const [m, ka] = c.int('transA', 0) ? [a[1]!, a[0]!] : [a[0]!, a[1]!];
  const [kb, n] = c.int('transB', 0) ? [b[1]!, b[0]!] : [b[0]!, b[1]!];
  if (ka !== kb) throw new ShapeConflict(`inner dims differ: ${JSON.stringify(a)} × ${JSON.stringify(b)}`);
  return [tensor([m, n])];
};

function matmul(ai: number, bi: number): ShapeRule {
  return (c) => {
    const a = c.shape(ai);
    const b = c.shape(bi);
    if (a.length === 0 || b.length === 0) throw new ShapeGap('MatMul of a scalar');
    const a2 = a.length === 1 ? [1, a[0]!] : a;
    const b2 = b.length === 1 ? [b[0]!, 1] : b;
    if (a2[a2.length - 1] !== b2[b2.length - 2]) throw new ShapeConflict(`inner dims differ: ${JSON.stringify(a)} × ${JSON.stringify(b)}`);
    const out = broadcast([a2.slice(0, -2), b2.slice(0, -2)]);
    if (a.length > 1) out.push(a2[a2.length - 2]!);
    if (b.length > 1) out.push(b2[b2.length - 1]!);
    return [tensor(out)];
  };
}

/** Same shape as input 0 for every output (activations, normalisations, casts, Dropout and its mask). */
const same: ShapeRule = (c) => {
  const s = c.shape(0);
  return (c.node.output ?? []).map(() => tensor(s));
};

/** Same shape and, for a constant, the same values (Identity, Cast). */
const passValue: ShapeRule = (c) => [{ ...c.inputs[0]!, shape: c.shape(0) }];

const FOLD: Record<string, (a: number, b: number) => number> = { Add: (a, b) => a + b, Sub: (a, b) => a - b, Mul: (a, b) => a * b, Div: (a, b) => a / b };

/** Numpy-broadcast shape of all inputs; folds Add/Sub/Mul/Div of small 1-D constants (shape arithmetic). */
const elementwise: ShapeRule = (c) => {
  const shapes = (c.node.input ?? []).map((_, i) => c.shape(i));
  const out = broadcast(shapes);
  const f = FOLD[c.node.opType ?? ''];
  const vals = c.inputs.map((t) => t?.value);
  if (!f || out.length > 1 || (out[0] ?? 1) > MAX_FOLDED || vals.length !== 2 || !vals[0] || !vals[1]) return [tensor(out)];
  const [x, y] = vals as [number[], number[]];
  const v = Array.from({ length: out.length === 0 ? 1 : out[0]! }, (_, i) => f(x[x.length === 1 ? 0 : i]!, y[y.length === 1 ? 0 : i]!));
  const allInts = [...x, ...y].every(Number.isInteger);
  return [tensor(out, allInts && !v.every(Number.isInteger) ? undefined : v)];
};

const batchNorm: ShapeRule = (c) => [tensor(c.shape(0)), ...(c.node.output ?? []).slice(1).map(() => tensor(c.shape(1)))];

const layerNorm: ShapeRule = (c) => {
  const x = c.shape(0);
  const axis = normAxis(c.int('axis', -1), x.length);
  const stat = tensor(x.map((d, i) => (i < axis ? d : 1)));
  return [tensor(x), stat, stat];
};

const reduce: ShapeRule = (c) => {
  const x = c.shape(0);
  const keep = c.int('keepdims', 1) === 1;
  const given = c.axes(1, 'axes');
  if ((!given || given.length === 0) && c.int('noop_with_empty_axes', 0) === 1) return [tensor(x)];
  const axes = new Set((given && given.length > 0 ? given : x.map((_, i) => i)).map((a) => normAxis(a, x.length)));
  return [tensor(x.flatMap((d, i) => (!axes.has(i) ? [d] : keep ? [1] : [])))];
};

const argReduce: ShapeRule = (c) => {
  const x = c.shape(0);
  const axis = normAxis(c.int('axis', 0), x.length);
  const keep = c.int('keepdims', 1) === 1;
  return [tensor(x.flatMap((d, i) => (i !== axis ? [d] : keep ? [1] : [])))];
};

/** Resize (opset 10: X, scales; 11+: X, roi, scales, sizes) and Upsample (scales attribute or input). */
const resize: ShapeRule = (c) => {
  const x = c.shape(0);
  const op = c.node.opType;
  const axes = (c.ints('axes') ?? x.map((_, i) => i)).map((a) => normAxis(a, x.length));
  const sizes = op === 'Resize' && c.opset >= 11 ? c.optValue(3) : null;
  const policy = c.str('keep_aspect_ratio_policy', 'stretch');
  if (sizes) {
    if (sizes.length !== axes.length || policy !== 'stretch') throw new ShapeGap(`sizes ${JSON.stringify(sizes)} with policy ${JSON.stringify(policy)} not supported`);
    const out = [...x];
    axes.forEach((a, i) => { out[a] = sizes[i]!; });
    return [tensor(out)];
  }
  const scales = op === 'Upsample' && !c.has(1) ? c.floats('scales') : c.optValue(op === 'Resize' && c.opset >= 11 ? 2 : 1);
  if (!scales || scales.length !== axes.length) throw new ShapeGap('no constant scales or sizes');
  const out = [...x];
  axes.forEach((a, i) => { out[a] = Math.floor(x[a]! * scales[i]!); });
  return [tensor(out)];
};

const UNARY = [
  'Relu', 'Sigmoid', 'Tanh', 'Clip', 'LeakyRelu', 'HardSwish', 'HardSigmoid', 'Elu', 'Selu', 'Celu', 'Gelu', 'Mish', 'Softplus', 'Softsign',
  'ThresholdedRelu', 'Shrink', 'Swish', 'Exp', 'Log', 'Sqrt', 'Abs', 'Neg', 'Reciprocal', 'Floor', 'Ceil', 'Round', 'Erf', 'Sign', 'Not',
  'Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh', 'IsNaN', 'IsInf', 'BitwiseNot',
  'Softmax', 'LogSoftmax', 'Hardmax', 'LRN', 'InstanceNormalization', 'GroupNormalization', 'MeanVarianceNormalization',
  'Dropout', 'QuantizeLinear', 'DequantizeLinear', 'CumSum', 'Trilu', 'ReverseSequence',
];
const BROADCAST = [
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Mod', 'Max', 'Min', 'Mean', 'Sum', 'PRelu', 'Where', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual',
  'And', 'Or', 'Xor', 'BitShift', 'BitwiseAnd', 'BitwiseOr', 'BitwiseXor',
];
const REDUCE = ['ReduceMean', 'ReduceSum', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare'];

/** Shape rules of the computing operators, by op type (default ONNX domain). */
export const COMPUTE_RULES: Readonly<Record<string, ShapeRule>> = {
  ...Object.fromEntries(UNARY.map((op) => [op, same])),
  ...Object.fromEntries(BROADCAST.map((op) => [op, elementwise])),
  ...Object.fromEntries(REDUCE.map((op) => [op, reduce])),
  Identity: passValue, Cast: passValue, CastLike: passValue,
  Conv: conv(0, 1), ConvInteger: conv(0, 1), QLinearConv: conv(0, 3), ConvTranspose: convTranspose,
  MaxPool: pool, AveragePool: pool, LpPool: pool, GlobalAveragePool: globalPool, GlobalMaxPool: globalPool, GlobalLpPool: globalPool,
  Gemm: gemm, MatMul: matmul(0, 1), MatMulInteger: matmul(0, 1), QLinearMatMul: matmul(0, 3),
  BatchNormalization: batchNorm, LayerNormalization: layerNorm, ArgMax: argReduce, ArgMin: argReduce,
  Resize: resize, Upsample: resize,
  RNN: recurrent, GRU: recurrent, LSTM: recurrent, Einsum: einsum,
  DynamicQuantizeLinear: (c) => [tensor(c.shape(0)), tensor([]), tensor([])],
};
