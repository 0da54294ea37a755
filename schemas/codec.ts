/**
 * The record codec: single-object Avro and JSON in, validated records out.
 *
 * Source: Avro 1.11 specification, "Single object encoding" (`C3 01`, 8-byte
 * little-endian CRC-64-AVRO fingerprint of the Parsing Canonical Form, body)
 * and "Schema Fingerprints". Data errors are values (STYLE §2): `decode` never throws.
 */
import avro from 'avsc';
import { PipelineError } from '../errors.ts';
import { rabinFingerprint, SINGLE_OBJECT_HEADER_BYTES, singleObjectHeader } from './fingerprint.ts';
import { parseJsonExact, quoteValue, toJsonText } from './json.ts';
import { doubleType, floatType, isAvroLong, longType } from './long.ts';
import { bridgeUnionFields, checkBridgedFields, type UnionBridge } from './union-bridge.ts';
import { firstInvalidUtf8, Utf8KeyMapType, utf8StringType } from './utf8.ts';
import { checkSemantics, fail, recordFromJson, toPlainRecord, validateRecord, type DecodeFailure, type DecodeResult } from './validate.ts';

/** avsc's opaque schema resolver (not exported by name from its typings). */
type Resolver = ReturnType<avro.Type['createResolver']>;

/** Names of the edgelat record types, one `.avsc` each (DESIGN §2). */
export type RecordKind = 'InferenceEvent' | 'LoadSample' | 'EnrichedInference' | 'CorrelationUpdate' | 'DeadLetter' | 'LateEvent' | 'ShadowResult' | 'ShadowVerdict' | 'DeploymentEvent';

/**
 * Encoder/decoder for one record kind, compiled once at startup.
 *
 * @see codecFor in schemas/index.ts
 */
export interface Codec<T> {
  /** Which record type this codec handles. */
  readonly kind: RecordKind;
  /** The compiled avsc type (custom exact long, see schemas/long.ts). */
  readonly type: avro.types.RecordType;
  /** The schema's Parsing Canonical Form (Avro spec), the input of the fingerprint. */
  readonly canonicalForm: string;
  /** CRC-64-AVRO fingerprint of {@link canonicalForm}, 8 bytes little-endian as on the wire. */
  readonly fingerprint: Buffer;
  /**
   * Encode as single-object Avro: `C3 01` + 8-byte LE fingerprint + Avro body.
   * @throws {PipelineError} (not retriable) if `value` fails validation; message names the path.
   */
  encode(value: T): Buffer;
  /**
   * Decode single-object Avro (first bytes `C3 01`) or JSON (first non-space byte `{`),
   * then validate (Avro type + semantic rules). Never throws.
   * @returns `{ok: true, value}` or `{ok: false, path, reason}`; `path` is `''` when the bytes did not parse.
   */
  decode(bytes: Buffer): DecodeResult<T>;
  /**
   * Encode as UTF-8 JSON text, fields in schema order, bigints as bare digits.
   * @throws {PipelineError} (not retriable) if `value` fails validation.
   */
  encodeJson(value: T): Buffer;
}

/**
 * Parse an Avro schema's JSON text, keeping integer defaults beyond 2^53 exact (`bigint`): `JSON.parse` rounded a
 * writer's `"default": 9223372036854775807` (Long.MAX_VALUE, a common sentinel) to 2^63, which no long holds, and every
 * record of that schema failed to decode (a trial). A double or float field's integer default is its nearest value
 * (schemas/long.ts).
 * @param text  The schema as JSON text.
 * @returns     The parsed schema.
 * @throws {SyntaxError} when the text is not JSON, quoting it near the error.
 */
export function parseSchemaText(text: string): unknown {
  const r = parseJsonExact(text);
  if (!r.ok) throw new SyntaxError(`avro schema: ${r.reason}`);
  return r.value;
}

/** The first integer of a parsed schema beyond the int64 range (a bigint of {@link parseSchemaText}), or null. */
function outOfLongRange(v: unknown): bigint | null {
  if (typeof v === 'bigint') return isAvroLong(v) ? null : v;
  if (v === null || typeof v !== 'object') return null;
  for (const x of Array.isArray(v) ? v : Object.values(v)) {
    const found = outOfLongRange(x);
    if (found !== null) return found;
  }
  return null;
}

