/**
 * Schema evolution for single-object Avro: find the writer schema by its
 * fingerprint and read the bytes as the current reader schema (case C11).
 *
 * Source: Avro 1.11 specification, "Schema Resolution" (fields matched by
 * name; a reader field missing from the writer takes its default; a writer
 * field missing from the reader is skipped), "Single object encoding" and
 * "Schema Fingerprints" (CRC-64-AVRO of the Parsing Canonical Form).
 * `codecFor(kind).decode` is unchanged: it accepts only the current version;
 * {@link createEvolvingDecoder} is the new, version-tolerant entry point.
 */
import type avro from 'avsc';
import { createLongAwareType, readWithWriterSchema, type RecordKind } from './codec.ts';
import { SINGLE_OBJECT_HEADER_BYTES, rabinFingerprint } from './fingerprint.ts';
import { codecFor, loadSchema, SCHEMA_FILES, type RecordTypes } from './index.ts';
import { quoteValue, toJsonText } from './json.ts';
import { fail, validateRecord, type DecodeResult } from './validate.ts';

/** One known writer version of a record kind. */
export interface WriterSchemaEntry {
  /** The record kind this version belongs to (its reader is the current `.avsc` of that kind). */
  readonly kind: RecordKind;
  /** CRC-64-AVRO fingerprint of the version's Parsing Canonical Form, as hex of the 8 little-endian wire bytes. */
  readonly fingerprintHex: string;
  /** The writer schema as JSON text (defaults and logical types kept). */
  readonly schemaJson: string;
}

/**
 * Compute the single-object fingerprint of a schema the same way the codec does.
 *
 * @param schema  Avro schema as JSON text or a parsed object.
 * @returns       8 bytes, little-endian, as written after `C3 01`.
 * @throws {Error} from avsc if the schema is invalid (a programmer/config error).
 */
export function schemaFingerprint(schema: string | object): Buffer {
  const type = createLongAwareType(schema);
  return rabinFingerprint(toJsonText(type.schema()));
}

/**
 * In-process map of CRC-64-AVRO fingerprints to writer schemas, for every known
 * version of each record kind.
 *
 * Behaviour: a new registry already knows the current `.avsc` of every kind;
 * older or newer versions are added with {@link WriterSchemaRegistry.register}.
 * Registering the same schema twice is a no-op.
 * @example see test/unit/schemas/evolution.test.ts
 */
export class WriterSchemaRegistry {
  readonly #byFingerprint = new Map<string, WriterSchemaEntry>();
  /** Fingerprint hex → the Schema Registry ids it was read under (Confluent framing), for messages. */
  readonly #registryIds = new Map<string, number[]>();

  /** Create a registry seeded with the current schema of every record kind. */
  constructor() {
    for (const kind of Object.keys(SCHEMA_FILES) as RecordKind[]) this.register(kind, loadSchema(kind));
  }

  /**
   * Add a writer version of `kind`.
   *
   * @param kind    The record kind the bytes belong to; the schema's record name should
   *                match the current one (or list it in `aliases`) for resolution to succeed.
   * @param schema  The writer schema, JSON text or a parsed `.avsc` object.
   * @returns       The entry, with its fingerprint.
   * @throws {Error} if the schema is invalid or not a record (a programmer/config error).
   * @throws {RangeError} if the same fingerprint is already registered for another kind.
   */
  register(kind: RecordKind, schema: string | object): WriterSchemaEntry {
    const type = createLongAwareType(schema);
    if (type.typeName !== 'record') throw new Error(`writer schema for ${kind} is not a record`);
    const fingerprintHex = rabinFingerprint(toJsonText(type.schema())).toString('hex');
    const existing = this.#byFingerprint.get(fingerprintHex);
    if (existing) {
      if (existing.kind !== kind) throw new RangeError(`schema fingerprint ${quoteValue(fingerprintHex)} is already registered for ${existing.kind}, not ${kind}`);
      return existing;
    }
    const entry: WriterSchemaEntry = { kind, fingerprintHex, schemaJson: typeof schema === 'string' ? schema : toJsonText(schema) };
    this.#byFingerprint.set(fingerprintHex, entry);
    return entry;
  }

