/**
 * Import MLPerf Inference results (`runs_vX.Y.csv` + `systems_vX.Y.csv`,
 * data/mlperf-inference/, MLCommons inference_results_v1.1…v4.1, Apache-2.0)
 * into rows of the `benchmark_latency` and `chips` tables
 * (sql/migrations/0008_latency_model.sql).
 *
 * Rules:
 * - A system is (`mlperf_version`, `division`, `submitter`, `system_id`); its
 *   key `${mlperf_version}/${division}/${submitter}/${system_id}` is both the
 *   `device` and the `system` of a benchmark row. Every run must match exactly
 *   one system row.
 * - The chip of a system is {@link normaliseChip} of its `compute_device`
 *   (else a real `accelerator_model_name`, else `host_processor_model_name`,
 *   else `system_name`), with MLPerf's `compute_kind` = `cpu` as the kind hint.
 * - A system whose id and description name two boards, or a board and CPU cores it does not have
 *   (board-conflict.ts `systemBoardConflict`), has no chip: its SingleStream runs are counted in `runsSkipped`
 *   under a reason naming the system and the contradiction.
 * - Only SingleStream runs are imported: one query is one sample, so
 *   `p90_latency_ms` is the per-inference p90 latency (percentile 0.9, batch 1,
 *   source `mlperf`). Other scenarios are counted in `runsSkipped`.
 * - A run MLPerf marked `result_valid` = `INVALID` is counted in `runsSkipped`
 *   (`result_valid=INVALID`); any value but `VALID` or `INVALID` is a bad line.
 *   `p50_latency_ms`, when the file has that column and the cell is not
 *   empty, must be a decimal number > 0 like `p90_latency_ms`, and not above it (it is not
 *   imported: a bad one marks a damaged line; an empty one loses nothing). These checks come before the repeat check, so a
 *   bad or invalid line is never counted as a repeat of an imported run.
 * - Both latencies must lie in help.ts `LATENCY_RANGE_MS` (1 µs to 1 hour); a
 *   model name must be at most MAX_ID_CHARS characters without control characters.
 * - `model_id` is the run's `model`, lower-cased, with the accuracy target
 *   `-99.9` read as `-99` (at the end or before `_`: `bert-99.9` → `bert-99`,
 *   `bert-99.9_obert-large` → `bert-99_obert-large`): one network, named as
 *   MLPerf names it at its 99 % target, which is also how the demo's MLPerf
 *   cut and its fleet name it (a trial: `bert` from this import and `bert-99`
 *   in the fleet were two models, and the fleet's never met its benchmarks).
 * - Bad lines are returned as {@link ImportProblem}s (data errors are values,
 *   STYLE §2), never dropped silently; a header without a required column throws.
 */
import { assertColumnsOnce, assertCsvText, parseCsvLines, unclosedQuoteMessage, type CsvRecord } from '../simulator/csv.ts';
import { normaliseChip, systemDeviceName, type ChipKind } from './chips.ts';
import { latencyRangeProblem, quoteValue, type ImportProblem, type NamedText } from './help.ts';
import { idProblem } from '../names.ts';
import { systemBoardConflict } from './board-conflict.ts';

/**
 * One row of `benchmark_latency`: one measured latency of a model on a device.
 * (A type alias, not an interface, so rows are assignable to `Record<string, unknown>` for inserts.)
 */
export type BenchmarkRow = {
  /** Always `mlperf`. */
  source: string;
  /** Model, lower case, accuracy target -99.9 read as -99: `resnet50`, `bert-99`, `3d-unet-99`. */
  model_id: string;
  /** The system key (a device of the benchmark table is an MLPerf system). */
  device: string;
  /** Normalised chip id of the system's compute device ({@link normaliseChip}). */
  chip: string;
  /** Samples per query: 1 for SingleStream. */
  batch: number;
  /** `SingleStream`. */
  scenario: string;
  /** Percentile as a fraction 0..1: 0.9. */
  percentile: number;
  /** Latency of one query, milliseconds (> 0). */
  latency_ms: number;
  /** `${mlperf_version}/${division}/${submitter}/${system_id}`, e.g. `v3.0/closed/NVIDIA/Orin_TRT`. */
  system: string;
};

