/**
 * JSON text that keeps 64-bit integers exact (cases C10 and C13).
 *
 * `JSON.parse` rounds integers above 2^53 and `JSON.stringify` throws on
 * bigint; both go through lossless-json here instead.
 */
import { BIDI_OR_SEPARATOR } from './id-text.ts';
import { parse, stringify } from 'lossless-json';

const INTEGER = /^-?[0-9]+$/;

/**
 * Parse one JSON number token exactly.
 *
 * @param token  The number's digits as written in the JSON text.
 * @returns      A safe-integer `number`; a `bigint` for an integer beyond 2^53 − 1;
 *               otherwise a double (which may be ±Infinity for `1e400`; validation rejects it).
 */
export function parseJsonNumber(token: string): number | bigint {
  if (INTEGER.test(token)) {
    const n = Number(token);
    return Number.isSafeInteger(n) ? n : BigInt(token);
  }
  return Number(token);
}

/**
 * Result of {@link parseJsonExact}: data errors are values (STYLE §2). `field` is the key whose value the
 * error is in, when the text before it ends in `"key":` (the nearest key, at any depth), else ''.
 */
export type JsonParseResult = { ok: true; value: unknown } | { ok: false; reason: string; field: string };

/** Branch names of Avro's JSON encoding of a union value (`{"double": 71.5}`). */
const UNION_BRANCHES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

/**
 * The key whose value holds `pos`: the nearest `"key":` before it with only the start of a scalar after it (a
 * re-test: `-Infinity` and `0.5.5` fail past their first character), or the field around a union's branch
 * (`"power_w":{"double":NaN` names power_w); '' when there is none.
 */
function keyBefore(text: string, pos: number): string {
  const before = text.slice(Math.max(0, pos - 260), pos);
  const key = String.raw`"((?:[^"\\]|\\.){1,200})"\s*:\s*`;
  const scalar = String.raw`[^,{}\[\]"]*$`;
  const union = new RegExp(String.raw`${key}\{\s*"(${[...UNION_BRANCHES].join('|')})"\s*:\s*${scalar}`).exec(before);
  const m = union ?? new RegExp(`${key}${scalar}`).exec(before);
  if (!m) return '';
  try {
    return JSON.parse(`"${m[1]}"`) as string;
  } catch {
    return '';
  }
}

/**
 * Parse JSON text, keeping integers beyond 2^53 exact as `bigint`.
 *
 * Behaviour: strict JSON (no NaN, no trailing text, no duplicate keys).
 * @param text  UTF-8 decoded JSON text.
 * @returns     `{ok: true, value}` or `{ok: false, reason, field}` with a lower-case
 *              reason quoting the text near the error as JSON (and naming `field`
 *              when the error is in a key's value); never throws.
 */
export function parseJsonExact(text: string): JsonParseResult {
  try {
    return { ok: true, value: parse(text, null, parseJsonNumber) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const at = /position (\d+)/.exec(message);
    const pos = at ? Number(at[1]) : 0;
    const near = text.slice(Math.max(0, pos - 16), pos + 16);
    // A bad value names its field (a trial: "io_ms":NaN read "object value expected after ':' at position 255").
    const field = at ? keyBefore(text, pos) : '';
    return { ok: false, field, reason: `invalid json${field ? ` in the value of ${JSON.stringify(field)}` : ''}: ${lowerFirst(message)}, near ${JSON.stringify(near)}` };
  }
}

/**
 * Serialise a value as JSON text with every `bigint` written as bare digits (exact).
 *
 * Behaviour: otherwise like `JSON.stringify` — NaN/±Infinity become `null`
 * (JSON has no such numbers, case C20), `undefined` properties are skipped,
 * `toJSON` methods (Date, Buffer) are honoured. Reuse it wherever records
 * meet JSON (warehouse rows, `LateEvent.record_json`, dead letters).
 * @param value  Any JSON-compatible value; may contain bigints at any depth.
 * @returns      The JSON text, e.g. `toJsonText({a: 9007199254740993n})` is `{"a":9007199254740993}`.
 * @throws {TypeError} if `value` is `undefined` or a function at top level (no JSON exists for it).
 */
export function toJsonText(value: unknown): string {
  const text = stringify(value);
  if (text === undefined) throw new TypeError(`value of type ${typeof value} has no json representation`);
  return text;
}

/** What JSON text leaves raw that a terminal acts on: DEL, C1 controls, bidirectional marks, line separators. */
const RAW_IN_JSON = new RegExp(`[\\u007f-\\u009f]|${BIDI_OR_SEPARATOR.source}`, 'g');

/**
 * Quote a value for an error message: JSON (bigint exact), with what JSON leaves raw ({@link RAW_IN_JSON}) escaped,
 * truncated to 80 characters.
 *
 * @param value  Anything, including `undefined`, NaN and bigint.
 * @returns      For example `"fast"`, `1717243200123456789`, `NaN`, `undefined`.
 */
export function quoteValue(value: unknown): string {
  let text: string;
  if (value === undefined) text = 'undefined';
  else if (typeof value === 'number' && !Number.isFinite(value)) text = String(value);
  else {
    try {
      text = toJsonText(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  // What JSON leaves raw and a terminal or a log viewer acts on (DEL, C1 controls, bidirectional marks, line
  // separators) escaped too (a re-test: a dead letter quoted U+0085 raw).
  text = text.replace(RAW_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function lowerFirst(s: string): string {
  return s.length > 0 ? s[0]!.toLowerCase() + s.slice(1) : s;
}
