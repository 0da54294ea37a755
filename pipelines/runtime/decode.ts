import { quoteValue } from '../../schemas/json.ts';
import { decodeEvolved, type DecodeResult } from '../../schemas/index.ts';
import { partitionForKey } from '../../services/eventlog/murmur2.ts';
import { NULL_VALUE_HEADER, WIRE_ERROR_HEADER, type EventLog, type LogRecord } from '../../services/eventlog/types.ts';
import { kindOfTopic, OUTPUT_TOPICS } from '../topics.ts';

/**
 * Checks on a record beyond its schema, shared by every consumer of a topic so they agree on what is dead: each
 * check reads the record alone (its fields, key and log timestamp), never the reader's clock, so the join, the
 * sink and any replay after a restart decide the same, whenever they read it.
 */
export interface RecordChecks {
  /**
   * Max amount by which a record's event time (`ts`, and a shadow result's `request_ts`) may run ahead of its log
   * timestamp, ms; a record further ahead (a device clock in the future) would drag its partition's watermark
   * forward and make the records behind it late. Skipped when the log timestamp is not a plausible epoch time.
   * The log timestamp is the time the log took the record in only where the topic says so (Kafka's
   * `message.timestamp.type=LogAppendTime`; the in-process log's own stamp): a producer that stamps CreateTime
   * with the same fast clock as `ts` is not caught here (see README, Event time and watermarks).
   * @default 3600000 (1 h)
   */
  maxEventTimeAheadMs?: number;
}

/**
 * The partition counts of `topics`: a topic the log does not have is left out.
 * @throws whatever the log's `partitionCount` throws (the broker is unreachable).
 */
export async function partitionCounts(log: Pick<EventLog, 'partitionCount'>, topics: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const topic of new Set(topics)) {
    const n = await log.partitionCount(topic);
    if (n !== null && n > 0) counts.set(topic, n);
  }
  return counts;
}

/**
 * Whether a record keyed by a server sits where Kafka's default partitioner puts its key (murmur2, as the Java
 * client, kafkajs's default and edgelat's own producers pick it). The join and shadow-compare read each partition
 * alone, so one server's inference events and load samples meet only when both topics put its key on the same
 * partition. A trial produced inference events with kcat (librdkafka's default partitioner, CRC32) beside the
 * simulator's load samples: edge-01's events came to partition 2, its load to partition 1, and the events were
 * enriched with no load, silently. Not a dead letter: the record is valid, and a producer with another partitioner
 * that is consistent across the topics (librdkafka's CRC32 on both), or a topic whose partitions were added after it
 * was written, still joins right.
 * @param partitions  Partition count per topic ({@link partitionCounts}); a topic not in it, or of one partition, is not checked.
 * @param consumer    The processor reading it, whose consequence the warning tells ('shadow-compare': pairing; else the join's).
 * @returns null when the record is where murmur2 puts its key (or the key is null), else a warning naming both partitions.
 */
export function misplacedKey(r: Pick<LogRecord, 'topic' | 'partition' | 'key'>, partitions: ReadonlyMap<string, number>, consumer?: string): string | null {
  const n = partitions.get(r.topic);
  if (r.key === null || n === undefined || n < 2) return null;
  const expected = partitionForKey(r.key, n);
  if (r.partition === expected) return null;
  const consequence = consumer === 'shadow-compare'
    ? 'shadow-compare reads each partition alone, so this server\'s shadow results pair with its production events only if both topics place its key alike '
      + '(else both sides are counted unpaired); '
    : 'the join reads each partition alone, so this server\'s records meet only if every input topic places its key alike, '
      + 'and its enriched records, ahead of the other servers\' there, can make theirs late to the correlation; ';
  return `record key ${JSON.stringify(r.key)} is on partition ${r.partition} of ${r.topic}, where Kafka's default partitioner (murmur2) puts it on ${expected} of ${n}: `
    + consequence
    + 'produce with the murmur2 partitioner (librdkafka clients such as confluent-kafka and kcat: partitioner=murmur2_random; kafkajs: its default, not the LegacyPartitioner)';
}