/**
 * Compile a schema with the exact long type of schemas/long.ts for every long,
 * and its double and float types, whose promotion from a writer's long is exact,
 * and strings and map keys read only as UTF-8 (schemas/utf8.ts).
 *
 * Behaviour: the registry covers `"long"`, `"double"`, `"float"` and `"string"` references;
 * avsc builds `{type: 'long', logicalType: ...}` objects without consulting the
 * registry, so a type hook maps those to the same types (timestamps stay
 * epoch-ms numbers; logical types are not instantiated), and every map to
 * {@link Utf8KeyMapType}.
 * @param schema  Avro schema as JSON text or a parsed object.
 * @returns       The compiled avsc type.
 * @throws {Error} from avsc if the schema is invalid (a programmer/config error).
 */
export function createLongAwareType(schema: string | object): avro.Type {
  const parsed: unknown = typeof schema === 'string' ? parseSchemaText(schema) : schema;
  const primitives: Record<string, avro.Type> = { long: longType, double: doubleType, float: floatType, string: utf8StringType };
  try {
    return forSchema(parsed, primitives);
  } catch (error) {
    // A long default beyond int64 (2^63): avsc formats its message with %j, which throws "Do not know how to serialize a
    // BigInt" instead (a trial). Named here; a double's default that large is fine (it never reaches this).
    const huge = error instanceof TypeError && /BigInt/i.test(error.message) ? outOfLongRange(parsed) : null;
    if (huge !== null) throw new Error(`the number ${huge} in the schema is outside the long range −2^63..2^63−1`);
    throw error;
  }
}

/** avsc's `forSchema` with edgelat's primitives and map type ({@link createLongAwareType}). */
function forSchema(parsed: unknown, primitives: Record<string, avro.Type>): avro.Type {
  return avro.Type.forSchema(parsed as avro.Schema, {
    registry: { ...primitives },
    typeHook: (s: unknown, opts: unknown) => {
      const name = s !== null && typeof s === 'object' && !Array.isArray(s) ? (s as { type?: unknown }).type : undefined;
      if (name === 'map') return new Utf8KeyMapType(s, opts) as unknown as avro.Type;
      return typeof name === 'string' && Object.hasOwn(primitives, name) ? primitives[name] : undefined;
    },
  });
}

/** Whether a field's type is an Avro int, or a union with an int branch. */
function isIntField(t: avro.Type): boolean {
  const branches = (t as { types?: avro.Type[] }).types;
  return Array.isArray(branches) ? branches.some((b) => b.typeName === 'int') : t.typeName === 'int';
}

/** Bytes of a JSON string that is not UTF-8 quoted in its error, at most (as an Avro string's: utf8.ts). */
const QUOTED_JSON_BYTES = 32;

/**
 * Where a prefix of JSON text ends inside an unclosed string value: the keys (and array indices) from the top to it, and
 * the character index where the string's content starts; null when it ends elsewhere (in a key, between tokens).
 * A scan of the tokens' nesting, not a parser: the text before a bad byte is what it has.
 */
function openStringValue(text: string): { path: string[]; from: number } | null {
  const stack: { object: boolean; key: string | null; expectKey: boolean; index: number }[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const top = stack[stack.length - 1];
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) {
        if (top === undefined || (top.object && top.expectKey)) return null;
        return { path: stack.map((f) => (f.object ? f.key ?? '' : String(f.index))), from: i + 1 };
      }
      if (top?.object && top.expectKey) {
        try {
          top.key = JSON.parse(text.slice(i, j + 1)) as string;
        } catch {
          top.key = text.slice(i + 1, j);
        }
        top.expectKey = false;
      }
      i = j;
    } else if (ch === '{' || ch === '[') stack.push({ object: ch === '{', key: null, expectKey: ch === '{', index: 0 });
    else if (ch === '}' || ch === ']') stack.pop();
    else if (ch === ',' && top !== undefined) {
      if (top.object) top.expectKey = true;
      else top.index++;
    }
  }
  return null;
}

