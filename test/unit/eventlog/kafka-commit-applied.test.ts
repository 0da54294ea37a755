/**
 * KafkaConsumer.commit resolves only for a commit the group coordinator accepted. kafkajs's consumer.commitOffsets
 * returns without an error, and without committing, while its runner is not running (kafkajs
 * src/consumer/runner.js `commitOffsets`: "consumer not running, exiting"; so during a stop or a restart after a
 * crash). A trial that dropped commits that way: the sink's plan of a partial block [3, 5) was taken as committed, the
 * block written, and the next owner, resuming at 3 without the plan, formed [3, 6) under another deduplication token:
 * offsets 3 and 4 twice in the warehouse. kafkajs emits COMMIT_OFFSETS once the coordinator accepted a commit; a
 * commit that returns without it is refused here (retriable), so the sink writes nothing on an unapplied plan.
 *
 * The member's broker side is replaced by a fake that answers as kafkajs does: what is tested is the member's rule.
 */
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { BrokerUnavailableError, CommitMetadataTooLargeError } from '../../../errors.ts';
import { KafkaConsumer } from '../../../services/eventlog/kafka-consumer.ts';

interface Internals {
  commit: (offsets: { topic: string; partition: number; offset: number; metadata?: string }[]) => Promise<void>;
  onCommitted: (topics: { topic: string; partitions: { partition: number; offset: unknown }[] }[]) => void;
}

/** kafkajs's Long as its COMMIT_OFFSETS payload carries offsets (its toString is the decimal offset). */
const long = (n: number) => ({ toString: () => String(n) });

/**
 * A member of group g owning t:0 and t:1 whose kafkajs consumer accepts the commit of the partitions in `accepts`
 * (emitting COMMIT_OFFSETS for them, as kafkajs's offset manager does) and returns silently for the others.
 */
function member(accepts: ReadonlySet<number>): { m: Internals; sent: string[][] } {
  const sent: string[][] = [];
  const m = Object.create(KafkaConsumer.prototype) as unknown as Internals;
  Object.assign(m, {
    owned: [{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }], closed: false, failure: null, groupId: 'g', applied: new Set(), knownCommits: new Map(),
    c: {
      commitOffsets: async (list: { topic: string; partition: number; offset: string; metadata?: string }[]) => {
        sent.push(list.map((o) => `${o.partition}@${o.offset}`));
        await new Promise((r) => setTimeout(r, 1));
        const done = list.filter((o) => accepts.has(o.partition));
        if (done.length > 0) m.onCommitted([{ topic: 't', partitions: done.map((o) => ({ partition: o.partition, offset: long(Number(o.offset)) })) }]);
      },
    },
  });
  return { m, sent };
}

describe('KafkaConsumer.commit: only what the coordinator accepted', () => {
  it('resolves when kafkajs reported the commit applied', async () => {
    const { m, sent } = member(new Set([0, 1]));
    await expect(m.commit([{ topic: 't', partition: 0, offset: 5, metadata: '{"block_end":5}' }, { topic: 't', partition: 1, offset: 12 }])).resolves.toBeUndefined();
    expect(sent).toEqual([['0@5', '1@12']]);
  });

  it('refuses, retriable and naming the offsets, a commit kafkajs returned from without applying (its runner not running)', async () => {
    const { m } = member(new Set());
    const error = await m.commit([{ topic: 't', partition: 0, offset: 3, metadata: '{"block_end":5}' }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerUnavailableError);
    expect([(error as BrokerUnavailableError).retriable, (error as Error).message]).toEqual([
      true,
      'commit not applied: kafkajs returned without committing t:0@3 for group "g" (its consumer was not running: stopped, or restarting after a rebalance or a crash)',
    ]);
  });

  it('names only the offsets left out when kafkajs applied part of the commit', async () => {
    const { m } = member(new Set([1]));
    const error = await m.commit([{ topic: 't', partition: 0, offset: 7 }, { topic: 't', partition: 1, offset: 9 }]).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^commit not applied: kafkajs returned without committing t:0@7 for group "g"/);
  });

  it('does not count an earlier commit\'s event for a later one of the same offset', async () => {
    const { m } = member(new Set([0]));
    await m.commit([{ topic: 't', partition: 0, offset: 4 }]);
    const stopped = member(new Set());
    Object.assign(m, { c: (stopped.m as unknown as { c: unknown }).c });
    await expect(m.commit([{ topic: 't', partition: 0, offset: 4 }])).rejects.toThrow(/commit not applied/);
  });

  it('names a commit the broker refused for its metadata\'s length (OFFSET_METADATA_TOO_LARGE): not retriable, no BrokerUnavailableError (a restart would loop)', async () => {
    const { m } = member(new Set([0]));
    // As kafkajs rejects it: the protocol error of code 12, wrapped by its retrier as not retriable.
    const refused = new kafkajs.KafkaJSProtocolError({ type: 'OFFSET_METADATA_TOO_LARGE', code: 12, retriable: false, message: 'The metadata field of the offset request was too large' } as unknown as Error);
    Object.assign(m, { c: { commitOffsets: async () => { throw Object.assign(new kafkajs.KafkaJSNonRetriableError(refused), { cause: refused }); } } });
    const error = await m.commit([{ topic: 't', partition: 0, offset: 3, metadata: 'x'.repeat(5000) }, { topic: 't', partition: 1, offset: 8, metadata: '{}' }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommitMetadataTooLargeError);
    expect(error).not.toBeInstanceOf(BrokerUnavailableError);
    const e = error as CommitMetadataTooLargeError;
    expect([e.retriable, e.groupId, e.partitions, e.metadataBytes, (e.cause as Error).name]).toEqual([false, 'g', ['t:0', 't:1'], 5000, 'KafkaJSNonRetriableError']);
    expect(e.message).toBe('commit refused (OFFSET_METADATA_TOO_LARGE): consumer group "g" committed t:0, t:1 with metadata of up to 5000 bytes, more than the broker\'s offset.metadata.max.bytes allows; '
      + 'edgelat keeps a checkpoint within kafka\'s default, 4096 bytes: set offset.metadata.max.bytes to at least 5000 on the brokers (a restart would be refused again, so the run stops)');
  });
});
