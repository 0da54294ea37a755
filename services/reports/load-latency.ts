/**
 * The load-versus-latency report (`edgelat report load-latency`): runs the
 * report queries, finds the SLO knee of each (chip, model), and writes
 * report.html (self-contained, SVG charts), report.csv (every number, long
 * format) and summary.md.
 */
import { constants, copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, renameSync, rmdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tempPath, writeNewFileSync } from '../temp-file.ts';
import { dirname, join, resolve } from 'node:path';
import type { Warehouse } from '../warehouse/types.ts';
import { KNEE_MIN_REQUESTS, ReportQueries, type CorrelationPoint, type IoShareRow, type LatencyBucketRow, type LineRow, type ReportFilter, type ScatterPoint, type SensitivityRow } from './report-queries.ts';
import { reportHtml, reportSummary } from './report-render.ts';

/** Options of the report: the filter, plus an SLO and how many keys the rolling-r chart shows. */
export interface LoadLatencyOptions extends ReportFilter {
  /** p99 objective, ms; enables the SLO knee table. */
  sloP99Ms?: number;
  /** (server, model) keys in the rolling-r chart: the most load-sensitive ones (where no pair has the 30 requests in the range that list takes, the keys with the most requests over their windows). @default 4 */
  correlationKeys?: number;
  /** Rows of the most-load-sensitive table. @default 10 */
  sensitiveLimit?: number;
}

/**
 * The SLO knee of a (chip, model): the lowest load bucket with at least
 * {@link KNEE_MIN_REQUESTS} requests whose p99 exceeds the SLO; `bucket` null when
 * no such bucket does (then the load fields are null). `status`: `knee`;
 * `misses_from_lowest` when that bucket is the lowest counted one; `meets` when
 * every counted bucket meets the SLO; `too_few_requests` when no bucket has enough.
 */
export interface KneeRow {
  chip: string;
  model_id: string;
  status: 'knee' | 'misses_from_lowest' | 'meets' | 'too_few_requests';
  slo_p99_ms: number;
  bucket: number | null;
  load_low: number | null;
  load_high: number | null;
  p99_ms: number | null;
  n: number | null;
}

/** Everything the report shows. */
export interface LoadLatencyReport {
  options: LoadLatencyOptions;
  /** Decile edges of the metric (empty with fixed bins). */
  edges: number[];
  latency: LatencyBucketRow[];
  io: IoShareRow[];
  sensitive: SensitivityRow[];
  lines: LineRow[];
  correlation: CorrelationPoint[];
  knees: KneeRow[];
  scatter: ScatterPoint[];
  /** Requests with a load sample in the report (the fleet rows' n). */
  requests: number;
  /** Of them, those whose status is not ok (timeout or error): in every percentile at the latency they took. */
  failed: number;
}

/**
 * SLO knees from latency-by-load rows (per chip and model; fleet rows are skipped; see {@link KneeRow}).
 * @param rows  latency_by_load rows.
 * @param slo   p99 objective, ms.
 * @returns     One row per (chip, model), in the rows' order.
 */
