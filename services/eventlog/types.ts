/**
 * The event-log interface shared by the in-process log (memory.ts) and, in a
 * later issue, Kafka (kafka.ts). Semantics follow Kafka: topics with P
 * partitions, per-partition offsets starting at 0, consumer groups whose
 * committed offset is the *next* offset to read.
 */

/** A record header value (Kafka headers are bytes; we keep strings). */
export type Headers = Record<string, string>;

/** A record to produce. */
export interface ProduceRecord {
  /** Partitioning key (edge_server_id); null spreads records round-robin. */
  key: string | null;
  /**
   * The key's bytes when they are not UTF-8 text (a dead letter's `key_b64` produced again by `pipeline redrive`):
   * written as the record's key in place of `key`, which is then null; give `partition` with it (the key partitioner
   * hashes text keys only). Absent for a text key or none.
   */
  wireKey?: Buffer;
  value: Buffer;
  /** Explicit partition; overrides the key partitioner. */
  partition?: number;
  headers?: Headers;
  /** Record timestamp, epoch ms UTC (the log's time, not event time). */
  timestampMs?: number;
}

/**
 * Header a log sets on a record whose value was null (a Kafka tombstone) rather than empty: both reach
 * consumers as 0 bytes, and the dead letter says which it was (pipelines/runtime/decode.ts).
 */
export const NULL_VALUE_HEADER = 'edgelat-null-value';

/**
 * Header of a record `edgelat pipeline redrive` produced again: the dead letter it came from,
 * `<dlq topic>:<partition>:<offset>` (services/pipeline/redrive.ts). A redriven record that fails again is
 * dead-lettered with it named in its error, and a later redrive passes that copy over (its origin is redriven instead).
 */
export const REDRIVE_HEADER = 'edgelat-redrive-of';

/** The words a dead letter's error ends with when its record was a redrive of another (see {@link REDRIVE_HEADER}). */
export const REDRIVE_ERROR_MARK = '[a redrive of ';

/**
 * Header set on a Confluent-framed record that could not be converted (an id the registry does not have,
 * a schema of another record kind, not an Avro record): why, for the dead letter the runtime writes
 * (pipelines/runtime/decode.ts). The value is passed on unchanged (services/eventlog/confluent-convert.ts).
 */
export const WIRE_ERROR_HEADER = 'edgelat-wire-error';

/**
 * Most bytes of records one produce request to Kafka carries: below Kafka's default `message.max.bytes`
 * (1,048,588 bytes, which bounds a partition's record batch), with room for the batch and request headers.
 * kafkajs sends all the messages of one `send` to a partition as one batch, so a larger produce call is split
 * (kafka-support.ts `produceChunks`), and a dead letter is kept under it (pipelines/runtime/run-sink.ts).
 */
export const MAX_PRODUCE_BYTES = 900_000;

/** A stored record as a consumer sees it. */
export interface LogRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: Buffer;
  headers: Headers;
  timestampMs: number;
  /**
   * The value's bytes as they were on the log, when a decorator converted `value` (Confluent framing →
   * single-object Avro, services/eventlog/confluent-convert.ts); absent when `value` is them. A dead
   * letter keeps these, so a repaired record can be produced again the way it came.
   */
  wireValue?: Buffer;
  /**
   * The key's bytes as they were on the log, when they are not UTF-8 text (`key` then holds them decoded
   * with U+FFFD in place of each bad sequence, services/eventlog/kafka-support.ts `toLogRecord`); absent
   * otherwise. A dead letter's `key_b64` keeps these, and the record is one (decode.ts: a telemetry key is text).
   */
  wireKey?: Buffer;
}

/** A topic and partition. */
export interface TopicPartition {
  topic: string;
  partition: number;
}

/** A partition as a map key, `topic:partition` (see {@link keyPartition}). */
export const partitionKey = (tp: TopicPartition): string => `${tp.topic}:${tp.partition}`;

/** The partition a {@link partitionKey} names (the partition number follows the last ':'). */
export function keyPartition(key: string): TopicPartition {
  const at = key.lastIndexOf(':');
  return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) };
}

/** A committed position: `offset` is the next offset to read; `metadata` is opaque text kept with it. */
export interface CommittedOffset extends TopicPartition {
  offset: number;
  metadata: string;
}

/** Result of one poll: records in per-partition offset order; `endOfInput` when every assigned partition is sealed and fully read. */
export interface PollResult {
  records: LogRecord[];
  endOfInput: boolean;
}

/** One member of a consumer group. */
export interface Consumer {
  readonly groupId: string;
  /** Partitions currently owned by this member. */
  assignment(): TopicPartition[];
  /** Read up to `maxRecords` records from owned partitions, from each partition's position. */
  poll(maxRecords: number): Promise<PollResult>;
  /**
   * Commit positions (offset = next to read) for owned partitions; resolves only once they are durable.
   * @throws {BrokerUnavailableError} for a partition not owned, or (retriable) when the commit was not applied.
   */
  commit(offsets: CommittedOffset[]): Promise<void>;
  /** The group's committed position of a partition, or null when none. */
  committed(tp: TopicPartition): Promise<CommittedOffset | null>;
  /**
   * Whether the whole group is done with bounded input: every subscribed
   * topic is sealed and the group's committed offset of each of its
   * partitions equals the partition's end offset. Any member may ask; a
   * bounded run over several instances ends when this holds (each member
   * alone only knows its own partitions).
   */
  groupDrained(): Promise<boolean>;
  /** Move the read position of an owned partition. */
  seek(tp: TopicPartition, offset: number): void;
  /**
   * Whether the member knows of records of an owned partition past its read position (fetched and not yet polled, or
   * below the partition's end as last seen): a partition with a backlog is not idle, however long it brought nothing
   * (run-processor.ts idleness). False when it knows of none; optional (a member without it is never behind).
   */
  behind?(tp: TopicPartition): boolean;
  /** Leave the group (partitions go to the remaining members). */
  close(): Promise<void>;
}

/** An event log: named partitioned topics, producers and consumer groups. */
export interface EventLog {
  /**
   * Identity of this log's incarnation: offsets are unique only within it
   * (a new in-process log restarts at offset 0; a Kafka topic deleted and
   * re-created does too). Part of every warehouse deduplication token.
   */
  readonly id: string;
  /** Create a topic if absent (best-effort on Kafka). @throws {RangeError} if partitions < 1. */
  ensureTopic(topic: string, partitions?: number): Promise<void>;
  /** Number of partitions of a topic, or null when it does not exist. */
  partitionCount(topic: string): Promise<number | null>;
  /** Append records; returns where each landed, in input order. */
  produce(topic: string, records: ProduceRecord[]): Promise<{ partition: number; offset: number }[]>;
  /** Join `groupId` as a new member subscribed to `topics`. */
  consumer(groupId: string, topics: string[]): Promise<Consumer>;
  /** Mark a topic finished for bounded runs: consumers see endOfInput after its last record. */
  seal(topic: string): Promise<void>;
  /** Whether anyone has sealed the topic (seals are permanent). @throws {BrokerUnavailableError} when the log cannot tell. */
  isSealed(topic: string): boolean | Promise<boolean>;
  /** Next offset to be written in a partition (the high watermark). */
  endOffset(tp: TopicPartition): Promise<number>;
  /** Read records [from, to) of one partition without a group (admin / tail scans). */
  read(tp: TopicPartition, from: number, to: number): Promise<LogRecord[]>;
  close(): Promise<void>;
}
