/**
 * The HELP latency tables (Lee et al., NeurIPS 2021, "HELP: Hardware-adaptive
 * efficient latency prediction for NAS via meta-learning"): an architectures
 * file (`arch_idx` plus one column per cell edge or layer naming its op, and
 * op counts) and latency files (`arch_idx` plus one column per device, ms).
 *
 * Model features (issue 4 build item 2) come from the architectures file:
 * every column whose values are all numbers is a numeric feature (op counts,
 * op indices); every other column with at most {@link MAX_CATEGORIES}
 * distinct values is one-hot encoded, one feature `column=value` per value
 * (the op on each edge or layer); identifier columns (`arch_str`, and any
 * categorical column with more distinct values) are not features.
 */
import { assertCsvText, parseCsvLines, unclosedQuoteMessage, type CsvRecord } from '../simulator/csv.ts';
import { idProblem, quoteName } from '../names.ts';

/** Most distinct values of a categorical column that is one-hot encoded. */
export const MAX_CATEGORIES = 64;

/** Columns that identify an architecture and are never features, however few rows a file has. */
export const IDENTIFIER_COLUMNS: ReadonlySet<string> = new Set(['arch_str']);

/** A plain non-negative integer (no sign, no exponent, no hex, no spaces). */
const ARCH_IDX = /^\d+$/;
/** A plain decimal number (no sign: latencies are positive; no hex, no spaces). */
const DECIMAL = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Range of one inference's latency a benchmark import accepts, ms: 1 µs (HELP's fastest, an FPGA, is 3.3 µs; MLPerf
 * SingleStream's 0.12 ms) to 1 hour (MLPerf's slowest SingleStream p90 is 24 s). Outside it a cell is a unit mistake
 * (seconds or µs read as ms) or a damaged value: a trial's 1e308 ms made a device's MAPE 2.8e148 %, and a runs file
 * in seconds put an A100 at 0.4 µs and reordered `recommend`.
 */
export const LATENCY_RANGE_MS = { min: 0.001, max: 3_600_000 } as const;

/**
 * Why a latency is outside {@link LATENCY_RANGE_MS}, or null within it.
 * @param ms  A finite latency > 0, ms.
 */
export function latencyRangeProblem(ms: number): string | null {
  if (ms < LATENCY_RANGE_MS.min) return `latency ${ms} ms is below 1 µs (${LATENCY_RANGE_MS.min} ms): a figure in seconds instead of ms?`;
  if (ms > LATENCY_RANGE_MS.max) return `latency ${ms} ms is above 1 hour (${LATENCY_RANGE_MS.max} ms) for one inference: a figure in µs or ns instead of ms, or a damaged value?`;
  return null;
}

/**
 * HELP latency files refused whole (too few architectures covered), with the cells that were not latencies when they
 * are the reason: the message quotes three, the CLI lists them (a trial: 6 bad cells, 3 named, no way to see the rest).
 */
export class HelpCoverageError extends RangeError {
  constructor(readonly problems: readonly ImportProblem[], message: string) {
    super(message);
    this.name = 'HelpCoverageError';
  }
}

/** One bad input line: file, 1-based line (header = 1), field, value and why. */
export interface ImportProblem {
  file: string;
  line: number;
  field: string;
  value: string;
  message: string;
}

/** Characters of an input value that a message quotes whole; a longer value is cut ({@link quoteValue}). */
export const QUOTED_VALUE_MAX_CHARS = 40;

/**
 * Quote a value read from an input file for a message, as JSON, cut when it is long.
 *
 * Behaviour: a value of at most `maxChars` characters (UTF-16 code units) is
 * quoted whole (`"abc"`, as JSON with what shows nothing or reorders the line escaped too: names.ts
 * `quoteName`); a longer one as its first `maxChars` characters, an
 * ellipsis and its length (`"99999…" (2,000,000 characters)`), so that one bad
 * cell cannot turn an error line into megabytes. A surrogate pair is never cut in two.
 * @param value     The cell, header or row as read.
 * @param maxChars  Characters kept, > 0. @default QUOTED_VALUE_MAX_CHARS
 * @returns         The JSON-quoted value, cut when longer than `maxChars`.
 * @example see test/unit/model/import-mlperf.test.ts
 */
