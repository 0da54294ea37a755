/**
 * The registry of trained latency models (DESIGN §5): model files on disk,
 * identified by SHA-256, and one row per model in table `latency_models`
 * (sql/migrations/0008_latency_model.sql), plus the `models.latency.v1`
 * record announcing a promotion.
 *
 * Behaviour: `latency_models` is a ReplacingMergeTree(updated_at); a status
 * change re-inserts the whole row with a later `updated_at`, and every read
 * uses FINAL, so a reader sees the newest row of each (kind, version).
 * Rows are written with bound parameters through INSERT ... SELECT, so a
 * non-finite holdout loss (a rejected model) is stored as ClickHouse nan/inf
 * instead of being refused by the JSON row writer.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, rename, unlink } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import avro from 'avsc';
import { ModelFileError, PipelineError } from '../../errors.ts';
import { makeDirs } from '../make-dirs.ts';
import { tempPath, writeNewFile } from '../temp-file.ts';
import { rabinFingerprint, SINGLE_OBJECT_HEADER_BYTES, singleObjectHeader } from '../../schemas/fingerprint.ts';
import { createLongAwareType } from '../../schemas/codec.ts';
import type { DecodeResult } from '../../schemas/validate.ts';
import type { Warehouse } from '../warehouse/types.ts';

/** Status of a registered model: the one served (`champion`), a candidate that lost (`challenger`), or out of use (`retired`, also for rejected runs). */
export type ModelStatus = 'champion' | 'challenger' | 'retired';

const STATUSES: readonly ModelStatus[] = ['champion', 'challenger', 'retired'];

/** One row of `latency_models`. Times are epoch milliseconds UTC; windows are [start, end) in event time. */
export interface RegisteredModel {
  /** Unique, sortable version, e.g. `total_ms-20240601T120000Z-0001`; also the file's base name. */
  version: string;
  /** What the model predicts, e.g. `total_ms_p50`; one champion per kind. */
  kind: string;
  /** Time of the training cycle. */
  trainedAtMs: number;
  /** Start of the data window (inclusive). */
  windowStartMs: number;
  /** End of the data window (exclusive). */
  windowEndMs: number;
  /** Start of the time-ordered holdout [holdoutStartMs, windowEndMs); training used [windowStartMs, holdoutStartMs). */
  holdoutStartMs: number;
  /** Rows trained on (integer >= 0). */
  rowsTrain: number;
  /** Holdout rows scored (integer >= 0). */
  rowsHoldout: number;
  /** Holdout metrics (MAPE, acc10, ...) and training metrics prefixed `train_`; values may be NaN/±Infinity for a rejected model. */
  metrics: Record<string, number>;
  /** Holdout loss (lower is better); NaN when the model never got a finite score. */
  holdoutLoss: number;
  /**
   * Absolute path of the model file; `''` when training produced none. Stored as written; read from the registry's
   * own folder when it holds a file of that name (a copied or moved data folder keeps its models: `ModelRegistry.list`).
   */
  filePath: string;
  /** SHA-256 of the file, 64 lower-case hex digits; `''` when there is no file. */
  fileSha256: string;
  status: ModelStatus;
  /** Why the model has its status, e.g. `holdout loss 0.41 ≥ champion m-1 0.12`. */
  reason: string;
  /** Time of this row (ReplacingMergeTree version); a status change writes a later one. */
  updatedAtMs: number;
  /**
   * What in the stored row could not be read, when something could not (a hand-edited row: metrics that are not a
   * JSON object of numbers, a status none of {@link ModelStatus}, a hash in capitals, a field {@link rowProblem} says
   * cannot be written back); absent on a sound row. The row is still listed, its unreadable metrics left out; a status
   * not known is not served; a hash in capitals is read in lower case.
   */
  problem?: string;
}

const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SHA256_RE = /^([0-9a-f]{64})?$/;

/** Float64 as ClickHouse text (`nan`, `inf`, `-inf`, or the shortest round-trip decimal). */
function floatText(x: number): string {
  return Number.isNaN(x) ? 'nan' : x === Infinity ? 'inf' : x === -Infinity ? '-inf' : String(x);
}

