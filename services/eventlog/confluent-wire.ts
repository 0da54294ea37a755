/**
 * An EventLog decorator that keeps Confluent Schema Registry framing on the wire
 * and single-object Avro inside edgelat (DESIGN §2, issue: "the Confluent Schema
 * Registry framing (00 + schema id) is read and written when
 * EDGELAT_SCHEMA_REGISTRY_URL is set"). The header swap itself is in
 * confluent-convert.ts; this file is the EventLog and Consumer plumbing.
 */
import type { Logger } from 'pino';
import { HttpSchemaRegistryClient } from '../../schemas/index.ts';
import { ConfluentWireConverter, type ConfluentWireOptions } from './confluent-convert.ts';
import type { CommittedOffset, Consumer, EventLog, LogRecord, PollResult, ProduceRecord, TopicPartition } from './types.ts';
import type { RetryOptions } from '../retry.ts';

export type { ConfluentWireOptions } from './confluent-convert.ts';

/**
 * Wrap an event log so that values are Confluent-framed on the log and single-object
 * Avro for its callers.
 *
 * Behaviour:
 * - `produce`: a single-object value whose fingerprint is in `writerSchemas` is written as
 *   `00` + schema id + the same body; the schema is registered under subject `<topic>-value`
 *   once per (topic, fingerprint) (cached; a failed call is not cached). Other values (JSON,
 *   unknown fingerprints, a fingerprint of another kind than the topic's) are written unchanged.
 *   Conversion happens before the inner produce, so a registry failure produces nothing.
 * - `Consumer.poll` and `read`: a Confluent-framed value becomes `C3 01` + the fingerprint of
 *   the writer schema fetched by id (cached per id) + the same body, and that schema is
 *   registered in `writerSchemas` under the topic's kind; the record keeps the bytes as they
 *   came in `wireValue`, which its dead letter stores if it fails later (a field's check).
 *   Values that are not Confluent-framed, whose id the registry does not know, or whose schema
 *   is not an Avro record, are returned unchanged: the runtime dead-letters them with their raw
 *   bytes, naming the schema id (or, for a value neither framed, single-object nor JSON, the
 *   framing expected: `notFramed` in confluent-convert.ts).
 * - Registry outages (no answer, 5xx, 429) are retried with `options.retry` (none by default);
 *   then they throw the retriable {@link SchemaRegistryError}: `poll` first seeks the inner consumer back to the batch's first offsets, so the next poll
 *   returns the same records (nothing is skipped). A 403 for an id (the registry's ACL on its
 *   subject) is a dead letter of its records, as an unknown id. Other registry refusals (401,
 *   409, 422) are thrown as non-retriable {@link SchemaRegistryError}s (a configuration problem),
 *   naming the first record that needs the schema (topic, partition, offset).
 * - Offsets, keys, headers, partitions and `id` are the inner log's.
 * @example see test/unit/eventlog/confluent-wire.test.ts
 * @see withSchemaRegistry for the one-call form used at startup
 */
export class ConfluentWireEventLog implements EventLog {
  readonly #inner: EventLog;
  readonly #convert: ConfluentWireConverter;

  /**
   * @param inner    The log to wrap (Kafka or in-process).
   * @param options  See {@link ConfluentWireOptions}.
   */
  constructor(inner: EventLog, options: ConfluentWireOptions) {
    this.#inner = inner;
    this.#convert = new ConfluentWireConverter(options);
  }

  /** See {@link ConfluentWireConverter.registryWait}: the registry call retried the longest now, or null. */
  registryWait(): { call: string; waiting_ms: number; error: string } | null {
    return this.#convert.registryWait();
  }

  /** The inner log's id: offsets are the inner log's, so deduplication tokens stay valid. */
  get id(): string {
    return this.#inner.id;
  }

  /** See {@link EventLog.ensureTopic}; delegated. */
  ensureTopic(topic: string, partitions?: number): Promise<void> {
    return this.#inner.ensureTopic(topic, partitions);
  }

  /** See {@link EventLog.partitionCount}; delegated. */
  partitionCount(topic: string): Promise<number | null> {
    return this.#inner.partitionCount(topic);
  }

  /**
   * Convert single-object values to Confluent framing, then append them (see the class doc).
   * @throws {SchemaRegistryError} if registering a schema fails (retriable for an outage); nothing is produced then.
   * @throws whatever the inner `produce` throws.
   */
  async produce(topic: string, records: ProduceRecord[]): Promise<{ partition: number; offset: number }[]> {
    const converted = await Promise.all(records.map(async (r) => {
      const value = await this.#convert.toWire(topic, r.value);
      return value === r.value ? r : { ...r, value };
    }));
    return this.#inner.produce(topic, converted);
  }

