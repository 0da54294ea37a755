import pLimit from 'p-limit';
import { MAX_PRODUCE_BYTES, partitionKey, type EventLog, type LogRecord, type TopicPartition } from '../../services/eventlog/types.ts';
import { compareSeq, type Seq } from '../processor.ts';

/** Record headers that carry an emission's lane and position. */
export const LANE_HEADER = 'edgelat-lane';
/** Record header with the emission's position within its lane (a `Seq`, compared by `compareSeq`). */
export const SEQ_HEADER = 'edgelat-seq';
/** Record header with the settings of the processor that emitted the record (Processor.settings). */
export const SETTINGS_HEADER = 'edgelat-settings';

/**
 * A lane position from its header text: a JSON array of finite numbers and strings; null for anything else (a
 * header another producer wrote, which then marks no lane position rather than stopping the reader).
 */
export function parseSeq(text: string | undefined): Seq | null {
  if (text === undefined) return null;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' || Number.isFinite(x)) ? (v as Seq) : null;
}

/** Records read per request while scanning lanes: bounds memory on large topics. */
const SCAN_CHUNK = 100_000;
/**
 * Partition ranges read at once while scanning lanes (an event log may serve reads in parallel; Kafka's run one
 * after another on one connection, kafka-fetch.ts). At most this many chunks (SCAN_CHUNK records each) are held at once.
 */
const SCAN_PARALLEL = 4;

/** One partition range [from, to) of an output topic to scan for lanes. */
export interface LaneRange {
  topic: string;
  partition: number;
  from: number;
  to: number;
}

/**
 * Raise `last` to the last emission position of each lane found in `ranges`
 * (only lanes for which `keep(lane)` holds), reading in chunks of 100,000 records, up to 4 ranges at
 * once (records deleted by retention are skipped). The result does not depend on the order reads end in.
 * @param check  Called with each kept record's lane, headers and topic; what it throws ends the scan.
 * @returns `last`, updated in place.
 * @throws what `log.read` throws (the first failure; the other reads are waited for).
 */
export async function scanLanes(
  log: EventLog, ranges: readonly LaneRange[], keep: (lane: string) => boolean, last: Map<string, Seq> = new Map(),
  check?: (lane: string, headers: Readonly<Record<string, string>>, topic: string) => void,
): Promise<Map<string, Seq>> {
  const limit = pLimit(SCAN_PARALLEL);
  const scans = ranges.map(({ topic, partition, from, to }) => limit(async () => {
    for (let at = Math.max(0, from); at < to; at += SCAN_CHUNK) {
      for (const r of await log.read({ topic, partition }, at, Math.min(to, at + SCAN_CHUNK))) {
        const lane = r.headers[LANE_HEADER];
        const s = parseSeq(r.headers[SEQ_HEADER]);
        if (!lane || !s || !keep(lane)) continue;
        check?.(lane, r.headers, topic);
        const prev = last.get(lane);
        if (!prev || compareSeq(s, prev) > 0) last.set(lane, s);
      }
    }
  }));
  const settled = await Promise.allSettled(scans);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return last;
}

/**
 * Find, per lane, the last emission position already written to `topics`
 * (all partitions, from their beginning), so a restarted run can drop what it
 * re-emits while it replays. Only lanes starting with `prefix` are kept.
 * For small topics (dead-letter topics); processors bound the scan with their
 * checkpoints (run-processor.ts).
 */
export async function lastSeqByLane(log: EventLog, topics: readonly string[], prefix: string): Promise<Map<string, Seq>> {
  const ranges: LaneRange[] = [];
  for (const topic of topics) {
    const partitions = (await log.partitionCount(topic)) ?? 0;
    for (let partition = 0; partition < partitions; partition++) ranges.push({ topic, partition, from: 0, to: await log.endOffset({ topic, partition }) });
  }
  return scanLanes(log, ranges, (lane) => lane.startsWith(prefix));
}

/**
 * How far before a partition's resume offset {@link LaneRepeats.seed} reads, records. A producer's retried send
 * (a broker stall past the request timeout, without an idempotent producer) lands right after its first copy:
 * edgelat's producers send one request at a time (kafka.ts `produce`), each at most `MAX_PRODUCE_BYTES`, and an
 * output record with its lane, position and settings headers is over 100 bytes, so a request holds at most 9,000
 * records; twice that (18,000) leaves room for other members' records between the copies.
 */
export const REPEAT_LOOKBACK_RECORDS = 2 * Math.ceil(MAX_PRODUCE_BYTES / 100);

/**
 * Drops records of edgelat's output topics that repeat one already read: a record whose lane position
 * (`edgelat-lane`, `edgelat-seq` headers) is at or below the last one read for its lane in the same partition.
 * Within a lane positions strictly increase (processor.ts `Emit`), so only a second copy of a record has one —
 * a send retried by a producer without idempotence after a broker stall, or the output a member emitted after
 * losing its partition to one that had already emitted it — as a Kafka broker drops an idempotent producer's
 * sequence numbers at or below the last it wrote. Records of topics not looked at (telemetry), and records without
 * the headers or with a header that is no position, are never repeats.
 */
export class LaneRepeats {
  /** Per partition (`topic:partition`): the last position read of each lane. */
  private readonly last = new Map<string, Map<string, Seq>>();

  /** @param topics  The topics whose records are looked at (edgelat's output topics, `OUTPUT_TOPICS`); others' never repeat. */
  constructor(private readonly topics: ReadonlySet<string>) {}

  /**
   * Start a partition afresh at `offset` (an assignment): its lanes' positions read back from the
   * {@link REPEAT_LOOKBACK_RECORDS} records before it. Nothing is read for a topic not looked at.
   * @throws what `log.read` throws.
   */
  async seed(log: EventLog, tp: TopicPartition, offset: number): Promise<void> {
    if (!this.topics.has(tp.topic)) return;
    const lanes = new Map<string, Seq>();
    if (offset > 0) await scanLanes(log, [{ ...tp, from: Math.max(0, offset - REPEAT_LOOKBACK_RECORDS), to: offset }], () => true, lanes);
    this.last.set(partitionKey(tp), lanes);
  }

  /** Forget a partition (revoked). */
  forget(tp: TopicPartition): void {
    this.last.delete(partitionKey(tp));
  }

  /**
   * Whether `r` repeats a record read before it in its partition; otherwise its position (if any) becomes its
   * lane's last. Records must be given in offset order, each once; a partition not seeded starts empty (read from
   * its first record).
   */
  repeats(r: LogRecord): boolean {
    if (!this.topics.has(r.topic)) return false;
    const lane = r.headers[LANE_HEADER];
    if (!lane) return false;
    const seq = parseSeq(r.headers[SEQ_HEADER]);
    if (!seq) return false;
    const key = partitionKey(r);
    let lanes = this.last.get(key);
    if (!lanes) this.last.set(key, (lanes = new Map()));
    const prev = lanes.get(lane);
    if (prev && compareSeq(seq, prev) <= 0) return true;
    lanes.set(lane, seq);
    return false;
  }
}

/** Sorted offsets as ranges for a log line: `[[from, to], …]` (both inclusive). */
export function compactOffsets(offsets: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const o of offsets) {
    const last = out[out.length - 1];
    if (last && o === last[1] + 1) last[1] = o;
    else out.push([o, o]);
  }
  return out;
}