/** One row of `chips`: a normalised chip and every raw name that maps to it. */
export type ChipRow = {
  chip: string;
  kind: 'cpu' | 'gpu' | 'npu' | 'fpga' | 'asic';
  vendor: string;
  /** Raw names as submitted, sorted, unique. */
  names: string[];
  /** Peak operations per second; null (MLPerf files do not state it). */
  peak_ops_per_s: number | null;
  /** Memory bandwidth, bytes per second; null (not stated). */
  memory_bw_bytes_s: number | null;
  /** Power, watts; null (not stated). */
  power_w: number | null;
  /** Rental price, currency units per hour; null (not stated). */
  price_per_hour: number | null;
};

export type { ImportProblem };

/** Result of {@link parseMlperf}. */
export interface MlperfImport {
  /** SingleStream p90 latencies, in file and line order. */
  benchmark: BenchmarkRow[];
  /** One row per chip id of the accepted systems, sorted by chip. */
  chips: ChipRow[];
  /** Bad lines of both the systems and the runs files. */
  problems: ImportProblem[];
  /** Number of distinct systems accepted. */
  systems: number;
  /** Data lines read from the runs files (blank lines excluded). */
  runsRead: number;
  /** Runs that are well formed but not imported, by reason (`scenario=Offline`, `result_valid=INVALID`, repeats), sorted by reason. */
  runsSkipped: { reason: string; count: number }[];
}

/** A CSV file by name and text. */
export type NamedCsv = NamedText;

/** Columns a runs file must have. */
export const RUN_COLUMNS = ['mlperf_version', 'division', 'submitter', 'system_id', 'model', 'scenario', 'p90_latency_ms'] as const;
/** Columns a systems file must have (`accelerator_model_name`, `host_processor_model_name`, `system_name`, `compute_kind` are used when present). */
export const SYSTEM_COLUMNS = ['mlperf_version', 'division', 'submitter', 'system_id', 'compute_device'] as const;
const KEY_COLUMNS = ['mlperf_version', 'division', 'submitter', 'system_id'] as const;
/** Characters of a system key a message quotes whole (the longest in data/mlperf-inference/ has 103). */
const KEY_MAX_CHARS = 120;

/** A chip a catalog lists, with the raw names it is known by (`chips` table). */
export interface KnownChip {
  chip: string;
  kind: ChipKind;
  vendor: string;
  names: readonly string[];
}

/**
 * The short names of MLPerf's first rounds (v0.5–v0.7 folders, still used by some v1.1 submitters, e.g. Centaur's
 * closed `resnet` and `ssd-small`) as the later rounds name the same benchmarks (MLPerf Inference rules: ResNet50-v1.5,
 * SSD-MobileNet-v1 300×300, SSD-ResNet34 1200×1200). A trial: Centaur's chip was "skipped" for resnet50 it had run.
 */
const MLPERF_SHORT_NAMES: Readonly<Record<string, string>> = { resnet: 'resnet50', 'ssd-small': 'ssd-mobilenet', 'ssd-large': 'ssd-resnet34' };

/**
 * Model id of an MLPerf model folder name.
 *
 * @param model  E.g. `bert-99.9`, `3d-unet-99`, `bert-99_obert-large`, `ResNet50`, `ssd-small`.
 * @returns      Lower case, with `-99.9` at the end or before `_` read as `-99`, and the first rounds' short names as
 *               the later rounds' ({@link MLPERF_SHORT_NAMES}): `bert-99`, `3d-unet-99`, `bert-99_obert-large`, `resnet50`,
 *               `ssd-mobilenet`.
 */
export function mlperfModelId(model: string): string {
  const id = model.trim().toLowerCase().replace(/-99\.9(?=$|_)/, '-99');
  return MLPERF_SHORT_NAMES[id] ?? id;
}

/**
 * Whether an MLPerf model name is of the high accuracy target (`-99.9`, read as `-99` by {@link mlperfModelId}): two
 * runs of one model id are of two targets, not a repeat, when this differs between their names.
 */
export function highAccuracyTarget(model: string): boolean {
  return /-99\.9(?=$|_)/.test(model.trim().toLowerCase());
}

/**
 * Key of an MLPerf system.
 *
 * @param r  A record with the four key columns.
 * @returns  `${mlperf_version}/${division}/${submitter}/${system_id}`.
 */