  /**
   * Find a writer version by fingerprint.
   *
   * @param fingerprint  8 wire bytes, or their hex.
   * @returns            The entry, or `undefined` when no version has this fingerprint.
   */
  lookup(fingerprint: Buffer | string): WriterSchemaEntry | undefined {
    return this.#byFingerprint.get(typeof fingerprint === 'string' ? fingerprint.toLowerCase() : fingerprint.toString('hex'));
  }

  /**
   * Remember that Schema Registry id `id` holds the schema of this fingerprint (a Confluent-framed value is read as
   * single-object Avro: operators look schemas up by id, not by fingerprint).
   * @param fingerprintHex  Hex of the 8 wire bytes.
   * @param id              The registry's schema id.
   */
  noteRegistryId(fingerprintHex: string, id: number): void {
    const ids = this.#registryIds.get(fingerprintHex.toLowerCase()) ?? [];
    if (!ids.includes(id)) this.#registryIds.set(fingerprintHex.toLowerCase(), [...ids, id].sort((a, b) => a - b));
  }

  /**
   * The Schema Registry ids a fingerprint was read under ({@link noteRegistryId}), ascending; [] when none.
   * @param fingerprintHex  Hex of the 8 wire bytes.
   */
  registryIds(fingerprintHex: string): readonly number[] {
    return this.#registryIds.get(fingerprintHex.toLowerCase()) ?? [];
  }