  /** Join a group; the returned consumer converts Confluent-framed values (see the class doc). */
  async consumer(groupId: string, topics: string[]): Promise<Consumer> {
    return new ConfluentWireConsumer(await this.#inner.consumer(groupId, topics), (records) => this.#convert.fromWire(records));
  }

  /** See {@link EventLog.seal}; delegated. */
  seal(topic: string): Promise<void> {
    return this.#inner.seal(topic);
  }

  /** See {@link EventLog.isSealed}; delegated. */
  isSealed(topic: string): boolean | Promise<boolean> {
    return this.#inner.isSealed(topic);
  }

  /** See {@link EventLog.endOffset}; delegated. */
  endOffset(tp: TopicPartition): Promise<number> {
    return this.#inner.endOffset(tp);
  }

  /**
   * Read records [from, to) of one partition, Confluent-framed values converted to single-object Avro.
   * @throws {SchemaRegistryError} if the registry cannot be reached (retriable).
   */
  async read(tp: TopicPartition, from: number, to: number): Promise<LogRecord[]> {
    return this.#convert.fromWire(await this.#inner.read(tp, from, to));
  }

  /** Close the inner log. */
  close(): Promise<void> {
    return this.#inner.close();
  }
}

/** A consumer whose polled values are converted by {@link ConfluentWireConverter.fromWire}. */
class ConfluentWireConsumer implements Consumer {
  constructor(private readonly inner: Consumer, private readonly convert: (records: LogRecord[]) => Promise<LogRecord[]>) {}

  get groupId(): string {
    return this.inner.groupId;
  }

  assignment(): TopicPartition[] {
    return this.inner.assignment();
  }

  /** Poll and convert; on a conversion failure, seek back to the batch's first offsets and rethrow. */
  async poll(maxRecords: number): Promise<PollResult> {
    const result = await this.inner.poll(maxRecords);
    try {
      return { records: await this.convert(result.records), endOfInput: result.endOfInput };
    } catch (err) {
      const first = new Map<string, LogRecord>();
      for (const r of result.records) {
        const key = `${r.topic}\u0000${r.partition}`;
        if (!first.has(key) || first.get(key)!.offset > r.offset) first.set(key, r);
      }
      for (const r of first.values()) {
        try {
          this.inner.seek({ topic: r.topic, partition: r.partition }, r.offset);
        } catch {
          // Rebalanced away meanwhile: the new owner reads it from the committed offset.
        }
      }
      throw err;
    }
  }

  commit(offsets: CommittedOffset[]): Promise<void> {
    return this.inner.commit(offsets);
  }

  committed(tp: TopicPartition): Promise<CommittedOffset | null> {
    return this.inner.committed(tp);
  }

  groupDrained(): Promise<boolean> {
    return this.inner.groupDrained();
  }

  seek(tp: TopicPartition, offset: number): void {
    this.inner.seek(tp, offset);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * Put the Confluent Schema Registry on the wire of `log` when a registry URL is configured.
 *
 * @param log     The event log (Kafka or in-process), already connected.
 * @param url     `EdgelatConfig.schemaRegistryUrl` (from EDGELAT_SCHEMA_REGISTRY_URL), e.g.
 *                `http://localhost:8081`; may carry `user:password@` (sent as basic auth); null,
 *                undefined or blank for none.
 * @param logger  Optional pino logger (one line at start, one per schema id, one per retry; nothing per record).
 * @param retry   Back-off of registry calls that failed retriably (`ConfluentWireOptions.retry`). @default REGISTRY_RETRY
 * @returns       `log` itself when `url` is empty, else a {@link ConfluentWireEventLog} over an
 *                {@link HttpSchemaRegistryClient}, writing to `defaultWriterSchemas()`.
 * @throws {TypeError} if `url` is not a valid http(s) URL (a config error; services/config.ts validates it first).
 * @example const log = withSchemaRegistry(await KafkaEventLog.connect({...}), config.schemaRegistryUrl, logger)
 */
export function withSchemaRegistry(log: EventLog, url: string | null | undefined, logger?: Logger, retry: RetryOptions = REGISTRY_RETRY): EventLog {
  const trimmed = url?.trim();
  if (!trimmed) return log;
  const client = new HttpSchemaRegistryClient(trimmed);
  logger?.info({ schemaRegistry: client.url }, 'confluent schema registry framing on: values are written and read as 00 + schema id + avro body');
  return new ConfluentWireEventLog(log, { client, logger, retry });
}

/** Back-off of the pipeline's registry calls: again until the registry answers, at most 30 s apart. */
export const REGISTRY_RETRY: Readonly<RetryOptions> = Object.freeze({ retries: Number.POSITIVE_INFINITY, maxRetryTimeMs: 30_000 });
