/**
 * Header swap between Confluent Schema Registry framing and single-object Avro,
 * with the registry look-ups it needs, cached (used by confluent-wire.ts).
 *
 * Source: Confluent documentation, "Wire format" (`00` + 4-byte big-endian schema
 * id + Avro body) and "Subject name strategy" (TopicNameStrategy: `<topic>-value`);
 * Avro 1.11 specification, "Single object encoding" (`C3 01` + 8-byte CRC-64-AVRO
 * fingerprint of the Parsing Canonical Form + body). The Avro body is the same in
 * both framings, so converting never decodes a record.
 */
import type { Logger } from 'pino';
import { kindOfTopic as edgelatKindOfTopic } from '../../pipelines/topics.ts';
import {
  CONFLUENT_HEADER_BYTES,
  CONFLUENT_MAGIC,
  createLongAwareType,
  defaultWriterSchemas,
  rabinFingerprint,
  SchemaRegistryError,
  singleObjectHeader,
  UnknownSchemaIdError,
  type RecordKind,
  type SchemaRegistryClient,
  type WriterSchemaRegistry,
} from '../../schemas/index.ts';
import { toJsonText } from '../../schemas/json.ts';
import { SINGLE_OBJECT_HEADER_BYTES } from '../../schemas/fingerprint.ts';
import { RetriesExhaustedError } from '../../errors.ts';
import { withRetry, type RetryOptions } from '../retry.ts';
import { WIRE_ERROR_HEADER, type LogRecord } from './types.ts';

/** Options of {@link ConfluentWireConverter} (and of `ConfluentWireEventLog`). */
export interface ConfluentWireOptions {
  /** The Schema Registry (HTTP, or in-memory in tests). */
  client: SchemaRegistryClient;
  /**
   * Writer schemas by fingerprint: read to find the schema to register on produce, and
   * extended with every schema fetched by id so `decodeLogRecord` resolves it (case C11).
   * @default defaultWriterSchemas() (the registry pipelines/runtime/decode.ts reads)
   */
  writerSchemas?: WriterSchemaRegistry;
  /**
   * Record kind carried by a topic, or null for a topic edgelat does not know.
   * @default kindOfTopic of pipelines/topics.ts (null when it throws)
   */
  kindOfTopic?: (topic: string) => RecordKind | null;
  /** Logs one line per schema id or fingerprint first seen; nothing per record. */
  logger?: Logger;
  /**
   * Back-off of a registry call that failed retriably (no answer, 5xx, 429): the call is made again
   * until it answers, so a registry blip pauses consumption and production instead of failing them
   * (as a warehouse outage pauses the sink). Each retry logs one warning. A refusal (401, 403, 409,
   * 422) or an unknown id is never retried.
   * @default { retries: 0 } (throw the retriable error at once; `withSchemaRegistry` retries for ever, 30 s at most between calls)
   */
  retry?: RetryOptions;
}

/**
 * What the registry said about a schema id: its schema, or why it cannot be used;
 * `transient` answers (an unknown id, which the registry may know later) are not cached.
 */
type FetchedSchema = { schema: object } | { unusable: string; transient: boolean };

const defaultKindOfTopic = (topic: string): RecordKind | null => {
  try {
    return edgelatKindOfTopic(topic);
  } catch {
    return null;
  }
};

/** True for `C3 01` + 8 fingerprint bytes (+ body). */
export const isSingleObject = (v: Buffer): boolean => v.length >= SINGLE_OBJECT_HEADER_BYTES && v[0] === 0xc3 && v[1] === 0x01;
/** True for `00` + 4 schema-id bytes (+ body). */
export const isConfluent = (v: Buffer): boolean => v.length >= CONFLUENT_HEADER_BYTES && v[0] === CONFLUENT_MAGIC;

/**
 * Why a value that is not Confluent-framed is not one of the other forms edgelat reads either (single-object
 * Avro, a JSON object), for its dead letter; null when it is one of them or empty (the decoder names those).
 * @param v  A record value as it came off the log.
 */
