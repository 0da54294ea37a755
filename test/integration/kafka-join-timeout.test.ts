/**
 * A consumer whose group join does not complete within `joinTimeoutMs` is given up whole: `consumer()` throws,
 * and the kafkajs member behind it neither rejoins nor stays connected. (A trial: `pipeline run` gave up its joins,
 * printed "pipeline stopped", and went on running, rejoining, ignoring SIGTERM.) librdkafka's mock cluster delays
 * a new group's first join by 3 s, so a 500 ms join timeout runs out.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BrokerUnavailableError } from '../../errors.ts';
import { KafkaEventLog } from '../../services/eventlog/kafka.ts';
import { brokerSockets, kafkaTestsCanRun, MOCK_GROUP_TIMEOUTS, startKafkaMock } from '../helpers/kafka-mock.ts';
import { useKafkaMock } from '../helpers/kafka-mock-suite.ts';

describe.skipIf(!kafkaTestsCanRun('the Kafka join timeout test', { mockOnly: true }))('a group join that times out (mock cluster)', () => {
  const kafkaMock = useKafkaMock();

  it('throws, and leaves no member behind: no rejoin, no connection after close', async () => {
    const sockets = () => brokerSockets(kafkaMock().brokers[0]!);
    const before = sockets();
    const log = await KafkaEventLog.connect({ brokers: kafkaMock().brokers, clientId: 'edgelat-join-timeout-test', joinTimeoutMs: 500, ...MOCK_GROUP_TIMEOUTS });
    const topic = `edgelat-join-${randomUUID()}`;
    try {
      await log.ensureTopic(topic, 4);
      const error = await log.consumer(`edgelat-join-${randomUUID()}`, [topic]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BrokerUnavailableError);
      expect((error as Error).message).toMatch(/join did not complete within 500 ms/);
    } finally {
      await log.close();
    }
    // Past the mock's 3 s join delay and a rebalance: a member still trying would have joined (or connected) by then.
    await new Promise((r) => setTimeout(r, 4000));
    expect(sockets()).toBe(before);
  }, 30_000);
  it('says once that a first join waits (a trial: a restart right after kill -9 sat silent for 12 s), and not for a join that is quick', async () => {
    // The mock delays a new group's first join by 3 s: past a notice at 1 s, before one at 5 s.
    const told: [string, number][] = [];
    const log = await KafkaEventLog.connect({ brokers: kafkaMock().brokers, clientId: 'edgelat-join-wait-test', joinWaitNoticeMs: 1000, onJoinWait: (g, ms) => void told.push([g, ms]), ...MOCK_GROUP_TIMEOUTS });
    const quiet = await KafkaEventLog.connect({ brokers: kafkaMock().brokers, clientId: 'edgelat-join-wait-test', onJoinWait: (g, ms) => void told.push([g, ms]), ...MOCK_GROUP_TIMEOUTS });
    const topic = `edgelat-join-${randomUUID()}`;
    const group = `edgelat-join-${randomUUID()}`;
    try {
      await log.ensureTopic(topic, 4);
      const consumer = await log.consumer(group, [topic]);
      expect(told).toEqual([[group, 1000]]);
      await consumer.close();
      const other = await quiet.consumer(`edgelat-join-${randomUUID()}`, [topic]);
      expect(told).toHaveLength(1);
      await other.close();
    } finally {
      await log.close();
      await quiet.close();
    }
  }, 30_000);
  it('gives the join up at once when the run is stopped (its signal aborts), and leaves no member behind (a trial: SIGTERM during a join ended the process 25 s later)', async () => {
    const sockets = () => brokerSockets(kafkaMock().brokers[0]!);
    const before = sockets();
    const stop = new AbortController();
    // A join limit past this test's own timeout: only the abort can end the join in time.
    const log = await KafkaEventLog.connect({ brokers: kafkaMock().brokers, clientId: 'edgelat-join-abort-test', joinTimeoutMs: 120_000, signal: stop.signal, ...MOCK_GROUP_TIMEOUTS });
    const topic = `edgelat-join-${randomUUID()}`;
    try {
      await log.ensureTopic(topic, 4);
      const joining = log.consumer(`edgelat-join-${randomUUID()}`, [topic]).catch((e: unknown) => e);
      setTimeout(() => stop.abort(), 300);
      const error = await joining;
      expect(error).toBeInstanceOf(BrokerUnavailableError);
      expect([(error as Error).message.replace(/"[^"]*"/, 'G'), (error as BrokerUnavailableError).retriable]).toEqual(['kafka: group G join given up: the run was stopped', false]);
      // Stopped before it began: refused at once.
      expect(String(await log.consumer(`edgelat-join-${randomUUID()}`, [topic]).catch((e: unknown) => e))).toMatch(/join given up: the run was stopped/);
    } finally {
      await log.close();
    }
    await new Promise((r) => setTimeout(r, 4000));
    expect(sockets()).toBe(before);
  }, 30_000);

  it('gives a wait for a topic up at once when the run is stopped, the broker gone (a trial: SIGTERM during the processors\' start waited out the 30 s of adminWaitMs)', async () => {
    const own = await startKafkaMock();
    const stop = new AbortController();
    // A wait limit past this test's own timeout: only the abort can end the wait in time.
    const log = await KafkaEventLog.connect({ brokers: own.brokers, clientId: 'edgelat-topic-abort-test', adminWaitMs: 120_000, retries: 0, signal: stop.signal, ...MOCK_GROUP_TIMEOUTS });
    try {
      await own.stop();
      const waiting = log.ensureTopic(`edgelat-gone-${randomUUID()}`, 4).catch((e: unknown) => e);
      setTimeout(() => stop.abort(), 300);
      const error = await waiting;
      expect(error).toBeInstanceOf(BrokerUnavailableError);
      expect([(error as Error).message.replace(/"[^"]*"/, 'T'), (error as BrokerUnavailableError).retriable]).toEqual(['kafka: wait for topic T given up: the run was stopped', false]);
      // Stopped before it began: refused at once.
      expect(String(await log.ensureTopic('edgelat-later').catch((e: unknown) => e))).toMatch(/wait for topic "edgelat-later" given up: the run was stopped/);
    } finally {
      await log.close().catch(() => undefined);
      await own.stop();
    }
  }, 30_000);
});
