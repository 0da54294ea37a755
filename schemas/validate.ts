/**
 * Validation of decoded records: Avro type conformance with a field path, JSON
 * object to record conversion, and the semantic rules of DESIGN §2.
 *
 * Every check returns a value (STYLE §2): `null` when fine, else a
 * {@link DecodeFailure} whose lower-case reason starts with the field path and
 * quotes the offending value as JSON.
 */
import type avro from 'avsc';
import { BIDI_OR_SEPARATOR, INVISIBLE_OR_REPLACEMENT } from './id-text.ts';
import { quoteValue } from './json.ts';

/**
 * Outcome of decoding or validating one record; data errors are values, never thrown.
 *
 * `path` is the dotted field path of the failure (`'total_ms'`), or `''` when
 * the bytes did not parse at all; `reason` is lower-case and quotes the value.
 */
export type DecodeResult<T> = { ok: true; value: T } | { ok: false; path: string; reason: string };

/** The failure branch of {@link DecodeResult}. */
export type DecodeFailure = Extract<DecodeResult<never>, { ok: false }>;

/** Build a {@link DecodeFailure}. */
export function fail(path: string, reason: string): DecodeFailure {
  return { ok: false, path, reason };
}

/** Describe an avsc type for a message: `a double`, `null or a string`. */
function describeType(type: avro.Type): string {
  const branches = (type as { types?: avro.Type[] }).types;
  if (Array.isArray(branches)) return branches.map(describeType).join(' or ');
  const name = type.typeName === 'abstract:long' ? 'long' : type.typeName;
  if (name === 'null') return 'null';
  if (name === 'record') return `a ${type.name ?? 'record'} record`;
  return /^[aeiou]/.test(name) ? `an ${name}` : `a ${name}`;
}

/**
 * Check that `value` conforms to the avsc `type`, reporting the first failing field.
 *
 * @param type   A compiled avsc type (records use the custom long of schemas/long.ts).
 * @param value  A decoded record or any candidate value.
 * @returns      `null`, or a failure such as `total_ms: value "fast" is not a double`.
 */
export function checkAvroType(type: avro.Type, value: unknown): DecodeFailure | null {
  let first: { path: string; value: unknown; type: avro.Type } | null = null;
  const ok = type.isValid(value, {
    errorHook: (path: string[], val: unknown, t: avro.Type) => {
      first ??= { path: path.join('.'), value: val, type: t };
    },
  });
  if (ok) return null;
  const f = first as { path: string; value: unknown; type: avro.Type } | null;
  if (!f) return fail('', `value ${quoteValue(value)} is not ${describeType(type)}`);
  return fail(f.path, `${f.path || 'record'}: value ${quoteValue(f.value)} is not ${describeType(f.type)}`);
}

/** True when `t` (or a branch of the union `t`) is a float or double. */
function isFloating(t: avro.Type): boolean {
  const branches = (t as { types?: avro.Type[] }).types;
  if (Array.isArray(branches)) return branches.some(isFloating);
  return t.typeName === 'double' || t.typeName === 'float';
}

/**
 * Turn a parsed JSON value into a record of `type`, field by field, in schema order.
 *
 * Behaviour: a missing field takes its schema default, or fails when it has
 * none; a `bigint` (an integer beyond 2^53 in the text) in a double field
 * becomes the nearest double; unknown properties are ignored (forward
 * compatibility, like Avro schema resolution). Types are checked afterwards
 * by {@link checkAvroType}, except where a field is missing: a field before it of the wrong type is named instead
 * (the first problem in schema order).
 * @param type    A compiled avsc record type.
 * @param parsed  Output of `parseJsonExact`.
 * @returns       The plain record, or a failure with the path of the missing field.
 */
export function recordFromJson(type: avro.types.RecordType, parsed: unknown): DecodeResult<Record<string, unknown>> {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return fail('', `expected a json object for ${type.name ?? 'record'}, got ${quoteValue(parsed)}`);
  }
  const obj = parsed as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const field of type.fields) {
    let v: unknown;
    if (Object.prototype.hasOwnProperty.call(obj, field.name)) {
      v = obj[field.name];
    } else {
      v = field.defaultValue();
      if (v === undefined) {
        // A field before it of the wrong type is the first problem in schema order, and named first (a trial: a load
        // sample's `"cpu_util": "high"` was dead-lettered as "gpu_util: required field is missing").
        for (const before of type.fields.slice(0, type.fields.indexOf(field))) {
          const bad = Object.prototype.hasOwnProperty.call(out, before.name) ? checkAvroType(before.type, out[before.name]) : null;
          if (bad !== null) return fail(bad.path ? `${before.name}.${bad.path}` : before.name, `${before.name}${bad.path ? `.${bad.path}` : ''}: ${bad.reason.replace(/^[^:]*: /, '')}`);
        }
        return fail(field.name, `${field.name}: required field is missing (no default), got undefined`);
      }
    }
    v = unwrapUnionJson(field.type, v);
    out[field.name] = typeof v === 'bigint' && isFloating(field.type) ? Number(v) : v;
  }
  return { ok: true, value: out };
}

