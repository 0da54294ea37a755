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
import { importBenchmarkCut } from '../../services/model/telemetry.ts';
import { runDemo } from '../../services/pipeline/demo.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
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
});
