/**
 * The retraining schedule's window (services/cli/pipeline.ts): the last EDGELAT_RETRAIN_WINDOW_MS of event time up to
 * the newest request, or all the data when it spans less. A trial: the default 7 days over a young warehouse put the
 * window's training part (its oldest 80 %) before the first request, and no cycle ever trained.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainTelemetryModels } from '../../services/cli/model.ts';
import { loadConfig } from '../../services/config.ts';
import { ModelRegistry } from '../../services/model/registry.ts';
import { importBenchmarkCut, loadTelemetryRows, trainingDataMark } from '../../services/model/telemetry.ts';
import { runDemo } from '../../services/pipeline/demo.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { SINK_ROUTES } from '../../pipelines/warehouse-sink.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import { makeEnriched, makeLoad } from '../helpers/factories.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

const WEEK_MS = 7 * 24 * 3_600_000;

describe('retraining window', () => {
  let warehouse: ChdbWarehouse;
  let registry: ModelRegistry;
  beforeAll(async () => {
    warehouse = await createTestDatabase('retrain_window');
    await runDemo({ warehouse, config: loadConfig({}), sim: { seed: 3, servers: 2, durationMs: 4 * 60_000 }, badRecords: 0 });
    await importBenchmarkCut(warehouse);
    registry = new ModelRegistry(warehouse, mkdtempSync(join(tmpdir(), 'edgelat-retrain-')));
  }, 120_000);
  afterAll(async () => warehouse?.close());

  it('loads a deterministic sample of about maxRows requests of a window holding more (a busy fleet\'s week is millions), in event-time order', async () => {
    const far = Date.UTC(2299, 0, 1);
    const all = (await loadTelemetryRows(warehouse, 0, far)).rows;
    expect(all.length).toBeGreaterThan(1500);
    const max = Math.round(all.length / 4);
    const sample = (await loadTelemetryRows(warehouse, 0, far, max)).rows;
    // Binomial: about a quarter, well within ±20 % at these sizes (sd about 1.6 % of the mean).
    expect(sample.length).toBeGreaterThan(0.8 * max);
    expect(sample.length).toBeLessThan(1.2 * max);
    const ids = new Set(all.map((r) => r.eventId));
    expect(sample.every((r) => ids.has(r.eventId))).toBe(true);
    expect(sample.every((r, i) => i === 0 || r.tsMs >= sample[i - 1]!.tsMs)).toBe(true);
    expect((await loadTelemetryRows(warehouse, 0, far, max)).rows.map((r) => r.eventId)).toEqual(sample.map((r) => r.eventId));
    // At or under the cap, every request.
    expect((await loadTelemetryRows(warehouse, 0, far, all.length)).rows.length).toBe(all.length);
  });

  it('a window wider than the data trains on the data it has (maxWindowMs); an exact one that wide finds no training rows and registers nothing', async () => {
    const logger = pino({ level: 'silent' });
    const exact = await trainTelemetryModels(warehouse, registry, { kinds: ['total_ms_p50'], windowMs: WEEK_MS, seed: 1, logger });
    expect(exact.map((r) => r.reason)).toEqual([expect.stringMatching(/^skipped \(not registered\): no training rows in \[/)]);
    expect(await registry.list()).toEqual([]);
    const clipped = await trainTelemetryModels(warehouse, registry, { kinds: ['total_ms_p50'], maxWindowMs: WEEK_MS, seed: 1, logger });
    expect(clipped.map((r) => [r.status, r.promoted])).toEqual([['champion', true]]);
    const [model] = await registry.list();
    // The window is the data's span: from the first request to just after the newest.
    const [span] = await warehouse.query<{ lo: number; hi: number }>(
      `SELECT toUnixTimestamp64Milli(min(ts)) AS lo, toUnixTimestamp64Milli(max(ts)) AS hi FROM ${warehouse.database}.inference_enriched WHERE status = 'ok' AND matched`);
    expect([model!.windowStartMs, model!.windowEndMs]).toEqual([Number(span!.lo), Number(span!.hi) + 1]);
    expect(model!.rowsTrain).toBeGreaterThan(4 * model!.rowsHoldout * 0.8);
  }, 120_000);

  it('ends the data window at the newest request when the registry holds a model trained later (a re-test: data replaced by a shorter run trained nothing)', async () => {
    const [span] = await warehouse.query<{ hi: number }>(`SELECT toUnixTimestamp64Milli(max(ts)) AS hi FROM ${warehouse.database}.inference_enriched WHERE status = 'ok' AND matched`);
    const later = Number(span!.hi) + 3_600_000;
    await registry.register({
      version: 'total_ms_p90-20990101T000000Z-0001', kind: 'total_ms_p90', trainedAtMs: later, windowStartMs: later - 1000, windowEndMs: later, holdoutStartMs: later - 200,
      rowsTrain: 1, rowsHoldout: 1, metrics: {}, holdoutLoss: 1, filePath: '', fileSha256: '', status: 'retired', reason: 'of data since replaced', updatedAtMs: later,
    });
    const [r] = await trainTelemetryModels(warehouse, registry, { kinds: ['total_ms_p90'], seed: 1, logger: pino({ level: 'silent' }) });
    expect([r!.status, r!.promoted]).toEqual(['champion', true]);
    const trained = (await registry.list('total_ms_p90')).find((m) => m.version === r!.version)!;
    expect([trained.windowEndMs, trained.trainedAtMs]).toEqual([Number(span!.hi) + 1, later + 1]);
  }, 120_000);

  it('marks what a retraining reads: the same after a read, another after a request or a benchmark row is added (a cycle on unchanged data is skipped)', async () => {
    const other = await createTestDatabase('retrain_mark');
    try {
      const t0 = Date.UTC(2024, 5, 1, 10);
      const add = (i: number, status = 'ok') => other.insert(`${other.database}.inference_enriched`, [SINK_ROUTES[TOPICS.enriched]!.toRow(
        makeEnriched({ edge_server_id: 'edge-01', model_id: 'resnet50', chip: 'jetson-agx-orin', ts: t0 + i * 1000, event_id: `e${i}`, status: status as 'ok' }, makeLoad({ edge_server_id: 'edge-01', ts: t0 + i * 1000 })), 0, i)]);
      await add(0);
      const first = await trainingDataMark(other);
      expect(await trainingDataMark(other)).toBe(first);
      // A failed request is not read by a retraining: the same mark.
      await add(1, 'timeout');
      expect(await trainingDataMark(other)).toBe(first);
      await add(2);
      const second = await trainingDataMark(other);
      expect(second).not.toBe(first);
      await other.insert(`${other.database}.benchmark_latency`, [{ source: 'hand', model_id: 'resnet50', device: 's', chip: 'jetson-agx-orin', batch: 1, scenario: 'SingleStream', percentile: 0.5, latency_ms: 5, system: 's' }]);
      expect(await trainingDataMark(other)).not.toBe(second);
    } finally {
      await other.close();
    }
  });

  it('names the pairs when no (model, chip) of the fleet has a prior (a re-test: priors of "ResNet50" on "Jetson AGX Orin" trained nothing, saying only "no training rows")', async () => {
    const other = await createTestDatabase('retrain_no_prior');
    try {
      const t0 = Date.UTC(2024, 5, 1, 10);
      await other.insert(`${other.database}.inference_enriched`, Array.from({ length: 10 }, (_, i) => SINK_ROUTES[TOPICS.enriched]!.toRow(
        makeEnriched({ edge_server_id: 'edge-01', model_id: 'resnet50', chip: 'jetson-agx-orin', ts: t0 + i * 1000, event_id: `e${i}` }, makeLoad({ edge_server_id: 'edge-01', ts: t0 + i * 1000 })), 0, i)));
      await other.insert(`${other.database}.benchmark_latency`, [0.5, 0.9].map((percentile) => ({
        source: 'hand', model_id: 'ResNet50', device: 's', chip: 'Jetson AGX Orin', batch: 1, scenario: 'SingleStream', percentile, latency_ms: percentile * 10, system: 's',
      })));
      const registry2 = new ModelRegistry(other, mkdtempSync(join(tmpdir(), 'edgelat-retrain-')));
      await expect(trainTelemetryModels(other, registry2, { seed: 1, logger: pino({ level: 'silent' }) }))
        .rejects.toThrow('no (model, chip) of the fleet\'s requests has a benchmark prior (SingleStream p50 and p90): the fleet runs resnet50 on jetson-agx-orin; the priors are of ResNet50 on Jetson AGX Orin');
    } finally {
      await other.close();
    }
  });
});
