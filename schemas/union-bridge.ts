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
 * field), where the specification would refuse the long branch outright.
 */
import type avro from 'avsc';
import { quoteValue, toJsonText } from './json.ts';
import { fail, type DecodeFailure } from './validate.ts';

/** One reader field widened by {@link bridgeUnionFields}. */
export interface BridgedField {
  /** Field names from the top record down, e.g. `['cpu_util']`. */
  readonly path: readonly string[];
  /** The reader's own (non-union) type of the field, compiled. */
  readonly readerType: avro.Type;
  /** The writer's union of the field, as schema JSON (for messages). */
  readonly writerUnion: unknown;
}

/** A reader schema whose non-union fields that a writer wrote as unions are widened, and which fields they are. */
export interface UnionBridge {
  /** The widened reader schema (JSON object) to resolve the writer to. */
  readonly schema: object;
  /** The widened fields; never empty. */
  readonly fields: readonly BridgedField[];
}

interface FieldSchema { name: string; type: unknown; aliases?: string[]; default?: unknown }
interface RecordSchema { type: 'record' | 'error'; fields: FieldSchema[] }

function isRecordSchema(s: unknown): s is RecordSchema {
  return s !== null && typeof s === 'object' && !Array.isArray(s) && ((s as { type?: unknown }).type === 'record' || (s as { type?: unknown }).type === 'error')
    && Array.isArray((s as { fields?: unknown }).fields);
}

/**
 * Widen the reader's fields that the writer wrote as a union of which the reader reads some branches but not all.
 *
 * Behaviour: records nested in records are followed (fields matched by name or the reader field's aliases); a
 * field whose writer union the reader reads whole, or of which it reads no branch, is left as it is (avsc resolves
 * the first and refuses the second, as before). A widened field loses its default (the writer has the field, so
 * the default is never read, and a union's default must suit its first branch).
 * @param reader   The reader schema, parsed JSON (a record).
 * @param writer   The writer schema, parsed JSON.
 * @param compile  Compiles one schema (edgelat's avsc types, schemas/codec.ts `createLongAwareType`).
 * @returns        The widened schema and its fields, or null when no field needs it.
 */
export function bridgeUnionFields(reader: object, writer: object, compile: (schema: object) => avro.Type): UnionBridge | null {
  const fields: BridgedField[] = [];
  const schema = bridgeRecord(reader, writer, [], fields, compile) as object;
  return fields.length === 0 ? null : { schema, fields };
}

function bridgeRecord(reader: unknown, writer: unknown, at: string[], out: BridgedField[], compile: (schema: object) => avro.Type): unknown {
  if (!isRecordSchema(reader) || !isRecordSchema(writer)) return reader;
  const fields = reader.fields.map((field) => {
    const names = [field.name, ...(field.aliases ?? [])];
    const written = writer.fields.find((w) => names.includes(w.name));
    if (!written) return field;
    if (Array.isArray(written.type) && !Array.isArray(field.type)) {
      const widened = widen(field.type, written.type, compile);
      if (widened === null) return field;
      out.push({ path: [...at, field.name], readerType: widened.readerType, writerUnion: written.type });
      const { default: _unused, ...rest } = field;
      return { ...rest, type: widened.branches };
    }
    return { ...field, type: bridgeRecord(field.type, written.type, [...at, field.name], out, compile) };
  });
  return { ...reader, fields };
}

/** The union `[readerType for each branch it reads, each other branch as written]`, or null if it reads all or none. */
function widen(readerSchema: unknown, writerBranches: unknown[], compile: (schema: object) => avro.Type): { branches: unknown[]; readerType: avro.Type } | null {
  let readerType: avro.Type;
  try {
    readerType = compile(asObject(readerSchema));
  } catch {
    return null; // a reference to a named type of the enclosing schema: left to avsc
  }
  const reads = writerBranches.map((branch) => {
    try {
      readerType.createResolver(compile(asObject(branch)), { ignoreNamespaces: true });
      return true;
    } catch {
      return false;
    }
  });
  if (reads.every(Boolean) || !reads.some(Boolean)) return null;
  const branches: unknown[] = [];
  writerBranches.forEach((branch, i) => {
    const t = reads[i] ? readerSchema : branch;
    if (!branches.includes(t)) branches.push(t);
  });
  return { branches, readerType };
}

/**
 * Check the widened fields of a record read through a {@link UnionBridge}: each must hold a value of the reader's
 * own type (a value of a branch the reader reads); a value avsc wrapped (`{"int": 3}`, when the widened union's
 * branches are ambiguous in JavaScript) is unwrapped in place.
 *
 * @param bridge  The bridge the record was read with.
 * @param record  The plain record read (changed in place where a value is unwrapped).
 * @returns       null, or a failure naming the first field whose writer chose a branch the reader cannot read,
 *                e.g. `cpu_util: value null, written as a branch of ["null","double"], is not a double as the reader's schema has it`.
 */
export function checkBridgedFields(bridge: UnionBridge, record: Record<string, unknown>): DecodeFailure | null {
  for (const field of bridge.fields) {
    let parent: Record<string, unknown> = record;
    for (const name of field.path.slice(0, -1)) parent = parent[name] as Record<string, unknown>;
    const name = field.path[field.path.length - 1];
    const value = parent[name];
    if (field.readerType.isValid(value)) continue;
    const inner = value !== null && typeof value === 'object' && Object.keys(value).length === 1 ? Object.values(value)[0] : undefined;
    if (inner !== undefined && field.readerType.isValid(inner)) {
      parent[name] = inner;
      continue;
    }
    const path = field.path.join('.');
    const shown = inner === undefined ? value : inner;
    return fail(path, `${path}: value ${quoteValue(shown)}, written as a branch of ${toJsonText(field.writerUnion)}, is not ${describe(field.readerType)} as the reader's schema has it (avro schema resolution: a writer's union branch the reader cannot read)`);
  }
  return null;
}

/** A type's schema as an object: `"double"` as `{"type": "double"}` (a compiler of JSON text reads a string as text). */
function asObject(schema: unknown): object {
  return typeof schema === 'string' ? { type: schema } : (schema as object);
}

function describe(type: avro.Type): string {
  const name = type.typeName === 'abstract:long' ? 'long' : type.typeName.replace(/^logical:/, '');
  return /^[aeiou]/.test(name) ? `an ${name}` : `a ${name}`;
}
