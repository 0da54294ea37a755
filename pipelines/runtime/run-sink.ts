import type { Logger } from 'pino';
import { PipelineError } from '../../errors.ts';
import { codecFor } from '../../schemas/index.ts';
import type { DeadLetter } from '../../schemas/types.ts';
import { keyPartition, MAX_PRODUCE_BYTES, REDRIVE_ERROR_MARK, REDRIVE_HEADER, type CommittedOffset, type TopicPartition, type Consumer, type EventLog, type LogRecord } from '../../services/eventlog/types.ts';
import type { Warehouse } from '../../services/warehouse/types.ts';
import { withRetry, type RetryOptions } from '../../services/retry.ts';
import { deadLetterRow, SINK_ROUTES } from '../warehouse-sink.ts';
import { dlqTopic, OUTPUT_TOPICS } from '../topics.ts';
import { runToEnd, type PartitionPosition } from './run-to-end.ts';
import { decodeLogRecord, type RecordChecks } from './decode.ts';
import { MAX_TIME_MS, MIN_TIME_MS } from '../../schemas/validate.ts';
import { forEachRecord, LANE_HEADER, LaneRepeats, SEQ_HEADER, SkippedCopies } from './lanes.ts';
import type { FailPoint, TopicCounts } from './run-processor.ts';

/** Options of a warehouse-sink run. */
export interface SinkRunOptions {
  log: EventLog;
  warehouse: Warehouse;
  /** Topics to copy; each must have a route in SINK_ROUTES. */
  topics: readonly string[];
  /** Consumer group. @default 'edgelat-warehouse-sink' */
  groupId?: string;
  /**
   * Offsets per insert block; blocks cover [k·B, (k+1)·B) so a replay forms the same blocks. A block closes when a
   * record's offset reaches or passes its end (offsets can skip: Kafka's transaction markers, compacted topics); a
   * range without records forms no block. @default 4096
   */
  batchOffsets?: number;
  /** Max records per poll. @default 5000 */
  maxBatch?: number;
  /**
   * Longest a record may wait in a partial block before it is written,
   * milliseconds (wall clock). Such a block [start, end) is first committed
   * as a plan (offset `start`, metadata `{"block_end": end}`), then written,
   * then committed at `end`; a member that resumes at a planned offset forms
   * exactly that block again, so its deduplication token matches. Only a
   * block that has read to the partition's current end, or whose aligned end
   * is past it (no full block can have been written there), is cut this way. Infinity:
   * partial blocks only at end of input (bounded runs). @default Infinity
   */
  lingerMs?: number;
  /**
   * Back-off of warehouse writes. A warehouse outage pauses the sink (nothing
   * is committed past unwritten rows) and it keeps retrying retriable errors.
   * @default { retries: Infinity, maxRetryTimeMs: 30000 } (the retry defaults otherwise)
   */
  retry?: RetryOptions;
  /** Checks beyond the schema; must equal the processors' (see decode.ts). */
  checks?: RecordChecks;
  logger?: Logger;
  onProgress?: (counts: Readonly<Record<string, TopicCounts>>) => void;
  /** Called after each acknowledged warehouse insert: table (`db.table`), rows, and the insert's latency in seconds (retries included). */
  onWrite?: (table: string, rows: number, seconds: number) => void;
  failPoint?: (point: FailPoint, recordsDone: number) => void;
  /** Whether this process's producers of the inputs have finished: an end of input counts only then (run-processor.ts `ProcessorRunOptions.inputsFinal`). @default () => true */
  inputsFinal?: () => boolean;
}

interface Buffered {
  start: number;
  rows: Record<string, unknown>[];
  dead: DeadLetter[];
  next: number;
  /** Wall-clock time the block's first record was buffered, ms (null: empty). */
  firstAtMs: number | null;
  /**
   * Log timestamp of the block's first record, epoch ms (null: empty), in its deduplication token: a topic deleted and
   * created again restarts at offset 0 on the same cluster, and its blocks had the old ones' tokens (a trial: 8 of 10
   * new records dropped as duplicates). A replay of the same records forms the same token.
   */
  firstLogTs: number | null;
  /** End offset of a planned partial block starting at `start` (committed metadata), or null. */
  planEnd: number | null;
  /** Wall-clock time the partition's end offset was last asked for by the linger check, ms (null: not yet). */
  endCheckedAtMs: number | null;
}