const PLAUSIBLE_LOG_TIME_MS = Date.UTC(2000, 0, 1);

/**
 * The time a record moves its partition's watermark by, epoch ms: its event time, but never past its
 * log timestamp. An event is logged after it happened, so event time ahead of the log time is a device
 * clock running fast; taken as is, one such record (up to `maxEventTimeAheadMs` ahead) would raise the
 * watermark of its whole partition and make the other servers' records there late. The record itself
 * keeps its event time for windows and joins. A log timestamp before 2000 (none set, as in an
 * in-memory log) leaves the event time as is.
 * @param ts              The record's event time, epoch ms.
 * @param logTimestampMs  The record's log timestamp, epoch ms.
 */
export function watermarkTime(ts: number, logTimestampMs: number): number {
  return logTimestampMs >= PLAUSIBLE_LOG_TIME_MS ? Math.min(ts, logTimestampMs) : ts;
}

/** Least jump of a partition's watermark by one fast-clock record that {@link fastClockJump} says, ms. */
export const WATERMARK_JUMP_WARN_MS = 5 * 60_000;

/**
 * What to say when one record whose event time is ahead of its log time (a device clock running fast) moves its
 * partition's watermark ahead by at least {@link WATERMARK_JUMP_WARN_MS} at once, while the log time moved less than
 * half as far since the partition's previous record: capped at its log time ({@link watermarkTime}), that is harmless
 * live, but in a backlog produced after the fact (log times far past the event times) the partition's records behind
 * the new watermark are then late (a trial: one record 30 min fast made 60 of its own server's 243 records late, and
 * closed its alert as if it had stopped, without a word). A partition that resumes after a pause moves its log time as
 * far as its watermark: not said. null otherwise.
 * @param ts              The record's event time, epoch ms.
 * @param logTimestampMs  Its log timestamp, epoch ms.
 * @param previousMaxMs   The partition's newest watermark time before it, epoch ms (-Infinity: none yet).
 * @param previousLogMs   The log timestamp of the partition's previous record, epoch ms (-Infinity: none this run).
 */
export function fastClockJump(ts: number, logTimestampMs: number, previousMaxMs: number, previousLogMs: number): string | null {
  const at = watermarkTime(ts, logTimestampMs);
  const jump = at - previousMaxMs;
  if (!(ts > at) || !Number.isFinite(jump) || jump < WATERMARK_JUMP_WARN_MS || !(logTimestampMs - previousLogMs < jump / 2)) return null;
  const min = (ms: number) => `${(ms / 60_000).toFixed(1)} min`;
  return `event time ${new Date(ts).toISOString()} is ${min(ts - logTimestampMs)} past the record's log time (its clock runs fast), which moved the partition's watermark ${min(jump)} ahead at once, `
    + `to that log time less the out-of-orderness bound: the partition's records behind it go to late_events (a backlog produced after its event times reads as late behind one fast record; produce telemetry as it happens, or fix the clock)`;
}

/**
 * Decode a log record with its topic's codec and apply the runtime checks:
 * telemetry topics must be keyed by `edge_server_id` (the join and the
 * windows are per partition, so a record keyed otherwise would meet the
 * wrong state), event time (`ts`, and a shadow result's `request_ts`) may not run far ahead of the log timestamp,
 * nor a shadow's `request_ts` far after its `ts`; these time checks are the telemetry's: edgelat's output topics
 * (`OUTPUT_TOPICS`) carry event times taken in already. The result is a function of the record alone (no clock is
 * read), so every reader of a topic, and every replay, dead-letters the same records.
 *
 * Behaviour: single-object Avro written with an older or newer version of the
 * topic's schema is read through Avro schema resolution when that version is in
 * the process-wide writer-schema registry (`defaultWriterSchemas()`, case C11;
 * services/eventlog/confluent-wire.ts registers the versions it fetches from a
 * Confluent Schema Registry). An unregistered fingerprint is a dead letter whose
 * reason quotes the fingerprint; the current version and JSON read as before.
 * @param r       The record as the event log delivered it; `r.topic` picks the record kind.
 * @param checks  See {@link RecordChecks}.
 * @returns the decoded value in the current schema's shape, or `{ok: false, path, reason}` (a dead letter).
 * @throws {RangeError} only if `r.topic` is not an edgelat topic (a programmer error); data errors never throw.
 * @see decodeEvolved in schemas/resolve.ts
 */
