/**
 * `edgelat model promote`: a champion chosen by hand (a rollback to an earlier version, or a challenger over the
 * champion). A trial found no way to do it.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatModelList, promoteModel, registryWarnings } from '../../services/cli/model.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import { MODEL_LATENCY_TOPIC } from '../../services/model/lifecycle.ts';
import { decodeLatencyModelEvent, ModelRegistry, rowProblem, type RegisteredModel } from '../../services/model/registry.ts';
import { trainGbt } from '../../services/model/gbt.ts';
import { exportTelemetryModel, TELEMETRY_FEATURES, TELEMETRY_TARGETS, type TelemetryEncoding } from '../../services/model/telemetry.ts';
import { ModelFileError } from '../../errors.ts';
import { LatencyPredictor } from '../../services/predictor/latency-predictor.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

/**
 * The ONNX file of a telemetry latency model of `kind` (a constant model: no trees; `shift` tells files apart), as
 * `model train` writes one: promote opens a champion's file, as predict will.
 */
function latencyFile(kind: string, shift = 0): Uint8Array {
  const X = Array.from({ length: 4 }, (_, i) => Array.from({ length: TELEMETRY_FEATURES.length }, () => i));
  const encoding = { chips: {}, servers: {}, global: {}, sigmaExtra: 0 } as unknown as TelemetryEncoding;
  return exportTelemetryModel({ target: TELEMETRY_TARGETS.find((t) => t.kind === kind)!, gbt: trainGbt(X, [1 + shift, 2, 3, 4], { loss: { kind: 'l2' }, nTrees: 0 }), encoding });
}

