/**
 * Pruning the latency model registry: the files of old versions, and their copies in the warehouse, go; every row of
 * `latency_models` stays (its metrics and reason are the registry's history). A retraining schedule registers a
 * version a kind at each cycle it changes (five kinds), each ~70–100 KB on disk and again as base64 in
 * `latency_model_files`, and nothing removed them.
 */
import { createHash } from 'node:crypto';
import { readFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { MODEL_FILES_TABLE, type ModelRegistry, type ModelStatus, type RegisteredModel, rowProblem } from './registry.ts';
import type { Warehouse } from '../warehouse/types.ts';

/** One version whose file and copy `pruneRegistry` removed (or would remove, in a dry run). */
export interface PrunedModel {
  version: string;
  kind: string;
  /** Status before pruning; it is `retired` after (its row keeps the file's SHA-256, `file_path` empty). */
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
  /** Versions that keep their file by the rule: every champion, and the `keep` newest others of each kind (not the skipped). */
  kept: number;
  /** Rows of `latency_model_files` removed: copies no kept version shares. */
  copiesRemoved: number;
  /** Base64 characters of those rows, bytes. */
  copyBytes: number;
  /**
   * Versions due for pruning left as they are, with why: a row that cannot be written back (edited by hand:
   * `rowProblem`), or a file that cannot be read or removed, or is not the registered bytes (`its file "…" …`).
   */
  skipped: { version: string; problem: string }[];
}

/**
 * Remove the model files, and their copies in `latency_model_files`, of every version of a kind but its champions and
 * its `keep` newest other versions (by training time, then version). The pruned versions' rows stay in
 * `latency_models`, re-written as `retired` with no file (`file_path` empty; `file_sha256` kept, so a retrain that makes
 * the same bytes again is "identical" to it and registers nothing: a schedule with a small keep had registered and
 * pruned the same challengers at every cycle) and a reason naming the command and the status before; a pruned version
 * can no longer be promoted. Versions registered without a file (rejected runs, pruned ones) are not counted.
 * A version's file goes first, then its row: a file that cannot be removed (permissions, an immutable file), or that
 * is not the registered bytes (changed by hand), is left with its row as it was, and named in `skipped`. The copies
 * go last: those of every digest that only rows without a file name (this prune's, and any an earlier prune stopped
 * before removing), so a prune stopped between the steps loses nothing and leaves nothing for good.
 *
 * @param registry   The registry (its folder is the one whose files are removed; a file elsewhere is left, its row pruned).
 * @param warehouse  The warehouse holding `latency_models` and `latency_model_files` (the registry's).
 * @param keep       Versions with files each kind keeps beside its champions, integer ≥ 0.
 * @param options    `dryRun`: change nothing, say what would go. `atMs`: time of the row changes, epoch ms (default now).
 * @throws {RangeError} when `keep` is not an integer ≥ 0 (a programmer error: the CLI checks it).
 * @throws {WarehouseError} from the warehouse.
 */
export async function pruneRegistry(registry: ModelRegistry, warehouse: Warehouse, keep: number, options: { dryRun?: boolean; atMs?: number } = {}): Promise<PruneResult> {
  if (!Number.isSafeInteger(keep) || keep < 0) throw new RangeError(`keep: expected an integer >= 0, got ${JSON.stringify(keep)}`);
  const atMs = options.atMs ?? Date.now();
  const all = await registry.list();
  const due: RegisteredModel[] = [];
  const skipped: PruneResult['skipped'] = [];
  for (const kind of [...new Set(all.map((m) => m.kind))]) {
    const withFiles = all.filter((m) => m.kind === kind && m.status !== 'champion' && m.filePath !== '');
    withFiles.sort((a, b) => b.trainedAtMs - a.trainedAtMs || (a.version < b.version ? 1 : a.version > b.version ? -1 : 0));
    for (const m of withFiles.slice(keep)) {
      const problem = m.problem ?? rowProblem({ ...m, status: 'retired' });
      if (problem === undefined || problem === null) due.push(m);
      else skipped.push({ version: m.version, problem });
    }
  }
  const going = new Set(due.map((m) => m.version));
  const stays = all.filter((m) => !going.has(m.version) && m.filePath !== '');
  const keptPaths = new Set(stays.map((m) => m.filePath));
  const pruned: PrunedModel[] = [];
  const fileless = new Set(all.filter((m) => m.filePath === '').map((m) => m.version));
  for (const m of due) {
    // Only a file in this registry's folder is this registry's to remove (a path as stored may be another folder's).
    const inFolder = dirname(m.filePath) === registry.modelDir && !keptPaths.has(m.filePath);
    const bytes = inFolder ? await readFile(m.filePath).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : e)) : null;
    if (bytes instanceof Error) {
      skipped.push({ version: m.version, problem: `its file ${JSON.stringify(m.filePath)} cannot be read (${bytes.message}): left with its row` });
      continue;
    }
    if (bytes !== null && m.fileSha256 !== '' && createHash('sha256').update(bytes).digest('hex') !== m.fileSha256) {
      skipped.push({ version: m.version, problem: `its file ${JSON.stringify(m.filePath)} is not the registered bytes (changed after registration): left with its row` });
      continue;
    }
    if (bytes !== null && !options.dryRun) {
      const refused = await unlink(m.filePath).then(() => null, (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : e));
      if (refused !== null) {
        skipped.push({ version: m.version, problem: `its file ${JSON.stringify(m.filePath)} cannot be removed (${refused.message}): left with its row` });
        continue;
      }
    }
    if (!options.dryRun) {
      const { problem: _none, ...row } = m;
      await registry.register({
        ...row, status: 'retired', filePath: '', updatedAtMs: Math.max(atMs, m.updatedAtMs + 1),
        reason: `pruned by edgelat model prune --keep ${keep}: ${bytes === null ? 'no file in the models folder' : 'file removed'}; was ${m.status}${m.reason ? `: ${m.reason}` : ''}`,
      });
    }
    fileless.add(m.version);
    pruned.push({ version: m.version, kind: m.kind, status: m.status, file: bytes === null ? null : m.filePath, fileBytes: bytes === null ? 0 : bytes.length });
  }
  // The copies only rows without a file name: this prune's, and those an earlier one was stopped before removing.
  const withFile = new Set(all.filter((m) => !fileless.has(m.version)).map((m) => m.fileSha256));
  const shas = [...new Set(all.filter((m) => fileless.has(m.version) && m.fileSha256 !== '' && !withFile.has(m.fileSha256)).map((m) => m.fileSha256))];
  const table = `${warehouse.database}.${MODEL_FILES_TABLE}`;
  const [copies] = shas.length === 0 ? [{ n: 0, bytes: 0 }] : await warehouse.query<{ n: number | string; bytes: number | string }>(
    `SELECT count() AS n, sum(length(bytes_base64)) AS bytes FROM ${table} WHERE has({shas:Array(String)}, file_sha256)`, { shas });
  if (!options.dryRun && Number(copies!.n) > 0) await warehouse.exec(`ALTER TABLE ${table} DELETE WHERE has({shas:Array(String)}, file_sha256) SETTINGS mutations_sync = 2`, { shas });
  const left = new Set(skipped.map((x) => x.version));
  return { pruned, kept: all.filter((m) => !fileless.has(m.version) && m.filePath !== '' && !left.has(m.version)).length, copiesRemoved: Number(copies!.n), copyBytes: Number(copies!.bytes), skipped };
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