export function quoteValue(value: string, maxChars = QUOTED_VALUE_MAX_CHARS): string {
  if (value.length <= maxChars) return quoteName(value);
  const head = value.slice(0, /[\uD800-\uDBFF]/.test(value.charAt(maxChars - 1)) ? maxChars - 1 : maxChars);
  return `${quoteName(`${head}…`)} (${value.length.toLocaleString('en-US')} characters)`;
}

/** A CSV file by name and text. */
export interface NamedText {
  file: string;
  text: string;
}

/** Feature description: its name and whether it is a one-hot indicator of a categorical column. */
export interface FeatureSpec {
  name: string;
  kind: 'onehot' | 'numeric';
  /** Source column. */
  column: string;
}

/** A HELP dataset aligned by architecture. */
export interface HelpDataset {
  /** `arch_idx` of each architecture, in architectures-file order. */
  archIds: number[];
  /** Feature columns (one-hot indicators first, in column order, then numeric). */
  features: FeatureSpec[];
  /** Feature rows aligned with `archIds`. */
  X: Float64Array[];
  /** Device names in file and column order (a device is one latency column). */
  devices: string[];
  /** Latency (ms) per device aligned with `archIds`; NaN where not measured or bad. */
  latency: Map<string, Float64Array>;
  /** Bad lines, never silently dropped. */
  problems: ImportProblem[];
}

/**
 * The records of a HELP file, the header first, checked to start with arch_idx. A quote never closed takes in the
 * rest of the file: that last record is returned as a problem, for the caller to add after the file's other ones.
 * @throws {RangeError} if the file is empty, its first column is not arch_idx, it is not valid UTF-8 (a Latin-1
 *   device name had been stored with U+FFFD in it), or a quote never closed takes in the header or every row.
 */
function recordsOf(f: NamedText): { records: CsvRecord[]; unclosed: ImportProblem[] } {
  assertCsvText(f.file, f.text);
  // Cells without the blanks around them, as the other imports read them (a trial: " 8" was "not a positive number",
  // a header "arch_idx " not arch_idx). trim() takes a byte-order mark too.
  // Blank lines are no rows, and a byte-order mark alone is an empty file (a trial: 'must be arch_idx, got ""').
  const records = parseCsvLines(f.text).map((r) => ({ ...r, cells: r.cells.map((c) => c.trim()) })).filter((r) => !(r.cells.length === 1 && r.cells[0] === '' && !r.unclosed));
  if (records.length === 0) throw new RangeError(`${f.file}: empty file (expected a header with arch_idx)`);
  if (records[0]!.cells[0] !== 'arch_idx') {
    throw new RangeError(`${f.file}: the first column of the header must be arch_idx, got ${quoteValue(records[0]!.cells[0] ?? '')}`);
  }
  const last = records[records.length - 1]!;
  if (!last.unclosed) return { records, unclosed: [] };
  if (records.length === 1) throw new RangeError(`${f.file}: ${unclosedQuoteMessage(last)}: the header is among them`);
  if (records.length === 2) throw new RangeError(`${f.file}: ${unclosedQuoteMessage(last)}: no row is left to read`);
  return { records: records.slice(0, -1), unclosed: [{ file: f.file, line: last.line, field: '(row)', value: last.cells.join(',').slice(0, 200), message: unclosedQuoteMessage(last) }] };
}

/** Share of the architectures that must have a latency in some file (a HELP benchmark's files cover all of them). */
export const MIN_COVERED_SHARE = 0.5;

/** The first three of some lines whose arch_idx is not an architecture, as `file:line: "value"; …` for a message. */
function firstLines(lines: readonly ImportProblem[]): string {
  return lines.slice(0, 3).map((p) => `${p.file}:${p.line}: ${quoteValue(p.value)}`).join('; ');
}

/**
 * Parse HELP architectures and latency files.
 *
 * @param architectures  `architectures.csv` (arch_idx, then op columns).
 * @param latencies      One or more `latency_*.csv` (arch_idx, then one column per device).
 * @returns              The aligned dataset; lines with a wrong column count,
 *                       a bad arch_idx, an unknown architecture or a latency
 *                       that is not a positive number are in `problems` (the
 *                       other cells of such a line are kept where they are valid).
 * @throws {RangeError} on a missing or malformed header, a device named twice, no architectures, an
 *   architectures file of numbers only with fractions among them (a latency file), or a latency column
 *   of text with no latency at all (the architectures file): the two files swapped, or a latency file for both;
 *   or latencies for fewer than {@link MIN_COVERED_SHARE} of the architectures, or fewer than that share of the
 *   latency lines naming an architecture of the file (files of two benchmarks, either way round).
 */