/** Commit metadata of a planned partial block: its end, and the block size the blocks after it align on. */
interface BlockPlan {
  block_end: number;
  block_size: number;
}

/** Commit metadata after a written block: the block size it was aligned on (`batchOffsets`). */
interface BlockDone {
  block_size: number;
}

/**
 * The end of the first block to form from a committed offset `start`: a committed plan's end; else, where the run
 * that committed it aligned blocks on another size (`block_size`: another EDGELAT_SINK_BATCH_OFFSETS), the end of the
 * block it would have written next, which it may have written before its commit was lost (a trial: 1,000 rows twice
 * after a restart from 1000 to 600); else null (blocks aligned on ours).
 */
export function parsePlan(metadata: string | undefined, start: number, blockSize: number): number | null {
  if (!metadata) return null;
  try {
    const plan = JSON.parse(metadata) as Partial<BlockPlan & BlockDone>;
    if (Number.isSafeInteger(plan.block_end) && plan.block_end! > start) return plan.block_end!;
    const theirs = plan.block_size;
    return Number.isSafeInteger(theirs) && theirs! >= 1 && theirs !== blockSize ? (Math.floor(start / theirs!) + 1) * theirs! : null;
  } catch {
    return null;
  }
}

/**
 * Copy topics into their warehouse tables with an exactly-once effect as seen
 * by a plain `count()` (DESIGN §3 "Delivery").
 *
 * Blocks are aligned on offset ranges [k·B, (k+1)·B) of one partition (a
 * partial block only at end of input or after `lingerMs`, its end committed
 * as a plan first), and each insert carries the
 * deduplication token `<table>:<log id>:<topic>:<partition>:<from>-<to>`, so a retried
 * or replayed block adds no rows. Offsets are committed only after the
 * warehouse acknowledged every block below them. A record that cannot be
 * decoded or validated goes to `dead_letters` and `<topic>.dlq` with its raw
 * bytes, error and position; the run goes on. A second copy of an edgelat
 * output record (a producer's retried send; lanes.ts `LaneRepeats`) is skipped:
 * no row, counted as `repeated`, logged with the offset of its first copy. Warehouse failures are retried
 * with back-off when retriable; otherwise the run stops without committing.
 */
export class SinkRun {
  /** Per input topic: records consumed, rows written to the warehouse (`processed`: when their block is), dead letters. */
  readonly counts: Record<string, TopicCounts> = {};
  private consumer: Consumer | null = null;
  private readonly buffers = new Map<string, Buffered>();
  /**
   * Per dead-letter lane (`warehouse-sink:dlq:<topic>:<partition>`, one per source partition owned): dead letters of
   * source offsets from `from` on are sent to `.dlq` unless `sent` (found there: written before a restart) holds them.
   * Every dead letter below `from` is on `.dlq` already: a block's are sent before its end is committed.
   */
  private readonly dlqSent = new Map<string, { from: number; sent: Set<number> }>();
  private recordsDone = 0;
  private readonly groupId: string;
  private readonly batchOffsets: number;
  private readonly dlqPartitions = new Map<string, number>();
  /** Commits that failed during a rebalance, retried at the next batch. */
  private readonly deferred = new Map<string, CommittedOffset>();
  /** Second copies of edgelat's output records (a producer's retry), skipped: no row, no dead letter. */
  private readonly repeats = new LaneRepeats(OUTPUT_TOPICS);
  private readonly skipped = new SkippedCopies();

  constructor(private readonly options: SinkRunOptions) {
    this.groupId = options.groupId ?? 'edgelat-warehouse-sink';
    this.batchOffsets = options.batchOffsets ?? 4096;
    if (!Number.isInteger(this.batchOffsets) || this.batchOffsets < 1) throw new RangeError(`batchOffsets: expected an integer >= 1, got ${JSON.stringify(options.batchOffsets)}`);
    for (const t of options.topics) {
      if (!SINK_ROUTES[t]) throw new RangeError(`topics: no warehouse table for topic ${JSON.stringify(t)}`);
      this.counts[t] = { consumed: 0, processed: 0, late: 0, dead: 0 };
    }
  }