/**
 * The failure of JSON text whose bytes are not UTF-8: the record's field whose string value holds the first bad byte
 * (its whole path too where it is nested, such as a union's `{"string": …}`), with that string's bytes in hex and where
 * it starts (a trial: "invalid utf-8 in json text" quoted the record's first bytes, `{"event_id": …`, and named no field,
 * where an Avro record's named its field and bytes). A bad byte outside a value string (in a key, between tokens) is
 * quoted with the bytes around it, no field named.
 * @param bytes  The record's bytes; `start` its first non-blank byte.
 */
function jsonUtf8Failure(bytes: Buffer, start: number): DecodeFailure {
  const bad = firstInvalidUtf8(bytes, start);
  const at = bad < 0 ? start : bad;
  // The text before the bad byte is UTF-8: does it end inside a string value?
  const before = bytes.subarray(start, at).toString('utf8');
  const open = openStringValue(before);
  if (open === null || open.path.length === 0) {
    return fail('', `invalid utf-8 in json text at byte ${at}: ${quoteValue(bytes.subarray(Math.max(start, at - 8), at + 8).toString('hex'))} (from byte ${Math.max(start, at - 8)})`);
  }
  const field = open.path[0]!;
  const from = start + Buffer.byteLength(before.slice(0, open.from), 'utf8');
  let end = at;
  while (end < bytes.length && bytes[end] !== 0x22) end += bytes[end] === 0x5c ? 2 : 1;
  end = Math.min(end, bytes.length);
  const hex = bytes.subarray(from, Math.min(end, from + QUOTED_JSON_BYTES)).toString('hex') + (end - from > QUOTED_JSON_BYTES ? '...' : '');
  const where = open.path.length > 1 ? ` (at ${open.path.join('.')})` : '';
  return fail(field, `${field}: string of ${end - from} bytes at byte ${from}${where} is not utf-8 (hex ${hex}); json text is utf-8`);
}

/** Hex of up to `max` bytes, for quoting binary input in a message. */
function hexHead(bytes: Buffer, max = 16): string {
  return bytes.subarray(0, max).toString('hex') + (bytes.length > max ? '...' : '');
}

/**
 * Decode one raw Avro body with `type`; with `resolver` (from `type.createResolver(writer)`),
 * the body is read as the writer's data resolved to `type`.
 *
 * @returns The plain record (fields in the reader's order), or a failure with
 *          path `''` for truncated, trailing or corrupt bytes.
 */
function decodeBody(type: avro.Type, body: Buffer, resolver?: Resolver): DecodeResult<Record<string, unknown>> {
  let decoded: { value: unknown; offset: number };
  try {
    decoded = type.decode(body, 0, resolver);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const at = resolver === undefined ? failingField(type, body) : null;
    return fail(at?.name ?? '', `${at ? `${at.name} (from byte ${at.from}): ` : ''}invalid avro body: ${message.toLowerCase()}; first bytes ${quoteValue(hexHead(body))}`);
  }
  if (decoded.offset < 0) {
    if (body.length === 0) return fail('', 'empty avro body: the record is its header alone');
    const at = resolver === undefined ? failingField(type, body) : null;
    return fail(at?.name ?? '', `${at ? `${at.name} (from byte ${at.from}): ` : ''}truncated avro body: ${body.length} bytes end inside the record; last bytes ${quoteValue(body.subarray(-16).toString('hex'))}`);
  }
  if (decoded.offset !== body.length) {
    const rest = body.subarray(decoded.offset);
    return fail('', `trailing bytes after the avro record: ${rest.length} bytes ${quoteValue(hexHead(rest))}`);
  }
  const value = decoded.value as Record<string, unknown>;
  return { ok: true, value: type.typeName === 'record' ? toPlainRecord(type as avro.types.RecordType, value) : value };
}

/**
 * The field of a record body whose bytes do not decode, read field by field (on a failure only): the first one that
 * throws or runs past the end, with the byte it starts at; null when the type is no record or every field reads (a
 * trial: bad UTF-8 in model_id, and a negative string length in event_id, named no field).
 */
function failingField(type: avro.Type, body: Buffer): { name: string; from: number } | null {
  if (type.typeName !== 'record') return null;
  let pos = 0;
  for (const field of (type as avro.types.RecordType).fields) {
    try {
      const r = field.type.decode(body, pos);
      if (r.offset < 0) return { name: field.name, from: pos };
      pos = r.offset;
    } catch {
      return { name: field.name, from: pos };
    }
  }
  return null;
}