export function parseHelp(architectures: NamedText, latencies: readonly NamedText[]): HelpDataset {
  const problems: ImportProblem[] = [];
  const { records: arows, unclosed } = recordsOf(architectures);
  const header = arows[0]!.cells;
  const archIds: number[] = [];
  const cells: string[][] = [];
  const seen = new Set<number>();
  for (let r = 1; r < arows.length; r++) {
    const { cells: row, line } = arows[r]!;
    if (row.length === 1 && row[0] === '') continue;
    if (row.length !== header.length) {
      problems.push({ file: architectures.file, line, field: '(row)', value: row.join(','), message: `expected ${header.length} columns, got ${row.length}` });
      continue;
    }
    const id = ARCH_IDX.test(row[0]!) ? Number(row[0]) : Number.NaN;
    if (!Number.isSafeInteger(id) || seen.has(id)) {
      problems.push({ file: architectures.file, line, field: 'arch_idx', value: row[0]!, message: seen.has(id) ? 'duplicate arch_idx' : 'not a non-negative integer' });
      continue;
    }
    seen.add(id);
    archIds.push(id);
    cells.push(row);
  }
  problems.push(...unclosed);
  const quotesLeftOpen = [...unclosed]; // a quote left open hides the rest of its file
  if (archIds.length === 0) throw new RangeError(`${architectures.file}: no architectures`);

  const onehot: FeatureSpec[] = [];
  const numeric: FeatureSpec[] = [];
  const encoders: ((row: string[], out: Float64Array) => void)[] = [];
  const columnKinds: { c: number; values?: string[] }[] = [];
  for (let c = 1; c < header.length; c++) {
    const column = header[c]!;
    if (IDENTIFIER_COLUMNS.has(column)) continue;
    const isNumeric = cells.every((row) => row[c] !== '' && Number.isFinite(Number(row[c])));
    if (isNumeric) {
      columnKinds.push({ c });
      continue;
    }
    const values = [...new Set(cells.map((row) => row[c]!))].sort();
    if (values.length <= MAX_CATEGORIES) columnKinds.push({ c, values });
    else void column; // an identifier column (e.g. arch_str): not a feature
  }
  // Op columns name ops (text) or count and index them (integers); a file whose every column is a number
  // and one of them has fractions is a latency file (ms per device) given as --architectures.
  if (columnKinds.length > 0 && columnKinds.every((k) => !k.values)) {
    const fractional = columnKinds.find((k) => cells.some((row) => !Number.isInteger(Number(row[k.c]))));
    if (fractional) {
      const row = cells.find((r) => !Number.isInteger(Number(r[fractional.c])))!;
      throw new RangeError(`${architectures.file}: no op column: every column is a number and ${quoteValue(header[fractional.c]!)} has fractions (${quoteValue(row[fractional.c]!)} for arch_idx ${row[0]}), `
        + 'as in a latency file; the architectures file names or counts the ops of each architecture (HELP\'s architectures.csv), latency files go to --latency');
    }
  }
  for (const k of columnKinds) {
    if (!k.values) continue;
    const base = onehot.length;
    for (const v of k.values) onehot.push({ name: `${header[k.c]}=${v}`, kind: 'onehot', column: header[k.c]! });
    const index = new Map(k.values.map((v, i) => [v, base + i]));
    encoders.push((row, out) => { out[index.get(row[k.c]!)!] = 1; });
  }
  for (const k of columnKinds) {
    if (k.values) continue;
    numeric.push({ name: header[k.c]!, kind: 'numeric', column: header[k.c]! });
  }
  const features = [...onehot, ...numeric];
  const numericCols = columnKinds.filter((k) => !k.values).map((k) => k.c);
  const X = cells.map((row) => {
    const out = new Float64Array(features.length);
    for (const e of encoders) e(row, out);
    numericCols.forEach((c, j) => { out[onehot.length + j] = Number(row[c]); });
    return out;
  });

  const position = new Map(archIds.map((id, i) => [id, i]));
  const matched = new Set<number>(); // architectures some latency file has a row of, good cells or not
  const linesOf = new Map<string, { matched: number; foreign: ImportProblem[] }>(); // per latency file: lines naming an architecture of the file (first of their arch_idx), and the others
  const cellProblems: ImportProblem[] = [];
  const badCell = (p: ImportProblem) => {
    problems.push(p);
    cellProblems.push(p);
  };
  const devices: string[] = [];
  const latency = new Map<string, Float64Array>();
  for (const f of latencies) {
    const { records: rows, unclosed: tail } = recordsOf(f);
    // Device names without the blanks around them (recordsOf; `arch_idx, raspi4`: a trial's " spaced " was stored as written).
    const h = rows[0]!.cells;
    const cols: Float64Array[] = [];
    for (let c = 1; c < h.length; c++) {
      const d = h[c]!;
      // A blank header cell (a trailing comma) would store its latencies under device "" (a trial: exit 0).
      if (d === '') throw new RangeError(`${f.file}: column ${c + 1} of its header has no device name (a trailing comma?); name every latency column`);
      // A device name is an id (names.ts idProblem, as the SingleStream import and the API check them): a trial's
      // 5,000-character name, and names with a bell or a right-to-left override, were stored.
      const notId = idProblem(`device of column ${c + 1}`, d);
      if (notId !== null) throw new RangeError(`${f.file}: ${notId}`);
      if (h.indexOf(d) < c) throw new RangeError(`${f.file}: device ${quoteValue(d)} is a column of its header twice (columns ${h.indexOf(d) + 1} and ${c + 1})`);
      if (latency.has(d)) throw new RangeError(`${f.file}: device ${quoteValue(d)} also appears in an earlier latency file`);
      const col = new Float64Array(archIds.length).fill(Number.NaN);
      latency.set(d, col);
      devices.push(d);
      cols.push(col);
    }
    const tally = { matched: 0, foreign: [] as ImportProblem[] };
    linesOf.set(f.file, tally);
    const firstLine = new Map<number, number>();
    const goodCells = new Array<number>(h.length).fill(0);
    const firstText = new Map<number, { line: number; value: string }>(); // per column: its first cell that is not a number
    for (let r = 1; r < rows.length; r++) {
      const { cells: row, line } = rows[r]!;
      if (row.length === 1 && row[0] === '') continue;
      if (row.length !== h.length) {
        problems.push({ file: f.file, line, field: '(row)', value: row.join(','), message: `expected ${h.length} columns, got ${row.length}` });
        continue;
      }
      const at = ARCH_IDX.test(row[0]!) ? position.get(Number(row[0])) : undefined;
      if (at === undefined) {
        const p = { file: f.file, line, field: 'arch_idx', value: row[0]!, message: `not in ${architectures.file}` };
        problems.push(p);
        tally.foreign.push(p);
        continue;
      }
      const first = firstLine.get(at);
      if (first !== undefined) {
        problems.push({ file: f.file, line, field: 'arch_idx', value: row[0]!, message: `duplicate arch_idx, first at line ${first}` });
        continue;
      }
      firstLine.set(at, line);
      matched.add(at);
      tally.matched++;
      for (let c = 1; c < h.length; c++) {
        const v = Number(row[c]);
        if (!DECIMAL.test(row[c]!) || !Number.isFinite(v) || v <= 0) {
          badCell({ file: f.file, line, field: h[c]!, value: row[c]!, message: 'latency must be a positive number of ms' });
          if (row[c]!.trim() !== '' && !Number.isFinite(Number(row[c])) && !firstText.has(c)) firstText.set(c, { line, value: row[c]! });
          continue;
        }
        const outside = latencyRangeProblem(v);
        if (outside !== null) {
          badCell({ file: f.file, line, field: h[c]!, value: row[c]!, message: outside });
          continue;
        }
        goodCells[c]++;
        cols[c - 1]![at] = v;
      }
    }
    problems.push(...tail);
    quotesLeftOpen.push(...tail);
    // A column of text with no latency at all is not a device's: the file is another kind (the architectures
    // file given as --latency), and importing its numeric columns as milliseconds would write nonsense.
    for (const [c, text] of firstText) {
      if (goodCells[c] === 0) {
        throw new RangeError(`${f.file}: column ${quoteValue(h[c]!)} holds no latency, only text such as ${quoteValue(text.value)} (line ${text.line}): `
          + 'a latency file has arch_idx and one column of ms per device (HELP\'s latency_*.csv); the architectures file goes to --architectures');
      }
    }
  }
  // Most architectures without a latency: the latency files measured other networks (FBNet's 5,000 given with
  // NAS-Bench-201's 15,625 architectures matched arch_idx 0–4999 to the wrong networks without a word).
  const covered = archIds.filter((_, i) => devices.some((d) => Number.isFinite(latency.get(d)![i]!))).length;
  // A quote left open that hid most latencies is the reason then, not files of two benchmarks (a trial).
  if (latencies.length > 0 && covered < MIN_COVERED_SHARE * archIds.length) {
    // Rows for most architectures whose cells are not latencies: the cells are the reason (a trial: a file in ns was
    // taken for files of two benchmarks, and none of its bad cells was named).
    const cellsWhy = matched.size >= MIN_COVERED_SHARE * archIds.length && cellProblems.length > 0;
    // Lines whose arch_idx names no architecture of the file are named too (a trial: `z3` on 18 of 20 lines read only
    // "are the files from two benchmarks?", none of them named).
    const archWhy = problems.filter((p) => p.field === 'arch_idx' && p.message.startsWith('not in '));
    const named = cellsWhy ? cellProblems : archWhy;
    throw new HelpCoverageError(named, `${latencies.map((f) => f.file).join(', ')}: latencies for only ${covered.toLocaleString('en-US')} of the ${archIds.length.toLocaleString('en-US')} architectures in ${architectures.file}; `
      + (quotesLeftOpen.length > 0
        ? `${quotesLeftOpen.map((p) => `${p.file}: ${p.message}`).join('; ')}`
        : cellsWhy
          ? `the files have rows for ${matched.size.toLocaleString('en-US')} of them, but ${cellProblems.length.toLocaleString('en-US')} cell(s) are not latencies in ms, such as `
            + `${cellProblems.slice(0, 3).map((p) => `${p.file}:${p.line}: ${p.field} = ${quoteValue(p.value)}: ${p.message}`).join('; ')}`
          : `${archWhy.length > 0 ? `${archWhy.length.toLocaleString('en-US')} line(s) name an arch_idx ${architectures.file} does not have, such as ${firstLines(archWhy)}; ` : ''}`
            + 'are the files from two benchmarks (one benchmark\'s architectures.csv with another\'s latency files)? Every latency file of a HELP benchmark covers its architectures'));
  }
  // Most of a latency file's lines naming no architecture of the architectures file: the other direction of two
  // benchmarks' files (FBNet's 5,000 architectures with NAS-Bench-201's 15,625 latency lines stored lines 0–4999 against
  // the wrong networks, a trial; the lines past 4999 were only counted bad, and the import exited 1 having written them).
  // Per file: a wrong file among right ones had passed a check over all of them (a re-test).
  for (const [file, t] of linesOf) {
    if (t.foreign.length === 0 || t.matched >= MIN_COVERED_SHARE * (t.matched + t.foreign.length)) continue;
    throw new HelpCoverageError(t.foreign, `${file}: ${t.foreign.length.toLocaleString('en-US')} of its ${(t.matched + t.foreign.length).toLocaleString('en-US')} latency lines `
      + `name an arch_idx ${architectures.file} does not have (${architectures.file}: ${archIds.length.toLocaleString('en-US')} architectures), such as ${firstLines(t.foreign)}; `
      + 'are the files from two benchmarks (one benchmark\'s architectures.csv with another\'s latency files)? A HELP benchmark\'s architectures file has every architecture its latency files measure');
  }
  return { archIds, features, X, devices, latency, problems };
}

/**
 * Batch size of a HELP device column.
 *
 * HELP names a GPU measured at several batch sizes `<gpu>_<N>` (`1080ti_1`, `1080ti_32`, `1080ti_256`),
 * N the batch and the value the latency of one batch (HELP's README). A column is read that way
 * only when the same prefix is also measured at batch 1 (`<gpu>_1`), so a CPU model number
 * (`gold_6226`, `silver_4114`) stays a device of batch 1.
 * @param device   The column name.
 * @param devices  Every device column of the import.
 * @returns        N for `<prefix>_N` when `<prefix>_1` is among `devices`, else 1.
 */
export function helpBatchOf(device: string, devices: readonly string[]): number {
  const m = /^(.+)_([1-9][0-9]{0,5})$/.exec(device);
  return m && devices.includes(`${m[1]}_1`) ? Number(m[2]) : 1;
}

/** Indices of the one-hot features (the baseline's feature set: op per edge / layer). */
export function oneHotColumns(d: HelpDataset): number[] {
  return d.features.flatMap((f, j) => (f.kind === 'onehot' ? [j] : []));
}
