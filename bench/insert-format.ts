/**
 * Benchmark: rows/s of enriched rows inserted through @clickhouse/client into
 * the `edgelat serve` endpoint (HTTP, chdb behind it) in each input format the
 * client and the endpoint can both carry, in one run:
 *  - JSONEachRow, the reference (ClickHouseWarehouse with insertFormat 'JSONEachRow');
 *  - JSONCompactEachRow (ClickHouseWarehouse with insertFormat 'JSONCompactEachRow');
 *  - TabSeparated, encoded here and sent as a byte stream through the same client options.
 * RowBinary is not a candidate: the client's `insert` refuses it (not one of its
 * formats) and the endpoint's engine (chdb raw insert) takes text formats only.
 *
 * Each format writes its own database; blocks of 4096 rows are interleaved
 * (block k goes to every format before block k+1, the order rotating), so a
 * noisy neighbour slows every format alike. The first block of each format is
 * a warm-up, not timed. After the run, every format's table must equal the
 * JSONEachRow one (count() and sum(cityHash64(*))), and a probe table of edge
 * values (UInt64 above 2^53, DateTime64(3), escapes, NULL) must read back exactly.
 * Prints rows/s, per-block p50/p90/p99 and the ratio to JSONEachRow, and writes
 * bench/results/<date>-<host>-insert.json. Exits 1 when a check fails.
 *
 * Usage: npm run bench:insert [-- --minutes 20 --seed 42]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname, platform, release } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createClient, ClickHouseLogLevel } from '@clickhouse/client';
import { enrich } from '../pipelines/join-load-latency.ts';
import { TOPICS } from '../pipelines/topics.ts';
import { SINK_ROUTES } from '../pipelines/warehouse-sink.ts';
import type { InferenceEvent, LoadSample } from '../schemas/types.ts';
import { normalizeSimConfig, simulateFleet } from '../services/simulator/index.ts';
import { ClickHouseWarehouse, type InsertFormat } from '../services/warehouse/clickhouse.ts';
import { rowsToJsonCompact, rowToJson } from '../services/warehouse/json.ts';
import { startSqlEndpointProcess } from '../test/helpers/sql-endpoint.ts';
import { benchArgs, numberArg, usageExit } from './args.ts';

const BLOCK_ROWS = 4096;
const USAGE = 'npm run bench:insert [-- --minutes 20 --seed 42]   (minutes of simulated fleet: at least 2, for one timed block of each format)';
const values = benchArgs(USAGE, { minutes: { type: 'string', default: '20' }, seed: { type: 'string', default: '42' } });
numberArg(USAGE, 'minutes', values.minutes, 0.001, 24 * 60);
numberArg(USAGE, 'seed', values.seed, 0, Number.MAX_SAFE_INTEGER, true);

// Realistic rows: every inference event joined to its server's latest load sample at or before its ts.
const sim = simulateFleet(normalizeSimConfig({ seed: Number(values.seed), durationMs: Number(values.minutes) * 60_000 }));
const loads = new Map<string, LoadSample[]>();
for (const a of sim.arrivals) {
  if (a.topic !== TOPICS.load) continue;
  const s = a.value as LoadSample;
  if (!loads.has(s.edge_server_id)) loads.set(s.edge_server_id, []);
  loads.get(s.edge_server_id)!.push(s);
}
for (const samples of loads.values()) samples.sort((a, b) => a.ts - b.ts);
const asOf = (e: InferenceEvent): LoadSample | null => {
  const samples = loads.get(e.edge_server_id) ?? [];
  let lo = 0;
  let hi = samples.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (samples[mid]!.ts <= e.ts) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 ? samples[lo - 1]! : null;
};
const route = SINK_ROUTES[TOPICS.enriched]!;
const rows = sim.arrivals.filter((a) => a.topic === TOPICS.inference).map((a, i) => route.toRow(enrich(a.value as InferenceEvent, asOf(a.value as InferenceEvent)), 0, i));
const blocks: Record<string, unknown>[][] = [];
for (let i = 0; i < rows.length; i += BLOCK_ROWS) blocks.push(rows.slice(i, i + BLOCK_ROWS));
// The first block of each format is untimed: with fewer than two, nothing would be timed (a trial: NaN rows/s, exit 0,
// and today's results file overwritten with nulls).
if (blocks.length < 2) usageExit(USAGE, `--minutes ${values.minutes}: ${rows.length} rows make ${blocks.length} block(s) of ${BLOCK_ROWS}; at least 2 are needed (the first of each format is untimed): give more minutes`);

/** TabSeparated text of a block (TSV escaping of \\, tab, LF, CR; \N for null). */
const ESCAPED = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
function toTabSeparated(block: readonly Record<string, unknown>[], columns: readonly string[]): Buffer {
  const lines: string[] = new Array(block.length);
  const fields: string[] = new Array(columns.length);
  for (let r = 0; r < block.length; r++) {
    for (let c = 0; c < columns.length; c++) {
      const v = block[r]![columns[c]!];
      if (v === null || v === undefined) fields[c] = '\\N';
      else if (typeof v === 'string') fields[c] = v.replace(ESCAPED, (ch) => ESCAPES[ch]!);
      else if (typeof v === 'number' && !Number.isFinite(v)) throw new RangeError(`${columns[c]!}: ${String(v)} cannot be stored`);
      else fields[c] = String(v);
    }
    lines[r] = fields.join('\t');
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

type Insert = (table: string, block: readonly Record<string, unknown>[], dedupToken: string) => Promise<void>;
interface Candidate {
  name: string;
  warehouse: ClickHouseWarehouse;
  insert: Insert;
  /** Request body bytes of the whole data set in this format (measured outside the timing). */
  bytes: number;
  blockMs: number[];
}

const endpoint = await startSqlEndpointProcess();
const client = createClient({
  url: endpoint.url,
  log: { level: ClickHouseLogLevel.OFF },
  keep_alive: { enabled: true, idle_socket_ttl: 2_500 },
  compression: { request: false, response: false },
});
const open = (name: string, insertFormat: InsertFormat) => new ClickHouseWarehouse({ url: endpoint.url, database: `bench_insert_${name.toLowerCase()}`, insertFormat });
const viaWarehouse = (w: ClickHouseWarehouse): Insert => (table, block, dedupToken) => w.insert(table, block, { dedupToken });
const tsvInsert: Insert = async (table, block, dedupToken) => {
  const columns = Object.keys(block[0]!);
  // The settings ClickHouseWarehouse.insert sends.
  const settings: Record<string, string | number> = { deduplicate_blocks_in_dependent_materialized_views: 1, max_partitions_per_insert_block: 0, insert_deduplication_token: dedupToken };
  await client.insert({
    table,
    values: Readable.from([toTabSeparated(block, columns)], { objectMode: false }),
    format: 'TabSeparated',
    columns: columns.map((c) => `\`${c}\``) as [string, ...string[]],
    clickhouse_settings: settings,
  });
};
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const columnsOf = Object.keys(rows[0]!);
const wJson = open('JSONEachRow', 'JSONEachRow');
const wCompact = open('JSONCompactEachRow', 'JSONCompactEachRow');
const wTsv = open('TabSeparated', 'JSONEachRow'); // queries and migrations only; inserts go through tsvInsert
const candidates: Candidate[] = [
  { name: 'JSONEachRow', warehouse: wJson, insert: viaWarehouse(wJson), bytes: sum(blocks.map((b) => sum(b.map((r) => rowToJson(r).length + 1)))), blockMs: [] },
  { name: 'JSONCompactEachRow', warehouse: wCompact, insert: viaWarehouse(wCompact), bytes: sum(blocks.map((b) => sum(rowsToJsonCompact(b)!.lines.map((l) => l.length + 1)))), blockMs: [] },
  { name: 'TabSeparated', warehouse: wTsv, insert: tsvInsert, bytes: sum(blocks.map((b) => toTabSeparated(b, columnsOf).length)), blockMs: [] },
];

const failures: string[] = [];
const checks: Record<string, { rows: number; hash: string }> = {};
try {
  for (const c of candidates) await c.warehouse.migrate();
  for (let k = 0; k < blocks.length; k++) {
    for (let j = 0; j < candidates.length; j++) {
      const c = candidates[(k + j) % candidates.length]!;
      const t = performance.now();
      await c.insert(`${c.warehouse.database}.inference_enriched`, blocks[k]!, `bench:${k}`);
      if (k > 0) c.blockMs.push(performance.now() - t);
    }
  }

  // Same rows in each format must give the same table.
  for (const c of candidates) {
    const [h] = await c.warehouse.query<{ n: number; h: bigint | number }>(`SELECT count() AS n, sum(cityHash64(*)) AS h FROM ${c.warehouse.database}.inference_enriched`);
    checks[c.name] = { rows: h!.n, hash: String(h!.h) };
  }
  const ref = checks.JSONEachRow!;
  if (ref.rows !== rows.length) failures.push(`JSONEachRow: ${ref.rows} rows in the table, ${rows.length} sent`);
  for (const [name, got] of Object.entries(checks)) if (got.rows !== ref.rows || got.hash !== ref.hash) failures.push(`${name}: count ${got.rows} hash ${got.hash}, JSONEachRow: count ${ref.rows} hash ${ref.hash}`);

  // Edge values must read back exactly in every format.
  const probe = [
    { id: 1, u: 18446744073709551615n, t: '2024-06-01 10:00:00.123', s: 'tab\there, lf\nhere, cr\rhere, back\\slash, "quoted" \'single\' é 🚀', n: null, f: 0.1 + 0.2, b: true },
    { id: 2, u: 9007199254740993n, t: '1970-01-01 00:00:00.001', s: '\\N', n: -1.5e-300, f: 1.7976931348623157e308, b: false },
    { id: 3, u: 0n, t: '2105-12-31 23:59:59.999', s: '', n: 5e-324, f: -0, b: true },
  ];
  for (const c of candidates) {
    const table = `${c.warehouse.database}.probe`;
    await c.warehouse.exec(`CREATE TABLE ${table} (id UInt32, u UInt64, t DateTime64(3, 'UTC'), s String, n Nullable(Float64), f Float64, b Bool) ENGINE = MergeTree ORDER BY id`);
    await c.insert(table, probe, 'probe');
    const back = await c.warehouse.query<Record<string, unknown>>(`SELECT id, u, t, s, n, f, b FROM ${table} ORDER BY id`);
    const want = probe.map((p) => ({ ...p, u: p.u > BigInt(Number.MAX_SAFE_INTEGER) ? p.u : Number(p.u), f: Object.is(p.f, -0) ? 0 : p.f }));
    const same = (a: unknown, b: unknown) => JSON.stringify(a, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) === JSON.stringify(b, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
    if (!same(back, want)) failures.push(`${c.name}: probe rows differ: ${JSON.stringify(back, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`);
  }
} finally {
  for (const c of candidates) {
    await c.warehouse.exec(`DROP DATABASE IF EXISTS ${c.warehouse.database}`).catch(() => undefined);
    await c.warehouse.close();
  }
  await client.close();
  await endpoint.stop();
}

const timedRows = rows.length - blocks[0]!.length;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const figures = candidates.map((c) => ({
  format: c.name,
  rowsPerSecond: Math.round(timedRows / (sum(c.blockMs) / 1000)),
  blockMsP50: Math.round(pct(c.blockMs, 50)),
  blockMsP90: Math.round(pct(c.blockMs, 90)),
  blockMsP99: Math.round(pct(c.blockMs, 99)),
  bytesPerRow: Math.round(c.bytes / rows.length),
}));
const reference = figures[0]!.rowsPerSecond;
const result = {
  date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, os: `${platform()} ${release()}`,
  minutes: Number(values.minutes), seed: Number(values.seed), rows: rows.length, blockRows: BLOCK_ROWS, timedBlocks: blocks.length - 1, figures, checks, failures,
};
const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, `${result.date.slice(0, 10)}-${hostname()}-insert.json`), `${JSON.stringify(result, null, 2)}\n`);

const f = (n: number) => n.toLocaleString('en-US');
const lines = [
  `inserts through @clickhouse/client into edgelat serve (chdb), ${f(rows.length)} enriched rows, ${blocks.length} blocks of ${BLOCK_ROWS} (first block of each format untimed, formats interleaved):`,
  ...figures.map((x) =>
    `  ${x.format.padEnd(19)} ${f(x.rowsPerSecond).padStart(7)} rows/s  block p50/p90/p99 ${x.blockMsP50}/${x.blockMsP90}/${x.blockMsP99} ms  ${x.bytesPerRow} B/row  ${(x.rowsPerSecond / reference).toFixed(2)}× JSONEachRow`),
  failures.length === 0
    ? `  same table from every format: count ${f(checks.JSONEachRow!.rows)}, sum(cityHash64(*)) ${checks.JSONEachRow!.hash}; edge-value probe (UInt64 > 2^53, DateTime64(3), escapes, NULL) exact`
    : `  CHECK FAILED:\n    ${failures.join('\n    ')}`,
];
process.stdout.write(`${lines.join('\n')}\n`);
if (failures.length > 0) process.exitCode = 1;
