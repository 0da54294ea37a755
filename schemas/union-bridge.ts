/**
 * Reading a writer's union into a reader's non-union field branch by branch, as the Avro specification asks.
 *
 * Source: Avro 1.11 specification, "Schema Resolution": "if writer's is a union, but reader's is not: if the
 * reader's schema matches the selected writer's schema, it is recursively resolved against it. If they do not
 * match, an error is signalled." The error belongs to a datum whose writer chose a branch the reader cannot read,
 * not to the schema: avsc's `createResolver` refuses the whole writer schema when one branch cannot be read (a
 * producer that made `cpu_util` `["null","double"]` had every record dead-lettered, the ones with a number too; a
 * trial, after linkedin/avro-util#355). Here the reader's field is widened to a union of the branches it reads
 * (as itself) and the writer's other branches (read as written), and the value is checked against the reader's
 * type after the read ({@link checkBridgedFields}). The check is by value: a value the reader's type holds is taken
 * whichever branch wrote it (a writer's long 5 read as an int is 5; a long beyond the int range fails, naming the
 * field), where the specification would refuse the long branch outright. A writer's union read into a reader's union
 * that lacks some of its branches is widened by them the same way ({@link widenUnion}).
 */
import type avro from 'avsc';
import { quoteValue, toJsonText } from './json.ts';
import { fail, type DecodeFailure } from './validate.ts';

/** A step from a record down to a widened value: a field, each element of an array or value of a map, a union's record branch. */
export type BridgeStep = { readonly field: string } | 'each' | 'branch';

/** One reader value widened by {@link bridgeUnionFields}. */
export interface BridgedField {
  /** Steps from the top record down, e.g. `[{field: 'cpu_util'}]`, `[{field: 'loads'}, 'each', {field: 'u'}]`. */
  readonly path: readonly BridgeStep[];
  /** The reader's own (non-union) type of the value, compiled. */
  readonly readerType: avro.Type;
  /** The writer's union of the value, as schema JSON (for messages). */
  readonly writerUnion: unknown;
  /**
   * Whether avsc reads the widened union wrapped (`{"int": 3}`: its branches are ambiguous in JavaScript), so that a
   * value is unwrapped before the check; a one-key record or map of an unwrapped union is a value as it is (a re-test:
   * a record branch `{a: 1}` was taken for a wrapped 1 and kept).
   */
  readonly wrapped: boolean;
}

/** A reader schema whose non-union values that a writer wrote as unions are widened, and which values they are. */
export interface UnionBridge {
  /** The widened reader schema (JSON object) to resolve the writer to. */
  readonly schema: object;
  /** The widened values, deepest first (a nested value is checked before the record that holds it); never empty. */
  readonly fields: readonly BridgedField[];
}

interface FieldSchema { name: string; type: unknown; aliases?: string[]; default?: unknown }
interface RecordSchema { type: 'record' | 'error'; name?: string; fields: FieldSchema[] }

type Compile = (schema: object) => avro.Type;

function isRecordSchema(s: unknown): s is RecordSchema {
  return s !== null && typeof s === 'object' && !Array.isArray(s) && ((s as { type?: unknown }).type === 'record' || (s as { type?: unknown }).type === 'error')
    && Array.isArray((s as { fields?: unknown }).fields);
}

function isContainer(s: unknown, kind: 'array' | 'map'): s is { type: string; items?: unknown; values?: unknown } {
  return s !== null && typeof s === 'object' && !Array.isArray(s) && (s as { type?: unknown }).type === kind;
}

/** The unqualified name of a named schema (`a.b.L` → `L`), or null. */
function shortName(s: unknown): string | null {
  const name = s !== null && typeof s === 'object' ? (s as { name?: unknown }).name : undefined;
  return typeof name === 'string' ? name.slice(name.lastIndexOf('.') + 1) : null;
}

/**
 * Widen the reader's values that the writer wrote as a union of which the reader reads some branches but not all.
 *
 * Behaviour: records are followed field by field (matched by name or the reader field's aliases), arrays into their
 * items, maps into their values, and a union of the reader into its record branches (matched by name with the
 * writer's); where the writer has a union and the reader not, the union is widened, and a writer branch that is the
 * reader's record with unions of its own inside is bridged in turn. A value whose writer union the reader reads whole,
 * or of which it reads no branch, is left as it is (avsc resolves the first and refuses the second, as before). A
 * field whose type changed loses its default (the writer has the field, so the default is never read, and a union's
 * default must suit its first branch). A branch that names a type defined elsewhere in the writer's schema is not
 * compiled on its own: such a union is left to avsc.
 * @param reader   The reader schema, parsed JSON (a record).
 * @param writer   The writer schema, parsed JSON.
 * @param compile  Compiles one schema (edgelat's avsc types, schemas/codec.ts `createLongAwareType`).
 * @returns        The widened schema and its values, or null when none needs it.
 */
