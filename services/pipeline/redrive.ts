/**
 * Dead-letter redrive (`edgelat pipeline redrive`): produce the raw bytes of
 * dead letters on `<topic>.dlq` back to `<topic>`, the way they first came,
 * once what made them undecodable is mended (a writer schema registered, the
 * registry reachable again, a producer's key fixed upstream is not one: the
 * bytes are the same). The pipeline then reads them as new records at new
 * offsets: those it can now decode are processed (their event times are long
 * behind the watermark, so a windowed processor counts them late, in
 * `late_events`; the warehouse sink inserts them), the others are
 * dead-lettered again.
 *
 * Kafka cannot delete a record from `.dlq`, so a redrive does not consume the
 * dead letters: a second run over the same ones produces them again. Pick them
 * by when they were dead-lettered (`sinceMs`/`untilMs`: the `.dlq` record's log
 * time) and by error text, and look first with `dryRun`. A dead letter of a
 * redriven record (its error names the dead letter it was a redrive of) is
 * passed over: its origin is redriven instead, once a run.
 */
import type { DeadLetter } from '../../schemas/types.ts';
import { decodeLogRecord } from '../../pipelines/runtime/decode.ts';
import { LaneRepeats } from '../../pipelines/runtime/lanes.ts';
import { sourceKeyText } from '../../pipelines/runtime/run-sink.ts';
import { dlqTopic } from '../../pipelines/topics.ts';
import { REDRIVE_ERROR_MARK, REDRIVE_HEADER, type EventLog, type LogRecord, type ProduceRecord } from '../eventlog/types.ts';

export { REDRIVE_HEADER } from '../eventlog/types.ts';

/** Offsets of a `.dlq` partition read (and produced from) at a time, to bound memory. */
const READ_CHUNK = 5_000;

/** Which dead letters to redrive. */
export interface RedriveOptions {
  /** Source topics: the dead letters of each on `<topic>.dlq` go back to it (non-empty). */
  topics: readonly string[];
  /** Only dead letters whose error contains this text, case-insensitive. @default every error */
  errorContains?: string;
  /** Only dead letters written at or after this (their `.dlq` record's log time), epoch ms UTC. @default no bound */
  sinceMs?: number;
  /** …and before this, epoch ms UTC. @default no bound */
  untilMs?: number;
  /** Count and list what would be produced; produce nothing. @default false */
  dryRun?: boolean;
  /** Called after each chunk read: dead letters read so far over all topics. */
  onProgress?: (read: number) => void;
}

/** One dead letter picked for a redrive (the `dryRun` listing; at most {@link LISTED} per topic). */
export interface RedrivenLetter {
  /** Where the dead letter is: partition and offset on `<topic>.dlq`. */
  dlq_partition: number;
  dlq_offset: number;
  /** Where the bad record was on its source topic. */
  partition: number;
  offset: number;
  /** The source record's log time, epoch ms UTC. */
  ts: number;
  /** When it was dead-lettered: its `.dlq` record's log time, epoch ms UTC. */
  dead_lettered_ts: number;
  /** Raw bytes produced again, bytes. */
  bytes: number;
  error: string;
}

/** Dead letters listed per topic in a {@link TopicRedrive}. */
export const LISTED = 20;

/** What a redrive did for one source topic (counts of dead letters). */
export interface TopicRedrive {
  topic: string;
  dlq: string;
  /** Records read on `.dlq` (every partition, up to its end offset when the redrive started). */
  read: number;
  /** Dead letters the filters picked. */
  matched: number;
  /** Produced to `topic` (0 on a dry run). */
  produced: number;
  /** Picked but not produced: their `.dlq` record carries no raw bytes (a record too large for it: the `dead_letters` row keeps them). */
  without_bytes: number;
  /** Picked but not produced: the source record was empty (a null value or 0 bytes: nothing to read again). */
  empty: number;
  /** `.dlq` records that are not a decodable DeadLetter (skipped). */
  undecodable: number;
  /** Why the first of them could not be decoded (e.g. a schema registry that no longer knows their writer schema's id); null when none. */
  undecodable_reason: string | null;
  /** Dead letters of an earlier redrive's records (their origin is picked instead; not counted in `matched`). */
  redrive_copies: number;
  /** `.dlq` records that are second copies of one read before them (the sink's send retried by a producer without idempotence; lanes.ts `LaneRepeats`): passed over, not counted in `matched`. */
  repeated: number;
  /** When the oldest and newest dead letter picked were written (`.dlq` log time), epoch ms UTC (null when none). */
  first_ts: number | null;
  last_ts: number | null;
  /** The first {@link LISTED} dead letters picked, in partition and offset order. */
  letters: RedrivenLetter[];
  /**
   * With something to produce: whether `topic` is sealed (end of input). Nothing is refused for it: `pipeline run
   * --until-end` drains each topic to its end offset at the time it checks, so it reads records produced after the
   * seal (a trial: a bounded run read all 1,834 produced after one). Absent with nothing to produce.
   */
  sealed?: boolean;
}