export function notFramed(v: Buffer): string | null {
  if (v.length === 0 || isSingleObject(v)) return null;
  const first = v.find((b) => b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d);
  if (first === 0x7b) return null;
  const head = [...v.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return v[0] === CONFLUENT_MAGIC
    ? `a Confluent header is ${CONFLUENT_HEADER_BYTES} bytes (00 + a 4-byte schema id), the value has ${v.length}: ${head}`
    : `expected 00 + a 4-byte schema id + the Avro body (or single-object Avro, or a JSON object), got first bytes ${head}${v.length > 8 ? ' …' : ''} (${v.length} bytes)`;
}

/** A registry call still unanswered after this long counts as a wait (`registryWait`), ms. */
export const REGISTRY_SLOW_MS = 2000;

/**
 * Convert record values between single-object Avro (inside edgelat) and Confluent
 * framing (on the log), with cached registry look-ups.
 *
 * Behaviour: `toWire` registers a value's writer schema (found in `writerSchemas` by
 * fingerprint) under `<topic>-value` once per (topic, fingerprint) and swaps the header;
 * `fromWire` fetches each schema id once, registers the schema in `writerSchemas` under the
 * topic's kind and swaps the header back. Failed calls are not cached. Values that cannot be
 * converted are returned unchanged, so the runtime dead-letters them with their raw bytes.
 * @example see test/unit/eventlog/confluent-wire.test.ts
 */
export class ConfluentWireConverter {
  readonly #client: SchemaRegistryClient;
  readonly #writers: WriterSchemaRegistry;
  readonly #kindOf: (topic: string) => RecordKind | null;
  readonly #logger: Logger | undefined;
  readonly #retry: <T>(what: string, call: () => Promise<T>) => Promise<T>;
  /** `<topic>\0<fingerprint hex>` -> schema id. */
  readonly #ids = new Map<string, Promise<number>>();
  /** Schema id -> what the registry said. */
  readonly #schemas = new Map<number, Promise<FetchedSchema>>();
  /** `<topic>\0<schema id>` -> single-object header, or why the value is passed through unchanged. */
  readonly #headers = new Map<string, Buffer | string>();
  readonly #warned = new Set<string>();
  /** Registry calls under way: call -> when it was first asked (epoch ms) and its last error (null: none yet). */
  readonly #waiting = new Map<string, { sinceMs: number; error: string | null }>();

  /** @param options  See {@link ConfluentWireOptions}. */
  constructor(options: ConfluentWireOptions) {
    this.#client = options.client;
    this.#writers = options.writerSchemas ?? defaultWriterSchemas();
    this.#kindOf = options.kindOfTopic ?? defaultKindOfTopic;
    this.#logger = options.logger;
    const retry = { retries: 0, ...options.retry };
    // Retries spent, the registry's own (retriable) error is thrown, as without retries.
    this.#retry = <T>(what: string, call: () => Promise<T>): Promise<T> => {
      if (!this.#waiting.has(what)) this.#waiting.set(what, { sinceMs: Date.now(), error: null });
      return withRetry(call, {
        ...retry,
        onRetry: (err, attempt, delayMs) => {
          this.#logger?.warn({ call: what, attempt, delayMs: Math.round(delayMs), err: (err as Error).message }, 'schema registry unavailable; retrying');
          this.#waiting.set(what, { sinceMs: this.#waiting.get(what)?.sinceMs ?? Date.now(), error: (err as Error).message });
          retry.onRetry?.(err, attempt, delayMs);
        },
      }).catch((err: unknown) => {
        throw err instanceof RetriesExhaustedError ? err.cause : err;
      }).finally(() => this.#waiting.delete(what));
    };
  }

  /**
   * The registry call retried the longest now, or null when none is: what `pipeline run`'s /healthz says while records
   * wait for a registry that does not answer (a trial: 200 "ok" while the processors made no progress).
   * @returns The call (e.g. `get schema id 1`), ms since it first failed, and its last error.
   */
  registryWait(): { call: string; waiting_ms: number; error: string } | null {
    let oldest: { call: string; waiting_ms: number; error: string } | null = null;
    for (const [call, w] of this.#waiting) {
      const waiting = Date.now() - w.sinceMs;
      // A call not answered yet counts once it is slow: a registry that accepts and never answers fails only at the
      // client's time-out (a re-test: /healthz said 200 for those 10 s).
      if (w.error === null && waiting < REGISTRY_SLOW_MS) continue;
      const error = w.error ?? `no answer yet after ${(waiting / 1000).toFixed(1)} s`;
      if (oldest === null || waiting > oldest.waiting_ms) oldest = { call, waiting_ms: waiting, error };
    }
    return oldest;
  }

  /**
   * Convert the Confluent-framed values of some records to single-object Avro.
   * @param records  Records as the inner log returned them (not modified).
   * @returns        Same length and order; converted records are new objects, others the same.
   * @throws {SchemaRegistryError} for a registry outage (retriable) or refusal (not retriable).
   */
  async fromWire(records: LogRecord[]): Promise<LogRecord[]> {
    const ids = new Set<number>();
    for (const r of records) if (isConfluent(r.value)) ids.add(r.value.readUInt32BE(1));
    const fetched = new Map<number, FetchedSchema>();
    await Promise.all([...ids].map(async (id) => {
      try {
        fetched.set(id, await this.#fetch(id));
      } catch (err) {
        // A refusal names the first record that needs the schema, so its position can be found (a trial: only the id).
        if (!(err instanceof SchemaRegistryError) || err.retriable) throw err;
        const r = records.find((x) => isConfluent(x.value) && x.value.readUInt32BE(1) === id)!;
        throw new SchemaRegistryError(`${err.message} (schema id ${id} of the record at ${r.topic} partition ${r.partition} offset ${r.offset})`, err.status, { retriable: false, cause: err });
      }
    }));
    return records.map((r) => {
      if (!isConfluent(r.value)) {
        // Neither framing nor JSON: its dead letter names the framing the registry setting expects (a trial read only
        // "expected single-object avro (first bytes c3 01) or a json object" for a wrong magic byte).
        const unframed = notFramed(r.value);
        // Another application's topic is not judged (its kind looked up only for a value that is not edgelat's).
        return unframed === null || this.#kindOf(r.topic) === null ? r : { ...r, headers: { ...r.headers, [WIRE_ERROR_HEADER]: unframed } };
      }
      const id = r.value.readUInt32BE(1);
      const header = this.#headerFor(r.topic, id, fetched.get(id)!);
      // Not convertible: passed on as it is, with the reason for its dead letter.
      return typeof header === 'string'
        ? { ...r, headers: { ...r.headers, [WIRE_ERROR_HEADER]: header } }
        : { ...r, value: Buffer.concat([header, r.value.subarray(CONFLUENT_HEADER_BYTES)]), wireValue: r.value };
    });
  }

  /**
   * Convert one single-object value to Confluent framing for `topic`.
   * @param topic  The topic written to; the schema is registered under subject `<topic>-value`.
   * @param value  The value to produce.
   * @returns      `00` + schema id + the same body; `value` itself when it is not single-object Avro,
   *               its fingerprint is not in `writerSchemas`, or belongs to another kind than the topic's.
   * @throws {SchemaRegistryError} if registering fails (retriable for an outage).
   */
  async toWire(topic: string, value: Buffer): Promise<Buffer> {
    if (!isSingleObject(value)) return value;
    const fpHex = value.subarray(2, SINGLE_OBJECT_HEADER_BYTES).toString('hex');
    const entry = this.#writers.lookup(fpHex);
    const kind = this.#kindOf(topic);
    if (!entry || (kind !== null && entry.kind !== kind)) {
      this.#warnOnce(`produce:${topic}:${fpHex}`, { topic, fingerprint: fpHex, kind: entry?.kind ?? null }, 'single-object value with a fingerprint unknown for this topic is written unchanged');
      return value;
    }
    const key = `${topic}\u0000${fpHex}`;
    let pending = this.#ids.get(key);
    if (!pending) {
      pending = this.#retry(`register ${topic}-value`, () => this.#client.register(`${topic}-value`, JSON.parse(entry.schemaJson) as object));
      this.#ids.set(key, pending);
      pending.then(
        (id) => this.#logger?.info({ topic, subject: `${topic}-value`, schemaId: id, fingerprint: fpHex, kind: entry.kind }, 'writer schema registered; values are written with confluent framing'),
        () => this.#ids.delete(key),
      );
    }
    const id = await pending;
    const header = Buffer.alloc(CONFLUENT_HEADER_BYTES);
    header[0] = CONFLUENT_MAGIC;
    header.writeUInt32BE(id, 1);
    return Buffer.concat([header, value.subarray(SINGLE_OBJECT_HEADER_BYTES)]);
  }

  /** Fetch a schema by id; unknown ids and unusable answers are values, outages and refusals throw. */
  #fetch(id: number): Promise<FetchedSchema> {
    let pending = this.#schemas.get(id);
    if (!pending) {
      pending = this.#retry(`get schema id ${id}`, () => this.#client.getSchema(id)).then(
        (schema): FetchedSchema => ({ schema }),
        (err: unknown): FetchedSchema => {
          if (err instanceof UnknownSchemaIdError) return { unusable: `the schema registry has no schema id ${id}`, transient: true };
          // Forbidden for this id alone (the registry's ACL on its subject; a 401 is the credentials, for every id, and
          // stops the run): its records are dead-lettered raw, to redrive once granted, not a stop at every restart (a trial).
          if (err instanceof SchemaRegistryError && err.status === 403) return { unusable: `the schema registry refuses schema id ${id} (http 403: ${err.message.replace(/^.*returned http 403: /, '')}): grant the principal read access to its subject, then redrive`, transient: true };
          // The registry answered (2xx) but the schema is not a usable Avro schema: a data problem of the records using it.
          if (err instanceof SchemaRegistryError && err.status !== null && err.status >= 200 && err.status < 300) return { unusable: err.message, transient: false };
          throw err;
        },
      );
      this.#schemas.set(id, pending);
      // Keep only definite answers: an unknown id may appear later, an outage may end.
      pending.then((f) => void ('transient' in f && f.transient && this.#schemas.delete(id)), () => this.#schemas.delete(id));
    }
    return pending;
  }

  /** The single-object header for values of `topic` with schema `id`, or why they are passed through unchanged. */
  #headerFor(topic: string, id: number, fetched: FetchedSchema): Buffer | string {
    const key = `${topic}\u0000${id}`;
    if (this.#headers.has(key)) return this.#headers.get(key)!;
    const header = this.#computeHeader(topic, id, fetched);
    if (!('transient' in fetched && fetched.transient)) this.#headers.set(key, header);
    return header;
  }

  #computeHeader(topic: string, id: number, fetched: FetchedSchema): Buffer | string {
    const kind = this.#kindOf(topic);
    const context = { topic, schemaId: id, kind };
    if ('unusable' in fetched) {
      this.#warnOnce(`id:${topic}:${id}`, { ...context, reason: fetched.unusable }, 'schema id cannot be used; values are passed on unchanged (dead letters)');
      return fetched.unusable;
    }
    let fpHex: string;
    try {
      const type = createLongAwareType(fetched.schema);
      if (type.typeName !== 'record') throw new Error(`schema id ${id} is a ${type.typeName}, not a record`);
      fpHex = rabinFingerprint(toJsonText(type.schema())).toString('hex');
    } catch (err) {
      this.#warnOnce(`id:${topic}:${id}`, { ...context, reason: (err as Error).message }, 'schema id is not an avro record schema; values are passed on unchanged (dead letters)');
      return `schema id ${id} is not an avro record schema: ${(err as Error).message}`;
    }
    const existing = this.#writers.lookup(fpHex);
    if (existing && kind !== null && existing.kind !== kind) {
      this.#warnOnce(`id:${topic}:${id}`, { ...context, fingerprint: fpHex, schemaKind: existing.kind }, 'schema id belongs to another record kind; values are passed on unchanged (dead letters)');
      return `schema id ${id} is ${/^[AEIOU]/.test(existing.kind) ? 'an' : 'a'} ${existing.kind} schema, but ${topic} carries ${kind}`;
    }
    if (!existing) {
      if (kind === null) {
        this.#warnOnce(`id:${topic}:${id}`, { ...context, fingerprint: fpHex }, 'topic carries no known record kind; values are passed on unchanged');
        return `topic ${topic} carries no known record kind`;
      }
      this.#writers.register(kind, fetched.schema);
    }
    this.#writers.noteRegistryId(fpHex, id);
    this.#logger?.info({ ...context, fingerprint: fpHex }, 'schema id read as single-object fingerprint');
    return singleObjectHeader(Buffer.from(fpHex, 'hex'));
  }

  #warnOnce(key: string, fields: Record<string, unknown>, message: string): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#logger?.warn(fields, message);
  }
}

