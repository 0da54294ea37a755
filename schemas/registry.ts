/**
 * Confluent Schema Registry framing: `0x00` + 4-byte big-endian schema id + Avro body.
 *
 * Source: Confluent documentation, "Wire format" (magic byte 0, schema id as a
 * 4-byte big-endian int, then the Avro binary body) and the Schema Registry
 * REST API (`GET /schemas/ids/{id}`, `POST /subjects/{subject}/versions`,
 * content type `application/vnd.schemaregistry.v1+json`); Avro 1.11
 * specification, "Schema Resolution" (case C11: ids 101 = v1, 102 = v2, reader v2).
 *
 * The HTTP client is in registry-http.ts. Decoding is async (a registry round
 * trip), so this is a separate API next to the synchronous `codecFor(kind)`; the
 * running pipeline reads Confluent framing through services/eventlog/confluent-wire.ts.
 */
import type avro from 'avsc';
import { PipelineError } from '../errors.ts';
import { createLongAwareType, parseSchemaText, readWithWriterSchema, type RecordKind } from './codec.ts';
import { codecFor, loadSchema, type RecordTypes } from './index.ts';
import { quoteValue, toJsonText } from './json.ts';
import { fail, toPlainRecord, validateRecord, type DecodeResult } from './validate.ts';

/** The magic byte that opens a Confluent-framed message. */
export const CONFLUENT_MAGIC = 0x00;
/** Length of the Confluent header: magic byte + 4-byte schema id. */
export const CONFLUENT_HEADER_BYTES = 5;

/**
 * The registry has no schema with this id (REST error 40403). A data error:
 * {@link ConfluentFraming.decode} turns it into `{ok: false}`. Not retriable.
 */
export class UnknownSchemaIdError extends PipelineError {
  constructor(readonly schemaId: number) {
    super(`schema id ${schemaId} is not in the schema registry`);
  }
}

/** The registry could not be reached or refused a call; `status` is the HTTP status, or null for a network error. */
export class SchemaRegistryError extends PipelineError {
  constructor(message: string, readonly status: number | null, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options);
  }
}

/** The two Schema Registry calls edgelat needs. */
export interface SchemaRegistryClient {
  /**
   * Fetch the schema registered under a global id.
   * @returns The parsed Avro schema.
   * @throws {UnknownSchemaIdError} when the id does not exist; {@link SchemaRegistryError} for other failures.
   */
  getSchema(id: number): Promise<object>;
  /**
   * Register `schema` under `subject` (or find it when already registered).
   * @returns The global schema id.
   * @throws {SchemaRegistryError} on failure (e.g. 409 incompatible schema).
   */
  register(subject: string, schema: object): Promise<number>;
}

/**
 * In-memory schema registry, for tests and for when no registry URL is configured.
 *
 * Behaviour: ids are global; registering a schema that is already known (same
 * JSON text) returns its id under any subject, like Confluent; new ids start above
 * the highest preloaded id (or at 1).
 * @example new InMemorySchemaRegistry({ 101: v1, 102: v2 })
 */
export class InMemorySchemaRegistry implements SchemaRegistryClient {
  readonly #byId = new Map<number, string>();
  readonly #idByText = new Map<string, number>();
  /** Subject -> ids registered under it, oldest first. */
  readonly subjects = new Map<string, number[]>();

  /** @param preload  Schemas by id, e.g. the `schema_registry` object of case C11. */
  constructor(preload: Readonly<Record<number | string, object>> = {}) {
    for (const [id, schema] of Object.entries(preload)) this.#put(Number(id), toJsonText(schema));
  }

  #put(id: number, text: string): void {
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new RangeError(`schema id ${quoteValue(id)} is not a 32-bit unsigned integer`);
    this.#byId.set(id, text);
    if (!this.#idByText.has(text)) this.#idByText.set(text, id);
  }

  /** See {@link SchemaRegistryClient.getSchema}. @throws {UnknownSchemaIdError} for an unknown id. */
  async getSchema(id: number): Promise<object> {
    const text = this.#byId.get(id);
    if (text === undefined) throw new UnknownSchemaIdError(id);
    return parseSchemaText(text) as object;
  }

  /** See {@link SchemaRegistryClient.register}. */
  async register(subject: string, schema: object): Promise<number> {
    const text = toJsonText(schema);
    let id = this.#idByText.get(text);
    if (id === undefined) {
      id = Math.max(0, ...this.#byId.keys()) + 1;
      this.#put(id, text);
    }
    const ids = this.subjects.get(subject) ?? [];
    if (!ids.includes(id)) ids.push(id);
    this.subjects.set(subject, ids);
    return id;
  }
}

/** Options of {@link ConfluentFraming}. */
export interface ConfluentFramingOptions {
  /**
   * Reader schema per kind, replacing the current `.avsc` (e.g. case C11's v2).
   * @default the current `.avsc` of each kind
   */
  readerSchemas?: Partial<Record<RecordKind, object>>;
}

/** Compiled reader of one kind. */
interface Reader {
  readonly schema: object;
  readonly json: string;
  readonly type: avro.types.RecordType;
}

/**
 * Read and write Confluent-framed Avro of the edgelat record kinds.
 *
 * Behaviour: `decode` fetches the writer schema by id (cached per id; failures are
 * not cached), resolves it to the kind's reader schema (Avro "Schema Resolution"),
 * and validates the result like `codecFor(kind).decode`; `encode` registers the
 * reader schema under subject `<topic>-value` (id cached per kind and subject) and writes
 * `00` + id + body.
 * @example see test/unit/schemas/evolution.test.ts (case C11)
 */
export class ConfluentFraming {
  readonly #client: SchemaRegistryClient;
  readonly #readerSchemas: Partial<Record<RecordKind, object>>;
  readonly #readers = new Map<RecordKind, Reader>();
  readonly #writers = new Map<number, Promise<string>>();
  readonly #ids = new Map<string, Promise<number>>();

