/**
 * CLI commands of the chip recommender and the chip catalog:
 * `edgelat recommend`, `edgelat chips import`, `edgelat chips list`.
 */
import { fileURLToPath } from 'node:url';
import type { ImportProblem } from '../model/help.ts';
import type { ModelRegistry } from '../model/registry.ts';
import { OnnxProfileError } from '../profiler/onnx-values.ts';
import { profileOnce } from '../profiler/profile-worker.ts';
import { printable } from '../names.ts';
import { createBackend } from '../predictor/backend.ts';
import type { BenchmarkPredictor } from '../predictor/candidates.ts';
import { mergeChipCatalog, withoutClaimedNames, type CatalogMerge } from '../predictor/chip-catalog.ts';
import { floorSignificant, MAX_RPS_DIGITS, NO_CHIP_KNOWN, onItsSide } from '../predictor/recommend.ts';
import { loadCatalog, stampedCatalogRows } from '../predictor/evidence.ts';
import { ModelProfileInputSchema, validate } from '../predictor/schemas.ts';
import { repeatedKey } from '../predictor/problems.ts';
import { BadRequestError, NotFoundError, type ChipInfo, type ChipRecommendation, type ModelProfile, type RecommendResponse } from '../predictor/types.ts';
import type { Warehouse } from '../warehouse/types.ts';
import { readInputText, readOnnxFile } from './common.ts';
import { UsageError } from './usage-error.ts';
import { checkRecommendUsage } from './usage-checks.ts';
import { reportProblems } from './import-problems.ts';

export { checkRecommendUsage };

/** The demo fleet's chip catalog shipped with edgelat (data/chips/edge-chips.csv). */
export const EDGE_CHIPS_CSV = fileURLToPath(new URL('../../data/chips/edge-chips.csv', import.meta.url));


/** A file's text without its byte-order mark; @throws {UsageError} as {@link readInputText}. */
function readText(path: string, flag: string): string {
  return readInputText(path, `${flag} ${JSON.stringify(path)}`).replace(/^\uFEFF/, '');
}


/**
 * Check a catalog file before any warehouse is opened: readable, and its text and header what {@link mergeChipCatalog}
 * takes (an empty file, UTF-16, no chip column, an unknown or repeated column), so that a bad file creates no
 * warehouse in a new data folder (a re-test: an empty file left an empty chdb behind, where a missing one left none).
 * @returns The file's text (without a byte-order mark), for {@link importChips} to merge without reading it again.
 * @throws {UsageError} naming the file and the problem.
 */
