/**
 * The entries of a profile's `unknown_shape_nodes` that are input dims counted as 1 (profile.ts `readInputs`), made and
 * read here only, and how a list of such entries is summed up in a message (`profile`'s table, `recommend`'s reason,
 * `gate --onnx`'s refusal).
 */

/** Recognises an entry made by {@link unsetDimEntry}. */
const DIM_COUNTED_AS_1 = /^input ".*" dim \d+( ".*")?: .*counted as 1 \(a lower bound/;

/**
 * The entry of an input dim past the batch that is counted as 1: a named one not set, one with neither a value nor
 * a name (`dimParam` null), or one whose value is no size (≤ 0: converters write -1 or 0 for an unknown dim).
 * @param input     The graph input's name.
 * @param index     The dim's position (≥ 1).
 * @param dimParam  Its symbolic name, or null.
 * @param value     Its `dim_value` when the file gives one ≤ 0, else null. @default null
 */
export function unsetDimEntry(input: string, index: number, dimParam: string | null, value: number | null = null): string {
  if (dimParam) return `input ${JSON.stringify(input)} dim ${index} ${JSON.stringify(dimParam)}: not set, counted as 1 (a lower bound; set it: --dim ${dimParam}=<n>, or ?dim=${dimParam}=<n> over HTTP)`;
  // A value that is there but no size is said as such (a trial: dim_value -5 was reported as "no value").
  return value !== null
    ? `input ${JSON.stringify(input)} dim ${index}: dim_value ${value} is not a size (converters write -1 or 0 for an unknown dim), counted as 1 (a lower bound)`
    : `input ${JSON.stringify(input)} dim ${index}: unknown (no value or name), counted as 1 (a lower bound)`;
}

/**
 * How many of a profile's `unknown_shape_nodes` are input dims counted as 1 and how many nodes were not counted:
 * `2 node(s) not counted`, `1 dim(s) counted as 1`, or both joined by `, `.
 */
export function uncountedText(entries: readonly string[]): string {
  const dims = entries.filter((e) => DIM_COUNTED_AS_1.test(e)).length;
  const nodes = entries.length - dims;
  return [...(dims > 0 ? [`${dims} dim(s) counted as 1`] : []), ...(nodes > 0 ? [`${nodes} node(s) not counted`] : [])].join(', ');
}

/** {@link uncountedText} and the first two entries: `1 node(s) not counted: a; b; +3 more`. */
export function uncountedSummary(entries: readonly string[]): string {
  const shown = entries.slice(0, 2).join('; ') + (entries.length > 2 ? `; +${entries.length - 2} more` : '');
  return `${uncountedText(entries)}: ${shown}`;
}
