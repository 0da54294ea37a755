/**
 * KafkaConsumer reports the end of input only of a settled assignment that held through the poll. A trial with two
 * `pipeline run --until-end` instances: a member rejoining after a crash (librdkafka's mock answers a late SyncGroup
 * INVALID_REQUEST) owned nothing for a moment, "every owned partition read" held of nothing, the run set its
 * watermarks to +∞, and the 935 records of the partition it got back all went to late_events.
 *
 * The member's broker side is replaced by fakes (a sealed topic whose partitions are all read): what is tested is the
 * member's own rule, with the group's state set as kafkajs's events set it.
 */
import { describe, expect, it } from 'vitest';
import { KafkaConsumer } from '../../../services/eventlog/kafka-consumer.ts';

interface Internals {
  owned: { topic: string; partition: number }[];
  positions: Map<string, number>;
  highWatermarks: Map<string, number>;
  queue: unknown[];
  settled: boolean;
  generation: number;
  closed: boolean;
  failure: Error | null;
  wake: null;
  groupId: string;
  topics: string[];
  options: { pollWaitMs: number };
  seals: { isSealed: (topic: string) => Promise<boolean> };
  admin: { fetchTopicOffsets: (topic: string) => Promise<{ partition: number; high: string; low: string }[]>; fetchOffsets: () => Promise<never[]> };
  onAssignment: (a: Record<string, number[]>) => void;
  c: { seek: () => void };
}

/** A member of group g on topic t (sealed, 2 partitions of 5 records each), its positions at the end of both. */
function member(onFetch: (m: Internals) => void = () => undefined): Internals & Pick<KafkaConsumer, 'poll' | 'behind'> {
  // Its private state is set as kafkajs's events set it (a cast: the class keeps it private).
  const m = Object.create(KafkaConsumer.prototype) as unknown as Internals & Pick<KafkaConsumer, 'poll' | 'behind'>;
  Object.assign(m, {
    owned: [{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }], positions: new Map([['t\u00000', 5], ['t\u00001', 5]]), highWatermarks: new Map(), queue: [], settled: true, generation: 1,
    closed: false, failure: null, wake: null, groupId: 'g', topics: ['t'], options: { pollWaitMs: 1 },
    seals: { isSealed: async () => true },
    admin: {
      fetchTopicOffsets: async () => {
        onFetch(m);
        return [{ partition: 0, high: '5', low: '0' }, { partition: 1, high: '5', low: '0' }];
      },
      fetchOffsets: async () => [],
    },
    c: { seek: () => undefined },
  });
  return m;
}

describe('KafkaConsumer: end of input', () => {
  it('is reported when every owned partition of a sealed topic is read, and by a settled member that owns none', async () => {
    expect((await member().poll(10)).endOfInput).toBe(true);
    const none = member();
    none.onAssignment({});
    expect((await none.poll(10)).endOfInput).toBe(true);
  });

  it('is not reported while the group rebalances or the member rejoins after a crash (it owns nothing then)', async () => {
    const rejoining = member();
    rejoining.settled = false;
    rejoining.onAssignment({});
    expect((await rejoining.poll(10)).endOfInput).toBe(false);
  });

  it('is not reported when the assignment changed while the poll asked the broker', async () => {
    const moved = member((m) => m.onAssignment({ t: [0] }));
    expect((await moved.poll(10)).endOfInput).toBe(false);
  });
});

describe('KafkaConsumer.behind', () => {
  it('knows of records past its position: queued ones, or more than one offset below the last fetched high watermark (one may be a transaction marker)', () => {
    const m = member();
    const p0 = { topic: 't', partition: 0 };
    expect(m.behind(p0)).toBe(false); // no batch of it yet
    m.highWatermarks.set('t\u00000', 5);
    expect(m.behind(p0)).toBe(false); // read to the end
    m.highWatermarks.set('t\u00000', 6);
    expect(m.behind(p0)).toBe(false); // offset 5 may be a marker
    m.highWatermarks.set('t\u00000', 9);
    expect(m.behind(p0)).toBe(true);
    m.highWatermarks.set('t\u00000', 5);
    m.queue.push({ tp: p0, records: [{ offset: 5 }] });
    expect([m.behind(p0), m.behind({ topic: 't', partition: 1 })]).toEqual([true, false]);
  });
});