/** Compiled-type cache for {@link readWithWriterSchema}, keyed by schema JSON text. */
const typeCache = new Map<string, avro.Type>();

function cachedType(schema: string | object): avro.Type {
  const key = typeof schema === 'string' ? schema : toJsonText(schema);
  let type = typeCache.get(key);
  if (!type) {
    type = createLongAwareType(schema);
    typeCache.set(key, type);
  }
  return type;
}

/** How one writer's data is read as one reader: the type to decode with, its resolver, and a widening when any. */
interface Reading {
  readonly type: avro.Type;
  readonly resolver: Resolver;
  readonly bridge: UnionBridge | null;
}

/** Reading cache: reader type -> writer type -> reading. */
const readingCache = new WeakMap<avro.Type, WeakMap<avro.Type, Reading>>();

/**
 * How to read `writer`'s data as `reader`, cached.
 *
 * Named types (records, enums, fixed) match by their unqualified name or an alias, as the Avro
 * 1.11 specification's "Schema Resolution" says ("both schemas are records with the same
 * (unqualified) name") and Java's `SchemaCompatibility` does: avsc compares full names unless
 * told `ignoreNamespaces`, and refused a writer that is the same record in another namespace.
 * A writer's union read into a reader's non-union field resolves branch by branch (schemas/union-bridge.ts).
 * @throws {Error} from avsc when the schemas cannot be resolved (names, types, a reader field with no default).
 */
function cachedReading(reader: avro.Type, writer: avro.Type): Reading {
  let byWriter = readingCache.get(reader);
  if (!byWriter) readingCache.set(reader, (byWriter = new WeakMap()));
  let reading = byWriter.get(writer);
  if (!reading) byWriter.set(writer, (reading = newReading(reader, writer)));
  return reading;
}

function newReading(reader: avro.Type, writer: avro.Type): Reading {
  try {
    return { type: reader, resolver: reader.createResolver(writer, { ignoreNamespaces: true }), bridge: null };
  } catch (refused) {
    const bridge = bridgeUnionFields(reader.schema({ exportAttrs: true }) as object, writer.schema({ exportAttrs: true }) as object, createLongAwareType);
    if (bridge === null) throw refused;
    try {
      const type = createLongAwareType(bridge.schema);
      return { type, resolver: type.createResolver(writer, { ignoreNamespaces: true }), bridge };
    } catch {
      throw refused;
    }
  }
}

/**
 * Decode a raw Avro body (no single-object or Confluent framing) with a given writer schema.
 *
 * Behaviour: longs are exact (`number` when safe, `bigint` otherwise; case C10);
 * timestamp-millis fields decode as epoch-ms longs. With `readerSchema`, the
 * writer's data is resolved to the reader's shape per the Avro spec "Schema
 * Resolution" (case C11: an added field with a default is filled in; a writer's
 * union read into a non-union field fails only for a record whose branch the
 * reader cannot read). Only Avro type conformance is checked, not the edgelat
 * semantic rules.
 * @param writerSchemaJson  The schema the bytes were written with, as JSON text or object.
 * @param body              The Avro binary body.
 * @param readerSchema      Optional reader schema to resolve to.
 * @returns                 The plain record, or `{ok: false, path, reason}` for a bad
 *                          schema, truncated/trailing/corrupt bytes, or a union branch the reader cannot read; never throws.
 * @example see test/unit/schemas/codec.test.ts (C10)
 */
export function readWithWriterSchema(
  writerSchemaJson: string | object,
  body: Buffer,
  readerSchema?: string | object,
): DecodeResult<Record<string, unknown>> {
  let writer: avro.Type | undefined;
  let reading: Reading | undefined;
  try {
    writer = cachedType(writerSchemaJson);
    reading = readerSchema === undefined ? undefined : cachedReading(cachedType(readerSchema), writer);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // avsc fails with a TypeError on some schemas it cannot resolve (a top-level union, a branch naming a type defined
    // elsewhere): its words ("cannot read properties of undefined") read as a crash, so they are said to be avsc's.
    if (err instanceof TypeError) return fail('', `invalid or incompatible schema: the writer's schema could not be resolved to the reader's (avsc: ${message.toLowerCase()})`);
    // The field the schemas differ on, where one does (a trial: "cannot read "string" as "double"" named none).
    let field: { path: string; reason: string } | null = null;
    try {
      if (readerSchema !== undefined && writer !== undefined) field = incompatibleField(cachedType(readerSchema), writer);
    } catch {
      field = null;
    }
    if (field !== null) return fail(field.path, `invalid or incompatible schema: field ${field.path}: ${field.reason}`);
    // avsc's words as it says them, its first letter lower-cased (a re-test: the whole text was, names too: "edgelat.inferenceeventv2").
    return fail('', `invalid or incompatible schema: ${message.charAt(0).toLowerCase()}${message.slice(1)}`);
  }
  if (reading === undefined) return decodeBody(writer!, body);
  const read = decodeBody(reading.type, body, reading.resolver);
  if (!read.ok || reading.bridge === null) return read;
  return checkBridgedFields(reading.bridge, read.value) ?? read;
}