export function systemKey(r: Readonly<Record<(typeof KEY_COLUMNS)[number], string>>): string {
  return `${mlperfRound(r.mlperf_version) ?? r.mlperf_version}/${r.division}/${r.submitter}/${r.system_id}`;
}

/**
 * An MLPerf round as a system key spells it, `vX.Y`, from `vX.Y`, `VX.Y` or `X.Y` (digits; a re-test: runs of `1.1`
 * found no system row of `v1.1`); null for anything else (`v4.0-rc`, `2023`): the answers tell rounds apart by it (a model's rows of a round before
 * a workload change are left out, benchmark-rows.ts), and a round they cannot read would be kept as no round at all
 * (a trial: `V1.1` brought back 3d-unet-99's BraTS rows, ranking a T4 at 158 ms).
 * @param text  The `mlperf_version` cell.
 */
export function mlperfRound(text: string): string | null {
  const m = /^[vV]?(\d+)\.(\d+)$/.exec(text.trim());
  // The major without leading zeros (`01.1` is v1.1, as the answers' round order reads it); the minor as written (v1.10 is not v1.1).
  return m === null ? null : `v${Number(m[1])}.${m[2]}`;
}

/** The MLPerf scenarios as the rules spell them, by their names without case, blanks, `_` or `-`. */
const SCENARIOS: Readonly<Record<string, string>> = { singlestream: 'SingleStream', multistream: 'MultiStream', server: 'Server', offline: 'Offline' };

/** An MLPerf scenario as the rules spell it (`single stream`, `Single_Stream` → `SingleStream`); another name unchanged. */
export function mlperfScenario(text: string): string {
  return SCENARIOS[text.replace(/[\s_-]+/g, '').toLowerCase()] ?? text;
}

/** Records with their first and last line (csv.ts), without blank lines. */
function readRecords(text: string): CsvRecord[] {
  return parseCsvLines(text.replace(/^\uFEFF/, '')).filter((r) => !(r.cells.length === 1 && r.cells[0]!.trim() === ''));
}

type Rec = Record<string, string>;

/**
 * Parse one file: header check, then records of well-formed lines; lines with a wrong column count become problems.
 * @throws {RangeError} when the text is UTF-16, not UTF-8 or its lines end in CR alone, or the header lacks a required column or names one twice.
 */
function readTable(f: NamedCsv, required: readonly string[], problems: ImportProblem[]): { line: number; rec: Rec }[] {
  assertCsvText(f.file, f.text);
  const [head, ...body] = readRecords(f.text);
  // Nothing but blanks or a byte-order mark (a trial: "header lacks required column").
  if (head === undefined) throw new RangeError(`${f.file}: empty file (expected a header with ${required.join(', ')})`);
  const header = head.cells.map((h) => h.trim());
  for (const c of required) {
    if (!header.includes(c)) throw new RangeError(`${f.file}: header lacks required column ${JSON.stringify(c)}`);
  }
  // A column named twice: the later one had silently won (a trial: a resnet50 run imported as bert-99 from a second
  // "model" column); chips import and the SingleStream import refuse it the same way.
  assertColumnsOnce(f.file, header);
  const out: { line: number; rec: Rec }[] = [];
  for (const { line, end, cells, unclosed } of body) {
    if (unclosed) {
      problems.push({ file: f.file, line, field: 'quote', value: cells.join(','), message: unclosedQuoteMessage({ line, end, cells, unclosed }) });
      continue;
    }
    if (cells.length !== header.length) {
      const span = end > line ? ` (lines ${line}–${end} read as one record: a quoted field opened on line ${line} closes on line ${end})` : '';
      problems.push({ file: f.file, line, field: 'columns', value: String(cells.length), message: `expected ${header.length} fields, found ${cells.length}${span}` });
      continue;
    }
    const rec: Rec = {};
    header.forEach((h, i) => { rec[h] = cells[i]!.trim(); });
    out.push({ line, rec });
  }
  return out;
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Whether a cell is a decimal number of milliseconds > 0 (finite; exponents allowed, no hex). */
export const positiveMs = (cell: string): boolean => DECIMAL.test(cell) && Number.isFinite(Number(cell)) && Number(cell) > 0;

/** Put the problems of one file (from index `from` on) in line order; column-count problems are found first. */
function sortByLine(problems: ImportProblem[], from: number): void {
  const tail = problems.splice(from).sort((a, b) => a.line - b.line);
  problems.push(...tail);
}

interface SystemInfo {
  line: number;
  file: string;
  chip: string;
  /** Why the system's texts contradict each other about its hardware (board-conflict.ts), or null. */
  conflict: string | null;
}

/** Relative difference allowed between `p90_latency_ms` and the primary metric in ms (0.1 %). */
const PRIMARY_TOLERANCE = 1e-3;

/** Milliseconds per unit of a latency `primary_unit`. */
const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000 };

