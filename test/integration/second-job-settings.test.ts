/**
 * A second job over the same topics (its own consumer groups: another EDGELAT_KAFKA_GROUP_PREFIX)
 * takes the output already in the topics as its own and drops its own emissions as repeats. A breaker
 * trial ran one with 60 s windows after one with 5-minute windows: its warehouse got the 5-minute
 * windows without a word. Emissions now carry their processor's settings fingerprint, and a run that
 * takes over output made with other settings refuses to start; with the same settings it runs and adds nothing.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../errors.ts';
import { joinLoadLatency } from '../../pipelines/join-load-latency.ts';
import { ProcessorRun } from '../../pipelines/runtime/run-processor.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import { codecFor } from '../../schemas/index.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import { loadConfig } from '../../services/config.ts';
import { produceSimulation } from '../../services/pipeline/demo.ts';
import { runStreaming } from '../../services/pipeline/streaming.ts';
import { normalizeSimConfig, simulateFleet } from '../../services/simulator/index.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { at, makeInference, makeLoad } from '../helpers/factories.ts';
import { fingerprint } from '../helpers/fingerprint.ts';
import { readTopic } from '../helpers/pipeline.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

const T0 = at('2024-06-01T10:00:00.000Z');

async function sealedLog(): Promise<MemoryEventLog> {
  const log = new MemoryEventLog({ defaultPartitions: 2 });
  for (const server of ['edge-1', 'edge-2']) {
    await log.produce(TOPICS.load, Array.from({ length: 20 }, (_, i) => ({ key: server, value: codecFor('LoadSample').encode(makeLoad({ edge_server_id: server, ts: T0 + 1000 * i })) })));
    await log.produce(TOPICS.inference, Array.from({ length: 40 }, (_, i) => ({ key: server, value: codecFor('InferenceEvent').encode(makeInference({ edge_server_id: server, ts: T0 + 500 * i + 250, event_id: `${server}-${i}` })) })));
  }
  await log.seal(TOPICS.load);
  await log.seal(TOPICS.inference);
  return log;
}

describe('a second job over the same topics', () => {
  it('refuses to take over output made with other settings, naming the topic and both settings; with the same settings it adds nothing', async () => {
    const log = await sealedLog();
    await new ProcessorRun({ log, processor: joinLoadLatency({ toleranceMs: 5000 }), groupId: 'first-join' }).runToEnd();
    const enriched = (await readTopic(log, TOPICS.enriched)).length;
    expect(enriched).toBeGreaterThan(0);

    const other = new ProcessorRun({ log, processor: joinLoadLatency({ toleranceMs: 1000 }), groupId: 'second-join' });
    const refused = await other.runToEnd().then(() => null, (error: unknown) => error);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toMatch(new RegExp(`^${TOPICS.enriched} already holds join-load-latency output made with other settings than this run's \\{"toleranceMs":1000,"maxOutOfOrdernessMs":2000\\} \\(fingerprint [0-9a-f]{16} there, [0-9a-f]{16} here\\): a job over the same topics`));
    await other.close();

    await new ProcessorRun({ log, processor: joinLoadLatency({ toleranceMs: 5000 }), groupId: 'third-join' }).runToEnd();
    expect(await readTopic(log, TOPICS.enriched)).toHaveLength(enriched);
  });
});

describe('a restart of the same job with other settings', () => {
  it('is refused at its start, naming the group and the way to start over; with its own settings it goes on', async () => {
    const log = await sealedLog();
    await new ProcessorRun({ log, processor: joinLoadLatency({ toleranceMs: 5000 }), groupId: 'job-join' }).runToEnd();
    const changed = new ProcessorRun({ log, processor: joinLoadLatency({ toleranceMs: 1000 }), groupId: 'job-join' });
    const refused = await changed.start().then(() => null, (error: unknown) => error);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toMatch(/^consumer group job-join committed edge\.\w+\.v1 with other join-load-latency settings than this run's \{"toleranceMs":1000,"maxOutOfOrdernessMs":2000\} \(toleranceMs 5000 there, 1000 here; fingerprint [0-9a-f]{16} there, [0-9a-f]{16} here\): .* delete the output topics and the warehouse tables/);
    await changed.close();
    const same = new ProcessorRun({ log, processor: joinLoadLatency({ toleranceMs: 5000 }), groupId: 'job-join' });
    await same.runToEnd();
  });
});

describe('pipeline run: a second job with other settings', () => {
  const sim = simulateFleet(normalizeSimConfig({ seed: 43, servers: 4, durationMs: 3 * 60_000, maxJitterMs: 1500 }));
  const config = { ...loadConfig({}), windowSizeMs: 60_000, windowSlideMs: 15_000, sinkLingerMs: 50 };
  const warehouses: ChdbWarehouse[] = [];
  beforeAll(async () => {
    for (const name of ['job_a', 'job_b', 'job_c', 'job_d']) warehouses.push(await createTestDatabase(name));
  });
  afterAll(async () => {
    for (const w of warehouses) await w.close();
  });

  it('refuses before any stage reads a batch, so its warehouse stays empty; one with the same settings gets the first one\'s tables', async () => {
    const [a, b, c] = warehouses as [ChdbWarehouse, ChdbWarehouse, ChdbWarehouse];
    const log = new MemoryEventLog({ defaultPartitions: 4, now: () => 0 });
    await produceSimulation(log, sim, 2);
    await runStreaming({ log, warehouse: a, config, untilEnd: true, groupPrefix: 'job-a' });
    // A trial: the join and the sink of such a job ran (their settings are the same) and wrote its warehouse
    // full of the first job's 5-minute windows before its correlation processor refused.
    // On Kafka a group join takes seconds: here the correlation processor's join is made to take 500 ms.
    const slowJoin = new Proxy(log, {
      get(target, prop, receiver) {
        if (prop !== 'consumer') return Reflect.get(target, prop, receiver) as unknown;
        return async (groupId: string, topics: string[]) => {
          if (groupId.endsWith('rolling-correlation')) await sleep(500);
          return target.consumer(groupId, topics);
        };
      },
    });
    const refused = await runStreaming({ log: slowJoin, warehouse: b, config: { ...config, windowSizeMs: 120_000 }, untilEnd: true, groupPrefix: 'job-b' }).then(() => null, (e: unknown) => e);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toMatch(/^analytics\.load-latency-correlation\.v1 already holds rolling-correlation output made with other settings than this run's \{"sizeMs":120000,/);
    const [rows] = await b.query<{ events: number; enriched: number; windows: number }>(
      `SELECT (SELECT count() FROM ${b.database}.inference_events) AS events, (SELECT count() FROM ${b.database}.inference_enriched) AS enriched, (SELECT count() FROM ${b.database}.load_latency_correlations) AS windows`);
    expect(rows).toEqual({ events: 0, enriched: 0, windows: 0 });
    await runStreaming({ log, warehouse: c, config, untilEnd: true, groupPrefix: 'job-c' });
    // Dead letters name the consumer group that met them (job-a-…, job-c-…): their count is compared, not their hash.
    const [fa, fc] = [await fingerprint(a), await fingerprint(c)];
    expect({ ...fc, dead_letters: fc.dead_letters!.split(':')[0] }).toEqual({ ...fa, dead_letters: fa.dead_letters!.split(':')[0] });
  });

  it('a restart of the job with another window size is refused, naming the setting that changed (a trial was shown two fingerprints)', async () => {
    const d = warehouses[3]!;
    const log = new MemoryEventLog({ defaultPartitions: 4, now: () => 0 });
    await produceSimulation(log, sim, 2);
    await runStreaming({ log, warehouse: d, config, untilEnd: true, groupPrefix: 'job-d' });
    const refused = await runStreaming({ log, warehouse: d, config: { ...config, windowSizeMs: 120_000 }, untilEnd: true, groupPrefix: 'job-d' }).then(() => null, (e: unknown) => e);
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as Error).message).toMatch(/^consumer group job-d-rolling-correlation committed [\w.-]+ with other rolling-correlation settings than this run's \{"sizeMs":120000,.*\} \(sizeMs 60000 there, 120000 here; fingerprint [0-9a-f]{16} there/);
  });
});
