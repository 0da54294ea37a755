/**
 * Readers of the simulator's two data cuts, both inside the repository:
 *
 * - `data/azure-llm-trace/AzureLLMInferenceTrace_{code,conv}.csv`: request
 *   arrival times and context-token counts of the Azure LLM inference trace
 *   2023 (Azure/AzurePublicDataset, CC-BY-4.0; Patel et al., "Splitwise", ISCA 2024).
 * - `data/mlperf-singlestream/base-latency.csv`: MLPerf Inference SingleStream
 *   latencies per (model, chip) (MLCommons, Apache-2.0), cut by `cut-mlperf.ts`.
 *
 * Parsed files are cached per absolute path for the life of the process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertCsvText, moreCellsHint, parseCsvRecordLines, parseCsvRecords, unclosedQuoteMessage } from './csv.ts';
import { calendarDateProblem } from '../calendar-date.ts';

/** File names of the trace cut, read in this order and merged. */
export const TRACE_FILES = ['AzureLLMInferenceTrace_code.csv', 'AzureLLMInferenceTrace_conv.csv'] as const;

/** The merged Azure trace, sorted by time (stable: code file first on ties). */
export interface ArrivalTrace {
  /** Arrival time of request i, ms since the first request (sub-ms precision kept). */
  offsetMs: Float64Array;
  /** ContextTokens (input tokens) of request i. */
  contextTokens: Int32Array;
  /** Replay period, ms: last offset + mean inter-arrival gap, so a looped replay keeps the mean rate. */
  periodMs: number;
}

/** MLPerf SingleStream latency of one (model, chip), reduced over the systems of the cut. Times in ms. */
export interface BaseLatency {
  model: string;
  chip: string;
  /** Median over the cut's runs of p50_ms: the unloaded service time used by the simulator. */
  p50Ms: number;
  /** Median over the runs of p90_ms. */
  p90Ms: number;
  /** Median over the runs of mean_ms. */
  meanMs: number;
  /** Number of runs (systems × versions) reduced. */
  runs: number;
}

const traceCache = new Map<string, ArrivalTrace>();
const baseCache = new Map<string, BaseLatency[]>();

/**
 * Locate the repository's `data/` folder by walking up from this module.
 *
 * @returns  Absolute path of the first ancestor's `data/` that holds `mlperf-singlestream/base-latency.csv`.
 * @throws {RangeError} if none is found within 6 levels.
 */
export function defaultDataDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const cand = path.join(dir, 'data');
    if (fs.existsSync(path.join(cand, 'mlperf-singlestream', 'base-latency.csv'))) return cand;
    dir = path.dirname(dir);
  }
  throw new RangeError('cannot find the repository data/ folder (data/mlperf-singlestream/base-latency.csv); pass dataDir');
}

/** Largest ContextTokens of a trace request (they are held as 32-bit integers). */
export const MAX_CONTEXT_TOKENS = 2 ** 31 - 1;

/** Shortest span from a trace's first request to its last, ms: it is looped over the run. */
export const MIN_TRACE_SPAN_MS = 1000;

/**
 * Gaps between consecutive requests of a trace (in time order) are refused when together they hold more than this share
 * of the trace's span… (the trace is compressed into the run: a typo'd year put every request but one into a burst at
 * the run's start, 568 of 595 requests timing out, without a word: a trial).
 */
export const MAX_TRACE_GAP_SHARE = 0.5;

/** …counting the gaps of more than this many times the trace's typical gap (the mean of its gaps but the widest 1 %)… */
export const MAX_TRACE_GAP_OVER_TYPICAL = 1000;

/** …and of more than an hour, ms (a trace of a few requests may have uneven gaps of minutes). */
export const MIN_TRACE_GAP_MS = 3_600_000;

