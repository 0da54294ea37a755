/**
 * The report queries (sql/reports/) on the embedded warehouse: case C18
 * (fleet percentiles come from the rows, never from averaging per-server
 * percentiles), fixed bins, filters, and bad filters.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SINK_ROUTES } from '../../pipelines/warehouse-sink.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import { leastBucketWidth, ReportQueries } from '../../services/reports/report-queries.ts';
import { prepareOutDir, sloKnees, writeLoadLatencyReport } from '../../services/reports/load-latency.ts';
import { scatterWithLines } from '../../services/reports/charts.ts';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { at, makeEnriched, makeLoad } from '../helpers/factories.ts';
import { add, div, exactPearson, fromDouble, mul, rat, sub, toNumber } from '../helpers/rational.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

const t0 = at('2024-06-01T10:00:00.000Z');

describe('report queries, case C18', () => {
  let w: ChdbWarehouse;
  beforeAll(async () => {
    w = await createTestDatabase('c18');
    // C18.csv: server_id, latency_ms, request_count. Each request gets its own ts (1 s apart per server)
    // and a cpu load: edge-a's slow requests run at high load (0.9), everything else at 0.2.
    const lines = readFileSync(new URL('../fixtures/cases/C18.csv', import.meta.url), 'utf8').trim().split('\n').slice(1);
    const rows: Record<string, unknown>[] = [];
    const next = new Map<string, number>();
    for (const line of lines) {
      const [server, latency, count] = line.split(',');
      for (let i = 0; i < Number(count); i++) {
        const k = next.get(server!) ?? 0;
        next.set(server!, k + 1);
        const ts = t0 + k * 1000;
        const cpu = Number(latency) === 950 ? 0.9 : 0.2;
        const e = makeEnriched({ edge_server_id: server!, model_id: 'resnet50', chip: server === 'edge-a' ? 'chip-a' : 'chip-b', ts, total_ms: Number(latency), io_ms: Number(latency) / 4, compute_ms: (3 * Number(latency)) / 4, event_id: `${server}-${k}` },
          makeLoad({ edge_server_id: server!, ts, cpu_util: cpu }));
        rows.push(SINK_ROUTES[TOPICS.enriched]!.toRow(e, 0, 0));
      }
    }
    await w.insert(`${w.database}.inference_enriched`, rows);
  });
  afterAll(async () => w?.close());

  it('fleet p99 = 950 ms and p50 = 15 ms from the rows (not the mean of per-server p99s, 482.5); per-server p99 950 and 15', async () => {
    // One bucket holding everything: fixed bins wider than the load range.
    const fleet = (await new ReportQueries(w, { metric: 'cpu_util', bucketWidth: 10 }).latencyByLoad()).filter((r) => r.chip === '*');
    expect(fleet).toHaveLength(1);
    expect(fleet[0]).toMatchObject({ n: 400, p50_ms: 15, p99_ms: 950, load_low: 0.2, load_high: 0.9 });
    expect(fleet[0]!.p90_ms).toBe(15); // rank 360 of 400: 90 × 12 + 300 × 15 cover ranks 1..390
    expect(fleet[0]!.mean_ms).toBeCloseTo(37.7, 9); // (90·12 + 10·950 + 300·15) / 400
    expect(fleet[0]!.p99_ms).not.toBe(482.5);
    const a = await new ReportQueries(w, { metric: 'cpu_util', bucketWidth: 10, server: 'edge-a' }).latencyByLoad();
    const b = await new ReportQueries(w, { metric: 'cpu_util', bucketWidth: 10, server: 'edge-b' }).latencyByLoad();
    expect(a.find((r) => r.chip === '*')!.p99_ms).toBe(950);
    expect(b.find((r) => r.chip === '*')!.p99_ms).toBe(15);
    // Per (chip, model) rows come from their own rows too.
    expect(fleet.length + 2).toBe((await new ReportQueries(w, { metric: 'cpu_util', bucketWidth: 10 }).latencyByLoad()).length);
  });

  it('buckets by fixed bins and by deciles; the knee is the first bucket over the SLO', async () => {
    const bins = await new ReportQueries(w, { metric: 'cpu_util', bucketWidth: 0.1 }).latencyByLoad();
    const chipA = bins.filter((r) => r.chip === 'chip-a');
    // 0.2 → bin 2 (90 requests at 12 ms), 0.9 → bin 9 (10 at 950 ms). floor(0.2 / 0.1) = 2, floor(0.9 / 0.1) = 9 in float64.
    expect(chipA.map((r) => [r.bucket, r.n, r.p99_ms])).toEqual([[2, 90, 12], [9, 10, 950]]);
    // Buckets of fewer than 100 requests do not count for the knee: chip-a has 90 and 10, chip-b 300.
    expect(sloKnees(bins, 50)).toEqual([
      { chip: 'chip-a', model_id: 'resnet50', status: 'too_few_requests', slo_p99_ms: 50, bucket: null, load_low: null, load_high: null, p99_ms: null, n: null },
      { chip: 'chip-b', model_id: 'resnet50', status: 'meets', slo_p99_ms: 50, bucket: null, load_low: null, load_high: null, p99_ms: null, n: null },
    ]);
    expect(sloKnees(bins, 10).find((k) => k.chip === 'chip-b')).toMatchObject({ status: 'misses_from_lowest', bucket: 2, p99_ms: 15, n: 300 });
    const wide = await new ReportQueries(w, { metric: 'cpu_util', bucketWidth: 10 }).latencyByLoad();
    expect(sloKnees([...wide, { ...wide.find((r) => r.chip === 'chip-b')!, bucket: 5, p99_ms: 70, n: 120 }], 50).find((k) => k.chip === 'chip-b'))
      .toMatchObject({ status: 'knee', bucket: 5, p99_ms: 70 });
    // Deciles of 390 loads of 0.2 and 10 of 0.9: every edge is 0.2 (rank ⌈0.9·400⌉ = 360 ≤ 390), one distinct edge.
    const q = new ReportQueries(w, { metric: 'cpu_util' });
    expect(await q.bucketEdges()).toEqual([0.2]);
    const dec = (await q.latencyByLoad()).filter((r) => r.chip === '*');
    expect(dec.map((r) => [r.bucket, r.n, r.p99_ms])).toEqual([[0, 390, 15], [1, 10, 950]]);
    const io = (await q.ioComputeShare()).filter((r) => r.chip === '*');
    expect(io.map((r) => r.io_share)).toEqual([0.25, 0.25]);
  });

  it('filters by time, chip and model; bad filters name the flag and value', async () => {
    const late = await new ReportQueries(w, { metric: 'cpu_util', bucketWidth: 10, sinceMs: t0 + 100_000 }).latencyByLoad();
    expect(late.find((r) => r.chip === '*')!.n).toBe(200); // edge-b's requests 100..299
    expect(await new ReportQueries(w, { metric: 'cpu_util', bucketWidth: 10, model: 'nope' }).latencyByLoad()).toEqual([]);
    expect(() => new ReportQueries(w, { metric: 'disk_util' as never })).toThrow(/--metric: expected one of cpu_util, .* got "disk_util"/);
    expect(() => new ReportQueries(w, { metric: 'cpu_util', bucketWidth: 0 })).toThrow(/--bucket-width: expected a number > 0, got 0/);
    expect(() => new ReportQueries(w, { metric: 'cpu_util', sinceMs: t0, untilMs: t0 })).toThrow(/--since must be before --until/);
    // A width that would make more than 1,000 buckets over the loads (0.2..0.9) is refused before any bucket query.
    await expect(new ReportQueries(w, { metric: 'cpu_util', bucketWidth: 1e-9 }).latencyByLoad()).rejects.toThrow(/--bucket-width: 1e-9 gives 700,000,001 buckets over cpu_util 0.2..0.9; at most 1000 \(a width of at least 0.00071\)/);
    // The width said is taken (a trial: the suggestion had been rounded down, and was itself refused); 0.0007 makes 1,001.
    expect((await new ReportQueries(w, { metric: 'cpu_util', bucketWidth: 0.00071 }).latencyByLoad()).length).toBeGreaterThan(0);
    await expect(new ReportQueries(w, { metric: 'cpu_util', bucketWidth: 0.0007 }).latencyByLoad()).rejects.toThrow(/0.0007 gives 1,001 buckets/);
    expect([leastBucketWidth(0, 1), leastBucketWidth(0.2, 0.9), leastBucketWidth(5, 5 + 998e-9)]).toEqual([0.0011, 0.00071, 1e-9]);
    // A width past 2^53 is one bucket (chdb had refused to bind it: "Refusing to serialize unsafe integer").
    const wide = await new ReportQueries(w, { metric: 'cpu_util', bucketWidth: 1e16 }).latencyByLoad();
    expect(wide.filter((r) => r.chip === '*').map((r) => [r.model_id, r.bucket, r.load_low, r.n])).toEqual([['*', 0, 0.2, 400]]);
    // A trial's 1e-300 printed a count of some 300 digits.
    await expect(new ReportQueries(w, { metric: 'cpu_util', bucketWidth: 1e-300 }).latencyByLoad()).rejects.toThrow(/--bucket-width: 1e-300 gives about 7\.0e\+299 buckets over cpu_util 0.2..0.9; at most 1000/);
    expect((await new ReportQueries(w, { metric: 'cpu_util', bucketWidth: 0.001 }).latencyByLoad()).length).toBeGreaterThan(0);
    // The whole report with such a width fails before writing, and leaves none of the folders it made (a trial: an
    // empty --out folder stayed); a folder that was there stays.
    const base = mkdtempSync(join(tmpdir(), 'edgelat-out-'));
    await expect(writeLoadLatencyReport(w, { metric: 'cpu_util', bucketWidth: 1e-9 }, join(base, 'new', 'deeper'))).rejects.toThrow(/--bucket-width: 1e-9 gives/);
    expect([existsSync(join(base, 'new')), existsSync(base)]).toEqual([false, true]);
    // The annotation (the CLI's note on an empty report) is written in place of the built text, each file once; one that
    // fails leaves no file and none of the folders made.
    const noted = await writeLoadLatencyReport(w, { metric: 'cpu_util', model: 'nope' }, join(base, 'empty'), undefined,
      async (b) => ({ summary: `${b.summary}NOTE ${b.report.requests}\n`, html: `${b.html}<!-- NOTE -->` }));
    expect(readFileSync(join(base, 'empty', 'summary.md'), 'utf8')).toBe(`${noted.summary}`);
    expect(noted.summary.endsWith('NOTE 0\n')).toBe(true);
    expect(readFileSync(join(base, 'empty', 'report.html'), 'utf8').endsWith('<!-- NOTE -->')).toBe(true);
    expect(readdirSync(join(base, 'empty')).sort()).toEqual(['report.csv', 'report.html', 'summary.md']);
    await expect(writeLoadLatencyReport(w, { metric: 'cpu_util' }, join(base, 'failed', 'deeper'), undefined, () => Promise.reject(new Error('query failed'))))
      .rejects.toThrow('query failed');
    expect(existsSync(join(base, 'failed'))).toBe(false);
    // No row: no made-up decile edge.
    expect(await new ReportQueries(w, { metric: 'cpu_util', model: 'nope' }).bucketEdges()).toEqual([]);
  });

  it('checks --out before any query: a file, an unwritable place, an empty path', () => {
    const base = mkdtempSync(join(tmpdir(), 'edgelat-out-'));
    const file = join(base, 'a-file');
    writeFileSync(file, 'x');
    expect(() => prepareOutDir(file)).toThrow(/--out: ".*a-file" is a file, not a folder/);
    expect(() => prepareOutDir(join(file, 'sub'))).toThrow(/is a file, not a folder/);
    expect(() => prepareOutDir('')).toThrow(/--out: expected a folder/);
    expect(() => prepareOutDir('/proc/edgelat-report')).toThrow(/--out: cannot create the folder "\/proc\/edgelat-report"/);
    expect(prepareOutDir(join(base, 'x', 'y'))).toBe(join(base, 'x', 'y'));
    expect(statSync(join(base, 'x', 'y')).isDirectory()).toBe(true);
    // A folder where a report file goes is refused before anything is written.
    mkdirSync(join(base, 'x', 'y', 'report.csv'));
    expect(() => prepareOutDir(join(base, 'x', 'y'))).toThrow(/--out: ".*report\.csv" exists and is not a file: move it or pick another --out/);
  });
});

describe('report queries: r and the least-squares line of load with a large offset (the kind of case C01)', () => {
  let w: ChdbWarehouse;
  beforeAll(async () => {
    w = await createTestDatabase('offset');
  });
  afterAll(async () => w?.close());

  /** Exact slope Sxy/Sxx and intercept ȳ − slope·x̄ of the binary values, as doubles. */
  const exactLine = (xs: number[], ys: number[]) => {
    const e = exactPearson(xs, ys);
    const slope = toNumber(div(e.sxy, e.sxx));
    const mean = (v: number[]) => v.reduce((s, x) => add(s, fromDouble(x)), rat(0n));
    const n = rat(BigInt(xs.length));
    return { r: e.r!, slope, intercept: toNumber(sub(div(mean(ys), n), mul(div(e.sxy, e.sxx), div(mean(xs), n)))) };
  };

  it.each([
    // C01's window ending 10:00:06, its load a byte counter near 2^32 (here as requests_per_s): r = 0.9 exactly.
    ['C01', [200, 300, 400, 350, 250].map((d) => 4294967296 + d), [122.5, 123.0, 124.0, 123.5, 122.0]],
    // A trial: a rate near 1e9 varying by 1e-4 (r was 1.4e-5 off, the slope 5.7e-4).
    ['1e9 - u', Array.from({ length: 300 }, (_, i) => 1e9 - ((i * 7919) % 1000) * 1e-7), Array.from({ length: 300 }, (_, i) => 20 + 3e4 * ((i * 7919) % 1000) * 1e-7 + ((i * 104729) % 97) / 300)],
  ] as const)('%s: r, slope and intercept equal the exact values of the stored doubles (1e-12 relative)', async (name, xs, ys) => {
    const server = `edge-${name.replace(/\W/g, '')}`;
    const rows = xs.map((x, i) => SINK_ROUTES[TOPICS.enriched]!.toRow(makeEnriched(
      { edge_server_id: server, model_id: 'm', chip: `chip-${server}`, ts: t0 + i * 1000, total_ms: ys[i]!, event_id: `${server}-${i}` },
      makeLoad({ edge_server_id: server, ts: t0 + i * 1000, requests_per_s: x }),
    ), 0, 0));
    await w.insert(`${w.database}.inference_enriched`, rows);
    const q = new ReportQueries(w, { metric: 'requests_per_s', bucketWidth: 1e12, server });
    const exact = exactLine([...xs], [...ys]);
    const [line] = await q.leastSquares();
    const sensitive = (await q.loadSensitiveServers(10)).find((s) => s.edge_server_id === server);
    const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
    expect(rel(line!.pearson_r, exact.r)).toBeLessThan(1e-12);
    expect(rel(line!.slope_ms_per_unit, exact.slope)).toBeLessThan(1e-12);
    expect(rel(line!.intercept_ms, exact.intercept)).toBeLessThan(1e-12);
    // The drawn line goes through the means: at the lowest load its value keeps its digits (a re-test: intercept + slope·x
    // drew it 70 ms off on rates near 1e9); the exact value at x is ȳ + slope·(x − x̄).
    const x0 = Math.min(...xs);
    const drawn = (scatterWithLines([], [line!], 'requests_per_s') as unknown as { layer: { data: { values: { x: number; y: number }[] } }[] }).layer;
    const first = drawn[1]!.data.values[0]!;
    const n = rat(BigInt(xs.length));
    const sum = (v: readonly number[]) => v.reduce((s, x) => add(s, fromDouble(x)), rat(0n));
    const e = exactPearson([...xs], [...ys]);
    const atX0 = toNumber(add(div(sum(ys), n), mul(div(e.sxy, e.sxx), sub(fromDouble(x0), div(sum(xs), n)))));
    expect(first.x).toBe(x0);
    expect(Math.abs(first.y - atX0)).toBeLessThan(1e-9 * Math.max(1, Math.abs(atX0)));
    if (xs.length >= 30) {
      expect(rel(sensitive!.pearson_r, exact.r)).toBeLessThan(1e-12);
      expect(rel(sensitive!.slope_ms_per_unit, exact.slope)).toBeLessThan(1e-12);
    } else {
      expect(sensitive).toBeUndefined(); // fewer rows than SENSITIVE_MIN_REQUESTS
    }
    if (name === 'C01') expect(line!.pearson_r).toBeCloseTo(0.9, 14); // the case's closed form: 225 / √(25000 · 2.5)
  });
});

