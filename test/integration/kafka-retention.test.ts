/**
 * Kafka deletes the oldest records of a partition (retention; librdkafka's
 * mock cluster keeps the newest 5 MiB). Reading a range that starts below the
 * oldest stored offset returns what is still stored, at once; it neither
 * waits for records that no longer exist nor fails. (A restarted processor
 * scans its output topics this way.) A consumer group that resumes below it
 * skips to it, and the log counts the records lost as a retention gap.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import { KafkaEventLog } from '../../services/eventlog/kafka.ts';
import { brokerSockets, kafkaTestsCanRun, MOCK_GROUP_TIMEOUTS } from '../helpers/kafka-mock.ts';
import { useKafkaMock } from '../helpers/kafka-mock-suite.ts';

describe.skipIf(!kafkaTestsCanRun('the Kafka retention test', { mockOnly: true }))('reading past retention (mock cluster)', () => {
  const kafkaMock = useKafkaMock();

  it('reads from the oldest stored offset when the head of the partition was deleted', async () => {
    const log = await KafkaEventLog.connect({ brokers: kafkaMock().brokers, clientId: 'edgelat-retention-test', adminWaitMs: 10_000, ...MOCK_GROUP_TIMEOUTS });
    try {
      const topic = `edgelat-retention-${randomUUID()}`;
      await log.ensureTopic(topic, 1);
      const big = Buffer.alloc(256 * 1024, 7);
      for (let i = 0; i < 30; i++) await log.produce(topic, [{ key: 'edge-01', value: big, partition: 0, headers: { i: String(i) } }]); // 7.5 MiB in 30 message sets
      const end = await log.endOffset({ topic, partition: 0 });
      expect(end).toBe(30);
      const started = Date.now();
      const got = await log.read({ topic, partition: 0 }, 0, end);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(got.length).toBeGreaterThan(0);
      expect(got.length).toBeLessThan(30); // the head is gone
      const first = got[0]!.offset;
      expect(got.map((r) => r.offset)).toEqual(Array.from({ length: 30 - first }, (_, i) => first + i));
      expect(got.map((r) => r.headers.i)).toEqual(got.map((r) => String(r.offset)));
      // A read's skipped head is no loss of input (a restart scans its own output this way).
      expect(log.retentionGaps()).toEqual([]);

      // A consumer group that resumes at offset 0 (as a run without a commit does) skips the deleted head:
      // the log counts the gap, which `pipeline run` reports when it stops (exit 3 with --until-end).
      const c = await log.consumer('edgelat-retention-group', [topic]);
      try {
        c.seek({ topic, partition: 0 }, 0);
        const polled: number[] = [];
        const deadline = Date.now() + 20_000;
        while (polled.length < 30 - first && Date.now() < deadline) polled.push(...(await c.poll(100)).records.map((r) => r.offset));
        expect(polled).toEqual(Array.from({ length: 30 - first }, (_, i) => first + i));
        expect(log.retentionGaps()).toEqual([{ groupId: 'edgelat-retention-group', topic, partition: 0, from: 0, to: first }]);
      } finally {
        await c.close();
      }
    } finally {
      await log.close();
    }
  }, 60_000);

  it('keeps the group\'s commit and its metadata when kafkajs resets an offset retention passed (a trial: resumed from 0 without its checkpoint, 504 counted lost for 260)', async () => {
    const topic = `edgelat-reset-${randomUUID()}`;
    const group = `edgelat-reset-group-${randomUUID()}`;
    const tp = { topic, partition: 0 };
    const first = await KafkaEventLog.connect({ brokers: kafkaMock().brokers, clientId: 'edgelat-reset-test', adminWaitMs: 10_000, ...MOCK_GROUP_TIMEOUTS });
    try {
      await first.ensureTopic(topic, 1);
      for (let i = 0; i < 10; i++) await first.produce(topic, [{ key: 'edge-01', value: Buffer.from(`small-${i}`), partition: 0 }]);
      const c = await first.consumer(group, [topic]);
      try {
        const got: number[] = [];
        const deadline = Date.now() + 20_000;
        while (got.length < 10 && Date.now() < deadline) got.push(...(await c.poll(100)).records.map((r) => r.offset));
        expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        await c.commit([{ ...tp, offset: 5, metadata: 'checkpoint-5' }]);
      } finally {
        await c.close();
      }
      // Retention deletes offsets 5.. (7.5 MiB more in 30 message sets; the mock keeps the newest 5 MiB).
      const big = Buffer.alloc(256 * 1024, 7);
      for (let i = 0; i < 30; i++) await first.produce(topic, [{ key: 'edge-01', value: big, partition: 0 }]);
    } finally {
      await first.close();
    }
    // A new process of the group: it resumes where the group committed, kafkajs's fetch there is out of range, and
    // kafkajs commits -2 ("earliest") over the group's offset 5 and its metadata.
    const admin = new kafkajs.Kafka({ brokers: kafkaMock().brokers, clientId: 'edgelat-reset-admin', logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    // kafkajs's own reset (consumerGroup.recoverFromOffsetOutOfRange → offsetManager.setDefaultOffset), watched.
    const OffsetManager = createRequire(import.meta.url)('kafkajs/src/consumer/offsetManager/index.js') as { prototype: { setDefaultOffset: (tp: { topic: string; partition: number }) => Promise<void> } };
    const reset = vi.spyOn(OffsetManager.prototype, 'setDefaultOffset');
    const log = await KafkaEventLog.connect({ brokers: kafkaMock().brokers, clientId: 'edgelat-reset-test-2', adminWaitMs: 10_000, ...MOCK_GROUP_TIMEOUTS });
    try {
      const c = await log.consumer(group, [topic]);
      try {
        const resumed = await c.committed(tp);
        expect(resumed).toEqual({ ...tp, offset: 5, metadata: 'checkpoint-5' });
        c.seek(tp, resumed!.offset);
        const polled: number[] = [];
        const deadline = Date.now() + 20_000;
        while (polled.length === 0 && Date.now() < deadline) polled.push(...(await c.poll(100)).records.map((r) => r.offset));
        const low = polled[0]!;
        expect(low).toBeGreaterThan(5);
        // kafkajs's reset wrote -2 there; the member put the group's commit back before handing the records over, so a
        // process killed now resumes from it with its checkpoint (a re-test: after kill -9 the next run read from 0).
        const broker = (await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0]!.partitions[0]!;
        expect([broker.offset, broker.metadata]).toEqual(['5', 'checkpoint-5']);
        expect(reset.mock.calls.map(([at]) => [at.topic, at.partition])).toContainEqual([topic, 0]);
        // Read again (a rebalance's new assignment does), the commit is the group's own, not "none" (which resumed from 0).
        expect(await c.committed(tp)).toEqual({ ...tp, offset: 5, metadata: 'checkpoint-5' });
        expect(log.retentionGaps()).toEqual([{ groupId: group, topic, partition: 0, from: 5, to: low }]);
        // This member's own commit replaces it.
        await c.commit([{ ...tp, offset: low + 1, metadata: 'checkpoint-next' }]);
        expect(await c.committed(tp)).toEqual({ ...tp, offset: low + 1, metadata: 'checkpoint-next' });
      } finally {
        await c.close();
      }
    } finally {
      reset.mockRestore();
      await log.close();
      await admin.disconnect();
    }
  }, 90_000);

  it('reads partitions without a consumer group, several at once, and leaves no connection behind (a read through a throwaway group took 3 s, the broker\'s first-join delay)', async () => {
    const sockets = () => brokerSockets(kafkaMock().brokers[0]!);
    const before = sockets();
    const log = await KafkaEventLog.connect({ brokers: kafkaMock().brokers, clientId: 'edgelat-read-test', ...MOCK_GROUP_TIMEOUTS });
    const topic = `edgelat-read-${randomUUID()}`;
    // No consumer is created for a read (the mock cluster has no ListGroups to look for groups left behind).
    const consumers = vi.spyOn(kafkajs.Kafka.prototype, 'consumer');
    try {
      await log.ensureTopic(topic, 4);
      const placed = await log.produce(topic, Array.from({ length: 40 }, (_, i) => ({ key: `edge-${i}`, value: Buffer.from(`v${i}`), headers: { i: String(i) } })));
      const ends = await Promise.all([0, 1, 2, 3].map((partition) => log.endOffset({ topic, partition })));
      const got = await Promise.all([0, 1, 2, 3].map((partition) => log.read({ topic, partition }, 1, ends[partition]!)));
      // Every record but each partition's first, in offset order, with its headers.
      for (const [p, records] of got.entries()) {
        const want = placed.map((at, i) => ({ ...at, i })).filter((at) => at.partition === p && at.offset >= 1).map((at) => `${at.offset}:${at.i}`);
        expect(records.map((r) => `${r.offset}:${r.headers.i}`)).toEqual(want);
      }
      expect(got.flat()).toHaveLength(40 - got.filter((records, p) => ends[p]! > 0).length);
      expect(consumers).not.toHaveBeenCalled();
    } finally {
      consumers.mockRestore();
      await log.close();
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(sockets()).toBe(before);
  }, 60_000);
});
