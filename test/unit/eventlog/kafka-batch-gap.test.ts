/**
 * KafkaConsumer: a fetched batch that starts past the member's position. A two-instance trial (one instance killed with
 * kill -9) logged "a fetched batch starts past this member's position, the records between still stored: skipped to
 * it" for 14 records: the survivor had sought to the group's committed offset (the dead member had read past it but not
 * committed), kafkajs answered from further on, and the records between would have been processed by no one. Now the
 * partition is fetched again from the position; only when that keeps answering from further on are the offsets between
 * taken as holding no records; a gap below the partition's oldest stored offset is retention's (counted as lost).
 *
 * The member's broker side is replaced by fakes: what is tested is the member's own rule on kafkajs's batches.
 */
import { describe, expect, it } from 'vitest';
import { KafkaConsumer } from '../../../services/eventlog/kafka-consumer.ts';

interface Gap { groupId: string; topic: string; partition: number; from: number; to: number }

interface Internals {
  owned: { topic: string; partition: number }[];
  positions: Map<string, number>;
  refetched: Map<string, unknown>;
  queue: { records: { offset: number }[] }[];
  closed: boolean;
  groupId: string;
  options: { pollWaitMs: number; onRetentionGap: (g: Gap) => void };
  admin: { fetchTopicOffsets: (topic: string) => Promise<{ partition: number; high: string; low: string }[]> };
  c: { seek: (s: { topic: string; partition: number; offset: string }) => void };
  eachBatch: (payload: unknown) => Promise<void>;
  dropBuffered: (which: () => boolean) => void;
}

/** A member of group g owning t:0 at `position`; the partition's oldest stored offset is `low`. */
function member(position: number, low: number): { m: Internals; seeks: string[]; gaps: Gap[] } {
  const seeks: string[] = [];
  const gaps: Gap[] = [];
  // Its private state is set as kafkajs's events set it (a cast: the class keeps it private).
  const m = Object.create(KafkaConsumer.prototype) as unknown as Internals;
  Object.assign(m, {
    owned: [{ topic: 't', partition: 0 }], positions: new Map([['t\u00000', position]]), refetched: new Map(), queue: [], settled: true, generation: 1, knownCommits: new Map(), applied: new Set(),
    closed: false, failure: null, wake: null, groupId: 'g', topics: ['t'], options: { pollWaitMs: 1, onRetentionGap: (g: Gap) => gaps.push(g) },
    admin: { fetchTopicOffsets: async () => [{ partition: 0, high: '2000', low: String(low) }] },
    c: { seek: (s: { offset: string }) => seeks.push(s.offset) },
  });
  return { m, seeks, gaps };
}

/** kafkajs's eachBatch payload for t:0 with records at offsets [from, to); `resolved` collects resolveOffset calls. */
function batch(from: number, to: number, resolved: string[] = []): unknown {
  const messages = Array.from({ length: to - from }, (_, i) => ({ offset: String(from + i), key: null, value: Buffer.from('v'), timestamp: '0', headers: {}, attributes: 0 }));
  return {
    batch: { topic: 't', partition: 0, messages, lastOffset: () => String(to - 1) },
    resolveOffset: (o: string) => resolved.push(o), heartbeat: async () => undefined, isRunning: () => true, isStale: () => false,
  };
}

describe('KafkaConsumer: a batch that starts past the position', () => {
  it('with the records between stored: drops the batch and fetches again from the position', async () => {
    const { m, seeks, gaps } = member(1598, 0);
    const resolved: string[] = [];
    await m.eachBatch(batch(1612, 1620, resolved));
    expect([seeks, m.positions.get('t\u00000'), m.queue.length, resolved, gaps]).toEqual([['1598'], 1598, 0, [], []]);
  });

  it('takes the offsets between as holding no records only after fetching again from the position keeps answering past it', async () => {
    const { m, seeks, gaps } = member(10, 0);
    for (let i = 0; i < 3; i++) await m.eachBatch(batch(14, 16));
    expect([seeks, m.queue.length]).toEqual([['10', '10', '10'], 0]);
    // The fourth time: a real gap of offsets (transaction markers, compaction); the batch is queued from its start.
    const taken = m.eachBatch(batch(14, 16));
    await new Promise((r) => setTimeout(r, 10));
    expect([seeks.length, m.positions.get('t\u00000'), m.queue.map((p) => p.records.map((r) => r.offset)), gaps]).toEqual([3, 14, [[14, 15]], []]);
    m.dropBuffered(() => true); // ends the queued batch's wait
    await taken;
  });

  it('below the oldest stored offset: retention deleted them, counted as lost, and the batch is taken', async () => {
    const { m, seeks, gaps } = member(100, 130);
    const taken = m.eachBatch(batch(130, 132));
    await new Promise((r) => setTimeout(r, 10));
    expect([seeks, m.positions.get('t\u00000'), m.queue.map((p) => p.records.map((r) => r.offset)), gaps]).toEqual([[], 130, [[130, 131]], [{ groupId: 'g', topic: 't', partition: 0, from: 100, to: 130 }]]);
    m.dropBuffered(() => true);
    await taken;
  });

  it('puts back the group\'s commit kafkajs reset to -2 before handing the batch over (a re-test: a run killed then resumed from 0)', async () => {
    const { m, gaps } = member(100, 130);
    const committed: string[] = [];
    const internals = m as unknown as { knownCommits: Map<string, unknown>; c: Record<string, unknown>; onCommitted: (t: unknown) => void };
    internals.knownCommits.set('t\u00000', { topic: 't', partition: 0, offset: 100, metadata: '{"block_end":100}' });
    internals.c.commitOffsets = async (list: { partition: number; offset: string; metadata: string }[]) => {
      committed.push(...list.map((o) => `${o.partition}@${o.offset} ${o.metadata}`));
      internals.onCommitted([{ topic: 't', partitions: list.map((o) => ({ partition: o.partition, offset: o.offset })) }]);
    };
    const taken = m.eachBatch(batch(130, 132));
    await new Promise((r) => setTimeout(r, 10));
    expect([committed, m.queue.map((p) => p.records.map((r) => r.offset)), gaps.length]).toEqual([['0@100 {"block_end":100}'], [[130, 131]], 1]);
    m.dropBuffered(() => true);
    await taken;
  });
});
