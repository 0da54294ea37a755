/**
 * A second `pipeline run --until-end` over topics a finished run sealed and drained, with records produced after it
 * (a trial): every input that had reached its end stays ended, so a record produced after is late, never dropped nor
 * joined against state the first run had flushed; and the sink reaches the end of the output topics only after this
 * run's join and correlation sealed them (a seal stays across runs: the sink had exited 0 before their output came).
 * Nothing of the second run is missing from the warehouse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS } from '../../pipelines/topics.ts';
import type { InferenceEvent } from '../../schemas/types.ts';
import { loadConfig } from '../../services/config.ts';
import { KafkaEventLog } from '../../services/eventlog/kafka.ts';
import { produceSimulation } from '../../services/pipeline/demo.ts';
import { encodeArrival } from '../../services/pipeline/produce.ts';
import { runStreaming } from '../../services/pipeline/streaming.ts';
import { normalizeSimConfig, simulateFleet } from '../../services/simulator/index.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { kafkaTestsCanRun, MOCK_GROUP_TIMEOUTS, startKafkaMock, type KafkaMock } from '../helpers/kafka-mock.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

describe.skipIf(!kafkaTestsCanRun('the Kafka re-run test', { mockOnly: true }))('a second --until-end run after a finished one (mock cluster)', () => {
  let mock: KafkaMock;
  let warehouse: ChdbWarehouse;
  const config = { ...loadConfig({}), windowSizeMs: 60_000, windowSlideMs: 15_000 };
  const sim = simulateFleet(normalizeSimConfig({ seed: 9, servers: 3, durationMs: 2 * 60_000 }));

  beforeAll(async () => {
    mock = await startKafkaMock();
    warehouse = await createTestDatabase('rerun');
  });
  afterAll(async () => {
    await warehouse?.close();
    await mock?.stop();
  });

  it('takes records produced after the first run as late, and writes all of the second run\'s output', async () => {
    const count = async (sql: string) => Number((await warehouse.query<{ n: string }>(sql))[0]!.n);
    const db = warehouse.database;
    const first = await KafkaEventLog.connect({ brokers: mock.brokers, clientId: 'edgelat-rerun-test-1', ...MOCK_GROUP_TIMEOUTS });
    try {
      await produceSimulation(first, sim, 0);
      await runStreaming({ log: first, warehouse, config, untilEnd: true });
    } finally {
      await first.close();
    }
    // Another process: a later producer, then the second run.
    const log = await KafkaEventLog.connect({ brokers: mock.brokers, clientId: 'edgelat-rerun-test-2', ...MOCK_GROUP_TIMEOUTS });
    try {
      const before = await count(`SELECT count() AS n FROM ${db}.inference_events`);
      // After the seal: a copy of the last event half a second before it (within the out-of-orderness bound: the
      // restored watermark took it as on time, and it was dropped as a replay), and one a minute after it.
      const last = [...sim.arrivals].reverse().find((a) => a.topic === TOPICS.inference)!;
      const value = last.value as InferenceEvent;
      for (const [i, dt] of [[1, -500], [2, 60_000]] as const) {
        const copy = { ...value, event_id: `${value.event_id}-after-${i}`, request_id: `${value.request_id}-after-${i}`, ts: value.ts + dt };
        await log.produce(TOPICS.inference, [{ key: last.key, value: encodeArrival({ ...last, value: copy }), timestampMs: last.arrivalMs + Math.max(dt, 0) + 1 }]);
      }
      const second = await runStreaming({ log, warehouse, config, untilEnd: true });
      expect(second.join![TOPICS.inference]).toMatchObject({ consumed: 2, late: 2, dead: 0 });
      // Every valid inference event is enriched or late: the two new ones late, none lost.
      expect(await count(`SELECT count() AS n FROM ${db}.inference_events`)).toBe(before + 2);
      const enriched = await count(`SELECT count() AS n FROM ${db}.inference_enriched`);
      const late = await count(`SELECT count() AS n FROM ${db}.late_events WHERE topic = '${TOPICS.inference}'`);
      expect(enriched + late).toBe(before + 2);
      expect(await count(`SELECT count() AS n FROM ${db}.late_events WHERE record_json LIKE '%-after-%'`)).toBe(2);
      // The sink copied every record the processors wrote, the second run's late events included.
      const ends = async (topic: string) => {
        let n = 0;
        for (let partition = 0; partition < 4; partition++) n += await log.endOffset({ topic, partition });
        return n;
      };
      expect(await count(`SELECT count() AS n FROM ${db}.late_events`)).toBe(await ends(TOPICS.late));
      expect(await count(`SELECT count() AS n FROM ${db}.load_latency_correlations`)).toBe(await ends(TOPICS.correlation));
    } finally {
      await log.close();
    }
  }, 240_000);
});
