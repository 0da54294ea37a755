/**
 * KafkaConsumer: a rebalance that gives a member other partitions is told (`onReassignment`), so that `pipeline run`
 * says it on stderr (a consumer-group trial: an instance joining or killed beside a run went unsaid at the default log
 * level). The first assignment, and one that keeps the same partitions, are not told.
 */
import { describe, expect, it } from 'vitest';
import { partitionsText, sinkSplitWarning } from '../../../services/cli/pipeline.ts';
import { KafkaConsumer, type Reassignment } from '../../../services/eventlog/kafka-consumer.ts';

interface Internals {
  onAssignment: (assignment: Record<string, number[]>) => void;
  generation: number;
}

/** A member of group g before its first assignment, its kafkajs side a fake (the seeks it is asked for are dropped). */
function member(): { m: Internals; told: Reassignment[] } {
  const told: Reassignment[] = [];
  const m = Object.create(KafkaConsumer.prototype) as unknown as Internals;
  Object.assign(m, {
    owned: [], positions: new Map(), highWatermarks: new Map(), refetched: new Map(), queue: [], settled: false, generation: 0, closed: false, groupId: 'g',
    options: { pollWaitMs: 1, onReassignment: (r: Reassignment) => told.push(r) }, c: { seek: () => undefined },
  });
  return { m, told };
}

describe('KafkaConsumer: partitions changed by a rebalance', () => {
  it('tells the owned and previous partitions when they change, not at the first assignment nor when they stay', () => {
    const { m, told } = member();
    m.onAssignment({ b: [0, 1, 2, 3], a: [3, 0, 1, 2] });
    expect(told).toEqual([]);
    // Another member joined: this one keeps half, in the group's order of topics and partitions.
    m.onAssignment({ a: [2, 0], b: [0, 2] });
    const halves = [{ topic: 'a', partition: 0 }, { topic: 'a', partition: 2 }, { topic: 'b', partition: 0 }, { topic: 'b', partition: 2 }];
    const all = ['a', 'b'].flatMap((topic) => [0, 1, 2, 3].map((partition) => ({ topic, partition })));
    expect(told).toEqual([{ groupId: 'g', owned: halves, previous: all }]);
    // The same partitions again (a rebalance that moved others): nothing.
    m.onAssignment({ b: [2, 0], a: [0, 2] });
    expect(told).toHaveLength(1);
    m.onAssignment({});
    expect(told.at(-1)).toEqual({ groupId: 'g', owned: [], previous: halves });
    expect(m.generation).toBe(4);
  });

  it('says partitions by topic', () => {
    expect(partitionsText([{ topic: 'edge.inference.v1', partition: 0 }, { topic: 'edge.inference.v1', partition: 2 }, { topic: 'edge.load.v1', partition: 1 }])).toBe('edge.inference.v1 0, 2; edge.load.v1 1');
    expect(partitionsText([])).toBe('no partition');
  });
});

describe('sinkSplitWarning', () => {
  const tp = (topic: string, partition: number) => ({ topic, partition });
  const all = [tp('edge.inference.v1', 0), tp('edge.inference.v1', 1), tp('edge.load.v1', 0), tp('edge.load.v1', 1)];
  it('warns when another sink took partitions while this one writes to the embedded warehouse (a trial: a second instance on another folder took 1,268 of 3,263 events silently)', () => {
    const r: Reassignment = { groupId: 'edgelat-warehouse-sink', owned: [all[0]!, all[2]!], previous: all };
    expect(sinkSplitWarning(r, 'edgelat-warehouse-sink', '/data/chdb')).toBe(
      'another member of edgelat-warehouse-sink took edge.inference.v1 1; edge.load.v1 1 from this one: with the embedded warehouse their records go to that member\'s own warehouse, not to "/data/chdb"; a second instance needs a ClickHouse server (EDGELAT_CLICKHOUSE_URL for both), or its own EDGELAT_KAFKA_GROUP_PREFIX to read every record into its own folder');
    // A shared ClickHouse server, another processor's group, or partitions given back: nothing to say.
    expect(sinkSplitWarning(r, 'edgelat-warehouse-sink', null)).toBeNull();
    expect(sinkSplitWarning({ ...r, groupId: 'edgelat-join-load-latency' }, 'edgelat-warehouse-sink', '/data/chdb')).toBeNull();
    expect(sinkSplitWarning({ ...r, owned: all, previous: [all[0]!] }, 'edgelat-warehouse-sink', '/data/chdb')).toBeNull();
    // Partitions moved, as many as before: some were taken.
    expect(sinkSplitWarning({ ...r, owned: [all[1]!], previous: [all[0]!] }, 'edgelat-warehouse-sink', '/data/chdb')).toMatch(/^another member of edgelat-warehouse-sink took edge\.inference\.v1 0 from this one/);
  });
});
