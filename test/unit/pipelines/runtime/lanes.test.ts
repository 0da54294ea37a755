/**
 * scanLanes (pipelines/runtime/lanes.ts): a restarted processor finds the last
 * emission position of each of its lanes in its output partitions. The ranges
 * are read up to 4 at once. The positions found must not
 * depend on the order the reads end in, at most 4 reads may be in flight, and
 * a failed read fails the scan.
 */
import { describe, expect, it } from 'vitest';
import { LANE_HEADER, SEQ_HEADER, scanLanes, type LaneRange } from '../../../../pipelines/runtime/lanes.ts';
import { MemoryEventLog } from '../../../../services/eventlog/memory.ts';
import type { EventLog, LogRecord, TopicPartition } from '../../../../services/eventlog/types.ts';

const TOPIC = 'analytics.out';
const PARTITIONS = 6;

/** A log of 6 partitions; partition p holds lane `proc:a:<p mod 2>` at seqs [p, 0..9] and lane `other:<p>` at [99]. */
async function outputLog(): Promise<MemoryEventLog> {
  const log = new MemoryEventLog({ defaultPartitions: PARTITIONS, now: () => 0 });
  await log.ensureTopic(TOPIC, PARTITIONS);
  for (let p = 0; p < PARTITIONS; p++) {
    const records = Array.from({ length: 10 }, (_, i) => ({
      key: null, partition: p, value: Buffer.from(`r${p}.${i}`),
      headers: { [LANE_HEADER]: `proc:a:${p % 2}`, [SEQ_HEADER]: JSON.stringify([p, i]) },
    }));
    records.push({ key: null, partition: p, value: Buffer.from('x'), headers: { [LANE_HEADER]: `other:${p}`, [SEQ_HEADER]: '[99]' } });
    await log.produce(TOPIC, records);
  }
  return log;
}

/** The log, with reads that end after `delayMs(partition)` ms, counting the reads in flight. */
function slowReads(log: EventLog, delayMs: (tp: TopicPartition) => number, fail?: (tp: TopicPartition) => boolean): { log: EventLog; maxInFlight: () => number } {
  let inFlight = 0;
  let max = 0;
  const wrapped = new Proxy(log, {
    get(target, prop, receiver) {
      if (prop !== 'read') return Reflect.get(target, prop, receiver);
      return async (tp: TopicPartition, from: number, to: number): Promise<LogRecord[]> => {
        inFlight++;
        max = Math.max(max, inFlight);
        try {
          await new Promise((r) => setTimeout(r, delayMs(tp)));
          if (fail?.(tp)) throw new Error(`read of ${tp.topic}:${tp.partition} failed`);
          return await target.read(tp, from, to);
        } finally {
          inFlight--;
        }
      };
    },
  });
  return { log: wrapped, maxInFlight: () => max };
}

const ranges = (from = 0, to = 11): LaneRange[] => Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: TOPIC, partition, from, to }));
const keepProc = (lane: string) => lane.startsWith('proc:');

describe('scanLanes', () => {
  it('finds each lane\'s last position whatever order the reads end in, with at most 4 in flight', async () => {
    const log = await outputLog();
    // Lane proc:a:0 is in partitions 0, 2, 4 (last seqs [0,9], [2,9], [4,9]); proc:a:1 in 1, 3, 5.
    const expected = new Map([['proc:a:0', [4, 9]], ['proc:a:1', [5, 9]]]);
    const inOrder = slowReads(log, () => 0);
    expect(await scanLanes(inOrder.log, ranges(), keepProc)).toEqual(expected);
    // The highest partitions' reads end first.
    const reversed = slowReads(log, (tp) => 10 * (PARTITIONS - tp.partition));
    expect(await scanLanes(reversed.log, ranges(), keepProc)).toEqual(expected);
    expect(reversed.maxInFlight()).toBe(4);
  });

  it('reads only [from, to) of each range and raises the positions it is given', async () => {
    const log = await outputLog();
    // Offsets 0..4 hold seqs [p, 0..4]: the last of lane proc:a:0 is then [4, 4], of proc:a:1 [5, 4].
    const last = new Map([['proc:a:1', [5, 7] as const], ['proc:a:0', [0, 1] as const]]);
    const found = await scanLanes(log, ranges(0, 5), keepProc, last);
    expect(found).toBe(last);
    expect(found).toEqual(new Map([['proc:a:1', [5, 7]], ['proc:a:0', [4, 4]]]));
  });

  it('fails with the read\'s error when one read fails', async () => {
    const log = await outputLog();
    const broken = slowReads(log, () => 5, (tp) => tp.partition === 3);
    await expect(scanLanes(broken.log, ranges(), keepProc)).rejects.toThrow(`read of ${TOPIC}:3 failed`);
  });
});