/** A duration for a message: seconds below 2 minutes, hours below 2 days, else days. */
function durationText(ms: number): string {
  if (ms < 120_000) return `${(ms / 1000).toPrecision(3)} s`;
  if (ms < 172_800_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${Math.round(ms / 86_400_000).toLocaleString('en-US')} days`;
}

/**
 * Largest total size of the trace files of one run, bytes (32 MiB, some 700,000 requests; the 2023 Azure traces are
 * 0.3 and 0.7 MB): reading takes some 45 bytes of memory a byte of CSV (a trial: 157 MB ran out of heap, exit 134).
 */
export const TRACE_FILES_LIMIT_BYTES = 32 * 1024 * 1024;

const TS_RE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d+)?$/;
const dayCache = new Map<string, number>();

/** Parse `YYYY-MM-DD HH:MM:SS.fffffff` (no zone; read as UTC) to epoch ms with sub-ms precision. */
function parseTraceTimestamp(s: string): number {
  const m = TS_RE.exec(s);
  if (m === null) throw new RangeError(`bad trace TIMESTAMP ${JSON.stringify(s)}`);
  const day = s.slice(0, 10);
  // A day or time of day that does not exist is refused, not rolled over by Date.UTC (a trial: hour 99 and
  // 2023-02-31 stretched a trace to 9 months).
  const problem = +m[4] > 23 || +m[5] > 59 || +m[6] > 59 || !dayCache.has(day) ? calendarDateProblem(s) : null;
  if (problem !== null) throw new RangeError(`bad trace TIMESTAMP ${JSON.stringify(s)}: ${problem}`);
  let dayMs = dayCache.get(day);
  if (dayMs === undefined) {
    // setUTCFullYear, not Date.UTC: that reads years 0–99 as 1900–1999 (a trial: 0099-12-31 and 0100-01-01 were
    // 1,900 years apart).
    dayMs = new Date(0).setUTCFullYear(+m[1], +m[2] - 1, +m[3]);
    dayCache.set(day, dayMs);
  }
  const frac = m[7] === undefined ? 0 : Number(m[7]) * 1000;
  return dayMs + ((+m[4] * 60 + +m[5]) * 60 + +m[6]) * 1000 + frac;
}

/**
 * Read and merge the Azure LLM trace files: the two of `<dataDir>/azure-llm-trace/`, or the given ones (another day
 * or kind of the trace, the same columns).
 *
 * @param dataDir  The data folder (see {@link defaultDataDir}).
 * @param files    Trace files to read instead, paths (relative to the working folder). @default the two of the cut
 * @returns        The merged trace (cached per path).
 * @throws {RangeError} naming the file: missing or a directory, without the columns TIMESTAMP and ContextTokens or
 *   naming a column twice, fewer than 2 requests in all, spanning less than {@link MIN_TRACE_SPAN_MS}, or a malformed
 *   row (its line: another width than the header, ContextTokens not a whole number up to {@link MAX_CONTEXT_TOKENS}, a
 *   TIMESTAMP of a day or time that does not exist).
 */
export function loadArrivalTrace(dataDir: string, files?: readonly string[]): ArrivalTrace {
  const dir = path.resolve(dataDir, 'azure-llm-trace');
  const paths = files ? files.map((f) => path.resolve(f)) : TRACE_FILES.map((f) => path.join(dir, f));
  const key = paths.join('\n');
  const cached = traceCache.get(key);
  if (cached !== undefined) return cached;
  /** Each request: its time, tokens, and where it was read (file and line) for messages. */
  const rows: { t: number; tokens: number; file: string; line: number }[] = [];
  // Each file once (a trial: a file given twice doubled every request, without a word), checked before any is read.
  if (files?.some((f) => f.trim() === '')) throw new RangeError('trace file "": an empty file name');
  let total = 0;
  const seen = new Map<string, string>();
  for (const p of paths) {
    if (!fs.existsSync(p)) throw new RangeError(`trace file missing: ${JSON.stringify(p)}`);
    const stat = fs.statSync(p);
    if (!stat.isFile()) throw new RangeError(`trace file ${JSON.stringify(p)} is ${stat.isDirectory() ? 'a directory' : 'not a regular file'}: give the trace's CSV files`);
    const real = fs.realpathSync(p);
    if (seen.has(real)) throw new RangeError(`trace file ${JSON.stringify(p)} is given twice${seen.get(real) === p ? '' : ` (as ${JSON.stringify(seen.get(real))} too)`}: give each file once (each would add its requests again)`);
    seen.set(real, p);
    total += stat.size;
  }
  if (total > TRACE_FILES_LIMIT_BYTES) {
    throw new RangeError(`trace files of ${total.toLocaleString('en-US')} bytes in all, more than the limit of ${TRACE_FILES_LIMIT_BYTES.toLocaleString('en-US')} (32 MiB, some 700,000 requests; the 2023 Azure traces are 0.3 and 0.7 MB): give a cut of the trace (it is looped over the run)`);
  }
  for (const p of paths) {
    const text = fs.readFileSync(p, 'utf8').replace(/^\uFEFF/, '');
    // What the importers refuse, refused here too (a trial: a file of CR-only line ends read as one header line, and its 100
    // requests were dropped without a word; UTF-16 and gzip files were quoted as bytes).
    assertCsvText(JSON.stringify(p), text);
    const { header, rows: records } = parseCsvRecordLines(text);
    // The columns in any case, as the catalog import takes them (a trial: `timestamp,contexttokens` was refused).
    const column = (name: string): string | undefined => header.find((h) => h.toLowerCase() === name.toLowerCase());
    const [tsColumn, tokensColumn] = [column('TIMESTAMP'), column('ContextTokens')];
    if (tsColumn === undefined || tokensColumn === undefined) {
      throw new RangeError(`${JSON.stringify(p)}: ${header.join('') === '' ? 'empty' : `expected the Azure LLM inference trace's columns TIMESTAMP and ContextTokens, got ${header.map((c) => JSON.stringify(c)).join(', ')}`}`);
    }
    // A column named twice: which is the request's? (the later one had silently won; the importers refuse it too)
    // In any case too: `TIMESTAMP` and `timestamp` are one column.
    const lower = header.map((h) => h.toLowerCase());
    const twice = [...new Set(header.filter((h, i) => h !== '' && lower.indexOf(lower[i]!) !== i))];
    if (twice.length > 0) throw new RangeError(`${JSON.stringify(p)}: the header names ${twice.map((h) => JSON.stringify(h)).join(', ')} twice; give each column once`);
    // A file without a request adds nothing: a mistake, said (a trial: a header-only file was merged without a word).
    if (records.length === 0) throw new RangeError(`${JSON.stringify(p)}: no request (a header only)`);
    for (const r of records) {
      if (r.unclosed) throw new RangeError(`${JSON.stringify(p)}: ${unclosedQuoteMessage(r)}`);
      const where = `${JSON.stringify(p)} line ${r.line}`;
      // A row of another width than the header: `1,234` unquoted is two cells, and the columns after it shift.
      if (r.cells.length !== header.length) throw new RangeError(`${where}: expected ${header.length} cells as the header, got ${r.cells.length}${moreCellsHint(header.length, r.cells.length)}`);
      const text = r.record[tokensColumn]!;
      const tokens = Number(text);
      // At most 2^31 − 1: the trace holds them as 32-bit integers (a re-test: 3,000,000,000 was read as −1,294,967,296).
      if (!/^\d+$/.test(text) || !(tokens <= MAX_CONTEXT_TOKENS)) throw new RangeError(`${where}: bad ContextTokens ${JSON.stringify(text)} (expected a whole number 0..${MAX_CONTEXT_TOKENS})`);
      let t: number;
      try {
        t = parseTraceTimestamp(r.record[tsColumn]!);
      } catch (error) {
        throw new RangeError(`${where}: ${(error as Error).message} (expected YYYY-MM-DD hh:mm:ss[.fraction])`);
      }
      rows.push({ t, tokens, file: p, line: r.line });
    }
  }
  if (rows.length < 2) throw new RangeError(`trace ${paths.map((p) => JSON.stringify(p)).join(', ')} has fewer than 2 requests`);
  rows.sort((a, b) => a.t - b.t);
  const t0 = rows[0].t;
  // The trace is looped over the run: a span of 0 (every request at one TIMESTAMP) looped for ever, synchronously,
  // deaf to Ctrl-C (a trial), and a span of microseconds would loop millions of times.
  const spanMs = rows[rows.length - 1]!.t - t0;
  if (!(spanMs >= MIN_TRACE_SPAN_MS)) {
    throw new RangeError(`trace ${paths.map((p) => JSON.stringify(p)).join(', ')} spans ${spanMs} ms from its first TIMESTAMP to its last: at least ${MIN_TRACE_SPAN_MS} ms needed (it is looped over the run)`);
  }
  // Gaps far beyond the trace's typical one that hold most of its span together: a TIMESTAMP typo (another year; two
  // of them), or files of other days (three files of three days had passed a test of the widest gap alone: a re-test);
  // compressed into the run, the requests between them would arrive in bursts. The typical gap is the mean of the gaps
  // but the widest 1 % (at least one): a median was 0 for requests that share timestamps, a microsecond for bursts of
  // microsecond stamps (both re-tests), and one typo among three requests was its own median. A gap counts only above
  // an hour too: a short trace's quiet minutes are a trace's.
  const gaps: { ms: number; at: number }[] = [];
  for (let i = 1; i < rows.length; i++) gaps.push({ ms: rows[i]!.t - rows[i - 1]!.t, at: i - 1 });
  const byWidth = [...gaps].sort((a, b) => b.ms - a.ms);
  const rest = byWidth.slice(Math.max(1, Math.ceil(gaps.length / 100)));
  const typicalMs = rest.length === 0 ? 0 : rest.reduce((sum, g) => sum + g.ms, 0) / rest.length;
  const outsized = byWidth.filter((g) => g.ms > Math.max(MAX_TRACE_GAP_OVER_TYPICAL * typicalMs, MIN_TRACE_GAP_MS));
  const outsizedMs = outsized.reduce((sum, g) => sum + g.ms, 0);
  if (outsizedMs > MAX_TRACE_GAP_SHARE * spanMs) {
    const widest = outsized[0]!;
    const [a, b] = [rows[widest.at]!, rows[widest.at + 1]!];
    const at = (x: { file: string; line: number }) => `${JSON.stringify(x.file)} line ${x.line}`;
    const when = (t: number) => JSON.stringify(new Date(t).toISOString().replace('T', ' ').replace('Z', ''));
    // The others named are those of a tenth of the span or more (a trace's quiet minutes are no typo).
    const others = outsized.filter((g) => g.ms >= 0.1 * spanMs).length - 1;
    throw new RangeError(`trace ${paths.map((p) => JSON.stringify(p)).join(', ')}: a gap of ${durationText(widest.ms)} between ${at(a)} (TIMESTAMP ${when(a.t)}) and ${at(b)} (${when(b.t)})`
      + `${others > 0 ? ` and ${others} more of a tenth of the span or more` : ''}: gaps of over an hour and over ${MAX_TRACE_GAP_OVER_TYPICAL.toLocaleString('en-US')}× the typical gap between requests (${durationText(typicalMs)}, the mean but the widest 1 %) make ${(100 * outsizedMs / spanMs).toFixed(1)} % of the trace's span: `
      + 'a TIMESTAMP typo, or files of other days? '
      + 'The trace is compressed into the run, and the requests between the gaps would arrive in bursts; give the requests of one stretch of time');
  }
  const offsetMs = new Float64Array(rows.length);
  const contextTokens = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    offsetMs[i] = rows[i].t - t0;
    contextTokens[i] = rows[i].tokens;
  }
  const last = offsetMs[rows.length - 1];
  const trace: ArrivalTrace = { offsetMs, contextTokens, periodMs: last + last / (rows.length - 1) };
  traceCache.set(key, trace);
  return trace;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Read `<dataDir>/mlperf-singlestream/base-latency.csv` and reduce it per (model, chip).
 *
 * Behaviour: each row is one SingleStream run of one system; per (model, chip)
 * the p50, p90 and mean columns are each reduced by their median over runs.
 * @param dataDir  The data folder.
 * @returns       One entry per (model, chip), sorted by chip then model (cached per path).
 * @throws {RangeError} if the file is missing or a latency is not a positive number.
 */
export function loadBaseLatencies(dataDir: string): BaseLatency[] {
  const file = path.resolve(dataDir, 'mlperf-singlestream', 'base-latency.csv');
  const cached = baseCache.get(file);
  if (cached !== undefined) return cached;
  if (!fs.existsSync(file)) throw new RangeError(`base latency file missing: ${JSON.stringify(file)}`);
  const groups = new Map<string, { model: string; chip: string; p50: number[]; p90: number[]; mean: number[] }>();
  for (const r of parseCsvRecords(fs.readFileSync(file, 'utf8'))) {
    const vals = [Number(r.p50_ms), Number(r.p90_ms), Number(r.mean_ms)];
    if (!vals.every((v) => Number.isFinite(v) && v > 0)) {
      throw new RangeError(`bad latency in base-latency.csv row ${JSON.stringify(r)}`);
    }
    const k = `${r.model}|${r.chip}`;
    let g = groups.get(k);
    if (g === undefined) {
      g = { model: r.model, chip: r.chip, p50: [], p90: [], mean: [] };
      groups.set(k, g);
    }
    g.p50.push(vals[0]);
    g.p90.push(vals[1]);
    g.mean.push(vals[2]);
  }
  const out: BaseLatency[] = [...groups.values()].map((g) => ({
    model: g.model, chip: g.chip, p50Ms: median(g.p50), p90Ms: median(g.p90), meanMs: median(g.mean), runs: g.p50.length,
  }));
  out.sort((a, b) => (a.chip === b.chip ? (a.model < b.model ? -1 : 1) : a.chip < b.chip ? -1 : 1));
  baseCache.set(file, out);
  return out;
}
