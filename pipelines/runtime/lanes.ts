import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import { keyPartition, MAX_PRODUCE_BYTES, partitionKey, type EventLog, type LogRecord, type TopicPartition } from '../../services/eventlog/types.ts';
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

/**
 * Call `visit` with each record of one partition in [from, to), in offset order, reading 100,000 at a time (records
 * deleted by retention are skipped). @throws what `log.read` throws.
 */
export async function forEachRecord(log: EventLog, tp: TopicPartition, from: number, to: number, visit: (r: LogRecord) => void): Promise<void> {
  for (let at = Math.max(0, from); at < to; at += SCAN_CHUNK) {
    for (const r of await log.read(tp, at, Math.min(to, at + SCAN_CHUNK))) visit(r);
  }
}

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
 * @param accept  Whether a kept record's position (given parsed) counts (after `check`): a record another producer wrote under the
 *                lane (a forged or garbled header) must not stop the lane's output at its position. @default all
 * @returns `last`, updated in place.
 * @throws what `log.read` throws (the first failure; the other reads are waited for).
 */
export async function scanLanes(
  log: EventLog, ranges: readonly LaneRange[], keep: (lane: string) => boolean, last: Map<string, Seq> = new Map(),
  check?: (lane: string, headers: Readonly<Record<string, string>>, topic: string) => void,
  accept?: (r: LogRecord, seq: Seq) => boolean,
): Promise<Map<string, Seq>> {
  const limit = pLimit(SCAN_PARALLEL);
  const scans = ranges.map(({ topic, partition, from, to }) => limit(() => forEachRecord(log, { topic, partition }, from, to, (r) => {
    const lane = r.headers[LANE_HEADER];
    const s = parseSeq(r.headers[SEQ_HEADER]);
    if (!lane || !s || !keep(lane)) return;
    check?.(lane, r.headers, topic);
    if (accept && !accept(r, s)) return;
    const prev = last.get(lane);
    if (!prev || compareSeq(s, prev) > 0) last.set(lane, s);
  })));
  const settled = await Promise.allSettled(scans);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return last;
}

/**
 * How many of a partition's latest records {@link LaneRepeats} compares a record with, and reads back before a
 * resume offset. A producer's retried send (a broker stall past the request timeout, without an idempotent
 * producer) lands right after its first copy: edgelat's producers send one request at a time (kafka.ts `produce`),
 * each at most `MAX_PRODUCE_BYTES`, and an output record with its lane, position and settings headers is over 100
 * bytes, so a request holds at most 9,000 records; twice that (18,000) leaves room for other members' records
 * between the copies.
 */
export const REPEAT_LOOKBACK_RECORDS = 2 * Math.ceil(MAX_PRODUCE_BYTES / 100);

/** A record's identity as a copy would repeat it: its lane, its position's text and its bytes (SHA-1, 96 bits). */
function copyKey(lane: string, seqText: string, r: LogRecord): string {
  return createHash('sha1').update(lane).update('\n').update(seqText).update('\n').update(r.wireValue ?? r.value).digest('base64').slice(0, 16);
}

/** One partition's latest records with a lane: their keys in read order (a ring) and the offset each was read at. */
interface CopyWindow {
  ring: (string | undefined)[];
  head: number;
  offsetOf: Map<string, number>;
}

/**
 * Finds second copies of edgelat's output records: a record whose lane, position (`edgelat-lane`, `edgelat-seq`
 * headers) and bytes equal those of one among the {@link REPEAT_LOOKBACK_RECORDS} latest records with a lane read in
 * its partition. Within a lane positions strictly increase (processor.ts `Emit`), so two such records are one
 * written twice — a send retried by a producer without idempotence after a broker stall, or the output a member
 * emitted after losing its partition to one that had already emitted it (deterministic: the same bytes). Only an
 * exact copy matches: a record with a forged or garbled position, or another record under a real one, is no copy
 * (it is read, decoded or dead-lettered as any other). Records of topics not looked at (telemetry), and records
 * without both headers, are never copies.
 */
export class LaneRepeats {
  /** Per partition (`topic:partition`). */
  private readonly windows = new Map<string, CopyWindow>();

  /**
   * @param topics  The topics whose records are looked at (edgelat's output topics, `OUTPUT_TOPICS`); others' never repeat.
   * @param size    Records with a lane remembered per partition. @default REPEAT_LOOKBACK_RECORDS
   */
  constructor(private readonly topics: ReadonlySet<string>, private readonly size = REPEAT_LOOKBACK_RECORDS) {}

  /**
   * Start a partition afresh at `offset` (an assignment): its window filled from the {@link REPEAT_LOOKBACK_RECORDS}
   * records before it. Nothing is read for a topic not looked at.
   * @throws what `log.read` throws.
   */
  async seed(log: EventLog, tp: TopicPartition, offset: number): Promise<void> {
    if (!this.topics.has(tp.topic)) return;
    this.windows.delete(partitionKey(tp));
    await forEachRecord(log, tp, offset - this.size, offset, (r) => void this.copyOf(r));
  }

  /** Forget a partition (revoked). */
  forget(tp: TopicPartition): void {
    this.windows.delete(partitionKey(tp));
  }

  /**
   * The offset of the record `r` is a second copy of, or null when it is none (it then joins the window). Records
   * must be given in offset order, each once; a partition not seeded starts empty (read from its first record).
   */
  copyOf(r: LogRecord): number | null {
    if (!this.topics.has(r.topic)) return null;
    const lane = r.headers[LANE_HEADER];
    const seqText = r.headers[SEQ_HEADER];
    if (!lane || seqText === undefined) return null;
    const key = copyKey(lane, seqText, r);
    const id = partitionKey(r);
    let w = this.windows.get(id);
    if (!w) this.windows.set(id, (w = { ring: new Array<string | undefined>(this.size), head: 0, offsetOf: new Map() }));
    const first = w.offsetOf.get(key);
    if (first !== undefined) return first;
    const evicted = w.ring[w.head];
    if (evicted !== undefined) w.offsetOf.delete(evicted);
    w.ring[w.head] = key;
    w.head = (w.head + 1) % this.size;
    w.offsetOf.set(key, r.offset);
    return null;
  }
}

/** Second copies skipped, gathered for one log line per partition: the copies' offsets and those of their first copies. */
export class SkippedCopies {
  private readonly byPartition = new Map<string, { offsets: number[]; of: number[] }>();

  /** Note that the record at `r.offset` was skipped as a copy of the one at `of`. */
  add(r: TopicPartition & { offset: number }, of: number): void {
    const key = partitionKey(r);
    let e = this.byPartition.get(key);
    if (!e) this.byPartition.set(key, (e = { offsets: [], of: [] }));
    e.offsets.push(r.offset);
    e.of.push(of);
  }

  /** Log a warning per partition noted since the last flush (offset ranges, inclusive), then forget them. */
  flush(logger: Logger | undefined, pipeline: string): void {
    for (const [key, e] of this.byPartition) {
      logger?.warn({ pipeline, ...keyPartition(key), offsets: compactOffsets(e.offsets), copies_of: compactOffsets([...e.of].sort((a, b) => a - b)) },
        'records skipped as second copies of records read before them (same lane, position and bytes: a send retried by a producer without idempotence, or output written again by a member that had lost its partition)');
    }
    this.byPartition.clear();
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