export function sloKnees(rows: readonly LatencyBucketRow[], slo: number): KneeRow[] {
  const groups = new Map<string, LatencyBucketRow[]>();
  for (const r of rows) {
    if (r.chip === '*') continue;
    const k = JSON.stringify([r.chip, r.model_id]);
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  return [...groups.values()].map((g) => {
    const counted = [...g].sort((a, b) => a.bucket - b.bucket).filter((r) => r.n >= KNEE_MIN_REQUESTS);
    const knee = counted.find((r) => r.p99_ms > slo);
    const status = counted.length === 0 ? 'too_few_requests' : !knee ? 'meets' : knee === counted[0] ? 'misses_from_lowest' : 'knee';
    return {
      chip: g[0]!.chip, model_id: g[0]!.model_id, status, slo_p99_ms: slo, bucket: knee?.bucket ?? null,
      load_low: knee?.load_low ?? null, load_high: knee?.load_high ?? null, p99_ms: knee?.p99_ms ?? null, n: knee?.n ?? null,
    };
  });
}

/**
 * Run every query of the report.
 * @throws {RangeError} on a bad filter (see ReportQueries); WarehouseError from the warehouse.
 */
export async function buildLoadLatencyReport(warehouse: Warehouse, options: LoadLatencyOptions, onStep?: (what: string) => void): Promise<LoadLatencyReport> {
  const q = new ReportQueries(warehouse, options);
  onStep?.('load buckets');
  const edges = await q.bucketEdges();
  onStep?.('latency by load bucket');
  const latency = await q.latencyByLoad();
  const requests = latency.filter((r) => r.chip === '*').reduce((s, r) => s + r.n, 0);
  const failed = latency.filter((r) => r.chip === '*').reduce((s, r) => s + Number(r.failed), 0);
  onStep?.('i/o and compute share');
  const io = await q.ioComputeShare();
  onStep?.('load-sensitive servers');
  const sensitive = await q.loadSensitiveServers(options.sensitiveLimit ?? 10);
  const lines = await q.leastSquares();
  onStep?.('correlation over time');
  const keys = sensitive.slice(0, options.correlationKeys ?? 4);
  // No request in the range, no rolling r either (a re-test: a chart beside "the files hold empty tables").
  const correlation = requests === 0 ? [] : keys.length > 0 ? await q.correlationOverTime(keys) : busiestKeys(await q.correlationOverTime(), options.correlationKeys ?? 4);
  onStep?.('scatter sample');
  const scatter = await q.scatterSample(requests);
  const knees = options.sloP99Ms === undefined ? [] : sloKnees(latency, options.sloP99Ms);
  return { options, edges, latency, io, sensitive, lines, correlation, knees, scatter, requests, failed };
}

/**
 * The windows of the `limit` (server, model) keys with the most requests over their windows: the rolling r's keys where
 * no pair has the 30 requests in the range that the load-sensitive list takes (a short range, a quiet pair), whose
 * windows the correlation processor still closed.
 * @param points  Windows of any keys.
 */
function busiestKeys(points: readonly CorrelationPoint[], limit: number): CorrelationPoint[] {
  const key = (p: CorrelationPoint) => `${p.edge_server_id}\t${p.model_id}`;
  const total = new Map<string, number>();
  for (const p of points) total.set(key(p), (total.get(key(p)) ?? 0) + Number(p.n));
  const kept = new Set([...total.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, limit).map(([k]) => k));
  return points.filter((p) => kept.has(key(p)));
}

/**
 * CSV field: numbers as JavaScript prints them (shortest round-trip), null empty, text quoted when needed. Text that
 * starts, after any white space, byte-order mark or other invisible format character, with `=`, `+`, `-`, `@` (or their full-width forms), or with a tab,
 * carriage return or line feed, gets a `'` before it (white space includes every invisible character: control (Cc),
 * format (Cf), combining and enclosing marks (Mn, Me) and the Hangul fillers; a trial's zero-width space before `=`
 * passed, a re-test's U+034F, U+FE0F, U+180B, U+3164 and NUL), so a spreadsheet shows it instead of running it as a formula
 * (OWASP "CSV Injection"; a trial's server id `=HYPERLINK(…)` came through telemetry, a re-test's ` =HYPERLINK(…)`).
 */
function field(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  const text = FORMULA_LIKE.test(v) ? `'${v}` : v;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Text a spreadsheet may take for a formula (see `field`). */
const FORMULA_LIKE = /^(?:[\t\r\n]|[\s\p{Cc}\p{Cf}\p{Mn}\p{Me}\u115f\u1160\u3164\uffa0]*[=+\-@\uff1d\uff0b\uff0d\uff20])/u;

/**
 * A sum-based statistic (mean, sum, share, r, slope, intercept) to 10 significant digits for report.csv: ClickHouse
 * sums in parallel, in an order that varies from run to run, so the last bits did (a trial: 118 lines of two reports of
 * the same data differed, `0.12243932510321194` against `…141`; at 12 digits a re-test still found one line in six runs
 * apart, a value at a load whose intercept and slope cancel digits). Order statistics (edges, percentiles, loads) and counts
 * are data values and stay exact; so do the stream's rolling r (computed once, stored).
 */
function sig10(v: number | null): number | null {
  return v === null || !Number.isFinite(v) ? v : Number(v.toPrecision(10));
}

/** Header of report.csv. */
export const CSV_COLUMNS = ['table', 'chip', 'model_id', 'edge_server_id', 'bucket', 'window_end', 'metric', 'value'] as const;

/** A ClickHouse UTC DateTime64 text (`YYYY-MM-DD hh:mm:ss.sss`) as ISO 8601 with its zone (`YYYY-MM-DDThh:mm:ss.sssZ`); other text unchanged. */
function isoUtc(chText: string): string {
  return /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?$/.test(chText) ? `${chText.replace(' ', 'T')}Z` : chText;
}

/**
 * report.csv: every number of the report, one per line (long format):
 * `table, chip, model_id, edge_server_id, bucket, window_end, metric, value`
 * (blank where a column does not apply; a null value is blank). The first rows, table `parameters`, say what the
 * numbers are of (text values): `load_metric` (the unit of every `load_low`/`load_high`, bucket edge and slope per
 * unit), `since`/`until` (ISO 8601 UTC, blank for all data), the `server`/`model`/`chip` filters (blank for all),
 * `bucket_width` (blank for deciles), `slo_p99_ms` (ms) and `requests` (the requests the report is over; 0: an empty report). Table `slo_knee`'s `status` is text too (`knee`,
 * `misses_from_lowest`, `meets`, `too_few_requests`). `window_end` is ISO 8601 UTC (`…Z`).
 */
export function reportCsv(r: LoadLatencyReport): string {
  const out: string[] = [CSV_COLUMNS.join(',')];
  const put = (table: string, keys: { chip?: string | null; model_id?: string | null; edge_server_id?: string; bucket?: number | null; window_end?: string }, metrics: Record<string, number | string | null | undefined>) => {
    for (const [metric, value] of Object.entries(metrics)) {
      out.push([table, keys.chip, keys.model_id, keys.edge_server_id, keys.bucket, keys.window_end === undefined ? undefined : isoUtc(keys.window_end), metric, value].map(field).join(','));
    }
  };
  const o = r.options;
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  put('parameters', {}, {
    load_metric: o.metric, since: iso(o.sinceMs), until: iso(o.untilMs), server: o.server ?? null, model: o.model ?? null, chip: o.chip ?? null,
    bucket_width: o.bucketWidth ?? null, slo_p99_ms: o.sloP99Ms ?? null,
    // How many requests the numbers are over: 0 tells an empty report from a failed export (a re-test: the CSV alone could not).
    requests: r.requests,
  });
  r.edges.forEach((e, i) => put('bucket_edges', { bucket: i }, { edge: e }));
  for (const x of r.latency) put('latency_by_load', x, { load_low: x.load_low, load_high: x.load_high, n: x.n, failed: x.failed, p50_ms: x.p50_ms, p90_ms: x.p90_ms, p99_ms: x.p99_ms, mean_ms: sig10(x.mean_ms) });
  // `status` (text) tells the blank rows apart: `meets` the SLO in every counted bucket, or `too_few_requests` (no bucket of
  // KNEE_MIN_REQUESTS), which the summary said and the file did not (a trial); `knee` and `misses_from_lowest` have a bucket.
  for (const k of r.knees) put('slo_knee', k, { status: k.status, slo_p99_ms: k.slo_p99_ms, load_low: k.load_low, load_high: k.load_high, p99_ms: k.p99_ms, n: k.n });
  for (const x of r.io) put('io_compute_share', x, { load_low: x.load_low, load_high: x.load_high, n: x.n, io_ms_sum: sig10(x.io_ms_sum), compute_ms_sum: sig10(x.compute_ms_sum), io_share: sig10(x.io_share), compute_share: sig10(x.compute_share) });
  for (const x of r.sensitive) put('load_sensitive_servers', x, { n: x.n, pearson_r: sig10(x.pearson_r), slope_ms_per_unit: sig10(x.slope_ms_per_unit), relative_slope: sig10(x.relative_slope), mean_ms: sig10(x.mean_ms) });
  for (const x of r.lines) put('least_squares', x, { n: x.n, slope_ms_per_unit: sig10(x.slope_ms_per_unit), intercept_ms: sig10(x.intercept_ms), pearson_r: sig10(x.pearson_r), load_min: x.load_min, load_max: x.load_max, latency_at_load_min_ms: sig10(x.latency_at_load_min_ms) });
  for (const x of r.correlation) put('correlation_over_time', x, { n: x.n, pearson_r: x.pearson_r, ci_low: x.ci_low, ci_high: x.ci_high });
  return `${out.join('\n')}\n`;
}

/**
 * Make sure the report can be written before any query runs: the folder exists (its missing
 * levels are created one by one, never with a recursive mkdir, which does not return under
 * /proc on Node 20) and a file can be written in it.
 * @param created  Receives the folders created, outermost first (to remove them if the report then fails).
 * @returns The absolute folder.
 * @throws {RangeError} naming the path and why: empty, a file, not creatable, not writable.
 */
export function prepareOutDir(outDir: string, created: string[] = []): string {
  // checkOutDir has written in the folder where it exists; a folder made here is probed once it is made.
  const { dir, missing } = checkOutDir(outDir);
  if (missing.length === 0) return dir;
  for (const p of missing) {
    try {
      mkdirSync(p);
      created.push(p);
    } catch (error) {
      throw new RangeError(`--out: cannot create the folder ${JSON.stringify(p)} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
  }
  const probe = tempPath(join(dir, '.edgelat-write-test'));
  try {
    writeNewFileSync(probe, '');
    unlinkSync(probe);
  } catch (error) {
    throw new RangeError(`--out: cannot write in ${JSON.stringify(dir)} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return dir;
}

/**
 * The checks of {@link prepareOutDir}, undoing what they try (`report` runs them before it opens the warehouse, so that a
 * bad --out is said at once, not after waiting for a warehouse another process holds): not empty, its nearest existing
 * folder a folder, its first missing level one that can be made (made and removed again) or the folder one a file can
 * be written in (written and removed), no report file's name taken by something other than a file.
 * @returns The absolute folder and its levels that do not exist yet, outermost first.
 * @throws {RangeError} naming --out and the path.
 */
export function checkOutDir(outDir: string): { dir: string; missing: string[] } {
  if (outDir.trim() === '') throw new RangeError('--out: expected a folder, got ""');
  const dir = resolve(outDir);
  const missing: string[] = [];
  for (let p = dir; !existsSync(p); p = dirname(p)) {
    missing.unshift(p);
    if (dirname(p) === p) break;
  }
  const first = missing.length ? dirname(missing[0]!) : dir;
  if (!statSync(first).isDirectory()) throw new RangeError(`--out: ${JSON.stringify(first)} is a file, not a folder`);
  // Whether it can be made, or written in: tried and undone (a re-test: /proc/x and an immutable folder were said
  // only after the warehouse, which another process held).
  const probe = missing.length > 0 ? missing[0]! : tempPath(join(dir, '.edgelat-write-test'));
  try {
    if (missing.length > 0) {
      mkdirSync(probe);
      rmdirSync(probe);
    } else {
      writeNewFileSync(probe, '');
      unlinkSync(probe);
    }
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new RangeError(missing.length > 0 ? `--out: cannot create the folder ${JSON.stringify(probe)} (${why})` : `--out: cannot write in ${JSON.stringify(dir)} (${why})`);
  }
  for (const name of missing.length > 0 ? [] : REPORT_FILES) {
    const target = join(dir, name);
    if (existsSync(target) && !statSync(target).isFile()) throw new RangeError(`--out: ${JSON.stringify(target)} exists and is not a file: move it or pick another --out`);
  }
  return { dir, missing };
}

/** The files a report writes into its folder. */
const REPORT_FILES = ['report.html', 'report.csv', 'summary.md'] as const;

/**
 * Build the report and write `outDir/report.html`, `report.csv` and `summary.md` (the folder is created).
 * @param onStep    Called with each step's name as it starts (progress).
 * @param annotate  Called with the built report before any file is written: a summary and page to write in place of
 *                  the built ones (the CLI's note on an empty report), or null to write them as built.
 * @returns The report, the summary text, the page (HTML) and the three files written.
 * @throws {RangeError} on a bad filter (before the folder is created), an unusable `outDir` (checked before any query), or a
 *   bucket width too fine for the data (the folders it created removed); WarehouseError.
 */
export async function writeLoadLatencyReport(
  warehouse: Warehouse, options: LoadLatencyOptions, outDir: string, onStep?: (what: string) => void,
  annotate?: (built: { report: LoadLatencyReport; summary: string; html: string }) => Promise<{ summary: string; html: string } | null>,
): Promise<{ report: LoadLatencyReport; summary: string; html: string; files: string[] }> {
  // The filter first (no query runs): a bad one creates no folder.
  new ReportQueries(warehouse, options);
  const created: string[] = [];
  const dir = prepareOutDir(outDir, created);
  let built: { report: LoadLatencyReport; summary: string; html: string };
  try {
    const report = await buildLoadLatencyReport(warehouse, options, onStep);
    const summary = reportSummary(report);
    onStep?.('charts');
    built = { report, summary, html: await reportHtml(report, summary) };
    built = { ...built, ...(await annotate?.(built)) };
  } catch (error) {
    // A report that fails before writing (a --bucket-width the data's range makes too many bins) leaves no empty
    // folders it made behind (a trial); rmdir removes only empty ones.
    for (const p of created.reverse()) {
      try {
        rmdirSync(p);
      } catch {
        break;
      }
    }
    throw error;
  }
  const { report, summary, html } = built;
  const files = REPORT_FILES.map((name) => join(dir, name));
  replaceFilesWith(files, [html, reportCsv(report), summary]);
  return { report, summary, html, files };
}

/**
 * Write each of `texts` as its file of `files`, all or none: each written whole to a new random name beside it
 * (temp-file.ts: a symbolic link planted at a name is refused, not followed), then all renamed in
 * ({@link replaceAllOrNone}): a disk that fills up leaves the earlier files as they were, not a cut-off report.html
 * beside the last run's other files (a trial), and a file name that is a symbolic link is replaced, not followed out
 * of the folder (a trial overwrote the link's target).
 * @throws {Error} naming the file that could not be written or replaced.
 */
export function replaceFilesWith(files: readonly string[], texts: readonly string[]): void {
  const temps = files.map((f) => tempPath(f));
  try {
    texts.forEach((text, i) => {
      try {
        writeNewFileSync(temps[i]!, text);
      } catch (e) {
        throw new Error(`cannot write ${files[i]}: ${(e as Error).message}`, { cause: e });
      }
    });
    replaceAllOrNone(files, temps);
  } finally {
    for (const t of temps) rmSync(t, { force: true });
  }
}

/**
 * Rename each of `temps` onto its file of `files`, all or none: each file there before is copied aside first, and when
 * a rename fails (a file made immutable, a folder's permissions changed mid-run) the files renamed before it are put
 * back (or removed, where there was none), so the folder never holds one run's report.html beside another's report.csv
 * (a trial: an EPERM on report.csv left a new report.html beside the old CSV and summary).
 * @throws {Error} naming the file that could not be replaced and saying the earlier files are as they were (or, if
 *   putting one back failed too, which files are new).
 */
export function replaceAllOrNone(files: readonly string[], temps: readonly string[]): void {
  const asides = files.map((f) => tempPath(f, 'old'));
  // lstat: a symbolic link there (a dangling one too) is the file to keep, as it is.
  const existed = files.map((f) => lstatSync(f, { throwIfNoEntry: false }) !== undefined);
  try {
    files.forEach((f, i) => {
      if (!existed[i]) return;
      try {
        // A hard link keeps the file as it is (a symbolic link too, not its target); a copy where links cannot be made.
        try {
          linkSync(f, asides[i]!);
        } catch {
          copyFileSync(f, asides[i]!, constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL);
        }
      } catch (e) {
        throw new Error(`cannot replace ${f}: ${(e as Error).message}; no file of the report was changed`, { cause: e });
      }
    });
    let done = 0;
    try {
      for (; done < files.length; done += 1) renameSync(temps[done]!, files[done]!);
    } catch (e) {
      const failed: string[] = [];
      for (let j = done - 1; j >= 0; j -= 1) {
        try {
          if (existed[j]) renameSync(asides[j]!, files[j]!);
          else unlinkSync(files[j]!);
        } catch {
          failed.push(files[j]!);
        }
      }
      const state = failed.length === 0 ? 'no file of the report was changed' : `${failed.join(', ')} could not be put back and hold${failed.length === 1 ? 's' : ''} this run's report`;
      throw new Error(`cannot replace ${files[done]}: ${(e as Error).message}; ${state}`, { cause: e });
    }
  } finally {
    for (const a of asides) rmSync(a, { force: true });
  }
}
