/**
 * B1: 30,000 inference records from 12 servers on Kafka (mock cluster), the
 * pipeline run as 2 instances (separate processes) in each consumer group →
 * inference_enriched holds 30,000 rows with 30,000 distinct event ids by a
 * plain count(), every group's committed offsets equal the log end offsets,
 * and the correlation windows equal those of the embedded run.
 * Both instances run every processor (join, correlation, sink) at once and
 * stop with --until-end when each consumer group as a whole has drained its
 * sealed inputs.
 */
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { TOPICS } from '../../pipelines/topics.ts';
import { loadConfig } from '../../services/config.ts';
import { KafkaEventLog } from '../../services/eventlog/kafka.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import { produceInChunks } from '../../services/pipeline/produce.ts';
import { runBoundedPipeline, SINK_TOPICS } from '../../services/pipeline/embedded.ts';
import { normalizeSimConfig, simulateFleet } from '../../services/simulator/index.ts';
import { ClickHouseWarehouse } from '../../services/warehouse/clickhouse.ts';
import { fingerprint } from '../helpers/fingerprint.ts';
import { kafkaTestsCanRun, MOCK_GROUP_ENV } from '../helpers/kafka-mock.ts';
import { usePeers } from '../helpers/peers.ts';
import { runPipelineProcess } from '../helpers/cli-process.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

const haveKafka = kafkaTestsCanRun('the two-instance pipeline test', { mockOnly: true });

describe.skipIf(!haveKafka)('pipeline run as two instances per consumer group', () => {
  const peers = usePeers();

  it('30,000 records: exactly once in the warehouse, offsets at the end, windows as embedded', async () => {
    const { mock, endpoint } = peers();
    const config = { ...loadConfig({}), windowSizeMs: 60_000, windowSlideMs: 15_000 };
    const sim = simulateFleet(normalizeSimConfig({ seed: 7, servers: 12, durationMs: 10 * 60_000 }));
    // The first 30,000 inference events in arrival order, and the load samples that arrived before the last of them.
    const cut = sim.arrivals.map((a, i) => [a, i] as const).filter(([a]) => a.topic === TOPICS.inference)[29_999]![1];
    const arrivals = sim.arrivals.slice(0, cut + 1);
    expect(arrivals.filter((a) => a.topic === TOPICS.inference)).toHaveLength(30_000);

    const reference = await createTestDatabase('b1_ref');
    const memory = new MemoryEventLog({ defaultPartitions: 4, now: () => 0 });
    await produceInChunks(memory, arrivals);
    await runBoundedPipeline({ log: memory, warehouse: reference, config });
    const expected = await fingerprint(reference);
    await reference.close();

    const log = await KafkaEventLog.connect({ brokers: mock.brokers, clientId: 'edgelat-b1' });
    await produceInChunks(log, arrivals);
    await log.close();
    const env = {
      EDGELAT_KAFKA_BROKERS: mock.brokers.join(','), EDGELAT_CLICKHOUSE_URL: endpoint.url, EDGELAT_DATABASE: 'b1', EDGELAT_LOG_LEVEL: process.env.EDGELAT_TEST_DEBUG ? 'debug' : 'error',
      EDGELAT_WINDOW_SIZE_MS: String(config.windowSizeMs), EDGELAT_WINDOW_SLIDE_MS: String(config.windowSlideMs), ...MOCK_GROUP_ENV,
    };
    // Two processes, each running all three processors, started together: every consumer group has two members.
    await Promise.all([runPipelineProcess(env), runPipelineProcess(env)]);

    const warehouse = new ClickHouseWarehouse({ url: endpoint.url, database: 'b1' });
    try {
      for (let i = 0; i < 2; i++) {
        const [r] = await warehouse.query<{ c: number; u: number }>('SELECT count() AS c, uniqExact(event_id) AS u FROM b1.inference_enriched');
        expect(r).toEqual({ c: 30_000, u: 30_000 });
      }
      const got = await fingerprint(warehouse);
      expect(got.load_latency_correlations).toBe(expected.load_latency_correlations);
      expect(got).toEqual(expected);
    } finally {
      await warehouse.close();
    }
    const admin = new kafkajs.Kafka({ brokers: mock.brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const groups: [string, readonly string[]][] = [
        ['edgelat-join-load-latency', [TOPICS.inference, TOPICS.load]],
        ['edgelat-rolling-correlation', [TOPICS.enriched]],
        ['edgelat-warehouse-sink', SINK_TOPICS],
      ];
      for (const [groupId, topics] of groups) {
        for (const topic of topics) {
          const ends = await admin.fetchTopicOffsets(topic);
          const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
          for (const e of ends) {
            // A partition that never held a record has no committed offset (-1: start at the beginning, offset 0).
            const c = committed!.partitions.find((p) => p.partition === e.partition)?.offset;
            expect(c === '-1' && e.high === '0' ? '0' : c, `${groupId} ${topic}:${e.partition}`).toBe(e.high);
          }
        }
      }
    } finally {
      await admin.disconnect();
    }
  }, 480_000);
});
