import pLimit from 'p-limit';
import type { EventLog } from '../../services/eventlog/types.ts';
import { compareSeq, type Seq } from '../processor.ts';

/** Record headers that carry an emission's lane and position. */
export const LANE_HEADER = 'edgelat-lane';
/** Record header with the emission's position within its lane (a `Seq`, compared by `compareSeq`). */
export const SEQ_HEADER = 'edgelat-seq';
/** Record header with the settings of the processor that emitted the record (Processor.settings). */
export const SETTINGS_HEADER = 'edgelat-settings';

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
        const seq = r.headers[SEQ_HEADER];
        if (!lane || !seq || !keep(lane)) continue;
        check?.(lane, r.headers, topic);
        const s = JSON.parse(seq) as Seq;
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