/**
 * Where a run's primary metric is its 90th percentile latency (SingleStream: `primary_metric` "90th percentile
 * latency (ms)", `primary_unit` ms), whether `p90_latency_ms` says the same: null when it does (within 0.1 %) or
 * the row has no such primary metric; else the column at fault and why. A file whose latencies are in another unit than
 * the column's name says, or whose two figures disagree, would be stored 1000× off inside the accepted range (a trial:
 * a row in µs); a primary value that is not a number > 0 is `primary_value`'s problem.
 */
function primaryP90Problem(rec: Readonly<Record<string, string | undefined>>, p90Ms: number): { field: string; reason: string } | null {
  const metric = (rec.primary_metric ?? '').trim();
  if (!/^90th percentile latency\b/i.test(metric)) return null;
  const unit = (rec.primary_unit ?? '').trim();
  const valueText = (rec.primary_value ?? '').trim();
  // A primary value that is there is a number > 0 (a trial's NaN skipped this check and was stored).
  if (valueText !== '' && !positiveMs(valueText)) return { field: 'primary_value', reason: `the primary metric's value (${quoteValue(metric)}) must be a number > 0, got ${quoteValue(valueText)}` };
  const value = Number(valueText);
  if (unit === '' || valueText === '') return null;
  const perUnit = UNIT_MS[unit];
  if (perUnit === undefined) return { field: 'p90_latency_ms', reason: `primary_unit ${quoteValue(unit)} of the primary metric (${quoteValue(metric)}) is not a unit of time (ns, us, ms, s)` };
  const primaryMs = value * perUnit;
  // Within 0.1 %: the files round each figure on its own (0.818143 against 0.818142), and a unit slip is 1000×.
  if (Math.abs(primaryMs - p90Ms) <= PRIMARY_TOLERANCE * Math.max(primaryMs, p90Ms)) return null;
  return { field: 'p90_latency_ms', reason: `p90_latency_ms ${p90Ms} disagrees with the primary metric ${quoteValue(metric)}, ${value} ${unit}${unit === 'ms' ? '' : ` (${Number(primaryMs.toPrecision(12))} ms)`}, by more than 0.1 % (a column in another unit than its name says?)` };
}

/** The latency columns of a run, in the order their values cannot decrease (min ≤ p50 ≤ … ≤ max), ms. */
const ORDERED_LATENCY_COLUMNS = ['min_latency_ms', 'p50_latency_ms', 'p90_latency_ms', 'p95_latency_ms', 'p97_latency_ms', 'p99_latency_ms', 'p999_latency_ms', 'max_latency_ms'] as const;

/** The latency columns but p50 and p90 (checked first, with their own range), each a number > 0 where given, ms. */
const OTHER_LATENCY_COLUMNS = ORDERED_LATENCY_COLUMNS.filter((c) => c !== 'p50_latency_ms' && c !== 'p90_latency_ms');

/**
 * The first of a run's latency columns (those given as numbers) below the one before it, or null: percentiles of one
 * run cannot decrease, so a damaged cell (a trial's p90 of 490,365 ms under a p95 of 565 ms) is a bad line.
 */
function latencyOrderProblem(rec: Readonly<Record<string, string | undefined>>): { field: string; reason: string } | null {
  const given = ORDERED_LATENCY_COLUMNS.map((c) => ({ c, text: (rec[c] ?? '').trim() })).filter((x) => x.text !== '' && Number.isFinite(Number(x.text)));
  for (let i = 1; i < given.length; i++) {
    const [a, b] = [given[i - 1]!, given[i]!];
    if (Number(a.text) > Number(b.text)) return { field: a.c, reason: `${a.c} ${a.text} is above ${b.c} ${b.text}: a run's latencies cannot decrease from min through the percentiles to max (a damaged cell, or columns swapped?)` };
  }
  return null;
}