/**
 * A union field's value in Avro's own JSON encoding, `{"string": "dep"}` (Avro 1.11 specification, "JSON Encoding":
 * a non-null union value is an object of one key, its branch's type name), as the plain value; any other value as it
 * is. Tools that write Avro-JSON (avro-tools, fastavro's json writer) had their records dead-lettered.
 */
function unwrapUnionJson(type: avro.Type, v: unknown): unknown {
  const branches = (type as { types?: avro.Type[] }).types;
  if (!Array.isArray(branches) || v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  const keys = Object.keys(v);
  if (keys.length !== 1) return v;
  const branch = branches.find((b) => b.typeName !== 'null' && (b as { branchName?: string }).branchName === keys[0]);
  return branch ? (v as Record<string, unknown>)[keys[0]!] : v;
}

/** Copy an avsc record instance into a plain object in field order. */
export function toPlainRecord(type: avro.types.RecordType, value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fields) out[field.name] = value[field.name];
  return out;
}

/**
 * Accepted event-time range, epoch ms: [2000-01-01, 2106-02-07T06:28:16Z), inside ClickHouse DateTime's range
 * (seconds 0..2^32 − 1), in which retention's TTL (`toDateTime(ts)`), the per-minute roll-up and the gate's days
 * compute: past it `toDateTime` wraps (a trial: events of 2150 read as 2013 were deleted by a 100-year TTL at once,
 * and their roll-up minutes were 2013-11-24 17:31:44), although DateTime64(3) holds them.
 */
export const MIN_TIME_MS = Date.UTC(2000, 0, 1);
/** End (exclusive) of the accepted event-time range, epoch ms: 2^32 s, 2106-02-07T06:28:16Z ({@link MIN_TIME_MS} is its start). */
export const MAX_TIME_MS = 2 ** 32 * 1000;

/** Fields holding an instant, epoch milliseconds UTC. */
const TIME_FIELDS = new Set(['ts', 'load_ts', 'window_start', 'window_end', 'watermark', 'request_ts']);
/** Identifier fields that must not be empty strings. */
const NON_EMPTY_FIELDS = new Set(['event_id', 'request_id', 'edge_server_id', 'model_id', 'chip', 'production_chip', 'shadow_chip']);
/**
 * Id fields: at most {@link MAX_ID_CHARS} characters, as the API's ids. A longer one is no id, and every record made
 * from it grows with it (a trial: a 300,000-character device_id, control characters escaped ×6 in a late event's
 * record_json, made a 1.8 MB record, above a Kafka message's limit).
 */
const ID_FIELDS: ReadonlySet<string> = new Set([...NON_EMPTY_FIELDS, 'device_id', 'model_version', 'runtime', 'deployment_id']);
/** A character as a message names it: `U+200B` (services/names.ts has its own; schemas/ imports only errors.ts). */
const codePoint = (c: string): string => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
/** A character outside ASCII (an ASCII text is in every Unicode normal form). */
const NON_ASCII = /[^\u0000-\u007f]/;
/** Longest id, characters. */
export const MAX_ID_CHARS = 256;
/** Integer fields with their minimum. */
const INTEGER_MINIMUM: Readonly<Record<string, number>> = {
  batch_size: 1,
  input_bytes: 0,
  queue_depth: 0,
  concurrency: 0,
  n: 0,
  partition: 0,
  offset: 0,
  pairs: 0,
  unpaired_production: 0,
  unpaired_shadow: 0,
  failed_pairs: 0,
  macs: 0,
};
/** Finite doubles >= 0 besides the `_ms` fields (a power draw below 0 W is no reading). */
const NON_NEGATIVE_DOUBLES = new Set(['requests_per_s', 'power_w']);
/** Lowest accepted `temperature_c`: absolute zero, −273.15 °C (BIPM, SI Brochure 9th ed., 2019, §2.3.1). */
export const ABSOLUTE_ZERO_C = -273.15;
/**
 * Largest accepted duration (`*_ms`), ms: one day. No inference request takes longer, and a value
 * far beyond (1e308, a unit slip) would overflow the windows' sums of squares and blank their statistics.
 */
