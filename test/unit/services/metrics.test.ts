import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics, METRIC_NAMES, observeCounts, observeDeliveries, observePartitions, observeRetrainCycle } from '../../../services/metrics.ts';
import { startOpsServer, type OpsServer } from '../../../services/ops-server.ts';

const counts = (consumed: number, processed: number, late: number, dead: number, repeated?: number) => ({ consumed, processed, late, dead, ...(repeated !== undefined ? { repeated } : {}) });

async function value(metrics: ReturnType<typeof createMetrics>, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const m = await metrics.registry.getSingleMetric(name)!.get();
  return m.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
}

describe('observeRetrainCycle', () => {
  it('counts each cycle by outcome, a throw as failed (rethrown), and times it; the last success only for a cycle that trained', async () => {
    // A trial: retraining could not be watched from Prometheus (a cycle overrunning its schedule showed as a log line only).
    const m = createMetrics({ defaultMetrics: false });
    let t = 1_000_000;
    const clock = () => t;
    const value = async (name: string, labels: Record<string, string> = {}) => (await m.registry.getSingleMetric(name)!.get()).values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;
    expect(await observeRetrainCycle(m, async () => { t += 22_000; return 'trained'; }, clock)).toBe('trained');
    expect([await value(METRIC_NAMES.retrainLastDuration), await value(METRIC_NAMES.retrainLastSuccess)]).toEqual([22, 1022]);
    await observeRetrainCycle(m, async () => { t += 1000; return 'skipped'; }, clock);
    await expect(observeRetrainCycle(m, async () => { t += 500; throw new Error('warehouse down'); }, clock)).rejects.toThrow('warehouse down');
    expect([await value(METRIC_NAMES.retrainLastDuration), await value(METRIC_NAMES.retrainLastSuccess)]).toEqual([0.5, 1022]);
    expect(await Promise.all(['trained', 'skipped', 'stopped', 'failed'].map((outcome) => value(METRIC_NAMES.retrainCycles, { outcome })))).toEqual([1, 1, undefined, 1]);
  });
});

describe('observeCounts', () => {
  it('adds only the delta since the previous call, per pipeline and topic', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    observeCounts(metrics, 'join', { 'edge.inference.v1': counts(10, 8, 1, 1), 'edge.load.v1': counts(5, 5, 0, 0) });
    observeCounts(metrics, 'join', { 'edge.inference.v1': counts(25, 20, 3, 2, 4), 'edge.load.v1': counts(5, 5, 0, 0) });
    observeCounts(metrics, 'join', { 'edge.inference.v1': counts(25, 20, 3, 2, 4) });
    observeCounts(metrics, 'other', { 'edge.inference.v1': counts(4, 4, 0, 0) });
    const inf = { pipeline: 'join', topic: 'edge.inference.v1' };
    expect(await value(metrics, METRIC_NAMES.recordsIn, inf)).toBe(25);
    expect(await value(metrics, METRIC_NAMES.recordsOut, inf)).toBe(20);
    expect(await value(metrics, METRIC_NAMES.lateRecords, inf)).toBe(3);
    expect(await value(metrics, METRIC_NAMES.deadLetters, inf)).toBe(2);
    expect(await value(metrics, METRIC_NAMES.repeatedRecords, inf)).toBe(4);
    // A series from the first count on, at 0 until something is counted (a trial: absent until the first one).
    expect(await value(metrics, METRIC_NAMES.repeatedRecords, { pipeline: 'join', topic: 'edge.load.v1' })).toBe(0);
    expect(await value(metrics, METRIC_NAMES.deadLetters, { pipeline: 'other', topic: 'edge.inference.v1' })).toBe(0);
    expect(await value(metrics, METRIC_NAMES.recordsIn, { pipeline: 'join', topic: 'edge.load.v1' })).toBe(5);
    expect(await value(metrics, METRIC_NAMES.recordsIn, { pipeline: 'other', topic: 'edge.inference.v1' })).toBe(4);
  });

  it('treats a count lower than before as a restarted run and adds it in full', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    observeCounts(metrics, 'p', { t: counts(10, 10, 0, 0) });
    observeCounts(metrics, 'p', { t: counts(3, 3, 0, 0) });
    expect(await value(metrics, METRIC_NAMES.recordsIn, { pipeline: 'p', topic: 't' })).toBe(13);
  });

  it('counts alert deliveries by status, as increments of the run\'s cumulative counts (a trial: rejected ones were silent)', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    observeDeliveries(metrics, { delivered: 3, rejected: 0, filtered: 1 });
    observeDeliveries(metrics, { delivered: 5, rejected: 2, filtered: 1 });
    // A restarted run counts from 0 again: added in full.
    observeDeliveries(metrics, { delivered: 1, rejected: 0, filtered: 0 });
    expect([await value(metrics, METRIC_NAMES.alertDeliveries, { status: 'delivered' }), await value(metrics, METRIC_NAMES.alertDeliveries, { status: 'rejected' }), await value(metrics, METRIC_NAMES.alertDeliveries, { status: 'filtered' })]).toEqual([6, 2, 1]);
  });

  it('keeps separate registries apart', async () => {
    const a = createMetrics();
    const b = createMetrics();
    observeCounts(a, 'p', { t: counts(1, 1, 0, 0) });
    expect(await value(b, METRIC_NAMES.recordsIn, { pipeline: 'p', topic: 't' })).toBeUndefined();
  });
});