describe('report queries: fixed bins', () => {
  let bins: ChdbWarehouse;
  beforeAll(async () => {
    bins = await createTestDatabase('bins');
  });
  afterAll(async () => bins?.close());

  it.each([
    // Expected buckets by exact arithmetic (Python fractions): the largest k with float(k · Fraction(width)) ≤ x, i.e. the
    // edges are the doubles nearest the decimals k·width. A trial: rounding x / width to 9 decimals put 0.29999999996 in 3.
    ['0.1', [[0.29999999996, 2], [0.3, 3], [0.7 - 0.4, 2], [0.1 * 3, 3], [0.19999999999999998, 1], [0.2, 2], [0.7, 7], [0.9999999999, 9]]],
    ['2.5e-7', [[7.5e-7, 3], [7.499999999e-7, 2], [1e-6, 4]]],
    ['3', [[1e12 + 2, 333333333334], [1e12 + 1.9999, 333333333333], [1e12 + 5, 333333333335]]],
    // A re-test: at quotients above ~8.6e9 a load on an edge sat one ulp of the quotient below it, outside a 1e-6 window.
    ['0.1', [[10000000000.3, 100000000003], [10000000000.299998, 100000000002], [10000000000.4, 100000000004]]],
  ] as const)('fixed bins of width %s have the decimal edges k·width: a load just below an edge is in the bin below it', async (width, cases) => {
    const server = `edge-bins-${width}-${cases[0]![0]}`;
    const rows = cases.map(([x], i) => SINK_ROUTES[TOPICS.enriched]!.toRow(makeEnriched(
      { edge_server_id: server, model_id: 'm', chip: 'chip-bins', ts: t0 + i * 1000, total_ms: 10 + i, event_id: `${server}-${i}` },
      makeLoad({ edge_server_id: server, ts: t0 + i * 1000, requests_per_s: x }),
    ), 0, 0));
    await bins.insert(`${bins.database}.inference_enriched`, rows);
    const got = (await new ReportQueries(bins, { metric: 'requests_per_s', bucketWidth: Number(width), server }).latencyByLoad()).filter((r) => r.chip === 'chip-bins');
    const expected = new Map<number, number[]>();
    for (const [x, b] of cases) expected.set(b, [...(expected.get(b) ?? []), x]);
    expect(got.map((r) => [Number(r.bucket), r.load_low, r.load_high, Number(r.n)]).sort((a, b) => a[0]! - b[0]!))
      .toEqual([...expected].map(([b, xs]) => [b, Math.min(...xs), Math.max(...xs), xs.length]).sort((a, b) => a[0]! - b[0]!));
  });
});
