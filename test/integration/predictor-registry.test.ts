/**
 * The predictor over a registry that cannot serve: a kind whose versions are registered but none is champion (a hand
 * edit, an interrupted promotion), and a champion whose file is not a latency model. A trial: the first said "run
 * demo or model train first" over five registered versions, the second gave an error naming neither version nor file.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelFileError } from '../../errors.ts';
import { ModelRegistry } from '../../services/model/registry.ts';
import { TELEMETRY_TARGETS } from '../../services/model/telemetry.ts';
import { LatencyPredictor } from '../../services/predictor/latency-predictor.ts';
import { createBackend } from '../../services/predictor/backend.ts';
import { NoChampionError } from '../../services/predictor/types.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

describe('LatencyPredictor over a registry without a servable champion', () => {
  let w: ChdbWarehouse;
  let registry: ModelRegistry;
  const T = Date.UTC(2024, 5, 1, 10);
  const kind = TELEMETRY_TARGETS[0]!.kind;
  const version = `${kind}-20240601T100000Z-0001`;
  beforeAll(async () => {
    w = await createTestDatabase('predreg');
    registry = new ModelRegistry(w, mkdtempSync(join(tmpdir(), 'edgelat-predreg-')));
    // An ONNX file that is not a latency model (an image classifier).
    const file = await registry.saveFile(version, new Uint8Array(readFileSync(new URL('../fixtures/onnx/tiny-cnn.onnx', import.meta.url))));
    await registry.register({
      version, kind, trainedAtMs: T, windowStartMs: T - 600_000, windowEndMs: T, holdoutStartMs: T - 120_000, rowsTrain: 100, rowsHoldout: 20,
      metrics: {}, holdoutLoss: 0.1, filePath: file.path, fileSha256: file.sha256, status: 'retired', reason: '', updatedAtMs: T,
    });
  });
  afterAll(async () => w?.close());

  it('says how many versions a kind without a champion has, and how to serve one; a pruned version is not offered (a trial: promote refused it)', async () => {
    await registry.register({
      version: `${kind}-20240601T100000Z-0002`, kind, trainedAtMs: T + 1, windowStartMs: T - 600_000, windowEndMs: T, holdoutStartMs: T - 120_000, rowsTrain: 100, rowsHoldout: 20,
      metrics: {}, holdoutLoss: 0.1, filePath: '', fileSha256: '', status: 'retired', reason: 'pruned by edgelat model prune', updatedAtMs: T + 1,
    });
    const predictor = new LatencyPredictor(w, registry, 0);
    const error = await predictor.predict({ model: 'resnet50', chip: 'rk3588-mali-g610', load: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoChampionError);
    expect((error as Error).message).toBe(`no champion model of kind ${kind} among its 1 registered version(s) with a model file (newest: ${version}): \`edgelat model list --kind ${kind}\` lists them, \`edgelat model promote VERSION\` serves one`);
    await predictor.close();
  });

  it('serves a stale cache while it refreshes in the background, and waits for the refresh once it is 6 TTLs old (a trial: every request waited up to 0.5 s for the refresh every 10 s)', async () => {
    let clock = T;
    const predictor = new LatencyPredictor(w, registry, 1000, () => clock);
    const ask = () => predictor.predict({ model: 'resnet50', chip: 'rk3588-mali-g610', load: {} }).catch((e: unknown) => e);
    expect(await ask()).toBeInstanceOf(NoChampionError); // the first call waits for the load
    // A refresh that fails on the warehouse (a table it reads is gone for a while): a request past the TTL is answered
    // from the cache, the refresh runs behind it. (A champion's file that fails stops predictions at once: model-promote.test.ts.)
    await w.exec(`RENAME TABLE ${w.database}.chips TO ${w.database}.chips_away`);
    try {
      clock += 1500;
      expect(await ask()).toBeInstanceOf(NoChampionError);
      await new Promise((r) => setTimeout(r, 300)); // the background refresh fails, the cache stays
      clock += 1000;
      expect(await ask()).toBeInstanceOf(NoChampionError);
      // 6 TTLs old: the request waits for the refresh, and its error is the request's.
      clock += 6000;
      const error = await ask();
      expect(error).not.toBeInstanceOf(NoChampionError);
      expect((error as Error).message).toMatch(/chips/);
    } finally {
      await w.exec(`RENAME TABLE ${w.database}.chips_away TO ${w.database}.chips`);
      await predictor.close();
    }
  });

  it('names the champion and its file when the file is not a latency model', async () => {
    await registry.setStatus(kind, version, 'champion', 'by hand', T + 1);
    const predictor = new LatencyPredictor(w, registry, 0);
    const error = await predictor.predict({ model: 'resnet50', chip: 'rk3588-mali-g610', load: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelFileError);
    expect((error as ModelFileError).version).toBe(version);
    expect((error as Error).message).toMatch(new RegExp(`^latency model "${version}" of ${kind} \\(file ".*${version}-[0-9a-f]{12}\\.onnx"\\) is not a latency model the predictor can score: .+; \`edgelat model promote\` another version \\(\`edgelat model list\`\\) or \`edgelat model train\`$`));
    await predictor.close();
    // /healthz says so (a re-test: "ok" while every prediction answered 503); without a catalog, not ready.
    const backend = createBackend({ warehouse: w, registry });
    try {
      expect(await backend.health()).toEqual({ ok: false, details: { warehouse: w.database, champions: [kind], champion_versions: { [kind]: version }, chips: 0,
        predict_unavailable: expect.stringMatching(new RegExp(`^latency model "${version}" of ${kind} is not a latency model the predictor can score: `)) } });
    } finally {
      await backend.close();
    }
  });
});