  /**
   * List the known versions of one kind (or of all kinds).
   *
   * @param kind  Optional filter.
   * @returns     Entries in registration order, the current `.avsc` first.
   */
  versions(kind?: RecordKind): WriterSchemaEntry[] {
    return [...this.#byFingerprint.values()].filter((e) => kind === undefined || e.kind === kind);
  }
}

let defaultRegistry: WriterSchemaRegistry | undefined;

/**
 * Return the process-wide writer-schema registry (created on first use).
 *
 * @returns  The shared {@link WriterSchemaRegistry}; used by {@link createEvolvingDecoder}
 *           when no registry is passed.
 */
export function defaultWriterSchemas(): WriterSchemaRegistry {
  return (defaultRegistry ??= new WriterSchemaRegistry());
}

/**
 * Register a writer version of `kind` in the process-wide registry (or in `registry`).
 *
 * @param kind      The record kind.
 * @param schema    The writer schema, JSON text or object.
 * @param registry  Target registry. @default defaultWriterSchemas()
 * @returns         The entry, with its fingerprint hex.
 * @throws {Error} / {RangeError} as {@link WriterSchemaRegistry.register}.
 */
export function registerWriterSchema(kind: RecordKind, schema: string | object, registry: WriterSchemaRegistry = defaultWriterSchemas()): WriterSchemaEntry {
  return registry.register(kind, schema);
}

/** A decoder that accepts every known writer version of one kind. */
export interface EvolvingDecoder<T> {
  /** The record kind read (the reader schema is its current `.avsc`). */
  readonly kind: RecordKind;
  /**
   * Decode single-object Avro of any known version of `kind` (resolved to the current
   * schema), or the current version / JSON exactly as `codecFor(kind).decode`. Never throws.
   * @returns `{ok: true, value}` in the current shape, or `{ok: false, path, reason}`.
   */
  decode(bytes: Buffer): DecodeResult<T>;
}

/** Options of {@link createEvolvingDecoder}. */
export interface EvolvingDecoderOptions {
  /** Where writer versions are looked up. @default defaultWriterSchemas() */
  registry?: WriterSchemaRegistry;
}

/**
 * Build a decoder for `kind` that reads older and newer writer versions.
 *
 * Behaviour: for single-object Avro (`C3 01` + fingerprint) whose fingerprint is a
 * registered non-current version of the same kind, the body is decoded with avsc's
 * resolver (`reader.createResolver(writer)`) into the current reader schema: added
 * fields take their defaults, removed fields are dropped; the result then gets the
 * same validation as `codecFor(kind).decode` (Avro type + DESIGN §2 rules). Everything
 * else (current fingerprint, JSON, unknown or other-kind fingerprint, garbage) is
 * passed to `codecFor(kind).decode` unchanged, so failures read as before.
 * @param kind     The record kind to read.
 * @param options  See {@link EvolvingDecoderOptions}.
 * @returns        An {@link EvolvingDecoder}.
 * @throws {RangeError} if `kind` is not a record kind (a programmer error).
 * @see decodeEvolved for a one-shot call
 * @example see test/unit/schemas/evolution.test.ts
 */
export function createEvolvingDecoder<K extends RecordKind>(kind: K, options: EvolvingDecoderOptions = {}): EvolvingDecoder<RecordTypes[K]> {
  const codec = codecFor(kind);
  const readerJson = JSON.stringify(loadSchema(kind));
  const currentHex = codec.fingerprint.toString('hex');
  const registry = options.registry;
  return {
    kind,
    decode(bytes: Buffer): DecodeResult<RecordTypes[K]> {
      if (bytes.length < SINGLE_OBJECT_HEADER_BYTES || bytes[0] !== 0xc3 || bytes[1] !== 0x01) return codec.decode(bytes);
      const fpHex = bytes.subarray(2, SINGLE_OBJECT_HEADER_BYTES).toString('hex');
      if (fpHex === currentHex) return codec.decode(bytes);
      const writers = registry ?? defaultWriterSchemas();
      const writer = writers.lookup(fpHex);
      if (!writer || writer.kind !== kind) return codec.decode(bytes);
      return resolveBody(codec.type, writer, writerName(writer, writers), readerJson, bytes.subarray(SINGLE_OBJECT_HEADER_BYTES));
    },
  };
}

/** A writer schema in messages: its fingerprint, and the Schema Registry id(s) it came under when it did. */
function writerName(writer: WriterSchemaEntry, writers: WriterSchemaRegistry): string {
  const ids = writers.registryIds(writer.fingerprintHex);
  return `${quoteValue(writer.fingerprintHex)}${ids.length > 0 ? ` (schema registry id ${ids.join(', ')})` : ''}`;
}

/** Read one body written with `writer` (named `name` in messages) as `readerJson`, then validate against `readerType`. */
function resolveBody<T>(readerType: avro.types.RecordType, writer: WriterSchemaEntry, name: string, readerJson: string, body: Buffer): DecodeResult<T> {
  try {
    const read = readWithWriterSchema(writer.schemaJson, body, readerJson);
    if (!read.ok) return fail(read.path, `writer schema ${name} of ${writer.kind}: ${read.reason}`);
    return validateRecord(readerType, read.value) ?? { ok: true, value: read.value as unknown as T };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return fail('', `cannot resolve writer schema ${name} of ${writer.kind}: ${message.toLowerCase()}`);
  }
}

/**
 * Decode one message of `kind` with schema resolution (one-shot form of {@link createEvolvingDecoder}).
 *
 * @param kind      The record kind.
 * @param bytes     Single-object Avro of any known version, or JSON.
 * @param registry  Writer versions. @default defaultWriterSchemas()
 * @returns         As {@link EvolvingDecoder.decode}; never throws for data errors.
 * @throws {RangeError} if `kind` is not a record kind (a programmer error).
 */
export function decodeEvolved<K extends RecordKind>(kind: K, bytes: Buffer, registry?: WriterSchemaRegistry): DecodeResult<RecordTypes[K]> {
  const reg = registry ?? defaultWriterSchemas();
  let byKind = decoderCache.get(reg);
  if (!byKind) decoderCache.set(reg, (byKind = new Map()));
  let decoder = byKind.get(kind);
  if (!decoder) byKind.set(kind, (decoder = createEvolvingDecoder(kind, { registry: reg })));
  return decoder.decode(bytes) as DecodeResult<RecordTypes[K]>;
}

/** Decoders of {@link decodeEvolved}, per registry and kind (the reader schema is read once). */
const decoderCache = new WeakMap<WriterSchemaRegistry, Map<RecordKind, EvolvingDecoder<unknown>>>();