/** Largest factor either way between a SingleStream run's mean latency and 1000 / its queries per second (the files agree within 2 %; a unit slip is 1000×). */
const RATE_TOLERANCE = 2;

/**
 * Whether a SingleStream run's mean latency agrees with its rate: one query at a time, the mean latency is
 * 1000 / qps_without_loadgen_overhead ms (Little's law with one query in flight; the shipped rounds agree within
 * 2 %). Null when it does, or either cell is missing; else why not: latency columns scaled together (every one ×1000,
 * a file in µs under ms headers) keep their order and their primary metric, and only the rate tells.
 */
function singleStreamRateProblem(rec: Readonly<Record<string, string | undefined>>): { field: string; reason: string } | null {
  const meanText = (rec.mean_latency_ms ?? '').trim();
  const qpsText = (rec.qps_without_loadgen_overhead ?? '').trim();
  const mean = Number(meanText);
  const qps = Number(qpsText);
  // A cell that is there must be a number > 0 (a trial's qps of 0 or NaN let scaled latencies through unchecked).
  if (meanText !== '' && !(mean > 0 && Number.isFinite(mean))) return { field: 'mean_latency_ms', reason: `latency must be a number > 0 ms, got ${quoteValue(meanText)}` };
  if (qpsText !== '' && !(qps > 0 && Number.isFinite(qps))) return { field: 'qps_without_loadgen_overhead', reason: `queries per second must be a number > 0, got ${quoteValue(qpsText)}` };
  // At least half of a run's queries take its p50 or more, so their mean is at least p50 / 2 (Markov's inequality);
  // and a mean lies between min and max (a trial scaled p50 … max ×1000 and left min and mean in ms).
  const p50 = Number((rec.p50_latency_ms ?? '').trim());
  if (meanText !== '' && p50 > 0 && mean < p50 / 2) return { field: 'mean_latency_ms', reason: `mean_latency_ms ${meanText} is below half of p50_latency_ms ${rec.p50_latency_ms!.trim()}: half of the queries take p50 or more, so their mean cannot (latency columns in different units?)` };
  for (const [c, above] of [['min_latency_ms', false], ['max_latency_ms', true]] as const) {
    const x = Number((rec[c] ?? '').trim());
    if (meanText !== '' && (rec[c] ?? '').trim() !== '' && Number.isFinite(x) && (above ? mean > x : mean < x)) return { field: 'mean_latency_ms', reason: `mean_latency_ms ${meanText} is ${above ? 'above' : 'below'} ${c} ${rec[c]!.trim()}: a mean lies between a run's min and max` };
  }
  if (meanText === '' || qpsText === '') return null;
  const implied = 1000 / qps;
  if (mean <= implied * RATE_TOLERANCE && mean >= implied / RATE_TOLERANCE) return null;
  return { field: 'mean_latency_ms', reason: `mean_latency_ms ${rec.mean_latency_ms!.trim()} disagrees with qps_without_loadgen_overhead ${rec.qps_without_loadgen_overhead!.trim()}: one query at a time, the mean latency is 1000 / qps = ${Number(implied.toPrecision(6))} ms (latency columns in another unit than their names say?)` };
}