/**
 * Redrive dead letters: read every partition of `<topic>.dlq` for each topic (from its oldest retained record to
 * its end offset when the call started: dead letters written meanwhile, a redriven record's own among them, wait
 * for the next run), pick by the options, and produce each picked one's raw bytes to `topic` with its source key
 * (as text when its bytes are UTF-8, else none), on its source partition (where that partition exists; else by
 * key), with its source log timestamp and a {@link REDRIVE_HEADER} header.
 * @param dlqLog     Where the `.dlq` records are read and decoded (with a schema registry in front when the
 *                   pipeline writes Confluent framing).
 * @param sourceLog  Where the raw bytes are produced, as they are (no registry in front: they are framed already).
 * @returns per topic, in the order given.
 * @throws {RangeError} for no topic, a `.dlq` topic given as a source, or an empty error filter.
 * @throws whatever the logs throw ({@link BrokerUnavailableError} when Kafka is gone: what was produced stays; the
 *   in-process log refuses a topic this process sealed).
 */
export async function redriveDeadLetters(dlqLog: EventLog, sourceLog: EventLog, opts: RedriveOptions): Promise<TopicRedrive[]> {
  if (opts.topics.length === 0) throw new RangeError('topics: name at least one source topic');
  const asDlq = opts.topics.find((t) => t.endsWith('.dlq'));
  if (asDlq) throw new RangeError(`topic: ${JSON.stringify(asDlq)} is a dead-letter topic; name its source topic (${JSON.stringify(asDlq.slice(0, -4))})`);
  if (opts.errorContains !== undefined && opts.errorContains.trim() === '') throw new RangeError('errorContains: expected some text, got ""');
  const needle = opts.errorContains?.toLowerCase();
  const picked = (d: DeadLetter, at: number): boolean =>
    (needle === undefined || d.error.toLowerCase().includes(needle))
    && (opts.sinceMs === undefined || at >= opts.sinceMs)
    && (opts.untilMs === undefined || at < opts.untilMs);
  const out: TopicRedrive[] = [];
  let readSoFar = 0;
  // Each partition is read from its start, so a second copy comes after its first (or, retention having deleted that, is the first seen).
  const repeats = new LaneRepeats(new Set(opts.topics.map(dlqTopic)));
  for (const topic of opts.topics) {
    const dlq = dlqTopic(topic);
    const result: TopicRedrive = { topic, dlq, read: 0, matched: 0, produced: 0, without_bytes: 0, empty: 0, undecodable: 0, undecodable_reason: null, redrive_copies: 0, repeated: 0, first_ts: null, last_ts: null, letters: [] };
    out.push(result);
    const dlqPartitions = (await dlqLog.partitionCount(dlq)) ?? 0;
    const sourcePartitions = opts.dryRun ? 0 : ((await sourceLog.partitionCount(topic)) ?? 0);
    for (let p = 0; p < dlqPartitions; p++) {
      const end = await dlqLog.endOffset({ topic: dlq, partition: p });
      for (let from = 0; from < end; from += READ_CHUNK) {
        const records = await dlqLog.read({ topic: dlq, partition: p }, from, Math.min(end, from + READ_CHUNK));
        const batch: ProduceRecord[] = [];
        for (const r of records) {
          result.read++;
          if (repeats.copyOf(r) !== null) {
            result.repeated++;
            continue;
          }
          const decoded = decodeLogRecord(r);
          if (!decoded.ok) {
            result.undecodable++;
            result.undecodable_reason ??= decoded.path !== '' && !decoded.reason.startsWith(decoded.path) ? `${decoded.path}: ${decoded.reason}` : decoded.reason;
            continue;
          }
          const d = decoded.value as unknown as DeadLetter;
          if (d.error.includes(REDRIVE_ERROR_MARK)) {
            result.redrive_copies++;
            continue;
          }
          if (!picked(d, r.timestampMs)) continue;
          result.matched++;
          result.first_ts = Math.min(result.first_ts ?? r.timestampMs, r.timestampMs);
          result.last_ts = Math.max(result.last_ts ?? r.timestampMs, r.timestampMs);
          const raw = Buffer.from(d.raw_b64, 'base64');
          if (result.letters.length < LISTED) result.letters.push({ dlq_partition: r.partition, dlq_offset: r.offset, partition: d.partition, offset: d.offset, ts: d.ts, dead_lettered_ts: r.timestampMs, bytes: raw.length, error: d.error });
          if (raw.length === 0) {
            // A dlq record too large for Kafka left its bytes out and says so in its error; else the source value was empty.
            if (d.error.includes('raw bytes left out of this record')) result.without_bytes++;
            else result.empty++;
            continue;
          }
          const key = sourceKeyText(d.key_b64);
          // A key that is not UTF-8 text goes back as its bytes (a trial: produced without a key, the record then failed
          // with "record key null" instead of its own error), to its partition (key === null below).
          const wireKey = key === null && d.key_b64 !== null ? Buffer.from(d.key_b64, 'base64') : undefined;
          batch.push({
            key, ...(wireKey === undefined ? {} : { wireKey }), value: raw, timestampMs: d.ts,
            ...(d.partition < sourcePartitions || key === null ? { partition: d.partition % Math.max(sourcePartitions, 1) } : {}),
            headers: { [REDRIVE_HEADER]: `${dlq}:${r.partition}:${r.offset}` },
          });
        }
        if (!opts.dryRun && batch.length > 0) {
          await sourceLog.produce(topic, batch);
          result.produced += batch.length;
        }
        readSoFar += records.length;
        opts.onProgress?.(readSoFar);
        // Retention may have deleted the head: a read returns what is left from `from` on, so the chunk is done.
      }
    }
    if (result.matched - result.without_bytes - result.empty > 0) result.sealed = await sourceLog.isSealed(topic);
  }
  return out;
}