describe('model promote', () => {
  let w: ChdbWarehouse;
  let registry: ModelRegistry;
  const T = Date.UTC(2024, 5, 1, 10);
  beforeAll(async () => {
    w = await createTestDatabase('promote');
    registry = new ModelRegistry(w, mkdtempSync(join(tmpdir(), 'edgelat-promote-')));
    const versions = ['total_ms_p50-20240601T101000Z-0001', 'total_ms_p50-20240601T102000Z-0001', 'total_ms_p50-20240601T103000Z-0001'];
    const statuses = ['retired', 'champion', 'challenger'] as const;
    for (const [i, version] of versions.entries()) {
      const file = await registry.saveFile(version, latencyFile('total_ms_p50', i));
      const m: RegisteredModel = {
        version, kind: 'total_ms_p50', trainedAtMs: T + i * 600_000, windowStartMs: T - 600_000, windowEndMs: T + i * 600_000, holdoutStartMs: T + i * 600_000 - 120_000,
        rowsTrain: 100, rowsHoldout: 20, metrics: {}, holdoutLoss: 0.1, filePath: file.path, fileSha256: file.sha256, status: statuses[i]!, reason: '', updatedAtMs: T + i * 600_000,
      };
      await registry.register(m);
    }
  });
  afterAll(async () => w?.close());

  it('rolls back to an earlier version: the champion is retired, saying by whom; again changes nothing; a typo names the nearest', async () => {
    const r = await promoteModel(registry, 'total_ms_p50-20240601T101000Z-0001');
    expect(r).toEqual({ version: 'total_ms_p50-20240601T101000Z-0001', kind: 'total_ms_p50', previous: 'total_ms_p50-20240601T102000Z-0001', retired: ['total_ms_p50-20240601T102000Z-0001'] });
    expect((await registry.champion('total_ms_p50'))!.version).toBe('total_ms_p50-20240601T101000Z-0001');
    const old = (await registry.get('total_ms_p50', 'total_ms_p50-20240601T102000Z-0001'))!;
    expect([old.status, old.reason]).toEqual(['retired', 'replaced by total_ms_p50-20240601T101000Z-0001 by hand (edgelat model promote)']);
    expect((await registry.list('total_ms_p50')).filter((m) => m.status === 'champion')).toHaveLength(1);
    expect(await promoteModel(registry, 'total_ms_p50-20240601T101000Z-0001')).toEqual({ version: 'total_ms_p50-20240601T101000Z-0001', kind: 'total_ms_p50', previous: 'total_ms_p50-20240601T101000Z-0001', retired: [] });
    await expect(promoteModel(registry, 'total_ms_p50-20240601T103000Z-001')).rejects.toThrow('no registered latency model "total_ms_p50-20240601T103000Z-001"; nearest versions: total_ms_p50-20240601T103000Z-0001');
    await expect(promoteModel(registry, '')).rejects.toThrow('model promote: expected a version (`edgelat model list` lists them), got ""');
    await expect(promoteModel(registry, 'total_ms_p50-20240601T101000Z-0001 ')).rejects.toThrow('model promote: "total_ms_p50-20240601T101000Z-0001 " has blanks around it: the version is "total_ms_p50-20240601T101000Z-0001"');
  });

  it('announces the new champion on models.latency.v1 when given a log, as the schedule does; nothing when it was the champion already', async () => {
    // A trial: a rollback by hand went unannounced, so consumers of the topic kept the replaced champion.
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    const at = T + 3_600_000;
    expect(await promoteModel(registry, 'total_ms_p50-20240601T102000Z-0001', at, log)).toMatchObject({ previous: 'total_ms_p50-20240601T101000Z-0001' });
    await promoteModel(registry, 'total_ms_p50-20240601T102000Z-0001', at + 1, log);
    const records = await log.read({ topic: MODEL_LATENCY_TOPIC, partition: 0 }, 0, await log.endOffset({ topic: MODEL_LATENCY_TOPIC, partition: 0 }));
    expect(records).toHaveLength(1);
    const event = decodeLatencyModelEvent(records[0]!.value);
    expect(event.ok && [records[0]!.key?.toString(), records[0]!.timestampMs, event.value.version, event.value.previous_version, event.value.reason]).toEqual([
      'total_ms_p50', at, 'total_ms_p50-20240601T102000Z-0001', 'total_ms_p50-20240601T101000Z-0001', 'promoted by hand (edgelat model promote), replacing total_ms_p50-20240601T101000Z-0001',
    ]);
    await promoteModel(registry, 'total_ms_p50-20240601T101000Z-0001', at + 2); // back, for the next test
  });

  it('lists rows edited by hand, saying what cannot be read; a promotion mends them and leaves one champion (a trial: one bad metrics_json stopped list, predict, train and promote)', async () => {
    const kind = 'io_ms_p50';
    const versions = ['io_ms_p50-20240601T101000Z-0001', 'io_ms_p50-20240601T102000Z-0001', 'io_ms_p50-20240601T103000Z-0001'];
    for (const [i, version] of versions.entries()) {
      const file = await registry.saveFile(version, latencyFile(kind, i));
      await registry.register({
        version, kind, trainedAtMs: T + i, windowStartMs: T - 600_000, windowEndMs: T + i, holdoutStartMs: T - 1, rowsTrain: 100, rowsHoldout: 20,
        metrics: { mape: 0.1 }, holdoutLoss: 0.1, filePath: file.path, fileSha256: file.sha256, status: 'champion', reason: '', updatedAtMs: T + i,
      });
    }
    const edit = (version: string, metrics: string, status: string) => w.exec(`INSERT INTO ${w.database}.latency_models SELECT version, kind, trained_at, window_start, window_end, holdout_start, rows_train, rows_holdout,
      '${metrics}', holdout_loss, file_path, file_sha256, '${status}', reason, updated_at + 1 FROM ${w.database}.latency_models FINAL WHERE version = '${version}'`);
    await edit(versions[0]!, '{bad json', 'champion');
    await edit(versions[1]!, '{"mape":"x","acc10":0.9}', 'weird');
    const rows = await registry.list(kind);
    expect(rows.map((m) => [m.version, m.status, m.metrics, m.problem])).toEqual([
      [versions[0], 'champion', {}, 'metrics_json is not JSON: "{bad json" (a status change writes the row back without it)'],
      [versions[1], 'weird', { acc10: 0.9 }, `metrics_json: "mape" not a number (a status change writes the row back without it); status "weird" is none of champion, challenger, retired: not served (\`edgelat model promote ${versions[1]}\` serves it)`],
      [versions[2], 'champion', { mape: 0.1 }, undefined],
    ]);
    expect(formatModelList(rows).trimEnd().split('\n').slice(-3)).toEqual([
      `warning: ${versions[0]}: ${rows[0]!.problem}`,
      `warning: ${versions[1]}: ${rows[1]!.problem}`,
      `warning: kind ${kind} has 2 champions (${versions[0]}, ${versions[2]}): ${versions[2]} serves; \`edgelat model promote VERSION\` leaves one`,
    ]);
    // Promoting the one of unknown status retires both champions (the older one too) and rewrites it readable.
    expect(await promoteModel(registry, versions[1]!, T + 10)).toEqual({ version: versions[1], kind, previous: versions[2], retired: [versions[0], versions[2]] });
    const after = await registry.list(kind);
    // Each row changed is written again whole, with what could be read of it (the unreadable metrics left out).
    expect(after.map((m) => [m.status, m.metrics, m.problem])).toEqual([['retired', {}, undefined], ['champion', { acc10: 0.9 }, undefined], ['retired', { mape: 0.1 }, undefined]]);
    expect(after[0]!.reason).toBe(`replaced by ${versions[1]} by hand (edgelat model promote)`);
    expect(registryWarnings(after)).toEqual([]);
  });

  it('refuses a file that is not a latency model of its kind, and a row it cannot write back, before changing anything (a trial: the champion was retired, then the write refused)', async () => {
    const kind = 'total_ms_p90';
    const [good, wrongKind, badRow] = ['total_ms_p90-20240601T101000Z-0001', 'total_ms_p90-20240601T102000Z-0001', 'total_ms_p90-20240601T103000Z-0001'];
    const files = [latencyFile(kind), latencyFile('io_ms_p50'), latencyFile(kind, 1)];
    for (const [i, version] of [good, wrongKind, badRow].entries()) {
      const file = await registry.saveFile(version, files[i]!);
      await registry.register({
        version, kind, trainedAtMs: T + i, windowStartMs: T - 600_000, windowEndMs: T + i, holdoutStartMs: T - 1, rowsTrain: 100, rowsHoldout: 20,
        metrics: {}, holdoutLoss: 0.1, filePath: file.path, fileSha256: file.sha256, status: i === 0 ? 'champion' : 'challenger', reason: '', updatedAtMs: T + i,
      });
    }
    // An i/o model's file under a p90 version: refused, naming what it is.
    const error = await promoteModel(registry, wrongKind).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelFileError);
    expect((error as Error).message).toMatch(new RegExp(`^cannot promote "${wrongKind}": latency model "${wrongKind}" of ${kind} \\(file .*\\) is not a latency model the predictor can score: the file is a model of io_ms_p50, registered as ${kind}; `));
    // rows_train of −1 (read as 2^64 − 1): listed with its problem; its promotion refused with nothing changed.
    await w.exec(`INSERT INTO ${w.database}.latency_models SELECT version, kind, trained_at, window_start, window_end, holdout_start, toUInt64(-1), rows_holdout,
      metrics_json, holdout_loss, file_path, file_sha256, status, reason, updated_at + 1 FROM ${w.database}.latency_models FINAL WHERE version = '${badRow}'`);
    const listed = (await registry.list(kind)).find((m) => m.version === badRow)!;
    expect(listed.problem).toBe('rows_train: expected an integer >= 0, got 18446744073709552000: the row cannot be written back, so no command changes its status (mend it with SQL, or delete it)');
    await expect(promoteModel(registry, badRow)).rejects.toThrow(`cannot promote "${badRow}": the row of "${badRow}" cannot be written back (rows_train: expected an integer >= 0, got 18446744073709552000); mend it with SQL or delete it; nothing changed`);
    expect((await registry.list(kind)).map((m) => m.status)).toEqual(['champion', 'challenger', 'challenger']);
  });

  it('names the column a SQL user mends when a row cannot be written (a trial: the TypeScript field names were shown)', () => {
    const row = { version: 'total_ms_p90-20240601T101000Z-0001', status: 'challenger' as const, fileSha256: '', rowsTrain: 1, rowsHoldout: 1 };
    expect(rowProblem(row)).toBeNull();
    expect(rowProblem({ ...row, fileSha256: 'xyz' })).toBe(`file_sha256: expected 64 lower-case hex digits or '', got "xyz"`);
    expect(rowProblem({ ...row, rowsHoldout: -1 })).toBe('rows_holdout: expected an integer >= 0, got -1');
    expect(rowProblem({ ...row, version: 'a b' })).toBe(`version: expected letters, digits, '.', '_' or '-', got "a b"`);
  });

  it('a running predictor checks a loaded champion\'s file at every refresh (a re-test: a file swapped under serve was served from memory)', async () => {
    // A model registered before the warehouse kept the files' bytes (with them, the file is written back: lifecycle.test.ts).
    await w.exec(`TRUNCATE TABLE ${w.database}.latency_model_files`);
    const predictor = new LatencyPredictor(w, registry, 0);
    try {
      expect(await predictor.loadProblem()).toBeNull();
      const champion = (await registry.champion('total_ms_p50'))!;
      const original = readFileSync(champion.filePath);
      writeFileSync(champion.filePath, latencyFile('total_ms_p50', 7)); // same version, another file
      expect(await predictor.loadProblem()).toMatch(new RegExp(`^model file .* of "${champion.version}" has sha256 .*, the registry expects "${champion.fileSha256}"`));
      writeFileSync(champion.filePath, original);
      expect(await predictor.loadProblem()).toBeNull();
    } finally {
      await predictor.close();
    }
  });

  it('stops predictions once a refresh finds a champion\'s file changed, not 6 TTLs later (a trial: served from memory while /healthz said unavailable)', async () => {
    // A model registered before the warehouse kept the files' bytes (with them, the file is written back: lifecycle.test.ts).
    await w.exec(`TRUNCATE TABLE ${w.database}.latency_model_files`);
    let clock = Date.UTC(2024, 5, 2);
    const predictor = new LatencyPredictor(w, registry, 1000, () => clock);
    const ask = () => predictor.predict({ model: 'resnet50', chip: 'rk3588-mali-g610', load: {} }).catch((e: unknown) => e);
    const champion = (await registry.champion('total_ms_p50'))!;
    const original = readFileSync(champion.filePath);
    try {
      const before = await ask(); // loaded: whatever it answers (other kinds have no champion here), not a file error
      expect(before).not.toBeInstanceOf(ModelFileError);
      writeFileSync(champion.filePath, latencyFile('total_ms_p50', 9));
      clock += 1500; // past the TTL: this request is served from the cache while the refresh runs behind it
      expect((await ask())?.constructor).toBe((before as object).constructor);
      await new Promise((r) => setTimeout(r, 300));
      clock += 10; // within 6 TTLs of the last load: the cache was dropped, so the request waits for a refresh
      const after = await ask();
      expect(after).toBeInstanceOf(ModelFileError);
      expect((after as Error).message).toMatch(new RegExp(`^model file .* of "${champion.version}" has sha256 `));
      expect(await predictor.loadProblem()).toMatch(/has sha256/);
      writeFileSync(champion.filePath, original);
      expect(await ask()).not.toBeInstanceOf(ModelFileError);
    } finally {
      writeFileSync(champion.filePath, original);
      await predictor.close();
    }
  });

  it('refuses a model whose file changed after registration: a champion must load', async () => {
    // A model registered before the warehouse kept the files' bytes (with them, the file is written back: lifecycle.test.ts).
    await w.exec(`TRUNCATE TABLE ${w.database}.latency_model_files`);
    const challenger = (await registry.get('total_ms_p50', 'total_ms_p50-20240601T103000Z-0001'))!;
    writeFileSync(challenger.filePath, 'tampered');
    await expect(promoteModel(registry, challenger.version)).rejects.toThrow(/^cannot promote "total_ms_p50-20240601T103000Z-0001": model file .* has sha256 /);
    expect((await registry.champion('total_ms_p50'))!.version).toBe('total_ms_p50-20240601T101000Z-0001');
    // The champion itself, with its file changed: not "nothing changed", exit 0 (a trial), but the file's problem.
    const champion = (await registry.champion('total_ms_p50'))!;
    const original = readFileSync(champion.filePath);
    writeFileSync(champion.filePath, 'junk');
    try {
      const refused = await promoteModel(registry, champion.version).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ModelFileError);
      expect((refused as Error).message).toMatch(new RegExp(`^cannot promote "${champion.version}" \\(the champion of total_ms_p50 already, which cannot serve\\): model file .* has sha256 `));
    } finally {
      writeFileSync(champion.filePath, original);
    }
    expect(await promoteModel(registry, champion.version)).toEqual({ version: champion.version, kind: 'total_ms_p50', previous: champion.version, retired: [] });
  });
});
