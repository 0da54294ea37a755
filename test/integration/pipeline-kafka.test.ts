/**
 * The main job on Kafka (librdkafka's mock cluster via Debian's kcat, or
 * EDGELAT_TEST_KAFKA_BROKERS) gives exactly the rows and windows of the
 * embedded run over the same records.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/config.ts';
import { KafkaEventLog } from '../../services/eventlog/kafka.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import { runBoundedPipeline } from '../../services/pipeline/embedded.ts';
import { produceSimulation } from '../../services/pipeline/demo.ts';
import { runStreaming } from '../../services/pipeline/streaming.ts';
import { normalizeSimConfig, simulateFleet } from '../../services/simulator/index.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { fingerprint } from '../helpers/fingerprint.ts';
import { kafkaTestsCanRun, MOCK_GROUP_TIMEOUTS, startKafkaMock, type KafkaMock } from '../helpers/kafka-mock.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

const external = process.env.EDGELAT_TEST_KAFKA_BROKERS?.split(',').map((s) => s.trim()).filter(Boolean);
const haveKafka = kafkaTestsCanRun('the Kafka pipeline test');

describe.skipIf(!haveKafka)('pipeline on Kafka', () => {
  let mock: KafkaMock | null = null;
  const warehouses: ChdbWarehouse[] = [];
  const config = { ...loadConfig({}), windowSizeMs: 60_000, windowSlideMs: 15_000 };
  const sim = simulateFleet(normalizeSimConfig({ seed: 21, servers: 6, durationMs: 3 * 60_000, maxJitterMs: 2600 }));

  beforeAll(async () => {
    if (!external) mock = await startKafkaMock();
  });
  afterAll(async () => {
    for (const w of warehouses) await w.close();
    await mock?.stop();
  });

  it('joins, correlates and sinks the same rows and windows as the embedded run', async () => {
    const reference = await createTestDatabase('kref');
    const onKafka = await createTestDatabase('kafka');
    warehouses.push(reference, onKafka);
    const memory = new MemoryEventLog({ defaultPartitions: 4, now: () => 0 });
    await produceSimulation(memory, sim, 2);
    await runBoundedPipeline({ log: memory, warehouse: reference, config });

    const log = await KafkaEventLog.connect({ brokers: external ?? mock!.brokers, clientId: 'edgelat-pipeline-test', ...(external ? {} : MOCK_GROUP_TIMEOUTS) });
    try {
      await produceSimulation(log, sim, 2);
      const counts = await runStreaming({ log, warehouse: onKafka, config, untilEnd: true });
      expect(counts.join!['edge.inference.v1']!.dead).toBe(2);
    } finally {
      await log.close();
    }
    const expected = await fingerprint(reference);
    expect(Number(expected.inference_enriched!.split(':')[0])).toBeGreaterThan(2000);
    expect(await fingerprint(onKafka)).toEqual(expected);
  }, 240_000);
});
