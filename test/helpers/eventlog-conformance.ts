/**
 * One vitest suite that every EventLog implementation must pass (memory.ts and kafka.ts).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionForKey } from '../../services/eventlog/murmur2.ts';
import type { Consumer, EventLog, LogRecord, ProduceRecord } from '../../services/eventlog/types.ts';

/** A log under test and how to dispose of it. */
export interface ConformanceSubject {
  log: EventLog;
  cleanup(): Promise<void>;
}

/** Options of {@link eventLogConformance}. */
export interface ConformanceOptions {
  /** Per-test timeout, milliseconds. @default 20000 */
  testTimeoutMs?: number;
  /** Longest a drain loop polls before failing, milliseconds. @default 15000 */
  drainMs?: number;
}

const PARTS = 4;

/** Records spread over many keys, each with its index in value and headers. */
function sample(n: number, prefix = 'edge'): ProduceRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `${prefix}-${i % 13}`,
    value: Buffer.from(JSON.stringify({ i, text: 'latença µs' })),
    headers: { 'content-type': 'application/json', seq: String(i) },
    timestampMs: 1_700_000_000_000 + i,
  }));
}

/** Poll until `want` records arrived (or `endOfInput`), failing after `ms`. */
async function drain(c: Consumer, want: number, ms: number, max = 7): Promise<{ records: LogRecord[]; endOfInput: boolean }> {
  const records: LogRecord[] = [];
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await c.poll(max);
    records.push(...r.records);
    if (r.endOfInput) return { records, endOfInput: true };
    if (records.length >= want && r.records.length === 0) return { records, endOfInput: false };
    if (Date.now() > deadline) return { records, endOfInput: false };
  }
}

/** Wait until `cond()` holds, failing after `ms`. */
async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const ids = (rs: LogRecord[]): string[] => rs.map((r) => `${r.partition}:${r.offset}`);

/** Assert that, within each partition, offsets increase by exactly 1 from `start`. */
function expectContiguous(rs: LogRecord[], start: (p: number) => number = () => 0): void {
  const next = new Map<number, number>();
  for (const r of rs) {
    const want = next.get(r.partition) ?? start(r.partition);
    expect(r.offset, `partition ${r.partition}`).toBe(want);
    next.set(r.partition, want + 1);
  }
}

/**
 * Register the conformance suite for one EventLog implementation.
 * @param name     Suite name, e.g. `'memory'`.
 * @param makeLog  Creates a fresh log (called once, in beforeAll).
 */