  async start(): Promise<void> {
    const { log, topics } = this.options;
    for (const t of topics) {
      await log.ensureTopic(t);
      const partitions = (await log.partitionCount(t)) ?? 1;
      await log.ensureTopic(dlqTopic(t), partitions);
      this.dlqPartitions.set(t, (await log.partitionCount(dlqTopic(t))) ?? 1);
    }
    this.consumer = await log.consumer(this.groupId, [...topics]);
    await this.syncAssignment();
  }

  /**
   * Commit, unless a rebalance took the partition away meanwhile (case C09):
   * then drop its buffer and report false; the rows written stay (the new
   * owner's identical block is deduplicated).
   */
  private async commitOwned(offsets: CommittedOffset[]): Promise<boolean> {
    try {
      await this.consumer!.commit(offsets);
      for (const o of offsets) this.deferred.delete(`${o.topic}:${o.partition}`);
      return true;
    } catch (error) {
      const owned = new Set(this.consumer!.assignment().map((tp) => `${tp.topic}:${tp.partition}`));
      if (offsets.every((o) => owned.has(`${o.topic}:${o.partition}`))) {
        if (!(error instanceof PipelineError && error.retriable)) throw error;
        // A rebalance is under way: the rows are written; commit again with the next batch.
        for (const o of offsets) this.deferred.set(`${o.topic}:${o.partition}`, o);
        this.options.logger?.info({ pipeline: 'warehouse-sink', offsets, err: (error as Error).message }, 'commit deferred to the next batch');
        return true;
      }
      for (const o of offsets) this.buffers.delete(`${o.topic}:${o.partition}`);
      this.options.logger?.info({ pipeline: 'warehouse-sink', offsets }, 'commit refused after a rebalance; the new owner continues');
      return false;
    }
  }

  /** Follow the group's assignment: drop buffers of revoked partitions (their new owner re-forms the same blocks), start new ones at the committed offset. */
  private async syncAssignment(): Promise<void> {
    const owned = this.consumer!.assignment();
    const ownedKeys = new Set(owned.map((tp) => `${tp.topic}:${tp.partition}`));
    for (const key of [...this.buffers.keys()]) {
      if (ownedKeys.has(key)) continue;
      this.buffers.delete(key);
      this.repeats.forget(keyPartition(key));
      this.dlqSent.delete(dlqLane(keyPartition(key)));
    }
    const fresh = owned.filter((tp) => !this.buffers.has(`${tp.topic}:${tp.partition}`));
    if (fresh.length === 0) return;
    const committedOf = new Map<string, CommittedOffset | null>();
    for (const tp of fresh) committedOf.set(dlqLane(tp), await this.consumer!.committed(tp));
    const starts = new Map([...committedOf].map(([lane, c]) => [lane, c?.offset ?? 0]));
    for (const [lane, sent] of await sentDeadLetters(this.options.log, this.options.topics.map(dlqTopic), starts)) this.dlqSent.set(lane, { from: starts.get(lane)!, sent });
    for (const tp of fresh) {
      const committed = committedOf.get(dlqLane(tp));
      const offset = committed?.offset ?? 0;
      let planEnd = parsePlan(committed?.metadata, offset, this.batchOffsets);
      // A block past the partition's end was never written (nobody had its records): blocks align on ours, and linger.
      if (planEnd !== null && planEnd > await this.options.log.endOffset(tp)) planEnd = null;
      this.consumer!.seek(tp, offset);
      await this.repeats.seed(this.options.log, tp, offset);
      this.buffers.set(`${tp.topic}:${tp.partition}`, { start: offset, rows: [], dead: [], next: offset, firstAtMs: null, firstLogTs: null, planEnd, endCheckedAtMs: null });
      this.options.logger?.info({ pipeline: 'warehouse-sink', topic: tp.topic, partition: tp.partition, offset, planEnd }, 'partition assigned; resuming from committed offset');
    }
  }