/**
 * The first field (in the reader's order, dotted through nested records) on which a writer's record cannot be read as
 * the reader's: a field whose types do not resolve (avsc's reason, e.g. `cannot read "string" as "double"`), or a
 * reader field without a default that the writer lacks (by name or alias). Null when no single field is to blame
 * (the records' names, or both not records).
 */
export function incompatibleField(reader: avro.Type, writer: avro.Type, prefix = ''): { path: string; reason: string } | null {
  if (reader.typeName !== 'record' || writer.typeName !== 'record') return null;
  const writerFields = (writer as avro.types.RecordType).fields;
  for (const field of (reader as avro.types.RecordType).fields) {
    const path = `${prefix}${field.name}`;
    const names = [field.name, ...field.aliases];
    const written = writerFields.find((w) => names.includes(w.name));
    if (written === undefined) {
      if (field.defaultValue() === undefined) return { path, reason: 'the writer\'s schema has no such field and the reader\'s gives it no default' };
      continue;
    }
    try {
      field.type.createResolver(written.type, { ignoreNamespaces: true });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return incompatibleField(field.type, written.type, `${path}.`) ?? { path, reason: message.charAt(0).toLowerCase() + message.slice(1) };
    }
  }
  return null;
}

/** Fingerprint hex (wire byte order) -> kind, filled as codecs are created. */
const kindByFingerprint = new Map<string, RecordKind>();