export function precheckChipCatalog(path: string): string {
  const text = readText(path, 'chips import');
  try {
    mergeChipCatalog({ file: path, text }, new Map());
    return text;
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * Merge a catalog CSV into table `chips` (see services/predictor/chip-catalog.ts for the format).
 * @param opts  `keepStored`: a figure, kind or vendor the table already has for a chip wins over the file's, and
 *              the names of both are kept (the demo's shipped catalog); default false (the file's non-blank cells win).
 *              `text`: the file's text, already read ({@link precheckChipCatalog}); default read from `path`.
 * @returns chips written, added and bad lines.
 * @throws {UsageError} on a missing file or a bad header.
 */
export async function importChips(warehouse: Warehouse, path: string, opts: { keepStored?: boolean; text?: string } = {}): Promise<{ written: number; added: number; problems: ImportProblem[]; claims: CatalogMerge['claims'] }> {
  const text = opts.text ?? readText(path, 'chips import');
  const stored = new Map((await loadCatalog(warehouse)).map((c) => [c.chip, c]));
  let merged;
  try {
    merged = mergeChipCatalog({ file: path, text }, stored);
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
  if (opts.keepStored) merged = { ...merged, rows: merged.rows.map((r) => keepStoredFields(r, stored.get(r.chip))) };
  // A raw name claimed moves off the chip that listed it; the shipped catalog (keepStored) never takes one off a chip.
  const losers = opts.keepStored ? [] : withoutClaimedNames(merged, stored);
  if (merged.rows.length > 0) await warehouse.insert(`${warehouse.database}.chips`, await stampedCatalogRows(warehouse, [...merged.rows, ...losers]));
  return { written: merged.rows.length, added: merged.added, problems: merged.problems, claims: merged.claims };
}

/**
 * A catalog row with every field the stored row already has put back (names: both): what the demo's shipped catalog
 * writes, so that it adds chips and fills unknown figures but never undoes a user's `chips import` (a trial: a price
 * set for the Pi 4 went back to the shipped one at the next demo).
 */
function keepStoredFields(row: ChipInfo, stored: ChipInfo | undefined): ChipInfo {
  if (!stored) return row;
  const pick = <K extends 'peak_ops_per_s' | 'memory_bw_bytes_s' | 'power_w' | 'price_per_hour'>(k: K): ChipInfo[K] => stored[k] ?? row[k];
  return {
    ...row, kind: stored.kind, vendor: stored.vendor, names: [...new Set([...stored.names, ...row.names])].sort(),
    peak_ops_per_s: pick('peak_ops_per_s'), memory_bw_bytes_s: pick('memory_bw_bytes_s'), power_w: pick('power_w'), price_per_hour: pick('price_per_hour'),
  };
}

/** `edgelat chips import FILE`: print what was written; bad lines on stderr (a line per bad field). @returns the number of problems (bad fields). */
export async function chipsImportCommand(warehouse: Warehouse, path: string, opts: { json: boolean; text?: string }): Promise<number> {
  const r = await importChips(warehouse, path, { text: opts.text });
  // As `import benchmark` writes them (a trial: these lines alone had no `edgelat:` and no value).
  reportProblems(r.problems, 20, '--json lists every one in bad_lines');
  for (const c of r.claims) {
    process.stderr.write(`edgelat: note: line ${c.line}: ${c.chip} now claims ${JSON.stringify(c.name)}, ${c.name.toLowerCase() === c.from ? 'a chip of the catalog' : `a name chip ${c.from} listed (taken off it)`}: MLPerf runs of that device are imported under ${c.chip} from now on (rows imported so far stay on ${c.from} until those runs are imported again)\n`);
  }
  process.stdout.write(opts.json
    ? `${JSON.stringify({ written: r.written, added: r.added, problems: r.problems.length, bad_lines: r.problems, claims: r.claims })}\n`
    : `wrote ${r.written} chip(s) (${r.added} new) into ${warehouse.database}.chips; ${new Set(r.problems.map((p) => p.line)).size} bad line(s)\n`);
  return r.problems.length;
}

const num = (v: number | null, unit: string): string => (v === null ? '-' : `${v.toPrecision(3)}${unit}`);

/** Render the catalog as a table. */
export function formatChips(chips: readonly ChipInfo[]): string {
  const head = `${'chip'.padEnd(34)} ${'kind'.padEnd(5)} ${'vendor'.padEnd(12)} ${'peak ops/s'.padStart(10)} ${'mem B/s'.padStart(9)} ${'power W'.padStart(8)} ${'price/h'.padStart(9)}`;
  return `${[head, ...chips.map((c) => `${c.chip.padEnd(34)} ${c.kind.padEnd(5)} ${c.vendor.slice(0, 12).padEnd(12)} ${num(c.peak_ops_per_s, '').padStart(10)} ${num(c.memory_bw_bytes_s, '').padStart(9)} ${num(c.power_w, '').padStart(8)} ${num(c.price_per_hour, '').padStart(9)}`)].join('\n')}\n`;
}

/** Options of `edgelat recommend`. */
export interface RecommendOptions {
  model?: string;
  onnx?: string;
  profile?: string;
  sloP99Ms?: number;
  sloP90Ms?: number;
  rps: number;
  /** `--chips`, every value's ids merged (common.ts `idListFlag`); [] for a blank value (refused). */
  chips?: string[];
  objective: 'latency' | 'cost';
  batch?: number;
  /** With `onnx`: values of other named symbolic dims (`--dim seq=128`). */
  dim?: Record<string, number>;
  json: boolean;
}

/**
 * Read the model of `recommend`: an ONNX file (profiled), a profile JSON, or a model id. Needs no warehouse: the
 * command runs it before it opens one.
 * @throws {UsageError} naming the flag: not exactly one of them, --batch or --dim without --onnx, a file that cannot
 *   be read, an ONNX file that cannot be profiled, a profile that is not `edgelat profile --json`'s.
 */
export async function modelOf(opts: RecommendOptions): Promise<{ model?: string; profile?: ModelProfile }> {
  const given = [opts.model, opts.onnx, opts.profile].filter((x) => x !== undefined).length;
  if (given !== 1) throw new UsageError('give exactly one of --model ID, --onnx FILE and --profile FILE');
  if (opts.batch !== undefined && opts.onnx === undefined) throw new UsageError('--batch applies to --onnx only (a profile carries its batch)');
  if (opts.dim !== undefined && opts.onnx === undefined) throw new UsageError('--dim applies to --onnx only (a profile carries its dims)');
  if (opts.model !== undefined) return { model: opts.model };
  if (opts.onnx !== undefined) {
    const bytes = readOnnxFile('--onnx', opts.onnx);
    try {
      return { profile: await profileOnce(bytes, { batch: opts.batch, dims: opts.dim }) };
    } catch (error) {
      if (error instanceof OnnxProfileError) throw new UsageError(`--onnx ${JSON.stringify(opts.onnx)}: ${error.message}`);
      throw error;
    }
  }
  let profile: ModelProfile;
  let text: string;
  try {
    text = readText(opts.profile!, '--profile');
    profile = JSON.parse(text) as ModelProfile;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // The parser quotes the text it read: from a binary file (an .onnx given to --profile) that is raw bytes on the terminal.
    const why = printable((error as Error).message.replace(/\s*\n\s*/g, ' '));
    const onnx = /\.onnx$/i.test(opts.profile!) ? ' (an ONNX file? give it as --onnx)' : '';
    throw new UsageError(`--profile ${JSON.stringify(opts.profile)}: not JSON${onnx} (${why})`);
  }
  const checked = validate(ModelProfileInputSchema, profile);
  if (!checked.ok) {
    const e = checked.errors[0]!;
    throw new UsageError(`--profile ${JSON.stringify(opts.profile)}: expected the JSON of \`edgelat profile --json\`; ${e.path} ${e.message}`);
  }
  // As POST /v1/recommend refuses it (a trial: "macs": 1, "macs": 295072 was ranked at the last here, refused there).
  // After the schema: a profile nests 4 levels, within what the full pass reads.
  const repeated = repeatedKey(text);
  if (repeated) throw new UsageError(`--profile ${JSON.stringify(opts.profile)}: the key ${JSON.stringify(repeated.key)} is given twice in one object, with two values (at character ${repeated.at}): give each key once`);
  return { profile: checked.value as ModelProfile };
}

const f = (ms: number | null): string => (ms === null || !Number.isFinite(ms) ? '∞' : ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

/**
 * The $/1M cell of a chip: its cost per million inferences, or why there is none: '-' where the chip cannot carry the
 * load (unbounded at it; at 0 req/s, no load meets the SLO), else 'unpriced' (the catalog has no price_per_hour).
 */
function costCell(c: ChipRecommendation, name: 'p90' | 'p99', rps: number): string {
  if (c.cost_per_million !== null) return c.cost_per_million < 1e5 ? c.cost_per_million.toFixed(2) : c.cost_per_million.toExponential(1);
  // A priced chip without a cost has no load to price (a re-test: a catalog estimate that "may miss" even idle, priced
  // in the catalog, read 'unpriced').
  return c.at_load[name] === null || (rps === 0 && c.max_rps_within_slo === 0) || c.price_per_hour !== null ? '-' : 'unpriced';
}

/** Render a recommendation for the terminal. */
export function formatRecommendation(r: RecommendResponse): string {
  const name = r.slo.percentile === 0.9 ? 'p90' : 'p99';
  const lines = [
    // The model id may come from a profile file: escaped (a re-test: ESC and U+202E from a --profile's model_id reached the terminal).
    `${printable(r.model)}: SLO ${name} ≤ ${r.slo.ms} ms at ${r.rps} req/s`,
    `${'#'.padStart(2)} ${'chip'.padEnd(26)} ${'p50'.padStart(7)} ${'p90'.padStart(7)} ${'p99'.padStart(7)} ${`idle ${name}`.padStart(8)} ${'max rps'.padStart(8)} ${'$/1M'.padStart(8)} ${'evidence'.padEnd(10)} reason`,
  ];
  for (const c of r.chips) {
    // A catalog estimate (peak ops/s, nothing measured on the chip) is marked in every figure: a trial read 0.01 ms and
    // 117200 req/s as answers (its reason says how rough).
    const rough = c.evidence.kind === 'catalog' ? '~' : '';
    // Figures only: '∞', '-' and 'unpriced' are no estimates (a re-test: '~unpriced', '~∞').
    const cell = (text: string, width: number): string => `${/^\d/.test(text) ? rough : ''}${text}`.padStart(width);
    // The SLO's percentile with the digits that keep it on its side of the SLO (a re-test: 52.7 shown for 52.667 "meets" 52.67).
    const q = (key: 'p50' | 'p90' | 'p99', ms: number | null): string => (key === name && ms !== null ? onItsSide(f(ms), ms, r.slo.ms) : f(ms));
    lines.push(`${String(c.rank).padStart(2)} ${c.chip.padEnd(26)} ${cell(q('p50', c.at_load.p50), 7)} ${cell(q('p90', c.at_load.p90), 7)} ${cell(q('p99', c.at_load.p99), 7)} ${cell(q(name, c.idle[name]), 8)} ${cell(String(floorSignificant(c.max_rps_within_slo, MAX_RPS_DIGITS)), 8)} ${cell(costCell(c, name, r.rps), 8)} ${c.evidence.kind.padEnd(10)} ${c.reason}`);
  }
  for (const s of r.skipped) lines.push(`   ${s.chip}: skipped, ${s.reason}`);
  lines.push(`latency in ms at the requested load; $/1M: the catalog's price_per_hour (its currency) per million inferences at the load (at 0 req/s, at max rps), 'unpriced' where the catalog has none, '-' where the chip cannot carry the load (at 0 req/s: where no load meets the SLO)${r.chips.some((c) => c.evidence.kind === 'catalog') ? "; '~': a rough estimate from the catalog's peak ops/s, nothing measured on the chip (its reason says how rough)" : ''}; law: ${r.queueing_law}`);
  return `${lines.join('\n')}\n`;
}


/**
 * `edgelat recommend`: rank chips for a model (the answer is printed even when no chip could be ranked).
 * @param model  The model as {@link modelOf} read it already; read here when absent.
 * @throws {UsageError} on bad flags, an unknown model or chip, a malformed ONNX file; {Error} (exit 1) when every chip was skipped.
 */
export async function recommendCommand(warehouse: Warehouse, registry: ModelRegistry, opts: RecommendOptions, predictBenchmark?: BenchmarkPredictor, model?: Awaited<ReturnType<typeof modelOf>>): Promise<RecommendResponse> {
  checkRecommendUsage(opts);
  const slo = opts.sloP99Ms !== undefined ? { percentile: 0.99 as const, ms: opts.sloP99Ms } : { percentile: 0.9 as const, ms: opts.sloP90Ms! };
  const backend = createBackend({ warehouse, registry, predictBenchmark });
  let r: RecommendResponse;
  try {
    r = await backend.recommend({ ...(model ?? (await modelOf(opts))), slo, rps: opts.rps, objective: opts.objective, chips: opts.chips });
  } catch (error) {
    if (error instanceof BadRequestError || error instanceof NotFoundError) throw new UsageError(error.message);
    throw error;
  }
  // Nothing to show: the error alone, not an empty table and its legend before it (a trial).
  if (r.chips.length === 0 && r.skipped.length === 0) throw new UsageError(NO_CHIP_KNOWN);
  process.stdout.write(opts.json ? `${JSON.stringify(r)}\n` : formatRecommendation(r));
  // Exit 1, not 2: the answer (POST /v1/recommend's 200 with no chip and the reasons) is printed; nothing could be ranked.
  if (r.chips.length === 0) throw new Error(`no chip could be ranked for ${JSON.stringify(r.model)}: all ${r.skipped.length} candidate chip(s) were skipped (reasons above)`);
  return r;
}