  /** One poll; flushes every block that is complete. @returns true at end of input. */
  async runBatch(): Promise<boolean> {
    if (!this.consumer) throw new Error('SinkRun.start() was not called');
    await this.syncAssignment();
    if (this.deferred.size) {
      const owned = new Set(this.consumer.assignment().map((tp) => `${tp.topic}:${tp.partition}`));
      for (const key of [...this.deferred.keys()]) if (!owned.has(key)) this.deferred.delete(key);
      if (this.deferred.size) await this.commitOwned([...this.deferred.values()]);
    }
    const final = this.options.inputsFinal?.() ?? true;
    const polled = await this.consumer.poll(this.options.maxBatch ?? 5000);
    const { records } = polled;
    const endOfInput = polled.endOfInput && final;
    await this.syncAssignment();
    for (const r of records) {
      const buf = this.buffers.get(`${r.topic}:${r.partition}`);
      if (!buf || r.offset < buf.next) continue; // fetched before a rebalance took the partition away, or already buffered
      await this.add(r);
      this.recordsDone++;
      this.options.failPoint?.('after-step', this.recordsDone);
    }
    this.skipped.flush(this.options.logger, 'warehouse-sink');
    if (endOfInput) {
      // The partial blocks at the end are planned first, as lingering ones are: a member that resumes where this one's
      // commit was lost forms the same block again whatever its block size or linger (a trial: [8, 10) written here,
      // then [8, 9) and [9, 10) by the next run, two rows twice).
      const partial = [...this.buffers].filter(([, b]) => b.next > b.start);
      if (!(await this.flushPlanned(partial))) return false;
      // Not done while a commit is still deferred by a rebalance: the caller polls again and it is retried.
      if (this.deferred.size) return false;
    } else {
      await this.flushLingering();
    }
    this.options.onProgress?.(this.counts);
    return endOfInput;
  }

  /** Whether every member of the group is done with the sealed inputs (see Consumer.groupDrained). */
  async groupDrained(): Promise<boolean> {
    if (!this.consumer) throw new Error('SinkRun.start() was not called');
    return this.consumer.groupDrained();
  }

  /** Next offset to buffer per owned partition. */
  positions(): PartitionPosition[] {
    return [...this.buffers].map(([key, b]) => ({ ...keyPartition(key), position: b.next }));
  }

  async runToEnd(): Promise<Record<string, TopicCounts>> {
    return runToEnd(this);
  }

  async close(): Promise<void> {
    await this.consumer?.close();
    this.consumer = null;
  }

  /**
   * The offset the block in `buf` ends at: its plan's end, or the next multiple of `batchOffsets` above its start.
   * A block plans only up to its aligned end (one inherited from a run of another block size: that run's boundary).
   */
  private blockEnd(buf: Buffered): number {
    return buf.planEnd ?? (Math.floor(buf.start / this.batchOffsets) + 1) * this.batchOffsets;
  }

  /**
   * Close the block in `buf` on its end when record offset `offset` reaches or passes it. Offsets can skip (Kafka's
   * transaction markers, a compacted topic): a block that waited for offset end − 1 to arrive stayed open past its
   * boundary, where the linger rule does not cut it before the reader has caught up (a review: under a steady
   * backlog nothing was written or committed). It ends at its boundary whatever offsets the records had, so a replay
   * forms it again with the same range (the deduplication token). A block without records is not written: its start
   * moves on to the block that holds `offset`.
   */
  private async closeBefore(key: string, buf: Buffered, offset: number): Promise<void> {
    for (let end = this.blockEnd(buf); offset >= end; end = this.blockEnd(buf)) {
      if (buf.next > buf.start) {
        buf.next = end;
        await this.flush(key, buf);
        // Lost in a rebalance: the buffer is gone, the new owner forms the block again.
        if (this.buffers.get(key) !== buf || buf.start !== end) return;
      } else {
        buf.planEnd = null;
        buf.start = buf.next = Math.max(end, Math.floor(offset / this.batchOffsets) * this.batchOffsets);
      }
    }
  }