export function decodeLogRecord(r: LogRecord, checks: RecordChecks = {}): DecodeResult<Record<string, unknown>> {
  const kind = kindOfTopic(r.topic);
  const decoded = decodeEvolved(kind, r.value) as DecodeResult<Record<string, unknown>>;
  if (!decoded.ok && r.value.length === 0 && r.headers?.[NULL_VALUE_HEADER] !== undefined) {
    return { ok: false, path: '', reason: 'null value (a tombstone): telemetry topics carry records, not deletions; nothing to decode' };
  }
  const wire = r.headers?.[WIRE_ERROR_HEADER];
  if (!decoded.ok && wire !== undefined) {
    // The schema registry's side of it (services/eventlog/confluent-convert.ts): the codec alone would only say the framing is not its own.
    return { ok: false, path: '', reason: `confluent schema-registry framing: ${wire}; the value is kept as it came` };
  }
  if (!decoded.ok || kind === 'DeadLetter') return decoded;
  const value = decoded.value;
  const server = value.edge_server_id;
  if (typeof server === 'string' && r.wireKey !== undefined) {
    return { ok: false, path: 'key', reason: `key: record key bytes ${quoteValue(r.wireKey.subarray(0, 64).toString('hex'))}${r.wireKey.length > 64 ? ` (${r.wireKey.length} bytes)` : ''} are not utf-8 text, so they cannot equal edge_server_id ${quoteValue(server)}; telemetry topics must be keyed by edge_server_id` };
  }
  if (typeof server === 'string' && r.key !== server) {
    // Quoted short (quoteValue): a trial's 700 KB key, quoted whole, made a dead letter above a Kafka message's limit.
    return { ok: false, path: 'key', reason: `key: record key ${quoteValue(r.key)}${r.key !== null && r.key.length > 80 ? ` (${r.key.length} characters)` : ''} does not equal edge_server_id ${quoteValue(server)}; telemetry topics must be keyed by edge_server_id` };
  }
  // edgelat's own outputs carry event times its processors took in already, and their log time is when they were
  // made: an enriched record of an input up to 2 h ahead (1 h past its log time, which is 1 h past the clock) failed
  // against it, and was dead-lettered by the readers or re-emitted after a restart (a re-test).
  if (OUTPUT_TOPICS.has(r.topic)) return decoded;
  const ahead = checks.maxEventTimeAheadMs ?? 3_600_000;
  // No check against the reader's clock: one of the log timestamp against Date.now() at each read made a record
  // 1 h 10 s ahead dead for the join and, read 30 s later, a good row for the sink (in inference_events, in no
  // enriched row, no late event and no dead letter). The log timestamp is what every reader sees alike.
  // A shadow result's request_ts (the production request's arrival) places it in its window as ts places other records:
  // one far in the future would be held, and hold its partition's commit back, until then (a trial: a request_ts in 2100).
  for (const field of ['ts', 'request_ts'] as const) {
    const t = value[field];
    if (typeof t === 'number' && r.timestampMs >= PLAUSIBLE_LOG_TIME_MS && t - r.timestampMs > ahead) {
      return {
        ok: false,
        path: field,
        reason: `${field}: value ${t} is ${t - r.timestampMs} ms ahead of the record's log timestamp ${r.timestampMs} (more than ${ahead} ms: a device clock in the future?)`,
      };
    }
  }
  if (typeof value.request_ts === 'number' && typeof value.ts === 'number' && value.request_ts - value.ts > ahead) {
    return {
      ok: false,
      path: 'request_ts',
      reason: `request_ts: value ${value.request_ts} is ${value.request_ts - value.ts} ms after the result's own ts ${value.ts} (more than ${ahead} ms): `
        + 'a shadow receives a request after production did, so its ts comes after the request\'s (beyond clock skew)',
    };
  }
  return decoded;
}