export function eventLogConformance(name: string, makeLog: () => Promise<ConformanceSubject>, options: ConformanceOptions = {}): void {
  const timeout = options.testTimeoutMs ?? 20_000;
  const drainMs = options.drainMs ?? 15_000;
  describe(`EventLog conformance: ${name}`, () => {
    let subject: ConformanceSubject;
    const log = (): EventLog => subject.log;
    const topicName = (): string => `t-${randomUUID()}`;
    const groupName = (): string => `g-${randomUUID()}`;

    beforeAll(async () => {
      subject = await makeLog();
    });
    afterAll(async () => {
      await subject?.cleanup();
    });

    it('places keyed records on partitionForKey with per-partition offsets increasing by 1', async () => {
      const topic = topicName();
      await log().ensureTopic(topic, PARTS);
      expect(await log().partitionCount(topic)).toBe(PARTS);
      const recs = sample(40);
      const first = await log().produce(topic, recs.slice(0, 25));
      const second = await log().produce(topic, recs.slice(25));
      const placed = [...first, ...second];
      const next = new Map<number, number>();
      placed.forEach((p, i) => {
        expect(p.partition).toBe(partitionForKey(recs[i]!.key!, PARTS));
        expect(p.offset).toBe(next.get(p.partition) ?? 0);
        next.set(p.partition, p.offset + 1);
      });
      for (let p = 0; p < PARTS; p++) expect(await log().endOffset({ topic, partition: p })).toBe(next.get(p) ?? 0);
    }, timeout);

    it('takes a produce call of 3 MB (above Kafka\'s default message.max.bytes) whole: consecutive offsets, read back in order', async () => {
      const topic = topicName();
      await log().ensureTopic(topic, PARTS);
      const recs: ProduceRecord[] = Array.from({ length: 3000 }, (_, i) => ({ key: 'edge-big', value: Buffer.alloc(1000, i % 251), headers: { seq: String(i) } }));
      const placed = await log().produce(topic, recs);
      const p = partitionForKey('edge-big', PARTS);
      expect(placed).toEqual(recs.map((_, i) => ({ partition: p, offset: i })));
      const back = await log().read({ topic, partition: p }, 0, 3000);
      expect(back.map((r) => r.headers.seq)).toEqual(recs.map((_, i) => String(i)));
      expect(back.every((r, i) => r.value.equals(recs[i]!.value))).toBe(true);
    }, timeout);

    it('reads everything once, in per-partition order, with keys, values and headers intact', async () => {
      const topic = topicName();
      await log().ensureTopic(topic, PARTS);
      const recs = sample(60);
      recs.push({ key: null, value: Buffer.from([0, 255, 1]), partition: 2, headers: {} });
      const placed = await log().produce(topic, recs);
      const c = await log().consumer(groupName(), [topic]);
      try {
        expect(c.assignment()).toHaveLength(PARTS);
        const { records } = await drain(c, recs.length, drainMs);
        expect(records).toHaveLength(recs.length);
        expect(new Set(ids(records)).size).toBe(recs.length);
        expectContiguous(records);
        const byPlace = new Map(records.map((r) => [`${r.partition}:${r.offset}`, r]));
        recs.forEach((src, i) => {
          const got = byPlace.get(`${placed[i]!.partition}:${placed[i]!.offset}`)!;
          expect(got.topic).toBe(topic);
          expect(got.key).toBe(src.key);
          expect(Buffer.compare(got.value, src.value)).toBe(0);
          expect(got.headers).toEqual(src.headers);
          if (src.timestampMs !== undefined) expect(got.timestampMs).toBe(src.timestampMs);
        });
      } finally {
        await c.close();
      }
    }, timeout);

    it('resumes a new member at the committed offset and keeps the commit metadata', async () => {
      const topic = topicName();
      const group = groupName();
      await log().ensureTopic(topic, PARTS);
      const placed = await log().produce(topic, Array.from({ length: 10 }, (_, i) => ({ key: null, value: Buffer.from(`v${i}`), partition: 1 })));
      expect(placed.map((p) => p.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const tp = { topic, partition: 1 };
      const a = await log().consumer(group, [topic]);
      await a.commit([{ ...tp, offset: 6, metadata: 'watermark=1700000000000' }]);
      expect(await a.committed(tp)).toEqual({ ...tp, offset: 6, metadata: 'watermark=1700000000000' });
      expect(await a.committed({ topic, partition: 0 })).toBeNull();
      await a.close();
      const b = await log().consumer(group, [topic]);
      try {
        const { records } = await drain(b, 4, drainMs);
        expect(records.map((r) => r.offset)).toEqual([6, 7, 8, 9]);
        expect(await b.committed(tp)).toEqual({ ...tp, offset: 6, metadata: 'watermark=1700000000000' });
      } finally {
        await b.close();
      }
    }, timeout);

    it('splits partitions between two members with no overlap, co-partitioned across topics, reads every record exactly once, refuses commits of foreign partitions', async () => {
      const topic = topicName();
      const group = groupName();
      const other = topicName();
      await log().ensureTopic(topic, PARTS);
      await log().ensureTopic(other, PARTS);
      const recs = sample(80, 'split');
      await log().produce(topic, recs);
      const a = await log().consumer(group, [topic, other]);
      const b = await log().consumer(group, [topic, other]);
      try {
        await waitFor(() => a.assignment().length > 0 && b.assignment().length > 0 && a.assignment().length + b.assignment().length === 2 * PARTS, drainMs, 'the two members to share the partitions');
        const owned = [...a.assignment(), ...b.assignment()].filter((tp) => tp.topic === topic).map((tp) => tp.partition).sort();
        expect(owned).toEqual([0, 1, 2, 3]);
        // Co-partitioning: a member owns partition p of one topic exactly when it owns p of the other (a join needs both sides of a key).
        for (const m of [a, b]) {
          const of = (t: string) => m.assignment().filter((tp) => tp.topic === t).map((tp) => tp.partition).sort();
          expect(of(topic)).toEqual(of(other));
        }
        // Both members until they hold every record between them (each member's share is unknown: one that stopped at
        // its first empty poll under load had read 36 of 80), then one more poll each, which must bring nothing new.
        const ra = { records: [] as LogRecord[] };
        const rb = { records: [] as LogRecord[] };
        const deadline = Date.now() + drainMs;
        while (ra.records.length + rb.records.length < recs.length && Date.now() < deadline) {
          const [pa, pb] = await Promise.all([a.poll(7), b.poll(7)]);
          ra.records.push(...pa.records);
          rb.records.push(...pb.records);
        }
        const [extraA, extraB] = await Promise.all([a.poll(7), b.poll(7)]);
        ra.records.push(...extraA.records);
        rb.records.push(...extraB.records);
        const all = [...ra.records, ...rb.records];
        expect(all).toHaveLength(recs.length);
        expect(new Set(ids(all)).size).toBe(recs.length);
        const aParts = new Set(a.assignment().filter((tp) => tp.topic === topic).map((tp) => tp.partition));
        expect(ra.records.every((r) => aParts.has(r.partition))).toBe(true);
        expect(rb.records.every((r) => !aParts.has(r.partition))).toBe(true);
        const foreign = b.assignment().find((tp) => tp.topic === topic)!;
        await expect(a.commit([{ ...foreign, offset: 1, metadata: '' }])).rejects.toThrow(/not owned/);
      } finally {
        await a.close();
        await b.close();
      }
    }, timeout * 2);

    it('reports endOfInput after a sealed topic is drained', async () => {
      const topic = topicName();
      await log().ensureTopic(topic, PARTS);
      await log().produce(topic, sample(20, 'seal'));
      const c = await log().consumer(groupName(), [topic]);
      try {
        const before = await drain(c, 20, drainMs);
        expect(before.records).toHaveLength(20);
        expect(before.endOfInput).toBe(false);
        await log().seal(topic);
        const after = await drain(c, 0, drainMs);
        expect(after.records).toHaveLength(0);
        expect(after.endOfInput).toBe(true);
      } finally {
        await c.close();
      }
    }, timeout);

    it('says the group is drained only when every partition is sealed and committed at its end offset', async () => {
      const topic = topicName();
      const group = groupName();
      await log().ensureTopic(topic, PARTS);
      const placed = await log().produce(topic, sample(12, 'drained'));
      const ends = new Map<number, number>();
      for (const p of placed) ends.set(p.partition, Math.max(ends.get(p.partition) ?? 0, p.offset + 1));
      const c = await log().consumer(group, [topic]);
      try {
        await drain(c, 12, drainMs);
        expect(await c.groupDrained()).toBe(false); // not sealed, nothing committed
        await log().seal(topic);
        expect(await c.groupDrained()).toBe(false); // sealed, nothing committed
        const all = [...ends.entries()].map(([partition, offset]) => ({ topic, partition, offset, metadata: '' }));
        await c.commit(all.slice(1));
        expect(await c.groupDrained()).toBe(false); // one partition still uncommitted
        await c.commit(all.slice(0, 1));
        expect(await c.groupDrained()).toBe(true);
      } finally {
        await c.close();
      }
    }, timeout);

    it('returns end offsets and reads [from, to) of one partition without a group', async () => {
      const topic = topicName();
      await log().ensureTopic(topic, PARTS);
      await log().produce(topic, Array.from({ length: 12 }, (_, i) => ({ key: `k${i}`, value: Buffer.from(`r${i}`), partition: 3 })));
      const tp = { topic, partition: 3 };
      expect(await log().endOffset(tp)).toBe(12);
      expect(await log().endOffset({ topic, partition: 0 })).toBe(0);
      const got = await log().read(tp, 4, 9);
      expect(got.map((r) => r.offset)).toEqual([4, 5, 6, 7, 8]);
      expect(got.map((r) => r.value.toString())).toEqual(['r4', 'r5', 'r6', 'r7', 'r8']);
      expect(got.map((r) => r.key)).toEqual(['k4', 'k5', 'k6', 'k7', 'k8']);
      expect(await log().read(tp, 12, 20)).toEqual([]);
    }, timeout);
  });
}