/** Metrics as JSON text; non-finite values become the strings "NaN", "Infinity", "-Infinity". */
function metricsToJson(metrics: Record<string, number>): string {
  return JSON.stringify(metrics, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
}

/**
 * Why a model's row cannot be written to the registry as it is, or null: a version that is not letters, digits, `.`,
 * `_`, `-` (it names the file), a status none of {@link ModelStatus}, a SHA-256 that is not 64 lower-case hex digits
 * (or ''), a row count that is not a safe integer ≥ 0. The reason names the column (`file_sha256`, `rows_train`), as
 * a SQL user mending the row sees it. `register` refuses such a row; a row read with one (edited by
 * hand: `rows_train` of −1 read as 2^64 − 1) is listed with it as its problem, and no command writes it back.
 */
export function rowProblem(model: Pick<RegisteredModel, 'version' | 'status' | 'fileSha256' | 'rowsTrain' | 'rowsHoldout'>): string | null {
  if (!VERSION_RE.test(model.version)) return `version: expected letters, digits, '.', '_' or '-', got ${JSON.stringify(model.version)}`;
  if (!STATUSES.includes(model.status)) return `status: expected one of ${STATUSES.join(', ')}, got ${JSON.stringify(model.status)}`;
  if (!SHA256_RE.test(model.fileSha256)) return `file_sha256: expected 64 lower-case hex digits or '', got ${JSON.stringify(model.fileSha256)}`;
  for (const [key, column] of [['rowsTrain', 'rows_train'], ['rowsHoldout', 'rows_holdout']] as const) {
    if (!Number.isSafeInteger(model[key]) || model[key] < 0) return `${column}: expected an integer >= 0, got ${JSON.stringify(model[key])}`;
  }
  return null;
}

/**
 * Metrics from their JSON text, and what in it could not be read: a row edited by hand (a trial's `'{bad json'`)
 * had stopped every command that lists the registry with a bare JSON error naming no model.
 * @returns The metrics that read as numbers (or the strings "NaN", "Infinity", "-Infinity"), and null or the problem.
 */
function metricsFromJson(text: string): { metrics: Record<string, number>; problem: string | null } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { metrics: {}, problem: `metrics_json is not JSON: ${JSON.stringify(text.slice(0, 40))} (a status change writes the row back without it)` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { metrics: {}, problem: `metrics_json is not a JSON object: ${JSON.stringify(text.slice(0, 40))} (a status change writes the row back without it)` };
  const metrics: Record<string, number> = {};
  const bad: string[] = [];
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v === 'number' || (typeof v === 'string' && ['NaN', 'Infinity', '-Infinity'].includes(v))) metrics[k] = Number(v);
    else bad.push(k);
  }
  return { metrics, problem: bad.length ? `metrics_json: ${bad.map((k) => JSON.stringify(k)).join(', ')} not a number (a status change writes the row back without it)` : null };
}

interface ModelRow {
  version: string; kind: string; trained_at_ms: number | string; window_start_ms: number | string; window_end_ms: number | string;
  holdout_start_ms: number | string; rows_train: number | string; rows_holdout: number | string; metrics_json: string;
  holdout_loss: number | null; holdout_loss_text: string; file_path: string; file_sha256: string; status: string; reason: string;
  updated_at_ms: number | string;
}

