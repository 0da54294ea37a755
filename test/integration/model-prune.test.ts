/**
 * `edgelat model prune`: the files of old versions and their copies in latency_model_files go, the rows stay (retired,
 * without a file). A retraining schedule registers versions without end, each kept twice (a file and its base64).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPruneResult, promoteModel } from '../../services/cli/model.ts';
import { pruneAfterRetraining, pruneRegistry } from '../../services/model/prune.ts';
import { ModelRegistry, type ModelStatus, type RegisteredModel } from '../../services/model/registry.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import type { Warehouse } from '../../services/warehouse/types.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

describe('model prune', () => {
  let w: ChdbWarehouse;
  let registry: ModelRegistry;
  const T = Date.UTC(2024, 5, 1, 10);
  const kind = 'total_ms_p50';
  const v = (i: number): string => `${kind}-20240601T1${i}0000Z-0001`;
  const saved: Record<string, { path: string; sha256: string }> = {};

  /** Register version `i` of `kind` with `status`, trained at T + i h, its file `bytes` saved by `into`. */
  async function add(i: number, status: ModelStatus, bytes: Uint8Array | null, into = registry, k = kind, version = v(i)): Promise<void> {
    const file = bytes === null ? { path: '', sha256: '' } : await into.saveFile(version, bytes);
    saved[version] = file;
    const m: RegisteredModel = {
      version, kind: k, trainedAtMs: T + i * 3_600_000, windowStartMs: T - 600_000, windowEndMs: T + i, holdoutStartMs: T - 1,
      rowsTrain: 100, rowsHoldout: 20, metrics: { mape: 0.1 }, holdoutLoss: 0.1, filePath: file.path, fileSha256: file.sha256, status, reason: `r${i}`, updatedAtMs: T + i,
    };
    await registry.register(m);
  }
  /** Distinct files the warehouse keeps copies of (a digest saved twice may have two rows until a merge). */
  const copies = async (): Promise<number> => Number((await w.query<{ n: string }>(`SELECT uniqExact(file_sha256) AS n FROM ${w.database}.latency_model_files`))[0]!.n);

  beforeAll(async () => {
    w = await createTestDatabase('prune');
    registry = new ModelRegistry(w, mkdtempSync(join(tmpdir(), 'edgelat-prune-')));
    // Oldest first: 1 retired, 2 retired (a former champion), 3 rejected without a file, 4 champion, 5 challenger,
    // 6 retired whose file lies in another data folder (trained there, one warehouse), 7 its bytes shared by 5.
    await add(1, 'retired', new Uint8Array([1]));
    await add(2, 'retired', new Uint8Array([2, 2]));
    await add(3, 'retired', null);
    await add(4, 'champion', new Uint8Array([4, 4, 4, 4]));
    await add(5, 'challenger', new Uint8Array([5, 5, 5, 5, 5]));
    await add(6, 'retired', new Uint8Array([6]), new ModelRegistry(w, mkdtempSync(join(tmpdir(), 'edgelat-prune-other-'))));
    // A second kind: its champion, and an older version of the same bytes (one copy in the warehouse for both).
    await add(0, 'champion', new Uint8Array([9]), registry, 'io_ms_p50', 'io_ms_p50-20240601T100000Z-0001');
    await add(-1, 'retired', new Uint8Array([9]), registry, 'io_ms_p50', 'io_ms_p50-20240601T090000Z-0001');
  });
  afterAll(async () => w?.close());

  it('a dry run names what would go and changes nothing', async () => {
    const before = await registry.list();
    const r = await pruneRegistry(registry, w, 1, { dryRun: true, atMs: T + 100 * 3_600_000 });
    // Keep 1 beside the champion: 6 is the newest other with a file; 5, 2, 1 go; 3 (no file) is not counted.
    expect(r.pruned.map((p) => [p.version, p.status, p.file, p.fileBytes])).toEqual([
      [v(5), 'challenger', saved[v(5)]!.path, 5],
      [v(2), 'retired', saved[v(2)]!.path, 2],
      [v(1), 'retired', saved[v(1)]!.path, 1],
    ]);
    // Kept with files: both champions, 6, and io_ms_p50's older version (the 1 newest other of its kind).
    expect([r.kept, r.copiesRemoved, r.skipped]).toEqual([4, 3, []]);
    // base64 of 5, 2 and 1 bytes: 8 + 4 + 4 characters.
    expect(r.copyBytes).toBe(16);
    expect(await registry.list()).toEqual(before);
    expect([existsSync(saved[v(1)]!.path), await copies()]).toEqual([true, 6]);
    expect(formatPruneResult(r, 1, true).split('\n')[0]).toBe(
      'would prune 3 versions: 3 files (0.0 KB) and 3 copies in latency_model_files (0.0 KB of base64) (--dry-run: nothing changed); 4 versions keep their files (every champion and the 1 newest other of each kind)');
  });

  it('removes the files and copies of all but the champions and the newest, keeps the rows retired without a file, and the result is stable', async () => {
    await w.exec(`INSERT INTO ${w.database}.latency_models SELECT version, kind, trained_at, window_start, window_end, holdout_start, rows_train, rows_holdout,
      metrics_json, holdout_loss, file_path, file_sha256, 'weird', reason, updated_at + 1 FROM ${w.database}.latency_models FINAL WHERE version = '${v(2)}'`);
    const r = await pruneRegistry(registry, w, 1, { atMs: T + 100 * 3_600_000 });
    // 2's row was edited by hand (status weird): skipped and named, its file kept.
    expect(r.pruned.map((p) => p.version)).toEqual([v(5), v(1)]);
    expect(r.skipped).toEqual([{ version: v(2), problem: expect.stringContaining('status "weird" is none of champion, challenger, retired') }]);
    expect([existsSync(saved[v(5)]!.path), existsSync(saved[v(1)]!.path), existsSync(saved[v(2)]!.path), existsSync(saved[v(6)]!.path), existsSync(saved[v(4)]!.path)]).toEqual([false, false, true, true, true]);
    const left = await w.query<{ s: string }>(`SELECT DISTINCT file_sha256 AS s FROM ${w.database}.latency_model_files ORDER BY s`);
    expect(left.map((x) => x.s)).toEqual([saved[v(2)]!.sha256, saved[v(4)]!.sha256, saved[v(6)]!.sha256, saved['io_ms_p50-20240601T100000Z-0001']!.sha256].sort());
    const five = (await registry.get(kind, v(5)))!;
    // Its digest stays in the row: a retrain that makes these bytes again is "identical" to it (registers nothing).
    expect([five.status, five.filePath, five.fileSha256, five.metrics, five.rowsTrain]).toEqual(['retired', '', saved[v(5)]!.sha256, { mape: 0.1 }, 100]);
    expect(five.reason).toBe('pruned by edgelat model prune --keep 1: file removed; was challenger: r5');
    // A pruned version cannot be promoted: named as such, nothing changed.
    await expect(promoteModel(registry, v(5))).rejects.toThrow(`cannot promote "${v(5)}": "${v(5)}" has no model file (its reason in latency_models says why: pruned by \`edgelat model prune\`, or a run that made none)`);
    expect((await registry.champion(kind))!.version).toBe(v(4));
    // The champion's bytes still read (its file and copy intact).
    expect(Buffer.from(await registry.readFile((await registry.champion(kind))!))).toEqual(Buffer.from([4, 4, 4, 4]));
    // Again: nothing more to prune (the skipped row is named again).
    const again = await pruneRegistry(registry, w, 1);
    expect([again.pruned, again.skipped.map((s) => s.version)]).toEqual([[], [v(2)]]);
    expect(formatPruneResult(again, 1, false).split('\n')[0]).toBe('nothing to prune: 4 versions keep their files (every champion and the 1 newest other of each kind)');
    // A copy left by a prune stopped before its last step (the digest only a pruned row names) goes at the next one.
    await w.insert(`${w.database}.latency_model_files`, [{ file_sha256: saved[v(5)]!.sha256, bytes_base64: Buffer.from([5, 5, 5, 5, 5]).toString('base64') }]);
    const swept = await pruneRegistry(registry, w, 1);
    expect([swept.pruned, swept.copiesRemoved]).toEqual([[], 1]);
    expect(await copies()).toBe(4);
  });

  it('leaves a file it cannot read, or that is not the registered bytes, with its row, naming it (a re-test: an edited file was removed as the registered one)', async () => {
    await add(8, 'challenger', new Uint8Array([8]));
    await add(9, 'challenger', new Uint8Array([9, 9]));
    await add(10, 'challenger', new Uint8Array([10]));
    // 8's file edited by hand; 9's path a folder (cannot be read); 10 is the newest and kept.
    writeFileSync(saved[v(8)]!.path, 'user data');
    rmSync(saved[v(9)]!.path);
    mkdirSync(saved[v(9)]!.path);
    const r = await pruneRegistry(registry, w, 1, { atMs: T + 150 * 3_600_000 });
    // 10 is kept; 6, older than 8 and 9, goes: its row and copy, not its file (in another data folder).
    expect(r.pruned.map((p) => [p.version, p.file])).toEqual([[v(6), null]]);
    expect(existsSync(saved[v(6)]!.path)).toBe(true);
    expect(r.skipped.map((x) => x.version).sort()).toEqual([v(2), v(8), v(9)].sort());
    expect(r.skipped.find((x) => x.version === v(8))!.problem).toBe(`its file ${JSON.stringify(saved[v(8)]!.path)} is not the registered bytes (changed after registration): left with its row`);
    expect(r.skipped.find((x) => x.version === v(9))!.problem).toMatch(new RegExp(`^its file ${JSON.stringify(saved[v(9)]!.path).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} cannot be read \\(EISDIR`));
    expect([existsSync(saved[v(8)]!.path), (await registry.get(kind, v(8)))!.filePath, (await registry.get(kind, v(9)))!.status]).toEqual([true, saved[v(8)]!.path, 'challenger']);
    // Mended: the next prune takes them.
    writeFileSync(saved[v(8)]!.path, new Uint8Array([8]));
    rmSync(saved[v(9)]!.path, { recursive: true });
    writeFileSync(saved[v(9)]!.path, new Uint8Array([9, 9]));
  });

  it('never removes a file outside the registry\'s models folder, and keeps a copy a kept version shares', async () => {
    const r = await pruneRegistry(registry, w, 0, { atMs: T + 200 * 3_600_000 });
    // io_ms_p50's older version: its file goes, its copy stays (the champion's bytes); 10, 9 and 8 go whole.
    const old = 'io_ms_p50-20240601T090000Z-0001';
    expect(r.pruned.map((p) => [p.version, p.file])).toEqual([[old, saved[old]!.path], [v(10), saved[v(10)]!.path], [v(9), saved[v(9)]!.path], [v(8), saved[v(8)]!.path]]);
    expect([existsSync(saved[old]!.path), existsSync(saved[v(10)]!.path), existsSync(saved[v(6)]!.path)]).toEqual([false, false, true]);
    expect(r.copiesRemoved).toBe(3);
    expect(statSync(saved[v(4)]!.path).size).toBe(4);
    // Left: 2 (skipped), 4 and the io_ms_p50 champion.
    expect(await copies()).toBe(3);
    const champion = (await registry.champion('io_ms_p50'))!;
    expect(Buffer.from(await new ModelRegistry(w, mkdtempSync(join(tmpdir(), 'edgelat-prune-empty-'))).readFile({ ...champion, filePath: '/nonexistent/x.onnx' }))).toEqual(Buffer.from([9]));
  });

  it('after a scheduled retraining (EDGELAT_RETRAIN_KEEP): logs what went at info level, a failure as a warning, never throwing', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    await add(7, 'challenger', new Uint8Array([7, 7]));
    const r = await pruneAfterRetraining(registry, w, 0, logger);
    expect(r!.pruned.map((p) => p.version)).toEqual([v(7)]);
    expect(lines.map((l) => [l.level, l.msg, l.pruned, l.filesRemoved, l.copiesRemoved])).toEqual([[30, 'latency model files pruned (EDGELAT_RETRAIN_KEEP)', [v(7)], 1, 1]]);
    const broken = { database: 'nowhere', query: () => Promise.reject(new Error('Code: 81. DB::Exception: Database nowhere does not exist')) } as unknown as Warehouse;
    expect(await pruneAfterRetraining(new ModelRegistry(broken, registry.modelDir), broken, 0, logger)).toBeNull();
    expect(lines.slice(1).map((l) => [l.level, l.msg, l.err])).toEqual([[40, 'could not prune the latency model files (EDGELAT_RETRAIN_KEEP); tried again after the next retraining', 'Code: 81. DB::Exception: Database nowhere does not exist']]);
  });

  it('refuses a keep that is not an integer >= 0', async () => {
    await expect(pruneRegistry(registry, w, -1)).rejects.toThrow('keep: expected an integer >= 0, got -1');
    await expect(pruneRegistry(registry, w, 1.5)).rejects.toThrow('keep: expected an integer >= 0, got 1.5');
  });
});