  /**
   * @param client   The registry (in-memory or HTTP).
   * @param options  See {@link ConfluentFramingOptions}.
   */
  constructor(client: SchemaRegistryClient, options: ConfluentFramingOptions = {}) {
    this.#client = client;
    this.#readerSchemas = options.readerSchemas ?? {};
  }

  #reader(kind: RecordKind): Reader {
    let reader = this.#readers.get(kind);
    if (!reader) {
      const override = this.#readerSchemas[kind];
      const schema = override ?? loadSchema(kind);
      const type = override ? createLongAwareType(override) : codecFor(kind).type;
      if (type.typeName !== 'record') throw new Error(`reader schema for ${kind} is not a record`);
      reader = { schema, json: toJsonText(schema), type: type as avro.types.RecordType };
      this.#readers.set(kind, reader);
    }
    return reader;
  }

  #writerSchema(id: number): Promise<string> {
    let pending = this.#writers.get(id);
    if (!pending) {
      pending = this.#client.getSchema(id).then((s) => JSON.stringify(s));
      this.#writers.set(id, pending);
      pending.catch(() => this.#writers.delete(id));
    }
    return pending;
  }

  /**
   * Decode one Confluent-framed message as `kind`.
   *
   * @param kind   The record kind of the topic.
   * @param bytes  `00` + 4-byte big-endian schema id + Avro body.
   * @returns      `{ok: true, value}` in the reader's shape, or `{ok: false, path, reason}` for
   *               a bad header, an unknown schema id, an incompatible writer schema, corrupt
   *               bytes or a rule violation.
   * @throws {SchemaRegistryError} when the registry is unreachable or fails (infrastructure).
   * @throws {RangeError} if `kind` is not a record kind (a programmer error).
   */
  async decode<K extends RecordKind>(kind: K, bytes: Buffer): Promise<DecodeResult<RecordTypes[K]>> {
    const reader = this.#reader(kind);
    if (bytes.length < CONFLUENT_HEADER_BYTES || bytes[0] !== CONFLUENT_MAGIC) {
      return fail('', `expected confluent framing (magic byte 00 + 4-byte schema id) for ${kind}; first bytes ${quoteValue(bytes.subarray(0, 16).toString('hex'))}`);
    }
    const id = bytes.readUInt32BE(1);
    let writerJson: string;
    try {
      writerJson = await this.#writerSchema(id);
    } catch (err) {
      if (err instanceof UnknownSchemaIdError) return fail('', `unknown schema id ${id} in confluent framing for ${kind}: the schema registry has no schema with this id`);
      throw err;
    }
    const read = readWithWriterSchema(writerJson, bytes.subarray(CONFLUENT_HEADER_BYTES), reader.json);
    if (!read.ok) return fail(read.path, `schema id ${id} of ${kind}: ${read.reason}`);
    return validateRecord(reader.type, read.value) ?? { ok: true, value: read.value as unknown as RecordTypes[K] };
  }

  /**
   * Encode one record as Confluent-framed Avro with the kind's reader schema.
   *
   * @param kind   The record kind.
   * @param value  The record; validated first.
   * @param topic  The topic written to; the schema is registered under subject `<topic>-value`.
   * @returns      `00` + 4-byte big-endian schema id + Avro body.
   * @throws {PipelineError} (not retriable) if `value` fails validation; {@link SchemaRegistryError} if registering fails.
   */
  async encode<K extends RecordKind>(kind: K, value: RecordTypes[K], topic: string): Promise<Buffer> {
    const reader = this.#reader(kind);
    const record = value as unknown as Record<string, unknown>;
    const failure = validateRecord(reader.type, record);
    if (failure) throw new PipelineError(`cannot encode ${kind}: ${failure.reason}`);
    const subject = `${topic}-value`;
    const key = `${kind}\u0000${subject}`;
    let pending = this.#ids.get(key);
    if (!pending) {
      pending = this.#client.register(subject, reader.schema);
      this.#ids.set(key, pending);
      pending.catch(() => this.#ids.delete(key));
    }
    const id = await pending;
    const header = Buffer.alloc(CONFLUENT_HEADER_BYTES);
    header[0] = CONFLUENT_MAGIC;
    header.writeUInt32BE(id, 1);
    return Buffer.concat([header, reader.type.toBuffer(toPlainRecord(reader.type, record))]);
  }
}