export const MAX_DURATION_MS = 86_400_000;
/** Largest accepted `requests_per_s`: 1e9, far above any server's, for the same reason. */
export const MAX_REQUESTS_PER_S = 1e9;
/**
 * Smallest non-zero magnitude accepted in a `*_ms`, `*_util` or `requests_per_s` field: 1e-100.
 * No reading is that small (1e-100 ms is no duration), and below about 1e-154 a value's square
 * underflows float64, so a window's sums of squares could not tell a varying series from a
 * constant one (its correlation came out null, "x_constant").
 */
export const MIN_MAGNITUDE = 1e-100;
/** String fields restricted to a set of values (strings, not Avro enums, in the .avsc). */
const ALLOWED_VALUES: Readonly<Record<string, readonly string[]>> = {
  status: ['ok', 'error', 'timeout'],
  role: ['production', 'shadow'],
  x_metric: ['cpu_util', 'gpu_util', 'queue_depth', 'concurrency', 'requests_per_s'],
  y_metric: ['total_ms', 'io_ms', 'compute_ms'],
  alert_state: ['none', 'rising', 'firing', 'resolved'],
  verdict: ['BETTER', 'WORSE', 'EQUIVALENT', 'INCONCLUSIVE'],
  kind: ['rollout', 'rollback', 'shadow_start', 'shadow_stop'],
  scope: ['server', 'server×model', 'server×model×chip'],
};
/** Fields of a correlation (correlation-update.v1.avsc) that are a coefficient or its interval bounds: within [-1, 1]. */
const CORRELATION_FIELDS: ReadonlySet<string> = new Set(['pearson_r', 'ci_low', 'ci_high']);
/** Slack of the [-1, 1] and [0, 1] bounds for floating-point rounding of a computed r or p (never a real excess). */
const BOUND_SLACK = 1e-9;

/** Check one non-null field value against the rules its name implies; returns a reason or null. */
function checkField(name: string, v: unknown): string | null {
  if (TIME_FIELDS.has(name)) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) return `value ${quoteValue(v)} is not an epoch-milliseconds safe integer`;
    if (v < MIN_TIME_MS || v >= MAX_TIME_MS) return `value ${quoteValue(v)} is outside the accepted event-time range [2000-01-01, 2106-02-07T06:28:16Z) (epoch ms; a clock reset or a unit other than ms?)`;
    return null;
  }
  if (name in INTEGER_MINIMUM) {
    const min = INTEGER_MINIMUM[name]!;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) return `value ${quoteValue(v)} is not a safe integer >= ${min}`;
    return null;
  }
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return `value ${quoteValue(v)} is not a finite number`;
    if (name.endsWith('_util') && (v < 0 || v > 1)) return `value ${quoteValue(v)} is outside [0, 1] (a utilisation fraction)`;
    if (name.endsWith('_ms') && v < 0) return `value ${quoteValue(v)} is not a duration >= 0 ms`;
    if (name.endsWith('_ms') && v > MAX_DURATION_MS) return `value ${quoteValue(v)} is above one day (${MAX_DURATION_MS} ms): not a request's duration (a unit other than ms?)`;
    if (NON_NEGATIVE_DOUBLES.has(name) && v < 0) return `value ${quoteValue(v)} is not >= 0`;
    if (name === 'temperature_c' && v < ABSOLUTE_ZERO_C) return `value ${quoteValue(v)} is below absolute zero (${ABSOLUTE_ZERO_C} °C)`;
    if (name === 'requests_per_s' && v > MAX_REQUESTS_PER_S) return `value ${quoteValue(v)} is above ${MAX_REQUESTS_PER_S} requests per second`;
    if (CORRELATION_FIELDS.has(name) && Math.abs(v) > 1 + BOUND_SLACK) return `value ${quoteValue(v)} is outside [-1, 1] (a correlation coefficient)`;
    if (name === 'p_value' && (v < -BOUND_SLACK || v > 1 + BOUND_SLACK)) return `value ${quoteValue(v)} is outside [0, 1] (a probability)`;
    if (v !== 0 && Math.abs(v) < MIN_MAGNITUDE && (name.endsWith('_ms') || name.endsWith('_util') || name === 'requests_per_s')) {
      return `value ${quoteValue(v)} is not 0 and below ${MIN_MAGNITUDE} in magnitude: not a reading (a unit slip?), and too small for the window statistics`;
    }
    return null;
  }
  if (typeof v === 'string') {
    // A fleet's ids repeat on every record (servers, models, chips): one that passed the id rule passes again.
    if (SOUND_IDS.has(v) && REPEATED_ID_FIELDS.has(name)) return null;
    const reason = checkString(name, v);
    // Not "": it is a sound device_id but not a sound model_id (NON_EMPTY_FIELDS); past that the id fields share one rule.
    if (reason === null && v !== '' && REPEATED_ID_FIELDS.has(name)) {
      if (SOUND_IDS.size >= MAX_SOUND_IDS) SOUND_IDS.clear();
      SOUND_IDS.add(v);
    }
    return reason;
  }
  return null;
}

