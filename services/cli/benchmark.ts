/**
 * `edgelat import benchmark` and `edgelat model evaluate`: benchmark tables
 * (HELP, MLPerf) into the warehouse, and the latency model's evaluation on
 * them (issue 4 build items 1 and 8).
 */
import { statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { EdgelatConfig } from '../config.ts';
import { evaluateFewShot, evaluateSplit, type EvaluationReport } from '../model/evaluate.ts';
import { evaluateMlperf, type DrawMetrics, type DrawSummary, type MlperfEvaluation } from '../model/evaluate-mlperf.ts';
import { helpBatchOf, HelpCoverageError, parseHelp, type HelpDataset, type ImportProblem, type NamedText } from '../model/help.ts';
import { parseMlperf } from '../model/import-mlperf.ts';
import { parseSingleStream } from '../model/import-singlestream.ts';
import type { Warehouse } from '../warehouse/types.ts';
import { assertReadableFile, IMPORT_FILE_LIMIT_BYTES, readInputText } from './common.ts';
import { printable, quoteName, typoNames } from '../names.ts';
import { knownChips } from '../predictor/evidence.ts';
import { UsageError } from './usage-error.ts';
import { reportProblems } from './import-problems.ts';

/** Options shared by the benchmark commands (as commander gives them). */
export interface BenchmarkFileOptions {
  format: string;
  architectures?: string;
  latency?: string[];
  runs?: string[];
  systems?: string[];
}

/**
 * Read a file as a {@link NamedText}.
 * @throws {UsageError} naming the flag and path when it cannot be read, in the words of the other commands
 *   ({@link readInputText}: `--latency x.csv: no such file`, `--latency data/: is a directory`, `permission denied`, a pipe, too large).
 */
export function readNamed(flag: string, path: string): NamedText {
  return { file: path, text: readInputText(path, `${flag} ${path}`) };
}

/** The file flags of each benchmark format. */
const FORMAT_FLAGS: Readonly<Record<string, readonly (keyof BenchmarkFileOptions)[]>> = { help: ['architectures', 'latency'], mlperf: ['runs', 'systems'], singlestream: ['runs'] };
/** What each file flag takes, for the message of a missing one. */
const REQUIRED_EXAMPLE: Readonly<Record<string, string>> = { architectures: 'A.csv', latency: 'L1.csv [L2.csv ...]', runs: 'R.csv [R2.csv ...]', systems: 'S.csv [S2.csv ...]' };

/**
 * Refuse file flags of the other format (they would be ignored without a word).
 * @throws {UsageError} naming the flags, the format given and the flags it reads.
 */
export function refuseOtherFormatFlags(opts: BenchmarkFileOptions): void {
  const own = FORMAT_FLAGS[opts.format];
  if (!own) return;
  const flag = (k: string) => `--${k}`;
  const foreign = [...new Set(Object.values(FORMAT_FLAGS).flat())].filter((k) => !own.includes(k) && opts[k] !== undefined && (!Array.isArray(opts[k]) || opts[k].length > 0));
  if (foreign.length > 0) {
    throw new UsageError(`${foreign.map(flag).join(' and ')} ${foreign.length === 1 ? 'belongs' : 'belong'} to another --format; --format ${opts.format} reads ${own.map(flag).join(' and ')}`);
  }
}

/**
 * Check the files the format's flags name can be read, and are at most {@link IMPORT_FILE_LIMIT_BYTES} in all, before
 * `import benchmark` opens the warehouse (a trial: three files of 63 MB each ran out of heap, then hung; one import
 * holds some 40 bytes of memory a byte of CSV).
 * @throws {UsageError} a flag of the other formats, a missing one of the format's own, `--runs r.csv: no such file` (and
 *   the other reasons of {@link assertReadableFile}), or the total.
 */
export function checkBenchmarkFiles(opts: BenchmarkFileOptions): void {
  // The format's flags first, as each format's import checks them (a trial: `--format help` without --architectures
  // waited for a warehouse another process held, then exited 75).
  if (FORMAT_FLAGS[opts.format] !== undefined) refuseOtherFormatFlags(opts);
  const missing = (FORMAT_FLAGS[opts.format] ?? []).find((key) => [opts[key] ?? []].flat().length === 0);
  if (missing !== undefined) throw new UsageError(`--format ${opts.format} needs --${missing} ${opts.format === 'singlestream' ? 'S.csv [S2.csv ...] (e.g. data/mlperf-singlestream/base-latency.csv)' : REQUIRED_EXAMPLE[missing]}`);
  let total = 0;
  for (const key of FORMAT_FLAGS[opts.format] ?? []) {
    for (const path of [opts[key] ?? []].flat()) {
      assertReadableFile(path, `--${key} ${path}`);
      total += statSync(path).size;
    }
  }
  if (total > IMPORT_FILE_LIMIT_BYTES) {
    throw new UsageError(`the files total ${total.toLocaleString('en-US')} bytes, more than the limit of ${IMPORT_FILE_LIMIT_BYTES.toLocaleString('en-US')} (64 MiB) for one import: import them in several runs (an import adds to what is stored)`);
  }
}

/** Load the HELP files the flags name. @throws {UsageError} on missing flags, flags of the MLPerf format, unreadable files, or files that are not HELP's (`parseHelp`'s RangeError). */
export function loadHelpFiles(opts: BenchmarkFileOptions): HelpDataset {
  refuseOtherFormatFlags(opts);
  if (!opts.architectures) throw new UsageError('--format help needs --architectures A.csv');
  if (!opts.latency?.length) throw new UsageError('--format help needs --latency L1.csv [L2.csv ...]');
  const [architectures, latencies] = [readNamed('--architectures', opts.architectures), opts.latency.map((p) => readNamed('--latency', p))];
  try {
    return parseHelp(architectures, latencies);
  } catch (error) {
    // Files refused for their bad cells: every one named (stderr, as bad lines are), so that one pass fixes the file.
    if (error instanceof HelpCoverageError) reportProblems(error.problems, 1000, 'the first 1,000 are listed');
    // A file that is not what the flag names (no arch_idx header, an architectures file as --latency…): bad usage, as for --format mlperf.
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
}

const CHUNK = 50_000;

async function insertChunked(warehouse: Warehouse, table: string, rows: readonly Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) await warehouse.insert(`${warehouse.database}.${table}`, rows.slice(i, i + CHUNK));
}

/** What an import wrote. */
export interface ImportSummary {
  source: string;
  benchmarkRows: number;
  profiles: number;
  chips: number;
  problems: ImportProblem[];
  /** Lines read but not imported, by reason (not errors: other scenarios, runs MLPerf marked INVALID, repeats); MLPerf only. */
  skipped: { reason: string; count: number }[];
  /**
   * What was imported but may be a mistake, one sentence each: a SingleStream chip new to the warehouse whose name is
   * like a known chip's (a typo makes a chip of its own, which `recommend` ranks). @default []
   */
  warnings?: string[];
}

/** A benchmark's files read and parsed by {@link parseBenchmarkFiles}: what {@link importBenchmark} writes. */
export type ParsedBenchmark =
  | { format: 'help'; help: HelpDataset }
  | { format: 'mlperf'; runs: NamedText[]; systems: NamedText[]; mlperf: ReturnType<typeof parseMlperf> }
  | { format: 'singlestream'; singlestream: ReturnType<typeof parseSingleStream> };

/**
 * Read and parse the files of an import, before any warehouse is opened (a trial: a SingleStream file with a bad
 * header waited EDGELAT_LOCK_WAIT_S for a held warehouse, then exited 75 instead of naming the header).
 * @throws {UsageError} on bad flags or files: a flag of another format, a missing or unreadable file, a file that is
 *   not the format's (a header without its columns), or an unknown --format.
 */
export function parseBenchmarkFiles(opts: BenchmarkFileOptions): ParsedBenchmark {
  if (opts.format === 'help') return { format: 'help', help: loadHelpFiles(opts) };
  if (opts.format !== 'mlperf' && opts.format !== 'singlestream') throw new UsageError(`--format: expected help, mlperf or singlestream, got ${JSON.stringify(opts.format)}`);
  refuseOtherFormatFlags(opts);
  if (!opts.runs?.length) throw new UsageError(`--format ${opts.format} needs --runs ${opts.format === 'singlestream' ? 'S.csv [S2.csv ...] (e.g. data/mlperf-singlestream/base-latency.csv)' : 'R.csv [R2.csv ...]'}`);
  if (opts.format === 'mlperf' && !opts.systems?.length) throw new UsageError('--format mlperf needs --systems S.csv [S2.csv ...]');
  const runs = opts.runs.map((p) => readNamed('--runs', p));
  try {
    if (opts.format === 'singlestream') return { format: 'singlestream', singlestream: parseSingleStream(runs) };
    const systems = opts.systems!.map((p) => readNamed('--systems', p));
    return { format: 'mlperf', runs, systems, mlperf: parseMlperf(runs, systems) };
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * Import a benchmark into `benchmark_latency`, `model_profiles` and (MLPerf) `chips`.
 *
 * HELP: one row per (architecture, device) with model_id `<source>:<arch_idx>`,
 * device and chip = the latency column (HELP's `<gpu>_<N>` columns are
 * separate devices whose N is the batch: `batch` N, see `helpBatchOf`), scenario `help`, percentile 0.5
 * (HELP reports one figure per pair); a profile per architecture with its
 * features. MLPerf: services/model/import-mlperf.ts. SingleStream (p50 and p90 per run, the priors of the
 * telemetry model): services/model/import-singlestream.ts.
 *
 * @param source  Source label; default `help-<folder of the architectures file>` or `mlperf`.
 * @param files   The files already parsed ({@link parseBenchmarkFiles}); @default parsed here.
 * @throws {UsageError} on bad flags or files; warehouse errors as they come.
 */
export async function importBenchmark(warehouse: Warehouse, opts: BenchmarkFileOptions & { source?: string }, files: ParsedBenchmark = parseBenchmarkFiles(opts)): Promise<ImportSummary> {
  if (files.format === 'help') {
    const d = files.help;
    await warehouse.migrate();
    // The folder's own name, also when the files are in the current folder (a trial: `help-.`).
    const source = opts.source ?? `help-${basename(dirname(resolve(opts.architectures!))).replace(/^help-(latency-)?/, '') || 'dataset'}`;
    const rows: Record<string, unknown>[] = [];
    for (const device of d.devices) {
      const col = d.latency.get(device)!;
      const batch = helpBatchOf(device, d.devices);
      d.archIds.forEach((id, i) => {
        if (Number.isFinite(col[i]!)) {
          rows.push({ source, model_id: `${source}:${id}`, device, chip: device, batch, scenario: 'help', percentile: 0.5, latency_ms: col[i]!, system: device });
        }
      });
    }
    const profiles = d.archIds.map((id, i) => ({
      source, model_id: `${source}:${id}`,
      features_json: JSON.stringify(Object.fromEntries(d.features.map((f, j) => [f.name, d.X[i]![j]!]))),
    }));
    await insertChunked(warehouse, 'benchmark_latency', rows);
    await insertChunked(warehouse, 'model_profiles', profiles);
    return { source, benchmarkRows: rows.length, profiles: profiles.length, chips: 0, problems: d.problems, skipped: [] };
  }
  if (files.format === 'mlperf') {
    const { runs, systems } = files;
    let m = files.mlperf;
    await warehouse.migrate();
    // Parsed again where the catalog lists raw names: they place a system on the chip the catalog calls it
    // (parseMlperf's `known`). The first parse checked the files before anything was created.
    const [{ loadCatalog, stampedCatalogRows }, { mergeFoundChips }] = await Promise.all([import('../predictor/evidence.ts'), import('../predictor/chip-catalog.ts')]);
    const catalog = await loadCatalog(warehouse);
    if (catalog.some((c) => c.names.length > 0)) m = parseMlperf(runs, systems, catalog);
    const source = opts.source ?? 'mlperf';
    await insertChunked(warehouse, 'benchmark_latency', m.benchmark.map((r) => ({ ...r, source })));
    // Only the chips of imported runs: a systems file's other chips (or every chip, when no run was imported: a
    // trial's failed import wrote 33) would enter the catalog with nothing measured on them.
    const used = new Set(m.benchmark.map((r) => r.chip));
    const chips = m.chips.filter((c) => used.has(c.chip));
    // Its chips carry no specs or price: merged, so the catalog's stay (a re-import changes nothing).
    const stored = new Map(catalog.map((c) => [c.chip, c]));
    await insertChunked(warehouse, 'chips', await stampedCatalogRows(warehouse, mergeFoundChips(chips, stored)));
    return { source, benchmarkRows: m.benchmark.length, profiles: 0, chips: chips.length, problems: m.problems, skipped: m.runsSkipped };
  }
  const parsed = files.singlestream;
  await warehouse.migrate();
  const source = opts.source ?? 'mlperf-singlestream';
  const warnings = newChipWarnings(parsed.rows, await knownChips(warehouse));
  await insertChunked(warehouse, 'benchmark_latency', parsed.rows.map((r) => ({ ...r, source })));
  return { source, benchmarkRows: parsed.rows.length, profiles: 0, chips: 0, problems: parsed.problems, skipped: parsed.skipped, warnings };
}

/**
 * Warnings for the chips of imported rows that the warehouse did not know (catalog, fleet, benchmarks) and whose names
 * could be typos of known ones or of another new one of the same import (`typoNames`): a trial's typo "rpi4-cortex-a27"
 * became a chip of its own, with one run's figures, that `recommend` ranked first, and a re-test's `nvidia-t4` and
 * `nvidia-t-4`, both new, passed without a word. A chip like none is a new board, imported without a word.
 * @param rows   The rows to import (their `chip` and `model_id`).
 * @param known  The chips the warehouse knows before the import (`knownChips`).
 */
export function newChipWarnings(rows: readonly { chip: string; model_id: string }[], known: readonly string[]): string[] {
  const knownSet = new Set(known);
  const fresh = new Map<string, Set<string>>();
  for (const r of rows) if (!knownSet.has(r.chip)) fresh.set(r.chip, (fresh.get(r.chip) ?? new Set()).add(r.model_id));
  const earlier: string[] = [];
  return [...fresh].flatMap(([chip, models]) => {
    const like = typoNames(chip, known).map((c) => `the known ${quoteName(c)}`);
    const alsoNew = typoNames(chip, earlier).map((c) => `${quoteName(c)}, new in this import too`);
    earlier.push(chip);
    const all = [...like, ...alsoNew];
    return all.length === 0 ? [] : [`chip ${quoteName(chip)} (${models.size} model(s)) is new to this warehouse and like ${all.slice(0, 3).join(', ')}: imported as a chip of its own; if it is a typo, fix the file and import it again (rows of a chip stay until replaced: \`edgelat sql --write\` deletes them)`];
  });
}

/**
 * The count of bad input for the summary line: "N bad line(s)", or where a line has several bad cells "N bad cell(s)
 * on M line(s)"; a HELP latency line's valid cells (other devices' latencies of the architecture) are imported, and
 * the line says so (a trial read "7 bad line(s)" and found their other cells stored).
 */
export function badText(problems: readonly ImportProblem[], cellsKept: boolean): string {
  const lines = new Set(problems.map((p) => `${p.file}\u0000${p.line}`)).size;
  const count = lines === problems.length ? `${lines} bad line(s)` : `${problems.length} bad cell(s) on ${lines} line(s)`;
  return cellsKept && problems.some((p) => p.field !== '(row)' && p.field !== 'arch_idx') ? `${count} (a line's valid cells, other devices' latencies, are imported)` : count;
}

/**
 * `edgelat import benchmark`: import, report bad lines on stderr, print what was written and what was skipped.
 * @param files  The files already parsed ({@link parseBenchmarkFiles}: before the warehouse is opened); @default parsed here.
 * @returns The exit code: 1 when a line was bad or no latency was imported (as `chips import`), else 0.
 */
export async function importBenchmarkCommand(warehouse: Warehouse, opts: BenchmarkFileOptions & { source?: string; json: boolean }, files?: ParsedBenchmark): Promise<number> {
  return printImportSummary(await importBenchmark(warehouse, opts, files), opts, warehouse.database);
}

/**
 * What a SingleStream import of files that hold no latency to import would say, known from the files alone, or null
 * when they hold some, or for another format (HELP's architectures are imported as profiles either way; MLPerf's runs
 * are placed on chips again with the warehouse's catalog, which may place more): the command says it without opening
 * the warehouse (a re-test: a header without rows waited for a held warehouse, then exited 75; free, it made a
 * warehouse to import nothing).
 */
export function emptyImportSummary(opts: BenchmarkFileOptions & { source?: string }, files: ParsedBenchmark): ImportSummary | null {
  if (files.format === 'singlestream' && files.singlestream.rows.length === 0) {
    return { source: opts.source ?? 'mlperf-singlestream', benchmarkRows: 0, profiles: 0, chips: 0, problems: files.singlestream.problems, skipped: files.singlestream.skipped, warnings: [] };
  }
  return null;
}

/**
 * Print an import's summary: bad lines and warnings on stderr, what was imported on stdout (JSON with `--json`).
 * @param database  The database imported into (named in the summary).
 * @returns The exit code: 1 when a line was bad or no latency was imported, else 0.
 */
export function printImportSummary(s: ImportSummary, opts: BenchmarkFileOptions & { json: boolean }, database: string): number {
  reportProblems(s.problems, 20, '--json lists every one in bad_lines');
  for (const w of s.warnings ?? []) process.stderr.write(`edgelat: warning: ${printable(w)}\n`);
  const { problems, benchmarkRows, source, ...rest } = s;
  if (s.benchmarkRows === 0) process.stderr.write(`edgelat: no latency was imported${problems.length > 0 ? ' (every line was bad or skipped)' : ' (the files hold no usable run)'}\n`);
  if (opts.json) {
    // Every bad line, as `chips import --json` gives them (stderr names the first 20: a trial could not get the rest).
    // snake_case as every other --json answer (a trial: benchmarkRows beside bad_lines).
    process.stdout.write(`${JSON.stringify({ source, benchmark_rows: benchmarkRows, ...rest, problems: problems.length, bad_lines: problems, database })}\n`);
  } else {
    // One reason a line (a re-test: the reasons naming a system that contradicts itself made one line of ~900 characters).
    const skipped = s.skipped.map((k) => `\n  ${k.count.toLocaleString('en-US')} ${k.reason}`).join('');
    process.stdout.write(`imported ${s.benchmarkRows.toLocaleString('en-US')} latencies, ${s.profiles.toLocaleString('en-US')} model profiles, ${s.chips} chips (source ${s.source}) into ${database}; ${badText(problems, opts.format === 'help')}${skipped ? `; skipped:${skipped}` : ''}\n`);
  }
  return problems.length > 0 || s.benchmarkRows === 0 ? 1 : 0;
}

/** Options of `edgelat model evaluate`. */
export interface EvaluateOptions extends BenchmarkFileOptions {
  device?: string;
  shots?: number;
  seed: number;
  json: boolean;
}

/** A fraction as a percentage, '-' when undefined (NaN: e.g. no model ranked). */
const pct = (x: number): string => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : '-');
/** A ratio with `digits` decimals, '-' when undefined. */
const fixed = (x: number, digits: number): string => (Number.isFinite(x) ? x.toFixed(digits) : '-');

/** Render a report as the terminal table. */
export function formatReport(r: EvaluationReport): string {
  const head = r.mode === 'split'
    ? `80/20 split of architectures (seed ${r.seed}); baseline: least squares on one-hot ops in log space`
    : `few-shot: each device held out, ${r.shots} of its architectures seen (seed ${r.seed}); baseline: line from the best-correlated known device`;
  const lines = [head, `${'device'.padEnd(16)} ${'n_test'.padStart(7)} ${'acc10'.padStart(7)} ${'MAPE'.padStart(7)} ${'rho'.padStart(6)} | ${'base acc10'.padStart(10)} ${'MAPE'.padStart(7)} ${'rho'.padStart(6)}`];
  for (const d of r.devices) {
    lines.push(`${d.device.padEnd(16)} ${String(d.n_test).padStart(7)} ${pct(d.acc10).padStart(7)} ${pct(d.mape).padStart(7)} ${d.spearman.toFixed(3).padStart(6)} | ${pct(d.baseline.acc10).padStart(10)} ${pct(d.baseline.mape).padStart(7)} ${d.baseline.spearman.toFixed(3).padStart(6)}`);
  }
  lines.push(`median acc10 ${pct(r.median_acc10)} (baseline ${pct(r.baseline_median_acc10)}), mean acc10 ${pct(r.mean_acc10)} (baseline ${pct(r.baseline_mean_acc10)}), median rho ${r.median_spearman.toFixed(3)}, acc10 gain over the baseline: median ${(100 * r.median_acc10_gain).toFixed(1)} points, worst ${(100 * r.min_acc10_gain).toFixed(1)}`);
  return `${lines.join('\n')}\n`;
}

/**
 * `edgelat model evaluate --format help`: the split (no `--shots`) or
 * few-shot evaluation; progress on stderr, the report on stdout.
 * @throws {UsageError} on bad flags or files.
 */
export async function modelEvaluateCommand(_config: EdgelatConfig, opts: EvaluateOptions): Promise<void> {
  if (opts.format !== 'help') throw new UsageError(`--format: model evaluate reads help (NAS-Bench-201 / FBNet latency tables), got ${JSON.stringify(opts.format)}`);
  const d = loadHelpFiles(opts);
  reportProblems(d.problems);
  const devices = opts.device ? [opts.device] : undefined;
  const started = Date.now();
  const onProgress = (done: number, total: number, device: string): void => {
    process.stderr.write(`edgelat: ${device} scored (${done}/${total}, ${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  };
  process.stderr.write(`edgelat: ${d.archIds.length.toLocaleString('en-US')} architectures, ${d.features.length} features, ${d.devices.length} devices\n`);
  let report: EvaluationReport;
  try {
    report = opts.shots === undefined
      ? evaluateSplit(d, { seed: opts.seed, devices, onProgress })
      : evaluateFewShot(d, { seed: opts.seed, shots: opts.shots, devices, onProgress });
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
  process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : formatReport(report));
}

/** Options of `edgelat model evaluate --format mlperf`. */
export interface MlperfEvaluateOptions {
  runs?: string[];
  systems?: string[];
  system?: string;
  shots?: number;
  draws?: number;
  seed: number;
  json: boolean;
}

/** Render D1's report for the terminal. */
export function formatMlperfReport(r: MlperfEvaluation, opts: { seed: number; shots: number }): string {
  const worst = [...r.systems].sort((a, b) => b.mape - a.mape).slice(0, 10);
  const row = (name: string, m: { mape: number; acc10: number; top1_agreement: number; top1_within10: number; mean_regret: number }): string =>
    `${name.padEnd(9)} ${pct(m.mape).padStart(7)} ${pct(m.acc10).padStart(7)} ${pct(m.top1_agreement).padStart(6)} ${pct(m.top1_within10).padStart(9)} ${fixed(m.mean_regret, 3).padStart(7)}`;
  return [
    `MLPerf SingleStream p90, leave one system out: ${r.systems.length} systems scored (each with ${opts.shots} of its own results seen, seed ${opts.seed}), ${r.models_ranked} models ranked`,
    `${''.padEnd(9)} ${'MAPE'.padStart(7)} ${'acc10'.padStart(7)} ${'top1'.padStart(6)} ${'within10'.padStart(9)} ${'regret'.padStart(7)}`,
    row('edgelat', r),
    row('baseline', r.baseline),
    `MAPE ratio ${(r.mape / r.baseline.mape).toFixed(2)} (target ≤ 0.60); baseline: log latency = system effect + model effect (least squares)`,
    'largest MAPE per system:',
    ...worst.map((s) => `  ${s.system.padEnd(60)} n_test ${String(s.n_test).padStart(3)}  MAPE ${pct(s.mape).padStart(7)}  acc10 ${pct(s.acc10).padStart(7)}`),
    ...(r.draws && r.over_draws ? formatDraws(r.draws, r.over_draws) : []),
  ].join('\n') + '\n';
}

/** The per-draw lines of a `--draws` report. */
function formatDraws(draws: readonly DrawSummary[], over: NonNullable<MlperfEvaluation['over_draws']>): string[] {
  const line = (name: string, m: DrawMetrics): string =>
    `${name.padEnd(9)} ${pct(m.mape).padStart(7)} ${fixed(m.mape_ratio, 2).padStart(6)} ${pct(m.top1_agreement).padStart(6)} ${pct(m.top1_within10).padStart(9)} ${fixed(m.mean_regret, 3).padStart(7)}`;
  return [
    `${draws.length} draws of the shots (seeds ${draws[0]!.seed}..${draws.at(-1)!.seed}):`,
    `${'seed'.padEnd(9)} ${'MAPE'.padStart(7)} ${'ratio'.padStart(6)} ${'top1'.padStart(6)} ${'within10'.padStart(9)} ${'regret'.padStart(7)}`,
    ...draws.map((d) => line(String(d.seed), d)),
    line('mean', over.mean),
    line('min', over.min),
    line('max', over.max),
  ];
}

/**
 * `edgelat model evaluate --format mlperf` (issue 5, D1).
 * @throws {UsageError} on missing or unreadable files, an unknown --system or one with too few results.
 */
export function mlperfEvaluateCommand(opts: MlperfEvaluateOptions & { architectures?: string; latency?: string[] }): MlperfEvaluation {
  refuseOtherFormatFlags({ ...opts, format: 'mlperf' });
  if (!opts.runs?.length || !opts.systems?.length) throw new UsageError('--format mlperf needs --runs runs_vX.Y.csv ... and --systems systems_vX.Y.csv ...');
  const runs = opts.runs.map((p) => readNamed('--runs', p));
  const systems = opts.systems.map((p) => readNamed('--systems', p));
  const shots = opts.shots ?? 3;
  const started = Date.now();
  let last = 0;
  let r: MlperfEvaluation;
  try {
    r = evaluateMlperf(runs, systems, {
      seed: opts.seed, shots, draws: opts.draws, system: opts.system,
      onProblems: (problems) => {
        process.stderr.write(`edgelat: ${problems.length} input line(s) skipped:\n`);
        reportProblems(problems);
      },
      onProgress: (done, total) => {
        if (Date.now() - last < 2000 && done < total) return;
        last = Date.now();
        process.stderr.write(`edgelat: ${done}/${total} systems held out (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
      },
    });
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
  process.stdout.write(opts.json ? `${JSON.stringify(r)}\n` : formatMlperfReport(r, { seed: opts.seed, shots }));
  return r;
}