  private async add(r: LogRecord): Promise<void> {
    const key = `${r.topic}:${r.partition}`;
    await this.closeBefore(key, this.buffers.get(key)!, r.offset);
    const buf = this.buffers.get(key);
    if (!buf) return;
    const counts = this.counts[r.topic]!;
    counts.consumed++;
    const copyOf = this.repeats.copyOf(r);
    const decoded = copyOf === null ? decodeLogRecord(r, this.options.checks) : null;
    if (decoded === null) {
      // The same for every owner that forms this block: its window holds the records before the block.
      this.skipped.add(r, copyOf!);
      counts.repeated = (counts.repeated ?? 0) + 1;
    } else if (decoded.ok) {
      // Counted as processed when written (flush): a buffered row is not in the warehouse yet (a trial's metrics said
      // 1,627 rows out while the table had none).
      buf.rows.push(SINK_ROUTES[r.topic]!.toRow(decoded.value, r.partition, r.offset));
    } else {
      buf.dead.push({
        topic: r.topic, partition: r.partition, offset: r.offset, key_b64: r.key === null ? null : (r.wireKey ?? Buffer.from(r.key)).toString('base64'),
        raw_b64: (r.wireValue ?? r.value).toString('base64'), path: decoded.path, consumer_group: this.groupId,
        // A redriven record that fails again says so: a later redrive passes the copy over, not doubling it (a trial).
        error: r.headers[REDRIVE_HEADER] === undefined ? decoded.reason : `${decoded.reason} ${REDRIVE_ERROR_MARK}${r.headers[REDRIVE_HEADER]}]`,
        // The log's timestamp when it is a plausible time (Kafka uses -1 for none), else now.
        ts: Number.isSafeInteger(r.timestampMs) && r.timestampMs >= MIN_TIME_MS && r.timestampMs < MAX_TIME_MS ? r.timestampMs : Date.now(),
      });
      counts.dead++;
    }
    buf.next = r.offset + 1;
    buf.firstAtMs ??= Date.now();
    buf.firstLogTs ??= r.timestampMs;
    // A planned block ends at its plan (one made here never past the aligned boundary: plans are made below it; one
    // inherited from a run of another block size at that run's boundary); offsets that skip it close it at the next record.
    if (buf.next === this.blockEnd(buf)) await this.flush(key, buf);
  }

  /**
   * Write the partial blocks whose first record waited `lingerMs`: commit
   * their plans in one commit, then write and commit each. Nothing is
   * written when the plan commit fails (a rebalance): the plan must be
   * durable before the rows are, or a replay could form another block.
   */
  private async flushLingering(): Promise<void> {
    const linger = this.options.lingerMs ?? Number.POSITIVE_INFINITY;
    if (!Number.isFinite(linger)) return;
    const now = Date.now();
    // The end offset is asked for at most once per linger time per partition: a backlog read in small polls
    // (one record set per fetch) would otherwise ask the broker at every poll.
    const lingering = [...this.buffers].filter(([, b]) => b.planEnd === null && b.next > b.start && b.firstAtMs !== null && now - b.firstAtMs >= linger
      && (b.endCheckedAtMs === null || now - b.endCheckedAtMs >= linger));
    // A block is cut short only where no full block can have been written over it: a member that resumes where the
    // last owner's commit was lost (a rebalance) reads back through a full block that owner wrote, and cut on the way
    // by a slow poll its rows would go in again under other tokens. So: a block that has read to the partition's end,
    // or one whose aligned end is past the partition's end (nobody ever had the records to fill it; a partial block an
    // owner wrote there had its plan committed first, and is formed again from it). The second keeps a steady stream,
    // whose end is always a little ahead, to the linger time (a trial: rows waited for a whole block, minutes).
    const due: typeof lingering = [];
    for (const [key, b] of lingering) {
      b.endCheckedAtMs = now;
      const end = await this.options.log.endOffset(keyPartition(key));
      const alignedEnd = (Math.floor(b.start / this.batchOffsets) + 1) * this.batchOffsets;
      if (end <= b.next || end < alignedEnd) due.push([key, b]);
    }
    await this.flushPlanned(due);
  }

  /**
   * Write partial blocks: commit the plans of those not planned yet in one commit, then write and commit each.
   * @returns false when the plan commit failed retriably (a rebalance): nothing was written, the blocks wait.
   */
  private async flushPlanned(blocks: [string, Buffered][]): Promise<boolean> {
    const unplanned = blocks.filter(([, b]) => b.planEnd === null);
    if (unplanned.length) {
      const plans: CommittedOffset[] = unplanned.map(([key, b]) => {
        const plan: BlockPlan = { block_end: b.next, block_size: this.batchOffsets };
        return { ...keyPartition(key), offset: b.start, metadata: JSON.stringify(plan) };
      });
      try {
        await this.consumer!.commit(plans);
      } catch (error) {
        if (!(error instanceof PipelineError && error.retriable)) throw error;
        this.options.logger?.info({ pipeline: 'warehouse-sink', err: (error as Error).message }, 'block plans not committed (rebalance?); partial blocks wait');
        return false;
      }
      for (const [, b] of unplanned) b.planEnd = b.next;
    }
    for (const [key, b] of blocks) await this.flush(key, b);
    return true;
  }

