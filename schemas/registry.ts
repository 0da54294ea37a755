/**
 * Confluent Schema Registry framing: `0x00` + 4-byte big-endian schema id + Avro body.
 *
 * Source: Confluent documentation, "Wire format" (magic byte 0, schema id as a
 * 4-byte big-endian int, then the Avro binary body) and the Schema Registry
 * REST API (`GET /schemas/ids/{id}`, `POST /subjects/{subject}/versions`,
 * content type `application/vnd.schemaregistry.v1+json`); Avro 1.11
 * specification, "Schema Resolution" (case C11: ids 101 = v1, 102 = v2, reader v2).
 *
 * The HTTP client uses `fetch` against the two documented endpoints rather than
 * `@kafkajs/confluent-schema-registry`: its current release (4.x) requires
 * Node >= 22 (edgelat runs on Node 20), pulls ajv, protobufjs and mappersmith,
 * and hands back types compiled with its own avsc, which would lose the exact
 * long of schemas/long.ts (case C10). Decoding is async (a registry round trip),
 * so this is a separate API next to the synchronous `codecFor(kind)`.
 */
import type avro from 'avsc';
import { PipelineError } from '../errors.ts';
import { createLongAwareType, readWithWriterSchema, type RecordKind } from './codec.ts';
import { codecFor, loadSchema, type RecordTypes } from './index.ts';
import { quoteValue } from './json.ts';
import { fail, toPlainRecord, validateRecord, type DecodeResult } from './validate.ts';

/** The magic byte that opens a Confluent-framed message. */
export const CONFLUENT_MAGIC = 0x00;
/** Length of the Confluent header: magic byte + 4-byte schema id. */
export const CONFLUENT_HEADER_BYTES = 5;
/** Content type of the Schema Registry REST API (v1). */
export const SCHEMA_REGISTRY_CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

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
    for (const [id, schema] of Object.entries(preload)) this.#put(Number(id), JSON.stringify(schema));
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
    return JSON.parse(text) as object;
  }

  /** See {@link SchemaRegistryClient.register}. */
  async register(subject: string, schema: object): Promise<number> {
    const text = JSON.stringify(schema);
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

/** Options of {@link HttpSchemaRegistryClient}. */
export interface HttpSchemaRegistryOptions {
  /** Per-request timeout, milliseconds. @default 10000 */
  timeoutMs?: number;
  /** Extra headers (e.g. `authorization`). @default {} */
  headers?: Record<string, string>;
  /** The fetch implementation. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/**
 * Schema Registry client over its REST API with `fetch`.
 *
 * Behaviour: `getSchema` is `GET {url}/schemas/ids/{id}` (404 / error_code 40403 ->
 * {@link UnknownSchemaIdError}); `register` is `POST {url}/subjects/{subject}/versions`
 * with body `{"schema": "<schema as JSON text>"}`. 5xx, 429 and network errors are
 * retriable {@link SchemaRegistryError}s; other statuses are not. No retry loop here
 * (services/retry.ts is the only one).
 * @example new HttpSchemaRegistryClient(process.env.EDGELAT_SCHEMA_REGISTRY_URL!)
 */
export class HttpSchemaRegistryClient implements SchemaRegistryClient {
  readonly #base: string;
  readonly #timeoutMs: number;
  readonly #headers: Record<string, string>;
  readonly #fetch: typeof fetch;

  /**
   * @param url      Base URL of the registry, e.g. `http://localhost:8081`.
   * @param options  See {@link HttpSchemaRegistryOptions}.
   * @throws {TypeError} if `url` is not a valid URL (a config error).
   */
  constructor(url: string, options: HttpSchemaRegistryOptions = {}) {
    this.#base = new URL(url).toString().replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#headers = options.headers ?? {};
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  async #call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    let res: Response;
    try {
      res = await this.#fetch(`${this.#base}${path}`, {
        method,
        headers: { accept: SCHEMA_REGISTRY_CONTENT_TYPE, ...(body === undefined ? {} : { 'content-type': SCHEMA_REGISTRY_CONTENT_TYPE }), ...this.#headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new SchemaRegistryError(`schema registry ${method} ${path} failed: ${message.toLowerCase()}`, null, { retriable: true, cause: err });
    }
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      if (res.ok) throw new SchemaRegistryError(`schema registry ${method} ${path} returned non-json ${quoteValue(text.slice(0, 200))}`, res.status);
    }
    return { status: res.status, json };
  }

  #error(method: string, path: string, status: number, json: Record<string, unknown>): SchemaRegistryError {
    const detail = typeof json.message === 'string' ? json.message : JSON.stringify(json);
    return new SchemaRegistryError(`schema registry ${method} ${path} returned http ${status}: ${quoteValue(detail)}`, status, { retriable: status >= 500 || status === 429 });
  }

  /** See {@link SchemaRegistryClient.getSchema}. */
  async getSchema(id: number): Promise<object> {
    const path = `/schemas/ids/${id}`;
    const { status, json } = await this.#call('GET', path);
    if (status === 404 || json.error_code === 40403) throw new UnknownSchemaIdError(id);
    if (status < 200 || status >= 300) throw this.#error('GET', path, status, json);
    if (json.schemaType !== undefined && json.schemaType !== 'AVRO') throw new SchemaRegistryError(`schema id ${id} is ${quoteValue(json.schemaType)}, not avro`, status);
    if (typeof json.schema !== 'string') throw new SchemaRegistryError(`schema registry GET ${path} returned no "schema" string`, status);
    return JSON.parse(json.schema) as object;
  }

  /** See {@link SchemaRegistryClient.register}. */
  async register(subject: string, schema: object): Promise<number> {
    const path = `/subjects/${encodeURIComponent(subject)}/versions`;
    const { status, json } = await this.#call('POST', path, { schema: JSON.stringify(schema) });
    if (status < 200 || status >= 300) throw this.#error('POST', path, status, json);
    if (typeof json.id !== 'number') throw new SchemaRegistryError(`schema registry POST ${path} returned no numeric "id"`, status);
    return json.id;
  }
}

/**
 * Pick the registry client from the environment.
 *
 * @param env  Environment variables. @default process.env
 * @returns    An {@link HttpSchemaRegistryClient} when `EDGELAT_SCHEMA_REGISTRY_URL` is set
 *             (non-empty), else `null` (no registry: producers write single-object Avro).
 * @throws {TypeError} if the URL is malformed (a config error).
 */
export function schemaRegistryFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): HttpSchemaRegistryClient | null {
  const url = env.EDGELAT_SCHEMA_REGISTRY_URL?.trim();
  return url ? new HttpSchemaRegistryClient(url) : null;
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
      reader = { schema, json: JSON.stringify(schema), type: type as avro.types.RecordType };
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