function fromRow(r: ModelRow): RegisteredModel {
  const loss = r.holdout_loss ?? ({ nan: NaN, '-nan': NaN, inf: Infinity, '-inf': -Infinity }[r.holdout_loss_text] ?? NaN);
  const { metrics, problem } = metricsFromJson(r.metrics_json);
  const knownStatus = (STATUSES as readonly string[]).includes(r.status);
  // A hash written in capitals (a hand edit) is the same hash: read, checked and written back in lower case.
  const stored = r.file_sha256.replace(/\0+$/, '');
  const sha = /^[0-9a-fA-F]{64}$/.test(stored) ? stored.toLowerCase() : stored;
  const fields = { version: r.version, status: (knownStatus ? r.status : 'retired') as ModelStatus, fileSha256: sha, rowsTrain: Number(r.rows_train), rowsHoldout: Number(r.rows_holdout) };
  const unwritable = rowProblem(fields);
  const problems = [
    ...(problem === null ? [] : [problem]),
    ...(knownStatus ? [] : [`status ${JSON.stringify(r.status)} is none of ${STATUSES.join(', ')}: not served (\`edgelat model promote ${r.version}\` serves it)`]),
    ...(sha !== stored ? ['file_sha256 is written in capitals (an edit): read as lower case, and written back so by a status change (`edgelat model promote`)'] : []),
    ...(unwritable === null ? [] : [`${unwritable}: the row cannot be written back, so no command changes its status (mend it with SQL, or delete it)`]),
  ];
  return {
    ...(problems.length ? { problem: problems.join('; ') } : {}),
    version: r.version, kind: r.kind, trainedAtMs: Number(r.trained_at_ms), windowStartMs: Number(r.window_start_ms),
    windowEndMs: Number(r.window_end_ms), holdoutStartMs: Number(r.holdout_start_ms), rowsTrain: Number(r.rows_train),
    rowsHoldout: Number(r.rows_holdout), metrics, holdoutLoss: loss, filePath: r.file_path,
    fileSha256: sha, status: r.status as ModelStatus, reason: r.reason, updatedAtMs: Number(r.updated_at_ms),
  };
}

/** Table of the model files' bytes by SHA-256 (sql/migrations/0012_latency_model_files.sql). */
export const MODEL_FILES_TABLE = 'latency_model_files';

/**
 * Permissions of the folders the registry creates (the models folder, the data folder above it where a command through
 * a ClickHouse server creates that too): the user's alone, as the embedded warehouse's (README "Configuration"; a
 * re-test: `predict` through a server made both 0755).
 */
const PRIVATE_FOLDER = 0o700;

/**
 * File name of a model file: `<version>-<first 12 hex digits of its SHA-256><extension>`, e.g.
 * `io_ms_p50-20240601T102000Z-0002-8a4682c1d2e3.onnx` (files registered before carry `<version><extension>`).
 */
export function modelFileName(version: string, sha256: string, extension = '.onnx'): string {
  return `${version}-${sha256.slice(0, 12)}${extension}`;
}

/**
 * Model files and their `latency_models` rows.
 *
 * @see runTrainingCycle in services/model/lifecycle.ts, the one writer in production.
 */
export class ModelRegistry {
  /** Absolute folder of the model files. */
  readonly modelDir: string;

  /**
   * @param warehouse  A migrated warehouse (0008 applied).
   * @param modelDir   Folder for model files; created on first save.
   */
  constructor(private readonly warehouse: Warehouse, modelDir: string) {
    this.modelDir = resolve(modelDir);
  }

