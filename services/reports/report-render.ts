/**
 * Rendering of the load-versus-latency report: summary.md (also printed in
 * the terminal) and report.html (one self-contained file: inline SVG charts,
 * inline CSS, no script, no network).
 */
import { ioShare, p99PerChip, percentileCurves, renderSvg, rollingR, scatterWithLines } from './charts.ts';
import type { LoadLatencyReport } from './load-latency.ts';
import { KNEE_MIN_REQUESTS, SENSITIVE_MIN_REQUESTS } from './report-queries.ts';
import { LOAD_METRICS as CORRELATED_METRICS } from '../../pipelines/rolling-correlation.ts';
import type { LoadMetric } from '../../schemas/types.ts';
import { printable } from '../names.ts';

const num = (x: number | null | undefined, digits = 1): string => (x === null || x === undefined ? '–' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
/**
 * A slope, ms per unit of load, to 3 significant digits below 10 (two decimals from 1, as 1.46; 0.0146 below), one
 * decimal from 10 up (a trial: 0.0146 ms per request/s read 0.0, and 1.46 read 1.5).
 */
const slopeText = (x: number | null | undefined): string => {
  if (x === null || x === undefined || x === 0) return num(x);
  const r3 = Math.abs(Number(x.toPrecision(3)));
  if (r3 >= 10) return num(x);
  // By the rounded value: 0.9996 is 1.00, not "1" (a re-test).
  return r3 >= 1 ? num(x, 2) : Number(x.toPrecision(3)).toString();
};
/** A Pearson r with 3 decimals; one that rounds to zero reads 0.000, not −0.000 (a trial: r = −0.00013). */
const rText = (r: number): string => (Math.abs(r) < 0.0005 ? '0.000' : r.toFixed(3));
/** A load value: whole from 10 up, else 3 significant digits; `extra` more digits either way. */
const loadText = (x: number, extra = 0): string => (Math.abs(x) >= 10 ? x.toFixed(extra) : Number(x.toPrecision(3 + extra)).toString());

/**
 * The formatter of a list of load values (bucket edges, a table's ranges): `loadText` with as few extra digits as
 * keep different values apart (edges 0.1231 and 0.1234 both read 0.123 at the default digits).
 * @param values  Every value the formatter will print.
 */
export function loadFormat(values: readonly number[]): (x: number) => string {
  const distinct = [...new Set(values.filter(Number.isFinite))];
  let extra = 0;
  while (extra < 14 && new Set(distinct.map((x) => loadText(x, extra))).size < distinct.length) extra++;
  return (x) => loadText(x, extra);
}

/**
 * The one formatter of every load value a report prints (decile edges, the fleet's bucket ranges, the knees' ranges):
 * with one precision, an edge reads as the range that ends at it (a trial: edge 0.161 beside the range 0.0938 – 0.1611).
 */
function reportLoadFormat(r: LoadLatencyReport): (x: number) => string {
  return loadFormat([
    ...r.edges,
    ...r.latency.filter((x) => x.chip === '*').flatMap((x) => [x.load_low, x.load_high]),
    ...r.knees.flatMap((k) => (k.load_low === null || k.load_high === null ? [] : [k.load_low, k.load_high])),
  ]);
}
const pct = (x: number | null): string => (x === null ? '–' : `${(100 * x).toFixed(1)} %`);

/** The server, model or chip a report is filtered to, in words (`server edge-04, model resnet50`), or null for the fleet. */
function filterScope(r: LoadLatencyReport): string | null {
  const parts = (['server', 'model', 'chip'] as const).filter((k) => r.options[k]).map((k) => `${k} ${r.options[k]}`);
  return parts.length > 0 ? parts.join(', ') : null;
}

/** The label of the rows of every chip together: `fleet`, or `all` where the report is filtered. */
const allLabel = (r: LoadLatencyReport): string => (filterScope(r) ? `all (${filterScope(r)})` : 'fleet');

/**
 * The i/o rows the table and the chart show: without the rows of all chips (`*`) when one chip has rows, whose they
 * repeat exactly (a trial: `--chip X` showed an "all" row equal to X's, and the chart said "for all, X").
 */
function ioShown(r: LoadLatencyReport): LoadLatencyReport['io'] {
  const chips = new Set(r.io.filter((x) => x.chip !== '*').map((x) => x.chip));
  return chips.size === 1 ? r.io.filter((x) => x.chip !== '*') : r.io;
}

/** The filter in words. */
function scope(r: LoadLatencyReport): string {
  const o = r.options;
  const parts = [
    o.sinceMs === undefined && o.untilMs === undefined ? 'all data' : `event time ${o.sinceMs === undefined ? '…' : new Date(o.sinceMs).toISOString()} to ${o.untilMs === undefined ? '…' : new Date(o.untilMs).toISOString()}`,
    ...(['server', 'model', 'chip'] as const).filter((k) => o[k]).map((k) => `${k} ${o[k]}`),
  ];
  return parts.join(', ');
}

/**
 * The knee's note where the pair misses the SLO from its lowest counted bucket: buckets below it with fewer than
 * KNEE_MIN_REQUESTS requests are named, so that the range does not read as "meets it below" (a trial).
 */
function fromLowest(r: LoadLatencyReport, k: LoadLatencyReport['knees'][number]): string {
  const below = r.latency.filter((x) => x.chip === k.chip && x.model_id === k.model_id && x.bucket < k.bucket!).length;
  return below === 0 ? ' (misses from the lowest load)' : ` (misses from the lowest bucket with ${KNEE_MIN_REQUESTS} requests or more; ${below === 1 ? 'the one below it has' : `the ${below} below it have`} fewer)`;
}

/**
 * The knee's cell where every bucket of at least KNEE_MIN_REQUESTS requests meets the SLO: said of those buckets, and
 * the smaller ones above the SLO named (a trial: "meets the SLO at every observed load" beside a bucket of 27 requests
 * at 38.1 ms against 37).
 */
function meetsText(r: LoadLatencyReport, k: LoadLatencyReport['knees'][number]): string {
  const thin = r.latency.filter((x) => x.chip === k.chip && x.model_id === k.model_id && x.n < KNEE_MIN_REQUESTS);
  const over = thin.filter((x) => x.p99_ms > k.slo_p99_ms);
  const base = thin.length === 0 ? 'meets the SLO at every observed load' : `meets the SLO in every bucket of ${KNEE_MIN_REQUESTS} requests or more`;
  return over.length === 0 ? base : `${base}; ${over.length === 1 ? `bucket ${over[0]!.bucket}` : `buckets ${over.map((x) => x.bucket).join(', ')}`}, with fewer, ${over.length === 1 ? 'is' : 'are'} above it`;
}

/**
 * Text from the data (an id) made safe for a Markdown table cell and a terminal: a backslash, `|`, `[` and `]` escaped
 * (a `|` split the cell; a trial's server id `![x](http://…)` was an image that called out, a model id a link), `&`,
 * `<` and `>` as entities (raw HTML in Markdown), control characters (a newline split the row) and
 * bidirectional marks as `\u` escapes (names.ts `printable`). Ingestion takes any non-empty id: a trial's chip `<script>…` and model `mod|el` broke the tables.
 */
export function mdCell(text: string): string {
  return printable(text.replace(/[\\|[\]]/g, (c) => `\\${c}`).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;'));
}

/** Markdown tables: a header row and rows of cells (each {@link mdCell}). */
function mdTable(head: string[], rows: string[][]): string[] {
  const line = (cells: string[]) => `| ${cells.map(mdCell).join(' | ')} |`;
  return [line(head), `|${head.map(() => '---').join('|')}|`, ...rows.map(line)];
}

/** The sections of the report as (title, header, rows) tables, shared by markdown and HTML. */
function sections(r: LoadLatencyReport): { title: string; note?: string; head: string[]; rows: string[][] }[] {
  const m = r.options.metric;
  const fleet = r.latency.filter((x) => x.chip === '*');
  const load = reportLoadFormat(r);
  const out: { title: string; note?: string; head: string[]; rows: string[][] }[] = [{
    // Filtered to a server, model or chip, the table is not the fleet's (a trial: "Fleet" above one server's rows).
    title: filterScope(r) ? `Latency by load (${filterScope(r)})` : 'Fleet latency by load',
    note: 'Percentiles from the rows of each bucket, never averaged across servers or chips.',
    head: ['bucket', `${m} range`, 'requests', 'p50 ms', 'p90 ms', 'p99 ms'],
    rows: fleet.map((x) => [String(x.bucket), `${load(x.load_low)} – ${load(x.load_high)}`, x.n.toLocaleString('en-US'), num(x.p50_ms), num(x.p90_ms), num(x.p99_ms)]),
  }];
  if (r.options.sloP99Ms !== undefined) {
    out.push({
      title: `SLO knee (p99 ≤ ${r.options.sloP99Ms} ms)`,
      note: `The lowest load bucket whose p99 exceeds the SLO, per chip and model (buckets of at least ${KNEE_MIN_REQUESTS} requests count).`,
      head: ['chip', 'model', `knee: ${m} range`, 'p99 there, ms', 'requests'],
      rows: r.knees.map((k) => [
        k.chip, k.model_id,
        k.status === 'meets' ? meetsText(r, k)
          : k.status === 'too_few_requests' ? `no bucket with ${KNEE_MIN_REQUESTS} requests`
            : `${load(k.load_low!)} – ${load(k.load_high!)}${k.status === 'misses_from_lowest' ? fromLowest(r, k) : ''}`,
        num(k.p99_ms), k.n === null ? '–' : k.n.toLocaleString('en-US'),
      ]),
    });
  }
  const io = ioShown(r);
  const chips = [...new Set(io.map((x) => x.chip))];
  out.push({
    title: 'i/o wait versus compute',
    note: 'Share of i/o wait in the summed service time (i/o + compute; queue wait left out) of the lowest and the highest load bucket; the rest of the service time is compute.',
    head: ['chip', 'lowest load', 'highest load'],
    rows: chips.map((c) => {
      const rows = io.filter((x) => x.chip === c).sort((a, b) => a.bucket - b.bucket);
      return [c === '*' ? allLabel(r) : c, pct(rows[0]?.io_share ?? null), pct(rows.at(-1)?.io_share ?? null)];
    }),
  });
  out.push({
    title: 'Most load-sensitive servers',
    note: `Pearson r of ${m} and total latency over the rows of each (server, model); slope by least squares.`
      + (r.requests > 0 && r.sensitive.length === 0 ? ` None here: no (server, model) has ${SENSITIVE_MIN_REQUESTS} requests in the range with a varying ${m} and latency.` : ''),
    head: ['server', 'model', 'chip', 'r', `ms per unit of ${m}`, 'requests'],
    rows: r.sensitive.map((s) => [s.edge_server_id, s.model_id, s.chip, rText(s.pearson_r), slopeText(s.slope_ms_per_unit), s.n.toLocaleString('en-US')]),
  });
  return out;
}

/**
 * Said where decile edges repeat (a trial: queue_depth, 0 for 91 % of the requests, gave "edges 0" and two buckets
 * without a word why).
 */
const MERGED_DECILES = '; deciles that fall on one value are one edge, so fewer than 10 buckets: --bucket-width gives fixed bins';

/** The header lines of the summary. */
function header(r: LoadLatencyReport): string[] {
  const m = r.options.metric;
  return [
    `Data: ${r.requests.toLocaleString('en-US')} ${r.requests === 1 ? 'request' : 'requests'} with a load sample (${scope(r)}).`,
    r.options.bucketWidth !== undefined
      ? `Load buckets: fixed bins of ${m} of width ${r.options.bucketWidth}.`
      : r.edges.length === 0
        ? `Load buckets: deciles of ${m} (none: no request to cut).`
        : `Load buckets: deciles of ${m} (nearest rank; edges ${r.edges.map(reportLoadFormat(r)).join(', ')}${r.edges.length < 9 ? MERGED_DECILES : ''}).`,
    'Percentiles are exact, nearest rank: the value at rank ⌈p·N⌉ of the sorted latencies of the bucket.',
    // Said, as the demo's chip table says its percentiles are of status ok (a trial: a bucket's p99 5,073 ms with its
    // timeouts, 2,478 ms without, and no word of which).
    // Of no request, nothing to say (a trial: "0 of the 0 failed … and are in the percentiles").
    ...(r.requests > 0 ? [`Every request counts, whatever its status: ${r.failed.toLocaleString('en-US')} of the ${r.requests.toLocaleString('en-US')} failed (timeout or error) and are in the percentiles at the latency they took (a timeout: the time until it timed out); report.csv gives each bucket's \`failed\`.`] : []),
    ...(r.requests > 0 && r.correlation.length === 0 ? [CORRELATED_METRICS.includes(m as LoadMetric)
      ? `No rolling correlation of ${m}: no correlation window of these requests ends in the range (the rolling r takes the windows whose end is after --since and at or before --until).`
      : `No rolling correlation of ${m}: the correlation processor correlates ${CORRELATED_METRICS.join(', ')}.`] : []),
  ];
}

/**
 * summary.md: the report's tables in Markdown (also what the terminal shows).
 * @param r  A built report.
 */
export function reportSummary(r: LoadLatencyReport): string {
  const lines = [`# Load versus latency: ${r.options.metric}`, '', ...header(r).map((h) => `- ${mdCell(h)}`)];
  for (const s of sections(r)) lines.push('', `## ${mdCell(s.title)}`, '', ...(s.note ? [s.note, ''] : []), ...mdTable(s.head, s.rows));
  return `${lines.join('\n')}\n`;
}

const esc = (s: string): string => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/**
 * Text of the report's own (not an id) as HTML: escaped, its Markdown code spans as `<code>` (a trial: the page showed
 * the backticks of "report.csv gives each bucket's `failed`").
 */
export function htmlText(s: string): string {
  return esc(s).replace(/`([^`]+)`/g, '<code>$1</code>');
}

/** A table cell that reads as a number (digits, a range or a percentage; '–' for none): right-aligned. */
const numeric = (c: string): boolean => /^[-–\d.,\s%]+$/.test(c);

/**
 * One HTML table: a caption (the note), column headers with `scope="col"`, and one alignment per column: left for a
 * column with any text cell, right for numbers (a trial: text cells under right-aligned headers, and a column of
 * ranges and sentences aligned both ways). An empty table says so in a row.
 */
function htmlTable(s: { note?: string; head: string[]; rows: string[][] }): string {
  const text = s.head.map((_, j) => j === 0 || s.rows.some((row) => !numeric(row[j] ?? '')));
  const cls = (j: number) => (text[j] ? ' class="text"' : '');
  return [
    `<table>${s.note ? `<caption>${htmlText(s.note)}</caption>` : ''}<thead><tr>${s.head.map((h, j) => `<th scope="col"${cls(j)}>${esc(h)}</th>`).join('')}</tr></thead><tbody>`,
    ...(s.rows.length === 0 ? [`<tr><td colspan="${s.head.length}" class="text">no rows</td></tr>`] : s.rows.map((row) => `<tr>${row.map((c, j) => `<td${cls(j)}>${esc(c)}</td>`).join('')}</tr>`)),
    '</tbody></table>',
  ].join('\n');
}

/**
 * report.html with a paragraph under its heading that says why the report is empty (the command's reason).
 * @param html  A page of {@link reportHtml}.
 * @param why   The reason, Markdown code spans allowed.
 */
export function withEmptyNote(html: string, why: string): string {
  return html.replace(/(<h1>[^<]*<\/h1>\n)/, `$1<p class="empty"><strong>Empty:</strong> ${htmlText(why)}.</p>\n`);
}

/**
 * report.html: the summary's tables and up to five charts (those with data; a note when none has), in one file with no external reference.
 * @param r        A built report.
 * @param _summary The summary text (kept for symmetry with the files written).
 */
export async function reportHtml(r: LoadLatencyReport, _summary?: string): Promise<string> {
  const m = r.options.metric;
  const fleet = r.latency.filter((x) => x.chip === '*');
  // Each chip one colour and shape in every chart (charts.ts chipScales), from the chips of all of them.
  const chips = [...r.scatter.map((p) => p.chip), ...r.lines.map((l) => l.chip), ...r.io.filter((x) => x.chip !== '*').map((x) => x.chip)];
  // A chart of no data has no scale (Vega labels its axis "values from Infinity to NaN"): drawn only with data.
  const specs = [
    fleet.length > 0 && percentileCurves(fleet, m, r.options.sloP99Ms, filterScope(r), { load: reportLoadFormat(r), ms: (x) => num(x) }),
    r.latency.length > 0 && p99PerChip(r.latency, m, r.options.sloP99Ms, KNEE_MIN_REQUESTS),
    r.scatter.length > 0 && scatterWithLines(r.scatter, r.lines, m, chips),
    r.correlation.length > 0 && rollingR(r.correlation, m),
    r.io.length > 0 && ioShare(ioShown(r), m, allLabel(r), chips),
  ].filter((spec) => spec !== false);
  const charts = await Promise.all(specs.map((spec) => renderSvg(spec)));
  const tables = sections(r).map((s) => `<h2>${esc(s.title)}</h2>\n${htmlTable(s)}`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edgelat: load versus latency (${esc(m)})</title>
<style>
body{font-family:sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f4f4f4}.text{text-align:left;overflow-wrap:anywhere}
caption{caption-side:top;text-align:left;color:#555;font-size:.95em;padding:.3em 0}
.note{color:#555;font-size:.9em}.chart{margin:1em 0}.chart svg{max-width:100%;height:auto}
.empty{border-left:4px solid #333;padding:.4em .8em;background:#f4f4f4}
</style></head><body>
<h1>Load versus latency: ${esc(m)}</h1>
<ul>${header(r).map((h) => `<li>${htmlText(h)}</li>`).join('')}</ul>
<h2>Charts</h2>
${charts.length > 0 ? charts.map((svg) => `<figure class="chart">${svg}</figure>`).join('\n') : '<p class="note">No chart: no request matches the filters.</p>'}
${tables.join('\n')}
</body></html>
`;
}
