/**
 * Pruning the latency model registry: the files of old versions, and their copies in the warehouse, go; every row of
 * `latency_models` stays (its metrics and reason are the registry's history). A retraining schedule registers a
 * version a kind at each cycle it changes (five kinds), each ~70–100 KB on disk and again as base64 in
 * `latency_model_files`, and nothing removed them.
 */
import { stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { MODEL_FILES_TABLE, type ModelRegistry, type ModelStatus, type RegisteredModel, rowProblem } from './registry.ts';
import type { Warehouse } from '../warehouse/types.ts';

/** One version whose file and copy `pruneRegistry` removed (or would remove, in a dry run). */
export interface PrunedModel {
  version: string;
  kind: string;
  /** Status before pruning; it is `retired` after. */
  status: ModelStatus;
  /** The model file removed, absolute; null when the models folder held none of it (a file outside that folder is left in place). */
  file: string | null;
  /** Size of that file, bytes (0 without one). */
  fileBytes: number;
}

/** What `pruneRegistry` did, or would do in a dry run. */
export interface PruneResult {
  /** The versions pruned, by kind then version. */
  pruned: PrunedModel[];
  /** Versions that keep their file: every champion, and the `keep` newest others of each kind. */
  kept: number;
  /** Rows of `latency_model_files` removed: copies no kept version shares. */
  copiesRemoved: number;
  /** Base64 characters of those rows, bytes. */
  copyBytes: number;
  /** Versions due for pruning whose row cannot be written back (edited by hand: `rowProblem`), left as they are. */
  skipped: { version: string; problem: string }[];
}

/**
 * Remove the model files, and their copies in `latency_model_files`, of every version of a kind but its champions and
 * its `keep` newest other versions (by training time, then version). The pruned versions' rows stay in
 * `latency_models`, re-written as `retired` with no file (`file_path` and `file_sha256` empty, so a retrain that makes
 * the same bytes registers them anew) and a reason naming the command, the status before and the file's SHA-256; a
 * pruned version can no longer be promoted. Versions registered without a file (rejected runs) are not counted.
 * Rows first, then copies, then files: stopped between the steps, a pruned row's file lingers (the next prune leaves
 * it: it no longer names it), never a listed row without its bytes.
 *
 * @param registry   The registry (its folder is the one whose files are removed; files elsewhere are left).
 * @param warehouse  The warehouse holding `latency_models` and `latency_model_files` (the registry's).
 * @param keep       Versions with files each kind keeps beside its champions, integer ≥ 0.
 * @param options    `dryRun`: change nothing, say what would go. `atMs`: time of the row changes, epoch ms (default now).
 * @throws {RangeError} when `keep` is not an integer ≥ 0 (a programmer error: the CLI checks it).
 * @throws {WarehouseError} from the warehouse; files that cannot be removed are not an error (left, not counted).
 */
export async function pruneRegistry(registry: ModelRegistry, warehouse: Warehouse, keep: number, options: { dryRun?: boolean; atMs?: number } = {}): Promise<PruneResult> {
  if (!Number.isSafeInteger(keep) || keep < 0) throw new RangeError(`keep: expected an integer >= 0, got ${JSON.stringify(keep)}`);
  const atMs = options.atMs ?? Date.now();
  const all = await registry.list();
  const due: RegisteredModel[] = [];
  const skipped: PruneResult['skipped'] = [];
  for (const kind of [...new Set(all.map((m) => m.kind))]) {
    const withFiles = all.filter((m) => m.kind === kind && m.status !== 'champion' && (m.filePath !== '' || m.fileSha256 !== ''));
    withFiles.sort((a, b) => b.trainedAtMs - a.trainedAtMs || (a.version < b.version ? 1 : a.version > b.version ? -1 : 0));
    for (const m of withFiles.slice(keep)) {
      const problem = m.problem ?? rowProblem({ ...m, status: 'retired' });
      if (problem === undefined || problem === null) due.push(m);
      else skipped.push({ version: m.version, problem });
    }
  }
  const going = new Set(due.map((m) => m.version));
  const stays = all.filter((m) => !going.has(m.version));
  const keptShas = new Set(stays.map((m) => m.fileSha256).filter((s) => s !== ''));
  const keptPaths = new Set(stays.map((m) => m.filePath).filter((p) => p !== ''));
  const shas = [...new Set(due.map((m) => m.fileSha256).filter((s) => s !== '' && !keptShas.has(s)))];
  const table = `${warehouse.database}.${MODEL_FILES_TABLE}`;
  const [copies] = shas.length === 0 ? [{ n: 0, bytes: 0 }] : await warehouse.query<{ n: number | string; bytes: number | string }>(
    `SELECT count() AS n, sum(length(bytes_base64)) AS bytes FROM ${table} WHERE has({shas:Array(String)}, file_sha256)`, { shas });
  const pruned: PrunedModel[] = [];
  for (const m of due) {
    // Only a file in this registry's folder is this registry's to remove (a path as stored may be another folder's).
    const inFolder = m.filePath !== '' && dirname(m.filePath) === registry.modelDir && !keptPaths.has(m.filePath);
    const size = inFolder ? await stat(m.filePath).then((s) => (s.isFile() ? s.size : null), () => null) : null;
    pruned.push({ version: m.version, kind: m.kind, status: m.status, file: size === null ? null : m.filePath, fileBytes: size ?? 0 });
  }
  const result = { pruned, kept: stays.filter((m) => m.filePath !== '' || m.fileSha256 !== '').length, copiesRemoved: Number(copies!.n), copyBytes: Number(copies!.bytes), skipped };
  if (options.dryRun) return result;
  for (const m of due) {
    const { problem: _none, ...row } = m;
    const was = `was ${m.status}${m.reason ? `: ${m.reason}` : ''}`;
    await registry.register({
      ...row, status: 'retired', filePath: '', fileSha256: '', updatedAtMs: Math.max(atMs, m.updatedAtMs + 1),
      reason: `pruned by edgelat model prune --keep ${keep}: file removed${m.fileSha256 ? ` (sha256 ${m.fileSha256})` : ''}; ${was}`,
    });
  }
  if (shas.length > 0) await warehouse.exec(`ALTER TABLE ${table} DELETE WHERE has({shas:Array(String)}, file_sha256) SETTINGS mutations_sync = 2`, { shas });
  for (const p of pruned) {
    if (p.file === null) continue;
    await unlink(p.file).catch(() => {
      // left in place (the folder not writable): not counted as removed
      p.file = null;
      p.fileBytes = 0;
    });
  }
  return result;
}

/**
 * The prune a retraining schedule runs after each cycle (`pipeline run` with EDGELAT_RETRAIN_KEEP): what it removed is
 * logged at info level (nothing when nothing went), and a failure is a warning, never the cycle's failure: the files
 * wait for the next cycle.
 * @param keep  EDGELAT_RETRAIN_KEEP, integer ≥ 0.
 * @returns     The prune's result, or null when it failed (logged).
 */
export async function pruneAfterRetraining(registry: ModelRegistry, warehouse: Warehouse, keep: number, logger: Logger): Promise<PruneResult | null> {
  try {
    const r = await pruneRegistry(registry, warehouse, keep);
    if (r.pruned.length > 0 || r.skipped.length > 0) {
      logger.info({ pruned: r.pruned.map((p) => p.version), filesRemoved: r.pruned.filter((p) => p.file !== null).length, copiesRemoved: r.copiesRemoved, skipped: r.skipped }, 'latency model files pruned (EDGELAT_RETRAIN_KEEP)');
    }
    return r;
  } catch (error) {
    logger.warn({ err: (error as Error).message }, 'could not prune the latency model files (EDGELAT_RETRAIN_KEEP); tried again after the next retraining');
    return null;
  }
}