/**
 * Id fields whose values repeat from record to record (not `event_id` or `request_id`, one per request): those that
 * passed are kept in {@link SOUND_IDS}. None of them has {@link ALLOWED_VALUES}.
 */
const REPEATED_ID_FIELDS: ReadonlySet<string> = new Set([...ID_FIELDS].filter((f) => f !== 'event_id' && f !== 'request_id'));
/** Ids of {@link REPEATED_ID_FIELDS} that passed {@link checkString}; emptied when it reaches {@link MAX_SOUND_IDS}. */
const SOUND_IDS = new Set<string>();
/** Most ids kept in {@link SOUND_IDS} (a fleet has tens to thousands; each is at most {@link MAX_ID_CHARS} characters). */
const MAX_SOUND_IDS = 10_000;

/** {@link checkField} of a string value. */
function checkString(name: string, v: string): string | null {
  if (NON_EMPTY_FIELDS.has(name) && v.length === 0) return `value ${quoteValue(v)} is empty; a non-empty string is required`;
  if (ID_FIELDS.has(name) && v.length > MAX_ID_CHARS) return `value ${quoteValue(v)} has ${v.length} characters, more than ${MAX_ID_CHARS}: not an id`;
  // A control character makes another id that prints as this one (a trial: model_id "bert\u0000-99" beside bert-99),
  // which no command can name (the CLI and the API refuse such ids).
  const control = ID_FIELDS.has(name) ? /[\u0000-\u001f\u007f-\u009f]/.exec(v) : null;
  if (control) return `value ${quoteValue(v)} holds the control character ${codePoint(control[0])}: not an id`;
  // The rest of the id rule the commands and the API apply (services/names.ts idProblem): an id stored here must be one
  // they can name (a re-test: "bert-99 ", "bert-99\u200b" and "\u202ebert-99" were stored beside bert-99).
  if (ID_FIELDS.has(name) && v.trim() !== v) return `value ${quoteValue(v)} has blanks around it: not an id`;
  const odd = ID_FIELDS.has(name) ? (BIDI_OR_SEPARATOR.exec(v) ?? INVISIBLE_OR_REPLACEMENT.exec(v)) : null;
  if (odd) return `value ${quoteValue(v)} holds ${codePoint(odd[0])}, ${BIDI_OR_SEPARATOR.test(odd[0]) ? 'a bidirectional or line-separator mark' : 'a character that does not show'}: not an id`;
  if (!(v as string & { isWellFormed(): boolean }).isWellFormed()) return `value ${quoteValue(v)} is not well-formed unicode (a lone surrogate)`;
  // Two spellings of one text (é as one character, or e and a combining accent) print alike and are two ids (a trial:
  // two servers "édge"): an id is taken in Unicode NFC, the composed form most writers produce, as the commands take it.
  // ASCII is always NFC: normalize() (a copy) only for the rest, on the hot path of every record.
  if (ID_FIELDS.has(name) && NON_ASCII.test(v) && v.normalize('NFC') !== v) {
    const mark = /\p{M}/u.exec(v);
    return `value ${quoteValue(v)} is not in Unicode NFC (composed) form${mark ? ` (the combining mark ${codePoint(mark[0])})` : ''}: its NFC form prints alike and is another id`;
  }
  const allowed = ALLOWED_VALUES[name];
  if (allowed && !allowed.includes(v)) return `value ${quoteValue(v)} is not one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`;
  return null;
}