export function bridgeUnionFields(reader: object, writer: object, compile: Compile): UnionBridge | null {
  const fields: BridgedField[] = [];
  const schema = bridgeType(reader, writer, [], fields, compile) as object;
  return fields.length === 0 ? null : { schema, fields: [...fields].sort((a, b) => b.path.length - a.path.length) };
}

/** `reader` with the values under it widened where `writer` has unions (see {@link bridgeUnionFields}). */
function bridgeType(reader: unknown, writer: unknown, at: BridgeStep[], out: BridgedField[], compile: Compile): unknown {
  if (isRecordSchema(reader) && isRecordSchema(writer)) {
    const fields = reader.fields.map((field) => {
      const names = [field.name, ...(field.aliases ?? [])];
      const written = writer.fields.find((w) => names.includes(w.name));
      if (!written) return field;
      const type = bridgeValue(field.type, written.type, [...at, { field: field.name }], out, compile);
      if (type === field.type) return field;
      const { default: _unused, ...rest } = field;
      return { ...rest, type };
    });
    return fields.every((f, i) => f === reader.fields[i]) ? reader : { ...reader, fields };
  }
  for (const kind of ['array', 'map'] as const) {
    if (isContainer(reader, kind) && isContainer(writer, kind)) {
      const key = kind === 'array' ? 'items' : 'values';
      const inner = bridgeValue(reader[key], writer[key], [...at, 'each'], out, compile);
      return inner === reader[key] ? reader : { ...reader, [key]: inner };
    }
  }
  if (Array.isArray(reader) && Array.isArray(writer)) {
    const branches = reader.map((branch) => {
      const written = writer.find((w) => isRecordSchema(branch) && isRecordSchema(w) && shortName(branch) === shortName(w));
      return written === undefined ? branch : bridgeType(branch, written, [...at, 'branch'], out, compile);
    });
    return branches.every((b, i) => b === reader[i]) ? reader : branches;
  }
  return reader;
}

/**
 * A value's reader type against the writer's: a writer union into a non-union widened, a writer union with branches
 * the reader's union does not read widened by them ({@link widenUnion}), anything else followed in.
 */
function bridgeValue(reader: unknown, writer: unknown, at: BridgeStep[], out: BridgedField[], compile: Compile): unknown {
  if (Array.isArray(writer) && !Array.isArray(reader)) {
    const widened = widen(reader, writer, at, out, compile);
    return widened ?? reader;
  }
  if (Array.isArray(writer) && Array.isArray(reader)) {
    const followed = bridgeType(reader, writer, at, out, compile) as unknown[];
    return widenUnion(followed, reader, writer, at, out, compile) ?? followed;
  }
  return bridgeType(reader, writer, at, out, compile);
}

/**
 * A reader's union widened by the writer's branches it reads none of (as written), recorded in `out` against the
 * reader's own union: the specification resolves a writer's union branch by branch ("the first schema in the reader's
 * union that matches the selected writer's union schema is recursively resolved against it. If none match, an error is
 * signalled"), so only a datum of such a branch fails (a trial: `temperature_c` widened to
 * `["null","float","double","string"]` and `deployment_id` to `["null","string","long"]` had every record of those
 * writers dead-lettered). null when the reader reads every branch, or none, or the widened union is not a valid one
 * (two named types of one name): left to avsc.
 * @param union     The reader's union, its record branches already followed ({@link bridgeType}).
 * @param original  The reader's union as given (the type values are checked against).
 */
function widenUnion(union: unknown[], original: unknown[], writerBranches: unknown[], at: BridgeStep[], out: BridgedField[], compile: Compile): unknown[] | null {
  let readerType: avro.Type;
  let unionType: avro.Type;
  try {
    readerType = compile(original as object);
    unionType = compile(union as object);
  } catch {
    return null; // a reference to a named type of the enclosing schema: left to avsc
  }
  const unread = writerBranches.filter((branch) => {
    try {
      unionType.createResolver(compile(asObject(branch)), { ignoreNamespaces: true });
      return false;
    } catch {
      return true;
    }
  });
  if (unread.length === 0 || unread.length === writerBranches.length) return null;
  const branches = [...union, ...unread];
  try {
    compile(branches as object);
  } catch {
    return null;
  }
  out.push({ path: at, readerType, writerUnion: writerBranches, wrapped: isWrapped(branches, compile) });
  return branches;
}

/**
 * The union `[reader type for each branch it reads, each other branch as written]` (a record branch of the reader's
 * name bridged in turn when its own unions keep it from being read as it is), recorded in `out`; null if the reader
 * reads all of them, or none.
 */
