import type { EventLog } from '../../services/eventlog/types.ts';
import { compareSeq, type Seq } from '../processor.ts';

/** Record headers that carry an emission's lane and position. */
export const LANE_HEADER = 'edgelat-lane';
export const SEQ_HEADER = 'edgelat-seq';

/**
 * Find, per lane, the last emission position already written to `topics`
 * (all partitions), so a restarted processor can drop what it re-emits while
 * it replays. Only lanes starting with `prefix` are kept.
 */
export async function lastSeqByLane(log: EventLog, topics: readonly string[], prefix: string): Promise<Map<string, Seq>> {
  const last = new Map<string, Seq>();
  for (const topic of topics) {
    const partitions = (await log.partitionCount(topic)) ?? 0;
    for (let partition = 0; partition < partitions; partition++) {
      const end = await log.endOffset({ topic, partition });
      for (const r of await log.read({ topic, partition }, 0, end)) {
        const lane = r.headers[LANE_HEADER];
        const seq = r.headers[SEQ_HEADER];
        if (!lane || !seq || !lane.startsWith(prefix)) continue;
        const s = JSON.parse(seq) as Seq;
        const prev = last.get(lane);
        if (!prev || compareSeq(s, prev) > 0) last.set(lane, s);
      }
    }
  }
  return last;
}
