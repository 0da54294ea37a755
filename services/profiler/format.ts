/**
 * Terminal rendering of a {@link ModelProfile} (`edgelat profile`).
 */
import type { ModelProfile, ProfileInput } from './types.ts';
import { byCodeUnits, printable } from '../names.ts';
import { uncountedText } from './uncounted.ts';

/** Operator types listed by {@link formatProfile} before "+ N more". */
const TOP_OPERATORS = 8;

/** A count in K / M / G / T (powers of 1000) with two decimals, e.g. `4.09 G`; plain below 1000. */
export function siCount(n: number): string {
  const units: [number, string][] = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'K']];
  const unit = units.find(([size]) => Math.abs(n) >= size);
  return unit ? `${(n / unit[0]).toFixed(2)} ${unit[1]}` : String(n);
}

/**
 * Bytes in the largest binary unit they reach, with two decimals: `97.69 MiB`, `6.29 KiB`, `2.33 TiB`, `64 bytes`
 * (a trial read "2441406.25 MiB" for 2.3 TiB).
 */
export function mebibytes(bytes: number): string {
  if (bytes < 2 ** 10) return `${bytes} bytes`;
  const units: [number, string][] = [[2 ** 50, 'PiB'], [2 ** 40, 'TiB'], [2 ** 30, 'GiB'], [2 ** 20, 'MiB'], [2 ** 10, 'KiB']];
  const [size, name] = units.find(([u]) => bytes >= u)!;
  return `${(bytes / size).toFixed(2)} ${name}`;
}

/** `image float32 [N=1, 3, 224, 224]`: symbolic dims shown with their name. */
function formatInput(input: ProfileInput): string {
  if (input.rank_unknown) return `${input.name} ${input.dtype} [rank unknown: no shape in the file]`;
  const dims = input.shape.map((d, i) => (input.symbolic[i] ? `${input.symbolic[i]}=${d}` : String(d)));
  return `${input.name} ${input.dtype} [${dims.join(', ')}]`;
}

/**
 * One request's input bytes, and what makes them a lower bound: inputs of unknown rank (left out), and dims with
 * neither a value nor a name (`?`, counted as 1).
 */
function inputBytesText(p: ModelProfile): string {
  const unranked = p.inputs.filter((input) => input.rank_unknown).map((input) => input.name);
  // Past the first dim: an unnamed first dim is the batch, set by --batch (a re-test: "[?=8, 16]" was said "counted as 1").
  const unsized = p.inputs.filter((input) => input.symbolic.some((s, i) => s === '?' && i > 0)).map((input) => input.name);
  const why = [
    ...(unranked.length > 0 ? [`without ${unranked.join(', ')}: rank unknown`] : []),
    ...(unsized.length > 0 ? [`${unsized.join(', ')} with an unknown dim (?) counted as 1`] : []),
  ];
  return why.length === 0 ? `${mebibytes(p.input_bytes)} per request` : `at least ${mebibytes(p.input_bytes)} per request (${why.join('; ')})`;
}

/**
 * Render a profile as a two-column terminal table: model, params, MACs and
 * FLOPs (K/M/G units with the exact count), element ops, weight bytes (MiB)
 * and precision, inputs, batch, the most common operators, and the nodes
 * whose shape is unknown. Names from the file are shown {@link printable}.
 * @returns Lines ending in a newline.
 */
export function formatProfile(p: ModelProfile): string {
  const exact = (n: number) => `${siCount(n).padEnd(10)} (${n.toLocaleString('en-US')})`;
  const rows: [string, string][] = [
    ['model', p.model_version ? `${p.model_id || '(unnamed)'} (version ${p.model_version})` : p.model_id || '(unnamed)'],
    ['params', exact(p.params)],
    ['MACs', exact(p.macs)],
    ['FLOPs', `${siCount(p.flops).padEnd(10)} (2 × MACs)`],
    ['element ops', exact(p.element_ops)],
    ['weights', `${mebibytes(p.weight_bytes).padEnd(10)} ${p.precision}`],
    ...p.inputs.map((input, i): [string, string] => [i === 0 ? 'inputs' : '', formatInput(input)]),
    ['input bytes', inputBytesText(p)],
    ['batch', String(p.batch)],
  ];
  if (p.inputs.length === 0) rows.splice(6, 0, ['inputs', '(none)']);
  const ops = Object.entries(p.op_histogram).sort((a, b) => b[1] - a[1] || byCodeUnits(a[0], b[0]));
  const width = Math.max(0, ...ops.slice(0, TOP_OPERATORS).map(([op]) => op.length));
  ops.slice(0, TOP_OPERATORS).forEach(([op, n], i) => rows.push([i === 0 ? 'operators' : '', `${op.padEnd(width)} ${String(n).padStart(5)}`]));
  if (ops.length > TOP_OPERATORS) {
    const rest = ops.slice(TOP_OPERATORS);
    rows.push(['', `+ ${rest.length} more type(s), ${rest.reduce((s, [, n]) => s + n, 0)} node(s)`]);
  }
  if (p.unknown_shape_nodes.length > 0) {
    const shown = p.unknown_shape_nodes.slice(0, 5).join('; '); // an entry may carry a reason with commas: [1,100] × [256,512]
    const more = p.unknown_shape_nodes.length > 5 ? `; ... (+${p.unknown_shape_nodes.length - 5})` : '';
    rows.push(['unknown shape', `${uncountedText(p.unknown_shape_nodes)}: ${shown}${more}`]);
  }
  return rows.map(([k, v]) => `${k.padEnd(14)}${printable(v)}`.trimEnd()).join('\n') + '\n';
}