/**
 * Parse MLPerf runs and systems files into benchmark and chip rows.
 *
 * Behaviour: systems are read first; a systems line with a wrong column count,
 * an empty key column or a key already seen (the first is kept) is a problem.
 * Then each runs line: wrong column count → problem (`columns`); no system row
 * → problem (`system_id`); scenario other than `SingleStream` → counted in
 * `runsSkipped`; `result_valid` (when the column exists) `INVALID` → counted
 * in `runsSkipped`, other than `VALID` → problem; empty `model` → problem;
 * `p50_latency_ms` (when the column exists and the cell is not empty) or `p90_latency_ms` not a decimal
 * number > 0 → problem; so any other latency column's cell (min, p95, p97, p99, p999, max) that is not empty, and
 * a 90th-percentile primary metric's `primary_value`; latency columns that decrease from min through the percentiles to max, or a mean latency
 * more than 2× off 1000 / qps_without_loadgen_overhead (one query at a time) → problem; a second line of the same (system, model id) →
 * counted in `runsSkipped`. So `runsRead` = benchmark rows + runs problems +
 * skipped runs. Chips are those of all accepted systems.
 * @param runs     `runs_vX.Y.csv` files (columns: data/mlperf-inference/README.md).
 * @param systems  `systems_vX.Y.csv` files.
 * @param known    The chips a catalog already lists, with their raw names (`chips.names`): a system whose device
 *                 name is one of them (whole, ignoring case and surrounding blanks), or whose {@link normaliseChip}
 *                 id is (`arm-mali-g610-mp4`), takes that chip. A catalog names the chips of its own fleet: a
 *                 trial's MLPerf import added the demo's Mali-G610 as `arm-mali-g610-mp4` beside the catalog's
 *                 `rk3588-mali-g610`, one board ranked twice with two answers. A known chip whose id another known
 *                 chip lists as a name gives way to that chip (the catalog claimed an earlier import's board). @default none
 * @returns        Rows for `benchmark_latency` and `chips`, problems and counts.
 * @throws {RangeError} if a file's header lacks a column of {@link RUN_COLUMNS} or
 *                 {@link SYSTEM_COLUMNS}, or names a column twice; the message names the file and column.
 * @example see test/unit/model/import-mlperf.test.ts
 */
