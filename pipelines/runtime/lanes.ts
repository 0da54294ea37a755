import type { EventLog } from '../../services/eventlog/types.ts';
import { compareSeq, type Seq } from '../processor.ts';

/** Record headers that carry an emission's lane and position. */
export const LANE_HEADER = 'edgelat-lane';
export const SEQ_HEADER = 'edgelat-seq';

/** Records read per request while scanning lanes: bounds memory on large topics (a Kafka read costs a group join, so not small). */
const SCAN_CHUNK = 100_000;

/** One partition range [from, to) of an output topic to scan for lanes. */
export interface LaneRange {
  topic: string;
  partition: number;
  from: number;
  to: number;
}

/**
 * Raise `last` to the last emission position of each lane found in `ranges`
 * (only lanes for which `keep(lane)` holds), reading in chunks of 100,000 records (records deleted by retention are skipped).
 * @returns `last`, updated in place.
 */
export async function scanLanes(log: EventLog, ranges: readonly LaneRange[], keep: (lane: string) => boolean, last: Map<string, Seq> = new Map()): Promise<Map<string, Seq>> {
  for (const { topic, partition, from, to } of ranges) {
    for (let at = Math.max(0, from); at < to; at += SCAN_CHUNK) {
      for (const r of await log.read({ topic, partition }, at, Math.min(to, at + SCAN_CHUNK))) {
        const lane = r.headers[LANE_HEADER];
        const seq = r.headers[SEQ_HEADER];
        if (!lane || !seq || !keep(lane)) continue;
        const s = JSON.parse(seq) as Seq;
        const prev = last.get(lane);
        if (!prev || compareSeq(s, prev) > 0) last.set(lane, s);
      }
    }
  }
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