  private async flush(key: string, buf: Buffered): Promise<void> {
    const { warehouse, log, retry } = this.options;
    const { topic, partition } = keyPartition(key);
    const range = `${log.id}:${topic}:${partition}:${buf.start}-${buf.next}${buf.firstLogTs === null ? '' : `@${buf.firstLogTs}`}`;
    const table = `${warehouse.database}.${SINK_ROUTES[topic]!.table}`;
    const onRetry = (error: unknown, attempt: number, delayMs: number) =>
      this.options.logger?.warn({ pipeline: 'warehouse-sink', topic, partition, range, attempt, delayMs: Math.round(delayMs), err: (error as Error).message }, 'warehouse write failed; retrying');
    const backoff = { retries: Number.POSITIVE_INFINITY, onRetry, ...retry };
    const began = performance.now();
    await withRetry(() => warehouse.insert(table, buf.rows, { dedupToken: `${table}:${range}` }), backoff);
    this.counts[topic]!.processed += buf.rows.length;
    this.options.onWrite?.(table, buf.rows.length, (performance.now() - began) / 1000);
    if (buf.dead.length) {
      const dlTable = `${warehouse.database}.dead_letters`;
      await withRetry(() => warehouse.insert(dlTable, buf.dead.map(deadLetterRow), { dedupToken: `${dlTable}:${range}` }), backoff);
      this.options.logger?.warn({ pipeline: 'warehouse-sink', topic, partition, offsets: buf.dead.map((d) => d.offset) }, 'records dead-lettered');
      const lane = dlqLane({ topic, partition });
      const state = this.dlqSent.get(lane) ?? { from: 0, sent: new Set<number>() };
      const fresh = buf.dead.filter((d) => d.offset >= state.from && !state.sent.has(d.offset));
      if (fresh.length) {
        await log.produce(dlqTopic(topic), fresh.map((d) => ({
          // The source record's key (its server id) where it is text, so that a DLQ consumer can route by it; its bytes stay in key_b64.
          key: d.key_b64 !== null && Buffer.from(d.key_b64, 'base64').length <= MAX_DLQ_KEY_BYTES ? sourceKeyText(d.key_b64) : null, partition: d.partition % ((this.dlqPartitions.get(topic)) ?? 1), value: dlqValue(d),
          headers: { [LANE_HEADER]: lane, [SEQ_HEADER]: JSON.stringify([d.offset]) },
        })));
      }
      // The block's dead letters are all on .dlq now.
      this.dlqSent.set(lane, { from: buf.next, sent: new Set([...state.sent].filter((o) => o >= buf.next)) });
    }
    this.options.failPoint?.('after-produce', this.recordsDone);
    // The block size rides along: a restart with another one forms the next block as this run would have.
    const done: BlockDone = { block_size: this.batchOffsets };
    if (!(await this.commitOwned([{ topic, partition, offset: buf.next, metadata: JSON.stringify(done) }]))) return; // lost in a rebalance: the new owner re-forms the block
    this.options.failPoint?.('after-commit', this.recordsDone);
    buf.start = buf.next;
    buf.rows = [];
    buf.dead = [];
    buf.firstAtMs = null;
    buf.firstLogTs = null;
    buf.planEnd = null;
  }
}

/**
 * Most bytes of a `DeadLetter` record on `<topic>.dlq`: {@link MAX_PRODUCE_BYTES}, under Kafka's default
 * `message.max.bytes` (1 MiB). Base64 makes raw bytes 4/3 as long, so a bad record of 700 KB–1 MiB that its topic
 * took would not fit its dead letter there, and a refused produce would stop the sink on it at every restart.
 */
export const MAX_DEAD_LETTER_BYTES = MAX_PRODUCE_BYTES;