/** Bytes skipped before looking for `{`: space, tab, LF, CR. */
function firstNonSpace(bytes: Buffer): number {
  let i = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  return i;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Build the codec of one record kind from its `.avsc` schema.
 *
 * @param kind    The record kind; the schema's record name should equal it.
 * @param schema  The parsed `.avsc` JSON.
 * @returns       The compiled {@link Codec}; its fingerprint is registered so that
 *                decoding another kind's bytes names that kind in the error.
 * @throws {Error} if the schema is invalid or not a record (a programmer error at startup).
 */
export function createCodec<T>(kind: RecordKind, schema: object): Codec<T> {
  const type = createLongAwareType(schema);
  if (type.typeName !== 'record') throw new Error(`schema for ${kind} is not a record`);
  const recordType = type as avro.types.RecordType;
  const canonicalForm = toJsonText(recordType.schema());
  const fingerprint = rabinFingerprint(canonicalForm);
  const header = singleObjectHeader(fingerprint);
  const fpHex = fingerprint.toString('hex');
  kindByFingerprint.set(fpHex, kind);

  // avsc reads an Avro int as any varint (up to 2^53) without checking its 32-bit range: a longer varint must be refused
  // here, or a record passes, is stored wrapped (2^40 as 0) and makes the join fail encoding it (a trial: on every
  // restart). Flat records: the top-level fields of type int, or a union with int.
  const intFields = recordType.fields.filter((f) => isIntField(f.type)).map((f) => f.name);
  const check = (value: T): Record<string, unknown> => {
    const record = value as unknown as Record<string, unknown>;
    const failure = validateRecord(recordType, record);
    if (failure) throw new PipelineError(`cannot encode ${kind}: ${failure.reason}`);
    return toPlainRecord(recordType, record);
  };

  const decodeAvro = (bytes: Buffer): DecodeResult<T> => {
    if (bytes.length < SINGLE_OBJECT_HEADER_BYTES) {
      return fail('', `truncated single-object header: ${bytes.length} bytes, need ${SINGLE_OBJECT_HEADER_BYTES}; got ${quoteValue(bytes.toString('hex'))}`);
    }
    const got = bytes.subarray(2, SINGLE_OBJECT_HEADER_BYTES).toString('hex');
    if (got !== fpHex) {
      const other = kindByFingerprint.get(got);
      const hint = other ? `it is the fingerprint of ${other}` : 'no known schema has it';
      return fail('', `unknown schema fingerprint ${quoteValue(got)} for ${kind} (expected ${quoteValue(fpHex)}); ${hint}`);
    }
    const body = decodeBody(recordType, bytes.subarray(SINGLE_OBJECT_HEADER_BYTES));
    if (!body.ok) return body;
    // Avro decoding guarantees the types but an int's range; then the semantic rules (NaN, ranges, value sets).
    for (const name of intFields) {
      const v = body.value[name];
      if (typeof v === 'number' && v !== (v | 0)) return fail(name, `${name}: value ${quoteValue(v)} is outside the Avro int range -2147483648..2147483647 (its varint is a long's)`);
    }
    return checkSemantics(body.value) ?? { ok: true, value: body.value as unknown as T };
  };

  const decodeJson = (bytes: Buffer, start: number): DecodeResult<T> => {
    let text: string;
    try {
      text = utf8.decode(bytes.subarray(start));
    } catch {
      return jsonUtf8Failure(bytes, start);
    }
    const parsed = parseJsonExact(text);
    if (!parsed.ok) return fail(parsed.field, parsed.reason);
    const record = recordFromJson(recordType, parsed.value);
    if (!record.ok) return record;
    return finish(record.value);
  };

  const finish = (record: Record<string, unknown>): DecodeResult<T> => {
    const failure = validateRecord(recordType, record);
    return failure ?? { ok: true, value: record as unknown as T };
  };

  return {
    kind,
    type: recordType,
    canonicalForm,
    fingerprint,
    encode(value: T): Buffer {
      return Buffer.concat([header, recordType.toBuffer(check(value))]);
    },
    encodeJson(value: T): Buffer {
      return Buffer.from(toJsonText(check(value)), 'utf8');
    },
    decode(bytes: Buffer): DecodeResult<T> {
      try {
        if (bytes.length >= 2 && bytes[0] === 0xc3 && bytes[1] === 0x01) return decodeAvro(bytes);
        const start = firstNonSpace(bytes);
        if (start < bytes.length && bytes[start] === 0x7b) return decodeJson(bytes, start);
        return fail('', unrecognised(bytes, start));
      } catch (err) {
        // Defensive: avsc or a rule threw on hostile input; still a value, not a crash.
        const message = err instanceof Error ? err.message : String(err);
        return fail('', `cannot decode ${kind}: ${message.toLowerCase()}; first bytes ${quoteValue(hexHead(bytes))}`);
      }
    },
  };
}

/** The reason for bytes that are neither single-object Avro nor a JSON object. */
function unrecognised(bytes: Buffer, start: number): string {
  const expected = 'expected single-object avro (first bytes c3 01) or a json object (first non-space byte "{")';
  if (bytes.length === 0) return `empty message: ${expected}; got ""`;
  if (start >= bytes.length) return `blank message: ${expected}; got ${quoteValue(bytes.toString('utf8'))}`;
  // A registry's schema ids are positive 32-bit ints (Java's int): 00 and then another number is not its framing.
  if (bytes[0] === 0x00 && bytes.length >= 5 && bytes.readInt32BE(1) > 0) {
    // Read only through a registry (confluent-wire.ts converts the ids of the topic's record kind): a trial read "not
    // handled by this codec" with no word of the setting.
    // Junk that happens to start with 00 reads so too (a trial's 00 01 02 "garbage"): said as what it may be, not as what it is.
    return `starts as confluent schema-registry framing would (00, then schema id ${bytes.readUInt32BE(1)}): if it is, it is read only through a schema registry: set EDGELAT_SCHEMA_REGISTRY_URL `
      + `(where it is set, that id is not a schema of this topic's record kind), then redrive it; if it is not, ${expected}; first bytes ${quoteValue(hexHead(bytes))}`;
  }
  return `unrecognised encoding: ${expected}; first bytes ${quoteValue(hexHead(bytes))}`;
}