describe('observePartitions', () => {
  it('sets one series per owned partition, skips non-finite values and removes partitions no longer owned', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const lag = (partition: number) => ({ pipeline: 'sink', topic: 't', partition: String(partition) });
    observePartitions(metrics, 'consumerLag', 'sink', [{ topic: 't', partition: 0, value: 5 }, { topic: 't', partition: 1, value: 7 }, { topic: 't', partition: 2, value: Number.POSITIVE_INFINITY }]);
    expect(await value(metrics, METRIC_NAMES.consumerLag, lag(0))).toBe(5);
    expect(await value(metrics, METRIC_NAMES.consumerLag, lag(1))).toBe(7);
    expect(await value(metrics, METRIC_NAMES.consumerLag, lag(2))).toBeUndefined();
    observePartitions(metrics, 'consumerLag', 'other', [{ topic: 't', partition: 0, value: 1 }]);
    observePartitions(metrics, 'consumerLag', 'sink', [{ topic: 't', partition: 1, value: 3 }]); // partition 0 rebalanced away
    expect(await value(metrics, METRIC_NAMES.consumerLag, lag(0))).toBeUndefined();
    expect(await value(metrics, METRIC_NAMES.consumerLag, lag(1))).toBe(3);
    expect(await value(metrics, METRIC_NAMES.consumerLag, { pipeline: 'other', topic: 't', partition: '0' })).toBe(1);
  });
});

describe('ops server', () => {
  let server: OpsServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it('serves every metric name with its labels in the Prometheus text format', async () => {
    const metrics = createMetrics();
    observeCounts(metrics, 'join', { 'edge.inference.v1': counts(7, 6, 1, 1) });
    observePartitions(metrics, 'consumerLag', 'join', [{ topic: 'edge.inference.v1', partition: 2, value: 42 }]);
    observePartitions(metrics, 'watermarkDelay', 'join', [{ topic: 'edge.inference.v1', partition: 2, value: (3_500 - 1_000) / 1000 }]);
    metrics.batchWrite.observe({ table: 'inference_enriched' }, 0.03);
    server = await startOpsServer({ port: 0, host: '127.0.0.1', metrics, health: () => ({ ok: true }) });
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(metrics.registry.contentType);
    const text = await res.text();
    for (const line of [
      'edgelat_records_in_total{pipeline="join",topic="edge.inference.v1"} 7',
      'edgelat_records_out_total{pipeline="join",topic="edge.inference.v1"} 6',
      'edgelat_dead_letters_total{pipeline="join",topic="edge.inference.v1"} 1',
      'edgelat_late_records_total{pipeline="join",topic="edge.inference.v1"} 1',
      'edgelat_consumer_lag{pipeline="join",topic="edge.inference.v1",partition="2"} 42',
      'edgelat_watermark_delay_seconds{pipeline="join",topic="edge.inference.v1",partition="2"} 2.5',
      'edgelat_batch_write_seconds_bucket{le="0.05",table="inference_enriched"} 1',
      'edgelat_batch_write_seconds_count{table="inference_enriched"} 1',
    ]) expect(text).toContain(line);
    for (const name of Object.values(METRIC_NAMES)) expect(text).toContain(`# TYPE ${name} `);
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('answers /healthz 200 when healthy and 503 with details when not', async () => {
    let healthy = true;
    server = await startOpsServer({ port: 0, metrics: createMetrics({ defaultMetrics: false }), health: () => (healthy ? { ok: true, details: { lag: 0 } } : { ok: false, details: { broker: 'unreachable' } }) });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const ok = await fetch(`${server.url}/healthz`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: 'ok', details: { lag: 0 } });
    healthy = false;
    const bad = await fetch(`${server.url}/healthz`);
    expect(bad.status).toBe(503);
    expect(await bad.json()).toEqual({ status: 'unavailable', details: { broker: 'unreachable' } });
  });

  it('answers 503 when the health check throws, 404 for other paths, 405 for other methods', async () => {
    server = await startOpsServer({ port: 0, host: '127.0.0.1', metrics: createMetrics({ defaultMetrics: false }), health: async () => { throw new Error('warehouse down'); } });
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'unavailable', details: { error: 'warehouse down' } });
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('rejects a bad port', async () => {
    await expect(startOpsServer({ port: 70_000, metrics: createMetrics({ defaultMetrics: false }), health: () => ({ ok: true }) })).rejects.toThrow(RangeError);
  });
});
