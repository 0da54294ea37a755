/**
 * A streaming run stops every processor when one fails, and raises the failure
 * (the CLI then exits instead of running on without it).
 *
 * A streaming run (input not sealed) exports consumer lag, watermark delay and
 * insert latency on its metrics: lag 0 once every record is read, the
 * watermark delay of each partition equal to wall clock − (max event time in
 * that partition − the out-of-orderness bound), one insert-latency sample per
 * block written after the linger time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS } from '../../pipelines/topics.ts';
import { codecFor } from '../../schemas/index.ts';
import { loadConfig } from '../../services/config.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import { createMetrics, METRIC_NAMES } from '../../services/metrics.ts';
import { runStreaming } from '../../services/pipeline/streaming.ts';
import { normalizeSimConfig, simulateFleet } from '../../services/simulator/index.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

describe('streaming run metrics', () => {
  let warehouse: ChdbWarehouse;
  beforeAll(async () => {
    warehouse = await createTestDatabase('metrics');
  });
  afterAll(async () => {
    await warehouse?.close();
  });

  it('reports lag 0, the watermark delay of every partition and the insert latency', async () => {
    const config = { ...loadConfig({}), sinkLingerMs: 100 };
    const sim = simulateFleet(normalizeSimConfig({ seed: 3, servers: 4, durationMs: 60_000 }));
    const log = new MemoryEventLog({ defaultPartitions: 4 });
    const placed = new Map<string, number>(); // topic:partition → max event time
    for (const topic of [TOPICS.inference, TOPICS.load] as const) {
      const arrivals = sim.arrivals.filter((a) => a.topic === topic);
      const codec = codecFor(topic === TOPICS.inference ? 'InferenceEvent' : 'LoadSample');
      const at = await log.produce(topic, arrivals.map((a) => ({ key: a.key, value: codec.encode(a.value as never), timestampMs: a.arrivalMs })));
      at.forEach((p, i) => {
        const key = `${topic}:${p.partition}`;
        placed.set(key, Math.max(placed.get(key) ?? -Infinity, arrivals[i]!.value.ts));
      });
    }
    const total = sim.arrivals.length;
    const metrics = createMetrics({ defaultMetrics: false });
    const stop = new AbortController();
    const value = async (name: string, labels: Record<string, string>) =>
      (await metrics.registry.getSingleMetric(name)!.get()).values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
    const run = runStreaming({ log, warehouse, config, processors: ['join', 'sink'], signal: stop.signal, metrics, gaugeEveryMs: 0 });
    const deadline = Date.now() + 60_000;
    const joined = async () => ((await value(METRIC_NAMES.recordsIn, { pipeline: 'join', topic: TOPICS.inference })) ?? 0) + ((await value(METRIC_NAMES.recordsIn, { pipeline: 'join', topic: TOPICS.load })) ?? 0);
    while ((await joined()) < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1500)); // a few more polls: gauges refreshed, lingering blocks written
    const before = Date.now();
    stop.abort();
    await run;
    const after = Date.now();
    expect(await joined()).toBe(total);

    for (const [key, maxTs] of placed) {
      const [topic, partition] = [key.slice(0, key.lastIndexOf(':')), key.slice(key.lastIndexOf(':') + 1)];
      const labels = { pipeline: 'join', topic, partition };
      expect(await value(METRIC_NAMES.consumerLag, labels), key).toBe(0);
      const delay = (await value(METRIC_NAMES.watermarkDelay, labels))!;
      const watermark = maxTs - config.maxOutOfOrdernessMs;
      // Set at the last gauge refresh: within the 1.5 s before `before`, or by the batch in flight when the run stopped.
      expect(delay, key).toBeGreaterThanOrEqual((before - 1500 - watermark) / 1000);
      expect(delay, key).toBeLessThanOrEqual((after - watermark) / 1000);
    }
    const writes = (await metrics.registry.getSingleMetric(METRIC_NAMES.batchWrite)!.get()).values
      .filter((v) => (v as { metricName?: string }).metricName === `${METRIC_NAMES.batchWrite}_count` && v.labels.table === `${warehouse.database}.inference_events`);
    expect(writes[0]?.value).toBeGreaterThan(0);
    const [rows] = await warehouse.query<{ c: number }>(`SELECT count() AS c FROM ${warehouse.database}.inference_events`);
    expect(rows!.c).toBe(sim.arrivals.filter((a) => a.topic === TOPICS.inference).length);
  }, 90_000);

  it('a bounded run leaves each drained stage\'s lag at 0, not its reading of up to 5 s before (a trial: a drained join showed 1,736)', async () => {
    const sim = simulateFleet(normalizeSimConfig({ seed: 5, servers: 4, durationMs: 240_000 }));
    const log = new MemoryEventLog({ defaultPartitions: 4 });
    for (const topic of [TOPICS.inference, TOPICS.load] as const) {
      const codec = codecFor(topic === TOPICS.inference ? 'InferenceEvent' : 'LoadSample');
      await log.produce(topic, sim.arrivals.filter((a) => a.topic === topic).map((a) => ({ key: a.key, value: codec.encode(a.value as never), timestampMs: a.arrivalMs })));
      await log.seal(topic);
    }
    const metrics = createMetrics({ defaultMetrics: false });
    // The default refresh of 5 s: the run takes less, so only the last, forced reading can show the drained stage.
    await runStreaming({ log, warehouse, config: { ...loadConfig({}), sinkLingerMs: 100 }, processors: ['join'], untilEnd: true, metrics });
    const lags = (await metrics.registry.getSingleMetric(METRIC_NAMES.consumerLag)!.get()).values.filter((v) => v.labels.pipeline === 'join' && v.labels.topic === TOPICS.inference);
    expect(lags.length).toBeGreaterThan(0);
    expect(lags.map((v) => v.value)).toEqual(lags.map(() => 0));
  }, 60_000);

  it('stops the other processors when one fails, and raises its error', async () => {
    const sim = simulateFleet(normalizeSimConfig({ seed: 4, servers: 2, durationMs: 30_000 }));
    const log = new MemoryEventLog({ defaultPartitions: 4 });
    for (const topic of [TOPICS.inference, TOPICS.load] as const) {
      const codec = codecFor(topic === TOPICS.inference ? 'InferenceEvent' : 'LoadSample');
      await log.produce(topic, sim.arrivals.filter((a) => a.topic === topic).map((a) => ({ key: a.key, value: codec.encode(a.value as never) })));
    }
    // A warehouse that refuses every insert with a non-retriable error: the sink fails at its first block.
    const broken = new Proxy(warehouse, {
      get(target, prop) {
        if (prop === 'insert') return async () => { throw new Error('insert refused: disk full'); };
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const started = Date.now();
    const run = runStreaming({ log, warehouse: broken, config: { ...loadConfig({}), sinkLingerMs: 0 }, processors: ['join', 'correlation', 'sink'] });
    await expect(run).rejects.toThrow('insert refused: disk full');
    expect(Date.now() - started).toBeLessThan(30_000);
    // The join and correlation stages left their groups: a new member of each gets every partition.
    for (const group of ['edgelat-join-load-latency', 'edgelat-rolling-correlation']) {
      const c = await log.consumer(group, group.includes('join') ? [TOPICS.inference, TOPICS.load] : [TOPICS.enriched]);
      expect(c.assignment().filter((tp) => tp.topic !== TOPICS.load).map((tp) => tp.partition), group).toEqual([0, 1, 2, 3]);
      await c.close();
    }
  }, 60_000);
});