  /**
   * Write a model file as `<modelDir>/<version>-<first 12 hex digits of its SHA-256><extension>` (write to a temporary
   * name, then rename). The digest in the name keeps two registries' files apart: versions are numbered per
   * warehouse, so a model trained through a ClickHouse server (EDGELAT_CLICKHOUSE_URL) from a folder whose own
   * registry had the same version overwrote that registry's file (a trial: its champion then failed its SHA-256 check).
   *
   * @param version    The model version; letters, digits, `.`, `_`, `-`.
   * @param bytes      The file contents (an ONNX ModelProto in production).
   * @param extension  File name suffix. @default '.onnx'
   * @returns          Absolute path and SHA-256 (64 lower-case hex digits) of the bytes.
   * @throws {RangeError} if `version` could escape the folder.
   * @throws {ModelFileError} naming the file and the folder when it cannot be written (the file system's reason in it).
   */
  async saveFile(version: string, bytes: Uint8Array, extension = '.onnx'): Promise<{ path: string; sha256: string }> {
    if (!VERSION_RE.test(version)) throw new RangeError(`version: expected letters, digits, '.', '_' or '-', got ${JSON.stringify(version)}`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const path = await this.writeModelFile(modelFileName(version, sha256, extension), bytes, version);
    // The bytes in the warehouse too (latency_model_files): a folder without the file writes it from there (readFile).
    await this.store(sha256, bytes);
    return { path, sha256 };
  }

  /** SHA-256 digests whose bytes this process saw in the warehouse, or stored there. */
  private readonly stored = new Set<string>();

  /** Insert `bytes` (whose SHA-256 is `sha256`) into {@link MODEL_FILES_TABLE}. */
  private async store(sha256: string, bytes: Uint8Array): Promise<void> {
    await this.warehouse.insert(`${this.warehouse.database}.${MODEL_FILES_TABLE}`, [{ file_sha256: sha256, bytes_base64: Buffer.from(bytes).toString('base64') }]);
    this.stored.add(sha256);
  }

  /**
   * Store a registered model's bytes where the warehouse holds no copy of them that hashes right, once a process per
   * digest: a model registered before edgelat kept the bytes gets its copy the first time a command with write access
   * reads its intact file (`predict` and `serve` on the embedded warehouse, `model train`, `pipeline run`), and a copy damaged by hand is written again (a re-test: old
   * models stayed without one, and a retrain that had the bytes mended the file alone). Best effort: a read-only
   * connection cannot write, and a failure here is no failure of the read.
   */
  private async ensureStored(sha256: string, bytes: Uint8Array): Promise<void> {
    if (sha256 === '' || this.stored.has(sha256)) return;
    try {
      if ((await this.storedBytes(sha256)).bytes === null) await this.store(sha256, bytes);
      this.stored.add(sha256);
    } catch {
      // read-only, or the table missing: the file serves; the copy waits for a command that can write it
    }
  }

  /**
   * A model file's bytes as the warehouse keeps them ({@link MODEL_FILES_TABLE}): a row whose bytes hash to `sha256`,
   * or null with why not (`none`: no row of it, as for a model registered before edgelat kept them; `mismatch`: rows
   * whose bytes are not the file's, written by hand).
   */
  private async storedBytes(sha256: string): Promise<{ bytes: Buffer; why?: undefined } | { bytes: null; why: 'none' | 'mismatch' }> {
    const rows = await this.warehouse.query<{ b: string }>(
      `SELECT bytes_base64 AS b FROM ${this.warehouse.database}.${MODEL_FILES_TABLE} WHERE file_sha256 = {sha:String} ORDER BY saved_at DESC`, { sha: sha256 });
    for (const row of rows) {
      const bytes = Buffer.from(row.b, 'base64');
      if (createHash('sha256').update(bytes).digest('hex') === sha256) return { bytes };
    }
    return { bytes: null, why: rows.length === 0 ? 'none' : 'mismatch' };
  }

  /**
   * Check that model files can be written into {@link modelDir} (created if missing): a file is written there and
   * removed. Called before a training run, so that a folder this user cannot write fails at once, not after the
   * training (a trial: 11 s of training, then EACCES).
   * @param outcome  What did not happen, for the message. @default 'nothing was trained'
   * @throws {PipelineError} naming the folder, the operating system's reason and the way out.
   */
  async assertWritable(outcome = 'nothing was trained'): Promise<void> {
    const probe = tempPath(join(this.modelDir, '.write-check'));
    try {
      makeDirs(this.modelDir, PRIVATE_FOLDER);
      await writeNewFile(probe, '');
    } catch (cause) {
      // The way out fits the cause: a file in the way, or a folder this user may not write (a re-test: the second said of the first).
      const code = (cause as NodeJS.ErrnoException).code;
      const fileInWay = code === 'ENOTDIR' || code === 'EEXIST' || /is a file, not a folder/.test((cause as Error).message);
      throw new PipelineError(`the models folder ${JSON.stringify(this.modelDir)} cannot be written (${(cause as Error).message.split('\n')[0]}): ${outcome}; `
        + `${fileInWay ? 'move the file in its way' : 'give this user the right to write it'}, or set EDGELAT_DATA_DIR to a data folder it can write`, { cause });
    } finally {
      await unlink(probe).catch(() => undefined);
    }
  }

  /** Write `bytes` as `name` in the model dir (created), whole or not at all (a temporary file renamed). @returns Its path. */
  private async writeModelFile(name: string, bytes: Uint8Array, version: string): Promise<string> {
    const path = join(this.modelDir, name);
    const tmp = tempPath(path);
    try {
      makeDirs(this.modelDir, PRIVATE_FOLDER);
      await writeNewFile(tmp, bytes);
      await rename(tmp, path);
    } catch (cause) {
      // The operating system's words alone named a temporary file (a trial: "EPERM: operation not permitted, open
      // '…/io_ms_p50-…-0002.onnx.tmp-7498'"): say it is the model file, in the data folder's models folder.
      await unlink(tmp).catch(() => undefined);
      throw new ModelFileError(`cannot write model file ${JSON.stringify(path)} into the models folder ${JSON.stringify(this.modelDir)}: ${(cause as Error).message}`, version, { cause });
    }
    return path;
  }

  /**
   * Write a registered model's file again where it is missing, unreadable or changed: `bytes` must be the file it was
   * registered with (their SHA-256 is its `fileSha256`). Written into this data folder's model dir, under the name
   * registered, which {@link list} then resolves to.
   * @returns What was wrong with the file (`'missing'`, `'unreadable'`, `'changed'`), or null when it was intact (nothing written).
   * @throws {RangeError} when the bytes are not the registered file's (a programmer error).
   * @throws {ModelFileError} naming the file and the folder when it cannot be written.
   */
  async restoreFile(model: Pick<RegisteredModel, 'version' | 'filePath' | 'fileSha256'>, bytes: Uint8Array): Promise<'missing' | 'unreadable' | 'changed' | null> {
    if (createHash('sha256').update(bytes).digest('hex') !== model.fileSha256) throw new RangeError(`restoreFile: the bytes are not the registered file of ${JSON.stringify(model.version)}`);
    let now: Buffer | null = null;
    let problem: 'missing' | 'unreadable' | 'changed' | null = null;
    try {
      now = await readFile(model.filePath);
    } catch (cause) {
      problem = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable';
    }
    if (now !== null && createHash('sha256').update(now).digest('hex') !== model.fileSha256) problem = 'changed';
    // The warehouse's copy too, where it has none that hashes right (a re-test: the retrain mended the file alone).
    await this.ensureStored(model.fileSha256, bytes);
    if (problem === null) return null;
    await this.writeModelFile(basename(model.filePath), bytes, model.version);
    return problem;
  }

  /**
   * Read a registered model's file and check its SHA-256; where the file is missing, unreadable or not those bytes,
   * take the warehouse's copy ({@link MODEL_FILES_TABLE}) and write it into this data folder's model dir, as the name
   * registered (a folder on another host or a copy whose source moved gets its models this way; a trial's serve
   * answered 503 once the folder a model had been trained from was deleted).
   *
   * @returns The file bytes.
   * @throws {ModelFileError} naming the file when it cannot be read or its hash differs from the registry's, and the
   *   warehouse holds no copy (a model registered before edgelat kept them), and how to mend it (`edgelat model train`
   *   writes it back, or replaces it).
   */
  async readFile(model: Pick<RegisteredModel, 'version' | 'filePath' | 'fileSha256'>): Promise<Uint8Array> {
    // No file registered: a version pruned (`edgelat model prune`) or a training run that made none (rejected).
    if (model.filePath === '') throw new ModelFileError(`${JSON.stringify(model.version)} has no model file (its reason in latency_models says why: pruned by \`edgelat model prune\`, or a run that made none)`, model.version);
    let problem: ModelFileError | null = null;
    let bytes: Buffer | null = null;
    // A rollback too, the quickest mend (a trial: serve's 503 said it, the CLI's error did not).
    const mend = '`edgelat model train` writes it back where it retrains the same model, or trains one to replace it, or `edgelat model promote` another version';
    try {
      bytes = await readFile(model.filePath);
    } catch (cause) {
      // Where the stored path is another data folder's, this folder's copy was looked for first (absolutePath).
      const here = join(this.modelDir, basename(model.filePath));
      const also = isAbsolute(model.filePath) && here !== model.filePath ? ` (nor this data folder's copy ${JSON.stringify(here)})` : '';
      problem = new ModelFileError(`cannot read model file ${JSON.stringify(model.filePath)}${also} of ${JSON.stringify(model.version)}: ${(cause as Error).message}; ${mend}`, model.version, { cause });
    }
    const sha256 = bytes === null ? null : createHash('sha256').update(bytes).digest('hex');
    if (bytes !== null && sha256 !== model.fileSha256) {
      problem = new ModelFileError(
        `model file ${JSON.stringify(model.filePath)} of ${JSON.stringify(model.version)} has sha256 ${JSON.stringify(sha256)}, ` +
          `the registry expects ${JSON.stringify(model.fileSha256)}; the file changed after registration: ${mend}`,
        model.version,
      );
    }
    if (problem !== null) {
      // The warehouse's copy, written into this folder (best effort: the bytes serve either way).
      const stored = model.fileSha256 === '' ? null : await this.storedBytes(model.fileSha256).catch(() => null);
      if (stored?.bytes == null) {
        const why = stored === null ? '' : stored.why === 'none' ? `; ${MODEL_FILES_TABLE} holds no copy of it` : `; the copies in ${MODEL_FILES_TABLE} are not its bytes either (edited?)`;
        // Said before the mend (`…: \`edgelat model train\` writes it back …`).
        const at = problem.message.indexOf('`edgelat model train`') - 2;
        if (at > 0) problem.message = `${problem.message.slice(0, at)}${why}${problem.message.slice(at)}`;
        throw problem;
      }
      await this.writeModelFile(basename(model.filePath), stored.bytes, model.version).catch(() => undefined);
      this.stored.add(model.fileSha256);
      bytes = stored.bytes;
    } else {
      await this.ensureStored(model.fileSha256, bytes!);
      // Read from another data folder's path (this one's copy missing: a trial deleted it in a copied folder, which then
      // read the original's file in silence, depending on it): this folder gets its own copy (best effort, as above).
      const here = join(this.modelDir, basename(model.filePath));
      if (isAbsolute(model.filePath) && here !== model.filePath && !existsSync(here)) await this.writeModelFile(basename(model.filePath), bytes!, model.version).catch(() => undefined);
    }
    return new Uint8Array(bytes!.buffer, bytes!.byteOffset, bytes!.byteLength);
  }

  /**
   * Insert a row for `model` (a new model, or a new status of a known one when `updatedAtMs` is later).
   *
   * @throws {RangeError} on a bad version, status, sha256 or count (a programmer error);
   *         {WarehouseError} from the warehouse.
   */
  async register(model: RegisteredModel): Promise<void> {
    const problem = rowProblem(model);
    if (problem !== null) throw new RangeError(problem);
    const db = this.warehouse.database;
    const ts = (name: string) => `fromUnixTimestamp64Milli({${name}:Int64}, 'UTC')`;
    await this.warehouse.exec(
      `INSERT INTO ${db}.latency_models (version, kind, trained_at, window_start, window_end, holdout_start, rows_train, rows_holdout,
         metrics_json, holdout_loss, file_path, file_sha256, status, reason, updated_at)
       SELECT {version:String}, {kind:String}, ${ts('trained_at')}, ${ts('window_start')}, ${ts('window_end')}, ${ts('holdout_start')},
         {rows_train:UInt64}, {rows_holdout:UInt64}, {metrics_json:String}, toFloat64({holdout_loss:String}), {file_path:String},
         {file_sha256:String}, {status:String}, {reason:String}, ${ts('updated_at')}`,
      {
        version: model.version, kind: model.kind, trained_at: model.trainedAtMs, window_start: model.windowStartMs, window_end: model.windowEndMs,
        holdout_start: model.holdoutStartMs, rows_train: model.rowsTrain, rows_holdout: model.rowsHoldout, metrics_json: metricsToJson(model.metrics),
        holdout_loss: floatText(model.holdoutLoss), file_path: model.filePath === '' ? '' : resolve(model.filePath), file_sha256: model.fileSha256, status: model.status,
        reason: model.reason, updated_at: model.updatedAtMs,
      },
    );
  }

  /**
   * List registered models (newest row of each), ordered by kind then version (oldest first).
   *
   * @param kind  Only this kind. @default every kind
   */
  async list(kind?: string): Promise<RegisteredModel[]> {
    const ms = (column: string) => `toUnixTimestamp64Milli(${column}) AS ${column}_ms`;
    const rows = await this.warehouse.query<ModelRow>(
      `SELECT version, kind, ${ms('trained_at')}, ${ms('window_start')}, ${ms('window_end')}, ${ms('holdout_start')}, rows_train, rows_holdout,
         metrics_json, holdout_loss, toString(holdout_loss) AS holdout_loss_text, file_path, file_sha256, status, reason, ${ms('updated_at')}
       FROM ${this.warehouse.database}.latency_models FINAL
       ${kind === undefined ? '' : 'WHERE kind = {kind:String}'}
       ORDER BY kind, version`,
      kind === undefined ? {} : { kind },
    );
    return rows.map((r) => ({ ...fromRow(r), filePath: this.absolutePath(r.file_path) }));
  }

  /**
   * Whether a version's file can serve, without writing anything (for `model list`): `ok` (the file has the registered
   * SHA-256), `copy` (missing or changed, and the warehouse holds its bytes: the next use writes it back) or `lost`
   * (neither: promote another version, or retrain); `none` for a version without a file (pruned).
   * @throws {WarehouseError} from the warehouse.
   */
  async fileStatus(model: Pick<RegisteredModel, 'filePath' | 'fileSha256'>): Promise<'ok' | 'copy' | 'lost' | 'none'> {
    if (model.filePath === '') return 'none';
    const bytes = await readFile(model.filePath).catch(() => null);
    if (bytes !== null && createHash('sha256').update(bytes).digest('hex') === model.fileSha256) return 'ok';
    if (model.fileSha256 === '') return 'lost';
    return (await this.storedBytes(model.fileSha256)).bytes === null ? 'lost' : 'copy';
  }

  /**
   * A stored `file_path` as the file to read: this folder's file of that name when it has one (the data folder was
   * copied or moved: a trial's copy read the original's files, and once the original moved, could not read its
   * champion), else the path as stored (another data folder sharing one ClickHouse warehouse, on this host); a
   * relative path under {@link modelDir}. `readFile` checks the SHA-256 either way.
   */
  private absolutePath(stored: string): string {
    if (stored === '') return '';
    if (!isAbsolute(stored)) return join(this.modelDir, stored);
    const here = join(this.modelDir, basename(stored));
    return existsSync(here) ? here : stored;
  }

  /** One model by kind and version, or null. */
  async get(kind: string, version: string): Promise<RegisteredModel | null> {
    return (await this.list(kind)).find((m) => m.version === version) ?? null;
  }

  /**
   * The current champion of a kind: the newest-version model whose status is `champion`
   * (after an interrupted promotion two may exist briefly; the newer wins), or null.
   */
  async champion(kind: string): Promise<RegisteredModel | null> {
    return (await this.list(kind)).filter((m) => m.status === 'champion').at(-1) ?? null;
  }

  /**
   * Change a model's status by re-inserting its row.
   *
   * @param atMs  Time of the change; the row gets max(atMs, previous updatedAtMs + 1) so it always replaces the old one.
   * @returns     The row as now stored.
   * @throws {PipelineError} (not retriable) if no such model is registered.
   */
  async setStatus(kind: string, version: string, status: ModelStatus, reason: string, atMs: number): Promise<RegisteredModel> {
    const current = await this.get(kind, version);
    if (!current) throw new PipelineError(`no latency model ${JSON.stringify(version)} of kind ${JSON.stringify(kind)} is registered`);
    // The row is written again whole: what could not be read of it (`problem`) is written as read (metrics left out).
    const { problem: _unreadable, ...row } = current;
    const next: RegisteredModel = { ...row, status, reason, updatedAtMs: Math.max(atMs, current.updatedAtMs + 1) };
    await this.register(next);
    return next;
  }
}

/** A `models.latency.v1` record (schemas/model-latency.v1.avsc); times are epoch milliseconds UTC. */
export interface LatencyModelEvent {
  version: string;
  kind: string;
  trained_at: number;
  window_start: number;
  window_end: number;
  holdout_start: number;
  rows_train: number;
  rows_holdout: number;
  holdout_loss: number;
  metrics: Record<string, number>;
  file_path: string;
  file_sha256: string;
  previous_version: string | null;
  reason: string;
}

const eventSchema: unknown = JSON.parse(readFileSync(new URL('../../schemas/model-latency.v1.avsc', import.meta.url), 'utf8'));
/**
 * The compiled `LatencyModelEvent` type, as every edgelat schema is compiled (schemas/codec.ts `createLongAwareType`:
 * exact longs, numbers where safe as epoch ms are; strings and map keys read only as UTF-8).
 */
export const latencyModelEventType = createLongAwareType(eventSchema as object) as avro.types.RecordType;
/** CRC-64-AVRO fingerprint of the schema's canonical form, 8 bytes little-endian as on the wire. */
export const LATENCY_MODEL_EVENT_FINGERPRINT: Buffer = rabinFingerprint(JSON.stringify(latencyModelEventType.schema()));
const eventHeader = singleObjectHeader(LATENCY_MODEL_EVENT_FINGERPRINT);

/** Build the record announcing `model` as champion; `previousVersion` is the champion it replaced, or null. */
export function latencyModelEvent(model: RegisteredModel, previousVersion: string | null): LatencyModelEvent {
  return {
    version: model.version, kind: model.kind, trained_at: model.trainedAtMs, window_start: model.windowStartMs, window_end: model.windowEndMs,
    holdout_start: model.holdoutStartMs, rows_train: model.rowsTrain, rows_holdout: model.rowsHoldout, holdout_loss: model.holdoutLoss,
    metrics: { ...model.metrics }, file_path: model.filePath, file_sha256: model.fileSha256, previous_version: previousVersion, reason: model.reason,
  };
}

/**
 * Encode as single-object Avro: `C3 01` + 8-byte fingerprint + body.
 * @throws {PipelineError} (not retriable) naming the first invalid field.
 */
export function encodeLatencyModelEvent(event: LatencyModelEvent): Buffer {
  const bad: string[] = [];
  if (!latencyModelEventType.isValid(event, { errorHook: (path) => bad.push(path.join('.')) })) {
    throw new PipelineError(`cannot encode LatencyModelEvent: invalid field ${JSON.stringify(bad[0] ?? '')}`);
  }
  return Buffer.concat([eventHeader, latencyModelEventType.toBuffer(event)]);
}

/**
 * Decode a single-object Avro `models.latency.v1` record. Never throws.
 * @returns `{ok: true, value}` as a plain object, or `{ok: false, path: '', reason}` for a foreign fingerprint or bad bytes.
 */
export function decodeLatencyModelEvent(bytes: Buffer): DecodeResult<LatencyModelEvent> {
  if (bytes.length < SINGLE_OBJECT_HEADER_BYTES || !bytes.subarray(0, SINGLE_OBJECT_HEADER_BYTES).equals(eventHeader)) {
    return { ok: false, path: '', reason: `not a single-object LatencyModelEvent: header ${JSON.stringify(bytes.subarray(0, SINGLE_OBJECT_HEADER_BYTES).toString('hex'))}, expected ${JSON.stringify(eventHeader.toString('hex'))}` };
  }
  try {
    const { value, offset } = latencyModelEventType.decode(bytes, SINGLE_OBJECT_HEADER_BYTES);
    if (offset !== bytes.length) return { ok: false, path: '', reason: `truncated or trailing bytes: record ends at ${offset} of ${bytes.length}` };
    return { ok: true, value: { ...(value as LatencyModelEvent) } };
  } catch (err) {
    return { ok: false, path: '', reason: `invalid avro body: ${(err as Error).message.toLowerCase()}` };
  }
}