/**
 * Apply the semantic rules of DESIGN §2 to a type-checked record, field by field.
 *
 * Rules (null values of nullable fields are skipped): time fields (`ts`,
 * `load_ts`, `window_start`, `window_end`, `watermark`) are safe integers > 0,
 * epoch ms; `*_util` finite in [0, 1]; `*_ms` in [0, {@link MAX_DURATION_MS}]; every other double
 * finite (NaN from Avro binary is rejected); `requests_per_s` in [0, {@link MAX_REQUESTS_PER_S}]; `power_w` >= 0;
 * `temperature_c` >= {@link ABSOLUTE_ZERO_C};
 * `*_util`, `*_ms` and `requests_per_s` 0 or at least {@link MIN_MAGNITUDE};
 * `batch_size` >= 1; `input_bytes`, `queue_depth`, `concurrency`, `n`,
 * `partition`, `offset` safe integers >= 0; `status`, `role`, `x_metric`,
 * `y_metric`, `alert_state`, `scope` within their value sets (schemas/types.ts); `pearson_r`, `ci_low`, `ci_high` in
 * [-1, 1] and `p_value` in [0, 1] (1e-9 slack for rounding); `window_start` not after `window_end`; `ci_low` not above `ci_high`;
 * `event_id`, `edge_server_id`, `model_id`, `chip` non-empty; id fields at most {@link MAX_ID_CHARS} characters, without
 * control, invisible or bidirectional characters, and in Unicode NFC; when the fields are sound, `total_ms` not below
 * `queue_ms + io_ms + compute_ms` ({@link partsAboveTotal}).
 * @param record  A plain record that passed {@link checkAvroType}.
 * @returns       `null`, or a failure naming every bad field in field order, `;`-separated, its path the first
 *                such field: `ts: value 1717243200123456789 is not an epoch-milliseconds safe integer`.
 */
export function checkSemantics(record: Record<string, unknown>): DecodeFailure | null {
  // Every bad field, in field order (a trial's load sample with a bad cpu_util and a bad queue_depth named only the
  // first); `path` is the first of them.
  // Hot path (every record of every processor): no entries array, and a message quoted only when one is built.
  const bad: [string, string][] = [];
  for (const name in record) {
    const v = record[name];
    if (v === null || v === undefined) continue;
    const reason = checkField(name, v);
    if (reason !== null) bad.push([name, `${name}: ${reason}`]);
  }
  if (bad.length === 0) {
    const parts = partsAboveTotal(record);
    if (parts !== null) bad.push(['total_ms', parts]);
    const { window_start: start, window_end: end, ci_low: low, ci_high: high } = record;
    // A trial's correlation record with its window reversed, or its interval upside down, fired an alert.
    if (typeof start === 'number' && typeof end === 'number' && start > end) bad.push(['window_start', `window_start: value ${quoteValue(start)} is after window_end ${quoteValue(end)}`]);
    if (typeof low === 'number' && typeof high === 'number' && low > high) bad.push(['ci_low', `ci_low: value ${quoteValue(low)} is above ci_high ${quoteValue(high)}`]);
  }
  return bad.length === 0 ? null : fail(bad[0]![0], bad.map(([, r]) => r).join('; '));
}

/** Slack of {@link partsAboveTotal}: 1 % of the parts' sum plus 0.01 ms (each part rounded on its own). */
const PARTS_SLACK = { relative: 0.01, ms: 0.01 } as const;

/**
 * The total of a latency record holds its parts (inference-event.v1.avsc: `total_ms` is queue + io + compute, of
 * any status: a time-out's parts are what ran before it): a total below their sum, past {@link PARTS_SLACK}, is a
 * broken record (a trial's ok request with parts of 100 ms each and a total of 1 ms fed the windows and the model).
 * @returns The reason, or null when the record has no such fields or they agree.
 */
function partsAboveTotal(record: Record<string, unknown>): string | null {
  const { total_ms: total, queue_ms: queue, io_ms: io, compute_ms: compute } = record;
  if (typeof total !== 'number' || typeof queue !== 'number' || typeof io !== 'number' || typeof compute !== 'number') return null;
  const sum = queue + io + compute;
  if (total >= sum * (1 - PARTS_SLACK.relative) - PARTS_SLACK.ms) return null;
  return `total_ms: value ${quoteValue(total)} is below queue_ms + io_ms + compute_ms = ${quoteValue(Number(sum.toPrecision(12)))} (the total holds its parts)`;
}

/**
 * Run {@link checkAvroType} then {@link checkSemantics}.
 *
 * @param type    The record's compiled avsc type.
 * @param record  A plain record.
 * @returns       `null` when valid, else the first type failure, or every semantic one (see {@link checkSemantics}).
 */
export function validateRecord(type: avro.Type, record: Record<string, unknown>): DecodeFailure | null {
  return checkAvroType(type, record) ?? checkSemantics(record);
}