export function parseMlperf(runs: readonly NamedCsv[], systems: readonly NamedCsv[], known: readonly KnownChip[] = []): MlperfImport {
  const byName = new Map<string, KnownChip>();
  // A raw name two chips list goes to the one that claimed it, not to the chip an import made of it under the
  // normaliser's id (a re-test: the later id in the sort had won, so `my-carmel` lost to `nvidia-carmel`).
  const claims = (k: KnownChip, raw: string): boolean => k.chip !== normaliseChip(raw).chip;
  for (const k of known) {
    for (const n of k.names) {
      const key = n.trim().toLowerCase();
      const had = byName.get(key);
      if (had === undefined || (claims(k, n) && !claims(had, n))) byName.set(key, k);
    }
  }
  const problems: ImportProblem[] = [];
  const bySystem = new Map<string, SystemInfo>();
  const chips = new Map<string, { kind: ChipKind; vendor: string; names: Set<string> }>();

  for (const f of systems) {
    const before = problems.length;
    for (const { line, rec } of readTable(f, SYSTEM_COLUMNS, problems)) {
      const empty = KEY_COLUMNS.find((c) => rec[c] === '');
      if (empty !== undefined) {
        problems.push({ file: f.file, line, field: empty, value: '', message: 'empty system key column' });
        continue;
      }
      // Each part of the system key is an id: it names the benchmark's device in every answer.
      const notId = KEY_COLUMNS.map((c) => [c, idProblem(c, rec[c]!)] as const).find(([, p]) => p !== null);
      if (notId !== undefined) {
        problems.push({ file: f.file, line, field: notId[0], value: rec[notId[0]]!, message: notId[1]!.slice(notId[0].length + 2) });
        continue;
      }
      if (mlperfRound(rec.mlperf_version!) === null) {
        problems.push({ file: f.file, line, field: 'mlperf_version', value: rec.mlperf_version!, message: `expected a round as vX.Y or X.Y (v4.1, 3.0), got ${quoteValue(rec.mlperf_version!)}` });
        continue;
      }
      const key = systemKey(rec as Record<(typeof KEY_COLUMNS)[number], string>);
      const seen = bySystem.get(key);
      if (seen !== undefined) {
        problems.push({ file: f.file, line, field: 'system_id', value: rec.system_id!, message: `duplicate system ${quoteValue(key, KEY_MAX_CHARS)}, first at ${seen.file} line ${seen.line}` });
        continue;
      }
      const acc = rec.accelerator_model_name ?? '';
      // A system whose id and description name two boards cannot be placed on a chip (a trial: Krai's v2.0 open
      // `odroid-*` systems, described as a Jetson AGX Xavier, put an Odroid's MobileNet on the Xavier).
      const conflict = systemBoardConflict({ id: rec.system_id!, name: rec.system_name ?? '', devices: [rec.compute_device ?? '', acc, rec.host_processor_model_name ?? ''] });
      if (conflict !== null) {
        bySystem.set(key, { line, file: f.file, chip: '', conflict });
        continue;
      }
      const raw = systemDeviceName(rec);
      if (raw === '') {
        // Every device cell empty or a placeholder: no chip to put its runs on (a re-test: such a system became chip
        // `unknown`, ranked by recommend).
        bySystem.set(key, { line, file: f.file, chip: '', conflict: 'it names no device (compute_device, accelerator_model_name, host_processor_model_name and system_name are empty or placeholders)' });
        continue;
      }
      // The system names the board where the device name tells only an instruction set or cores (cTuning's Raspberry Pi 4
      // as `BCM2835`, its Jetson AGX Orin's CPU as `ARMv8 Processor rev 1 (v8l)`, Krai's as `Arm Cortex-A78AE v8.2`).
      const kind = rec.compute_kind === 'cpu' ? 'cpu' : undefined;
      const normal = normaliseChip(raw, { kind, system: `${rec.system_name ?? ''} ${rec.system_id ?? ''}`, host: rec.host_processor_model_name });
      // Such a name is no name of the board's chip: a catalog listing `BCM2835` would put every Pi there. It is not
      // looked up, and is kept with its system (`BCM2835 (Raspberry Pi 4 Model B Rev 1.1)`).
      const byBoard = normal.chip !== normaliseChip(raw, { kind }).chip;
      const found = (byBoard ? undefined : byName.get(raw.trim().toLowerCase())) ?? byName.get(normal.chip) ?? normal;
      // A chip whose id another chip lists as a name is that chip (a board an earlier import created under the
      // normaliser's id, since claimed by the fleet's own id): one step, so two chips listing each other do not loop.
      const c = byName.get(found.chip) ?? found;
      const entry = chips.get(c.chip) ?? { kind: c.kind, vendor: c.vendor, names: new Set<string>() };
      entry.names.add(byBoard ? `${raw} (${rec.system_name || rec.system_id})` : raw);
      chips.set(c.chip, entry);
      bySystem.set(key, { line, file: f.file, chip: c.chip, conflict: null });
    }
    sortByLine(problems, before);
  }

  const benchmark: BenchmarkRow[] = [];
  const skipped = new Map<string, number>();
  // (system, model_id) already imported: -99 and -99.9 runs of one network on one system are one row (the first).
  const imported = new Map<string, { high: boolean; p90: number; file: string; line: number }>(); // (system, model id) → the first run's accuracy target, p90, place
  let runsRead = 0;
  for (const f of runs) {
    const before = problems.length;
    const table = readTable(f, RUN_COLUMNS, problems);
    runsRead += table.length + (problems.length - before);
    for (const { line, rec } of table) {
      const bad = (field: string, message: string): void => {
        problems.push({ file: f.file, line, field, value: rec[field] ?? '', message });
      };
      if (mlperfRound(rec.mlperf_version!) === null) { bad('mlperf_version', `expected a round as vX.Y or X.Y (v4.1, 3.0), got ${quoteValue(rec.mlperf_version!)}`); continue; }
      const key = systemKey(rec as Record<(typeof KEY_COLUMNS)[number], string>);
      const sys = bySystem.get(key);
      if (sys === undefined) { bad('system_id', `no system row for ${quoteValue(key, KEY_MAX_CHARS)}`); continue; }
      const scenario = mlperfScenario(rec.scenario!);
      if (scenario === '') { bad('scenario', 'empty scenario'); continue; }
      if (scenario !== 'SingleStream') {
        const reason = `scenario=${scenario}`;
        skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
        continue;
      }
      if (sys.conflict !== null) {
        const reason = `run(s) of system ${quoteValue(key, KEY_MAX_CHARS)}: ${sys.conflict}; its chip cannot be told`;
        skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
        continue;
      }
      const valid = rec.result_valid;
      if (valid === 'INVALID') {
        skipped.set('result_valid=INVALID', (skipped.get('result_valid=INVALID') ?? 0) + 1);
        continue;
      }
      if (valid !== undefined && valid !== 'VALID') { bad('result_valid', `expected VALID or INVALID, got ${quoteValue(valid)}`); continue; }
      const modelId = mlperfModelId(rec.model!);
      if (modelId === '') { bad('model', 'empty model'); continue; }
      // A model id is an id (names.ts idProblem, as the SingleStream import and the API check it): a trial's
      // 100,000-character model was stored whole, and "resnet\u200b50" (a zero-width space) printed as resnet50.
      const notId = idProblem('model', modelId);
      if (notId !== null) { bad('model', notId.slice('model: '.length)); continue; }
      const p50 = rec.p50_latency_ms;
      if (p50 !== undefined && p50.trim() !== '' && !positiveMs(p50)) { bad('p50_latency_ms', `latency must be a number > 0 ms, got ${quoteValue(p50)}`); continue; }
      const p90 = rec.p90_latency_ms!;
      if (!positiveMs(p90)) { bad('p90_latency_ms', `latency must be a number > 0 ms, got ${quoteValue(p90)}`); continue; }
      const ms = Number(p90);
      const outside = latencyRangeProblem(ms) ?? (p50 !== undefined && p50.trim() !== '' ? latencyRangeProblem(Number(p50)) : null);
      if (outside !== null) { bad(latencyRangeProblem(ms) !== null ? 'p90_latency_ms' : 'p50_latency_ms', outside); continue; }
      const primary = primaryP90Problem(rec, ms);
      if (primary !== null) { bad(primary.field, primary.reason); continue; }
      if (p50 !== undefined && p50.trim() !== '' && Number(p50) > ms) { bad('p50_latency_ms', `p50 ${p50.trim()} ms is above p90 ${p90.trim()} ms: a median cannot exceed the 90th percentile (columns swapped?)`); continue; }
      // Every other latency cell that is there is a number > 0 too: a word, NaN or a negative went past the order check
      // (which compares numbers only) and was stored with the run (a trial: max_latency_ms "abc", p99 -4.9 blamed on p97).
      const notMs = OTHER_LATENCY_COLUMNS.find((c) => (rec[c] ?? '').trim() !== '' && !positiveMs(rec[c]!.trim()));
      if (notMs !== undefined) { bad(notMs, `latency must be a number > 0 ms, got ${quoteValue(rec[notMs]!)}`); continue; }
      const unordered = latencyOrderProblem(rec) ?? singleStreamRateProblem(rec);
      if (unordered !== null) { bad(unordered.field, unordered.reason); continue; }
      const rowKey = `${key}\u0000${modelId}`;
      const first = imported.get(rowKey);
      if (first !== undefined) {
        // Another accuracy target is another run (skipped); the same model (its name in any case, or a first round's
        // short name) with the same p90 is a repeat (skipped), with another p90 a conflict: a bad line, the first kept
        // (a re-test: a run with every latency ×2 was counted as a repeat).
        if (first.high !== highAccuracyTarget(rec.model!) || first.p90 === ms) {
          const reason = first.high !== highAccuracyTarget(rec.model!)
            ? 'another accuracy target (-99 / -99.9) of a model already imported for this system'
            : 'a repeat of a run already imported for this system (same model, same p90)';
          skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
        } else {
          bad('p90_latency_ms', `a second run of ${modelId} on ${key} with p90 ${ms} ms; ${first.file} line ${first.line} has p90 ${first.p90} ms (that one is imported)`);
        }
        continue;
      }
      imported.set(rowKey, { high: highAccuracyTarget(rec.model!), p90: ms, file: f.file, line });
      benchmark.push({ source: 'mlperf', model_id: modelId, device: key, chip: sys.chip, batch: 1, scenario, percentile: 0.9, latency_ms: ms, system: key });
    }
    sortByLine(problems, before);
  }

  return {
    benchmark,
    chips: [...chips].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([chip, e]) => ({
      chip, kind: e.kind, vendor: e.vendor, names: [...e.names].sort(),
      peak_ops_per_s: null, memory_bw_bytes_s: null, power_w: null, price_per_hour: null,
    })),
    problems,
    systems: bySystem.size,
    runsRead,
    runsSkipped: [...skipped].sort(([a], [b]) => (a < b ? -1 : 1)).map(([reason, count]) => ({ reason, count })),
  };
}