function widen(readerSchema: unknown, writerBranches: unknown[], at: BridgeStep[], out: BridgedField[], compile: Compile): unknown[] | null {
  let readerType: avro.Type;
  try {
    readerType = compile(asObject(readerSchema));
  } catch {
    return null; // a reference to a named type of the enclosing schema: left to avsc
  }
  const readable = (reader: unknown, branch: unknown): boolean => {
    try {
      compile(asObject(reader)).createResolver(compile(asObject(branch)), { ignoreNamespaces: true });
      return true;
    } catch {
      return false;
    }
  };
  const inner: BridgedField[] = [];
  const as = writerBranches.map((branch): unknown => {
    if (readable(readerSchema, branch)) return readerSchema;
    if (isRecordSchema(readerSchema) && isRecordSchema(branch) && shortName(readerSchema) === shortName(branch)) {
      const nested: BridgedField[] = [];
      const bridged = bridgeType(readerSchema, branch, at, nested, compile);
      if (bridged !== readerSchema && readable(bridged, branch)) {
        inner.push(...nested);
        return bridged;
      }
    }
    return null;
  });
  if (as.every((t) => t === readerSchema) || as.every((t) => t === null)) return null;
  const branches: unknown[] = [];
  writerBranches.forEach((branch, i) => {
    const t = as[i] ?? branch;
    if (!branches.includes(t)) branches.push(t);
  });
  out.push(...inner, { path: at, readerType, writerUnion: writerBranches, wrapped: isWrapped(branches, compile) });
  return branches;
}

/**
 * Check the widened values of a record read through a {@link UnionBridge}: each must hold a value of the reader's
 * own type (a value of a branch the reader reads); a value avsc wrapped (`{"int": 3}`, when the widened union's
 * branches are ambiguous in JavaScript) is unwrapped in place. Every element of an array or value of a map is
 * checked; a union value that is not a record (null) has nothing under it to check.
 *
 * @param bridge  The bridge the record was read with.
 * @param record  The plain record read (changed in place where a value is unwrapped).
 * @returns       null, or a failure naming the first value whose writer chose a branch the reader cannot read,
 *                e.g. `cpu_util: value null, written as a branch of ["null","double"], is not a double as the reader's schema has it`;
 *                `loads[2].u: …` inside an array, `metrics["p99"]: …` inside a map.
 */
export function checkBridgedFields(bridge: UnionBridge, record: Record<string, unknown>): DecodeFailure | null {
  for (const field of bridge.fields) {
    const failure = visit({ record }, 'record', field, 0, '');
    if (failure) return failure;
  }
  return null;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/** Check `holder[key]` at step `i` of `field`'s path; `shown` is the path walked so far, for messages. */
function visit(holder: Record<string, unknown> | unknown[], key: string | number, field: BridgedField, i: number, shown: string): DecodeFailure | null {
  const value = (holder as Record<string | number, unknown>)[key];
  if (i === field.path.length) {
    if (field.readerType.isValid(value)) return null;
    const inner = field.wrapped && isPlainObject(value) && Object.keys(value).length === 1 ? Object.values(value)[0] : undefined;
    if (inner !== undefined && field.readerType.isValid(inner)) {
      (holder as Record<string | number, unknown>)[key] = inner;
      return null;
    }
    const path = shown === '' ? 'record' : shown;
    return fail(shown, `${path}: value ${quoteValue(inner === undefined ? value : inner)}, written as a branch of ${toJsonText(field.writerUnion)}, is not ${describe(field.readerType)} as the reader's schema has it (avro schema resolution: a writer's union branch the reader cannot read)`);
  }
  const step = field.path[i]!;
  if (step === 'branch') return isPlainObject(value) ? visit(holder, key, field, i + 1, shown) : null;
  if (step === 'each') {
    if (Array.isArray(value)) {
      for (let k = 0; k < value.length; k++) {
        const failure = visit(value, k, field, i + 1, `${shown}[${k}]`);
        if (failure) return failure;
      }
    } else if (isPlainObject(value)) {
      for (const k of Object.keys(value)) {
        const failure = visit(value, k, field, i + 1, `${shown}[${JSON.stringify(k)}]`);
        if (failure) return failure;
      }
    }
    return null;
  }
  if (!isPlainObject(value)) return null;
  return visit(value, step.field, field, i + 1, shown === '' ? step.field : `${shown}.${step.field}`);
}

/** Whether avsc reads the union of `branches` wrapped; true where it cannot compile it alone (a named type's reference). */
function isWrapped(branches: unknown[], compile: Compile): boolean {
  try {
    return compile(branches as object).typeName === 'union:wrapped';
  } catch {
    return true;
  }
}

/** A type's schema as an object: `"double"` as `{"type": "double"}` (a compiler of JSON text reads a string as text). */
function asObject(schema: unknown): object {
  return typeof schema === 'string' ? { type: schema } : (schema as object);
}

function typeName(type: avro.Type): string {
  return type.typeName === 'abstract:long' ? 'long' : type.typeName.replace(/^logical:/, '');
}

function describe(type: avro.Type): string {
  // A reader's union: its branches (a trial's "an union:unwrapped").
  const branches = (type as unknown as { types?: avro.Type[] }).types;
  if (type.typeName.startsWith('union') && Array.isArray(branches)) return `one of ${branches.map((b) => b.name ?? typeName(b)).join(', ')}`;
  const name = typeName(type);
  return /^[aeiou]/.test(name) ? `an ${name}` : `a ${name}`;
}
