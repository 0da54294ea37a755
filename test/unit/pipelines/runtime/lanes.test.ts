/**
 * scanLanes (pipelines/runtime/lanes.ts): a restarted processor finds the last
 * emission position of each of its lanes in its output partitions. The ranges
 * are read up to 4 at once. The positions found must not
 * depend on the order the reads end in, at most 4 reads may be in flight, and
 * a failed read fails the scan.
 */
import { describe, expect, it } from 'vitest';
import { compactOffsets, LANE_HEADER, LaneRepeats, parseSeq, REPEAT_LOOKBACK_RECORDS, SEQ_HEADER, scanLanes, type LaneRange } from '../../../../pipelines/runtime/lanes.ts';
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

  it('takes a position header that is no JSON array of numbers and strings for none, not a failure', async () => {
    const log = await outputLog();
    await log.produce(TOPIC, ['{', '[]', '[null]', '{"a":1}', '[1e999]', '[[1]]'].map((seq) => ({ key: null, partition: 0, value: Buffer.from('y'), headers: { [LANE_HEADER]: 'proc:a:0', [SEQ_HEADER]: seq } })));
    expect(await scanLanes(log, ranges(0, 20), keepProc)).toEqual(new Map([['proc:a:0', [4, 9]], ['proc:a:1', [5, 9]]]));
  });

  it('fails with the read\'s error when one read fails', async () => {
    const log = await outputLog();
    const broken = slowReads(log, () => 5, (tp) => tp.partition === 3);
    await expect(scanLanes(broken.log, ranges(), keepProc)).rejects.toThrow(`read of ${TOPIC}:3 failed`);
  });
});

describe('parseSeq', () => {
  it.each<[string | undefined, unknown]>([
    ['[1700000000000,12]', [1700000000000, 12]], ['[5,"edge-01|m",0]', [5, 'edge-01|m', 0]], ['[-1.5]', [-1.5]],
    [undefined, null], ['', null], ['{', null], ['[]', null], ['[null]', null], ['[true]', null], ['[1e999]', null], ['[[1]]', null], ['7', null], ['"7"', null],
  ])('%j → %j', (text, seq) => {
    expect(parseSeq(text)).toEqual(seq);
  });
});

describe('LaneRepeats', () => {
  const rec = (partition: number, offset: number, lane?: string, seq?: string) => ({
    topic: TOPIC, partition, offset, key: null, value: Buffer.from('v'), timestampMs: 0,
    headers: { ...(lane !== undefined ? { [LANE_HEADER]: lane } : {}), ...(seq !== undefined ? { [SEQ_HEADER]: seq } : {}) },
  });

  it('takes a position at or below its lane\'s last in the partition for a repeat; lanes and partitions apart; records without a position never', () => {
    const r = new LaneRepeats(new Set([TOPIC]));
    const seen = [
      rec(0, 0, 'p:a:0', '[1,0]'), rec(0, 1, 'p:a:0', '[1,1]'), rec(0, 2, 'p:b:0', '[1,0]'), rec(0, 3, 'p:a:0', '[1,0]'), rec(0, 4, 'p:a:0', '[1,1]'),
      rec(0, 5, 'p:a:0', '[1,2]'), rec(1, 0, 'p:a:0', '[1,0]'), rec(0, 6, 'p:a:0', '[0,9,"z"]'), rec(0, 7), rec(0, 8), rec(0, 9, 'p:a:0', 'junk'), rec(0, 10, 'p:a:0', 'junk'),
      rec(0, 11, 'p:a:0', '[1,2,"x"]'),
    ].map((x) => r.repeats(x));
    expect(seen).toEqual([false, false, false, true, true, false, false, true, false, false, false, false, false]);
    // A topic not looked at (telemetry) never repeats.
    const other = { ...rec(0, 12, 'p:a:0', '[1,0]'), topic: 'edge.inference.v1' };
    expect([r.repeats(other), r.repeats({ ...other, offset: 13 })]).toEqual([false, false]);
  });

  it(`learns a resumed partition's positions from the ${REPEAT_LOOKBACK_RECORDS} records before its offset`, async () => {
    const log = new MemoryEventLog({ defaultPartitions: 1, now: () => 0 });
    await log.ensureTopic(TOPIC, 1);
    // Offset 0: lane a at [5]; then REPEAT_LOOKBACK_RECORDS records of lane b.
    await log.produce(TOPIC, [{ key: null, partition: 0, value: Buffer.from('a'), headers: { [LANE_HEADER]: 'p:a:0', [SEQ_HEADER]: '[5]' } }]);
    await log.produce(TOPIC, Array.from({ length: REPEAT_LOOKBACK_RECORDS }, (_, i) => ({ key: null, partition: 0, value: Buffer.from('b'), headers: { [LANE_HEADER]: 'p:b:0', [SEQ_HEADER]: JSON.stringify([i]) } })));
    const tp = { topic: TOPIC, partition: 0 };
    const at = REPEAT_LOOKBACK_RECORDS + 1;
    const within = new LaneRepeats(new Set([TOPIC]));
    await within.seed(log, tp, at - 1); // reads [0, at - 1): lane a's [5] and lane b up to [at - 3]
    expect([within.repeats(rec(0, at, 'p:a:0', '[5]')), within.repeats(rec(0, at + 1, 'p:b:0', JSON.stringify([at - 3]))), within.repeats(rec(0, at + 2, 'p:b:0', JSON.stringify([at - 2])))]).toEqual([true, true, false]);
    const beyond = new LaneRepeats(new Set([TOPIC]));
    await beyond.seed(log, tp, at); // reads [1, at): lane a's record is past the look-back
    expect(beyond.repeats(rec(0, at, 'p:a:0', '[5]'))).toBe(false);
    expect(beyond.repeats(rec(0, at, 'p:b:0', JSON.stringify([at - 2])))).toBe(true);
    // Seeding again (a new assignment) starts afresh; forgetting drops the partition.
    await beyond.seed(log, tp, 0);
    expect(beyond.repeats(rec(0, 0, 'p:b:0', '[0]'))).toBe(false);
    beyond.forget(tp);
    expect(beyond.repeats(rec(0, 1, 'p:b:0', '[0]'))).toBe(false);
    // Nothing is read for a topic not looked at.
    const reads: number[] = [];
    const counting = new Proxy(log, { get: (t, p, rcv) => (p === 'read' ? (...a: Parameters<typeof log.read>) => (reads.push(a[1]), t.read(...a)) : Reflect.get(t, p, rcv)) });
    await new LaneRepeats(new Set(['elsewhere'])).seed(counting, tp, at);
    expect(reads).toEqual([]);
  });
});

describe('compactOffsets', () => {
  it('turns runs of consecutive offsets into inclusive ranges', () => {
    expect(compactOffsets([3, 4, 5, 9, 11, 12])).toEqual([[3, 5], [9, 9], [11, 12]]);
    expect(compactOffsets([])).toEqual([]);
  });
});