/**
 * A dead letter encoded for its `.dlq` topic: whole when it fits {@link MAX_DEAD_LETTER_BYTES}; otherwise without
 * its raw bytes (`raw_b64` ''), its error saying so and how many there were. The `dead_letters` row keeps them all.
 */
export function dlqValue(d: DeadLetter): Buffer {
  const codec = codecFor('DeadLetter');
  const whole = codec.encode(d);
  if (whole.length <= MAX_DEAD_LETTER_BYTES) return whole;
  const rawBytes = Buffer.from(d.raw_b64, 'base64').length;
  const withoutRaw = codec.encode({
    ...d,
    raw_b64: '',
    error: `${d.error} [raw bytes left out of this record: ${rawBytes} bytes; the dead letter with them, ${whole.length} bytes encoded, is above ${MAX_DEAD_LETTER_BYTES} for a Kafka message; the dead_letters row of this topic, partition and offset keeps them]`,
  });
  if (withoutRaw.length <= MAX_DEAD_LETTER_BYTES || d.key_b64 === null) return withoutRaw;
  // A huge source key too (a trial: 700 KB): left out as the raw bytes are.
  const keyBytes = Buffer.from(d.key_b64, 'base64').length;
  return codec.encode({
    ...d,
    raw_b64: '',
    key_b64: null,
    error: `${d.error} [raw bytes and key left out of this record: ${rawBytes} and ${keyBytes} bytes; the dead letter with them, ${whole.length} bytes encoded, is above ${MAX_DEAD_LETTER_BYTES} for a Kafka message; the dead_letters row of this topic, partition and offset keeps them]`,
  });
}

/** Longest source key a dead letter on `<topic>.dlq` is keyed by, bytes; a longer one leaves it unkeyed (key_b64 keeps it where it fits). */
export const MAX_DLQ_KEY_BYTES = 1024;

/** A dead letter's source key (base64) as text, or null when it had none or its bytes are not UTF-8. */
export function sourceKeyText(keyB64: string | null): string | null {
  if (keyB64 === null) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(keyB64, 'base64'));
  } catch {
    return null;
  }
}

/** The lane of a source partition's dead letters on its `.dlq` topic. */
const dlqLane = (tp: TopicPartition): string => `warehouse-sink:dlq:${tp.topic}:${tp.partition}`;

/**
 * Whether a `.dlq` record is a dead letter this sink wrote: it decodes, and its lane and position name its source
 * (`warehouse-sink:dlq:<topic>:<partition>`, `[offset]`). Another producer's record under the lane (a forged
 * position) must not stop the partition's dead letters from reaching `.dlq`.
 */
export function ownDeadLetter(r: LogRecord): boolean {
  const decoded = decodeLogRecord(r);
  if (!decoded.ok) return false;
  const d = decoded.value as unknown as DeadLetter;
  return r.headers[LANE_HEADER] === dlqLane(d) && r.headers[SEQ_HEADER] === JSON.stringify([d.offset]);
}


/**
 * The dead letters already on `.dlq` of the given lanes, from each lane's start offset on: per lane, the source
 * offsets of its own dead letters there (`ownDeadLetter`; another producer's record under the lane counts for
 * nothing). Reads every partition of `dlqTopics` from its start, 100,000 records at a time.
 * @param starts  Per lane, the first source offset of interest (the committed offset its blocks are formed from).
 * @throws what `log.read` throws.
 */
export async function sentDeadLetters(log: EventLog, dlqTopics: readonly string[], starts: ReadonlyMap<string, number>): Promise<Map<string, Set<number>>> {
  const out = new Map<string, Set<number>>([...starts.keys()].map((lane) => [lane, new Set<number>()]));
  for (const topic of dlqTopics) {
    for (let partition = 0; partition < ((await log.partitionCount(topic)) ?? 0); partition++) {
      await forEachRecord(log, { topic, partition }, 0, await log.endOffset({ topic, partition }), (r) => {
        const lane = r.headers[LANE_HEADER];
        const from = lane === undefined ? undefined : starts.get(lane);
        if (from === undefined || !ownDeadLetter(r)) return;
        const offset = JSON.parse(r.headers[SEQ_HEADER]!) as [number];
        if (offset[0] >= from) out.get(lane!)!.add(offset[0]);
      });
    }
  }
  return out;
}
