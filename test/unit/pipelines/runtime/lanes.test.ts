/**
 * scanLanes (pipelines/runtime/lanes.ts): a restarted processor finds the last
 * emission position of each of its lanes in its output partitions. The ranges
 * are read up to 4 at once. The positions found must not
 * depend on the order the reads end in, at most 4 reads may be in flight, and
 * a failed read fails the scan.
 */
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { compactOffsets, LANE_HEADER, LaneRepeats, parseSeq, REPEAT_LOOKBACK_RECORDS, SEQ_HEADER, scanLanes, SkippedCopies, type LaneRange } from '../../../../pipelines/runtime/lanes.ts';
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

  it('takes positions only from records `accept` takes, after `check` saw them', async () => {
    const log = await outputLog();
    await log.produce(TOPIC, [{ key: null, partition: 0, value: Buffer.from('forged'), headers: { [LANE_HEADER]: 'proc:a:0', [SEQ_HEADER]: '[9000000000000000]' } }]);
    const checked: string[] = [];
    const found = await scanLanes(log, ranges(0, 20), keepProc, new Map(), (lane) => void checked.push(lane), (r) => r.value.toString() !== 'forged');
    expect(found).toEqual(new Map([['proc:a:0', [4, 9]], ['proc:a:1', [5, 9]]]));
    expect(checked).toHaveLength(61);
    expect(await scanLanes(log, ranges(0, 20), keepProc)).toEqual(new Map([['proc:a:0', [9000000000000000]], ['proc:a:1', [5, 9]]]));
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
  const rec = (partition: number, offset: number, lane?: string, seq?: string, value = 'v', topic = TOPIC) => ({
    topic, partition, offset, key: null, value: Buffer.from(value), timestampMs: 0,
    headers: { ...(lane !== undefined ? { [LANE_HEADER]: lane } : {}), ...(seq !== undefined ? { [SEQ_HEADER]: seq } : {}) },
  });

  it('finds exact copies (lane, position and bytes) and names the first; anything else is no copy', () => {
    const r = new LaneRepeats(new Set([TOPIC]));
    const seen = [
      rec(0, 0, 'p:a:0', '[1,0]', 'x'), rec(0, 1, 'p:a:0', '[1,1]', 'y'), rec(0, 2, 'p:b:0', '[1,0]', 'x'),
      rec(0, 3, 'p:a:0', '[1,0]', 'x'), rec(0, 4, 'p:a:0', '[1,1]', 'y'), // a retried send: copies of 0 and 1
      rec(0, 5, 'p:a:0', '[1,0]', 'other bytes'), // another record under a real position: kept
      rec(1, 6, 'p:a:0', '[1,0]', 'x'), // another partition
      rec(0, 7, 'p:a:0', '[9000000000000000,0]', 'forged'), rec(0, 8, 'p:a:0', '[1,2]', 'z'), // a forged position stops nothing
      rec(0, 9), rec(0, 10), rec(0, 11, 'p:a:0', undefined, 'x'), rec(0, 12, undefined, '[1,0]', 'x'), // no lane or position: never
      rec(0, 13, 'p:a:0', 'junk', 'j'), rec(0, 14, 'p:a:0', 'junk', 'j'), // a garbled position copied: a copy all the same
      rec(0, 15, 'p:a:0', '[1,0]', 'x', 'edge.inference.v1'), rec(0, 16, 'p:a:0', '[1,0]', 'x', 'edge.inference.v1'), // a topic not looked at
    ].map((x) => r.copyOf(x));
    expect(seen).toEqual([null, null, null, 0, 1, null, null, null, null, null, null, null, null, null, 13, null, null]);
  });

  it('remembers the latest records of a partition only; a seeded partition, those before its offset', async () => {
    const small = new LaneRepeats(new Set([TOPIC]), 3);
    expect([0, 1, 2, 3].map((i) => small.copyOf(rec(0, i, 'p:a:0', `[${i}]`)))).toEqual([null, null, null, null]);
    // [0] left the window of 3 when [3] came; [1] is still in it.
    expect([small.copyOf(rec(0, 4, 'p:a:0', '[0]')), small.copyOf(rec(0, 5, 'p:a:0', '[2]'))]).toEqual([null, 2]);

    const log = new MemoryEventLog({ defaultPartitions: 1, now: () => 0 });
    await log.ensureTopic(TOPIC, 1);
    await log.produce(TOPIC, Array.from({ length: 10 }, (_, i) => ({ key: null, partition: 0, value: Buffer.from('b'), headers: { [LANE_HEADER]: 'p:b:0', [SEQ_HEADER]: JSON.stringify([i]) } })));
    const tp = { topic: TOPIC, partition: 0 };
    const seeded = new LaneRepeats(new Set([TOPIC]), 4);
    await seeded.seed(log, tp, 8); // reads [4, 8)
    expect([4, 7, 3].map((i) => seeded.copyOf(rec(0, 10 + i, 'p:b:0', `[${i}]`, 'b')))).toEqual([4, 7, null]);
    // Seeding again (a new assignment) starts afresh; forgetting drops the partition.
    await seeded.seed(log, tp, 0);
    expect(seeded.copyOf(rec(0, 0, 'p:b:0', '[5]', 'b'))).toBeNull();
    seeded.forget(tp);
    expect(seeded.copyOf(rec(0, 1, 'p:b:0', '[5]', 'b'))).toBeNull();
    // Nothing is read for a topic not looked at.
    const reads: number[] = [];
    const counting = new Proxy(log, { get: (t, p, rcv) => (p === 'read' ? (...a: Parameters<typeof log.read>) => (reads.push(a[1]), t.read(...a)) : Reflect.get(t, p, rcv)) });
    await new LaneRepeats(new Set(['elsewhere'])).seed(counting, tp, 8);
    expect(reads).toEqual([]);
    // The default window: two produce requests of the smallest output records (MAX_PRODUCE_BYTES / 100 bytes each).
    expect(REPEAT_LOOKBACK_RECORDS).toBe(18_000);
  });
});

describe('SkippedCopies', () => {
  it('logs one warning per partition with the copies\' offsets and those of their first copies, then forgets them', () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const s = new SkippedCopies();
    for (const [p, o, of] of [[0, 10, 4], [0, 11, 5], [0, 12, 6], [2, 40, 30]] as const) s.add({ topic: TOPIC, partition: p, offset: o }, of);
    s.flush(logger, 'warehouse-sink');
    s.flush(logger, 'warehouse-sink');
    expect(lines.map((l) => [l.pipeline, l.topic, l.partition, l.offsets, l.copies_of])).toEqual([
      ['warehouse-sink', TOPIC, 0, [[10, 12]], [[4, 6]]], ['warehouse-sink', TOPIC, 2, [[40, 40]], [[30, 30]]],
    ]);
    expect(lines[0]!.msg).toMatch(/^records skipped as second copies of records read before them \(same lane, position and bytes/);
  });
});

describe('compactOffsets', () => {
  it('turns runs of consecutive offsets into inclusive ranges', () => {
    expect(compactOffsets([3, 4, 5, 9, 11, 12])).toEqual([[3, 5], [9, 9], [11, 12]]);
    expect(compactOffsets([])).toEqual([]);
  });
});
