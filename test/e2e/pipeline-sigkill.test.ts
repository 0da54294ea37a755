/**
 * B2: `edgelat pipeline run` as a separate process on Kafka (mock cluster)
 * writing to ClickHouse over HTTP (the endpoint), killed with SIGKILL mid-run
 * and restarted: the same rows and correlation windows as an uninterrupted
 * run (state rebuilt by replay, no duplicates by plain count()).
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/config.ts';
import { KafkaEventLog } from '../../services/eventlog/kafka.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import { runBoundedPipeline } from '../../services/pipeline/embedded.ts';
import { produceSimulation } from '../../services/pipeline/demo.ts';
import { normalizeSimConfig, simulateFleet } from '../../services/simulator/index.ts';
import { ClickHouseWarehouse } from '../../services/warehouse/clickhouse.ts';
import { fingerprint } from '../helpers/fingerprint.ts';
import { kafkaTestsCanRun, MOCK_GROUP_ENV } from '../helpers/kafka-mock.ts';
import { usePeers } from '../helpers/peers.ts';
import { runPipelineProcess } from '../helpers/cli-process.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

const haveKafka = kafkaTestsCanRun('the pipeline SIGKILL test', { mockOnly: true });

describe.skipIf(!haveKafka)('pipeline run killed with SIGKILL and restarted', () => {
  const peers = usePeers();

  it('gives the rows and windows of an uninterrupted run', async () => {
    const { mock, endpoint } = peers();
    const config = { ...loadConfig({}), windowSizeMs: 60_000, windowSlideMs: 15_000 };
    const sim = simulateFleet(normalizeSimConfig({ seed: 33, servers: 6, durationMs: 3 * 60_000, maxJitterMs: 2600 }));
    const reference = await createTestDatabase('sigkill_ref');
    const memory = new MemoryEventLog({ defaultPartitions: 4, now: () => 0 });
    await produceSimulation(memory, sim, 2);
    await runBoundedPipeline({ log: memory, warehouse: reference, config });
    const expected = await fingerprint(reference);
    await reference.close();

    const log = await KafkaEventLog.connect({ brokers: mock.brokers, clientId: 'edgelat-sigkill-test' });
    await produceSimulation(log, sim, 2);
    await log.close();
    const env = {
      EDGELAT_KAFKA_BROKERS: mock.brokers.join(','),
      EDGELAT_CLICKHOUSE_URL: endpoint.url,
      EDGELAT_DATABASE: 'sigkill',
      EDGELAT_WINDOW_SIZE_MS: String(config.windowSizeMs),
      EDGELAT_WINDOW_SLIDE_MS: String(config.windowSlideMs),
      EDGELAT_LOG_LEVEL: 'error',
      EDGELAT_SINK_BATCH_OFFSETS: '200',
      ...MOCK_GROUP_ENV,
    };
    const warehouse = new ClickHouseWarehouse({ url: endpoint.url, database: 'sigkill' });
    const enriched = async () => {
      try {
        return Number((await warehouse.query<{ c: number }>('SELECT count() AS c FROM sigkill.inference_enriched'))[0]!.c);
      } catch {
        return 0; // tables not there yet
      }
    };
    // Kill once the sink has written part of the enriched rows: mid-run, with state in every processor.
    const killWhen = async () => {
      while ((await enriched()) < 200) await new Promise((r) => setTimeout(r, 100));
    };
    try {
      expect(await runPipelineProcess(env, [], killWhen)).toBe('SIGKILL');
      const partial = await enriched();
      expect(partial).toBeGreaterThanOrEqual(200);
      expect(partial).toBeLessThan(Number(expected.inference_enriched!.split(':')[0])); // killed mid-run
      expect(await runPipelineProcess(env)).toBe('0');
      // Every table and window exactly, the latency_1m roll-up (a materialized view) included.
      expect(await fingerprint(warehouse)).toEqual(expected);
    } finally {
      await warehouse.close();
    }
  }, 240_000);
});
