/**
 * Benchmark: input records/s through decode → join → correlation → sink on the
 * embedded default (in-process log + chdb), and, in the same run, the time
 * chdb needs to compute the same window correlations as one SQL query over
 * the same enriched rows; prints both and their ratio, and writes
 * bench/results/<date>-<host>.json. Also the time the simulator takes to make the fleet's records (its target: under
 * 2 s for the default 12 servers × 20 min).
 *
 * Usage: npm run bench [-- --minutes 20 --servers 12 --seed 42]
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, hostname, platform, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../services/config.ts';
import { MemoryEventLog } from '../services/eventlog/memory.ts';
import { runBoundedPipeline } from '../services/pipeline/embedded.ts';
import { produceSimulation } from '../services/pipeline/demo.ts';
import { normalizeSimConfig, simulateFleet } from '../services/simulator/index.ts';
import { ChdbWarehouse } from '../services/warehouse/chdb.ts';
import { LATENCY_METRICS, LOAD_METRICS } from '../pipelines/rolling-correlation.ts';
import { benchArgs, numberArg } from './args.ts';

const USAGE = 'npm run bench [-- --minutes 20 --servers 12 --seed 42]   (minutes of simulated fleet 0.1..1440, servers 1..1000)';
const values = benchArgs(USAGE, { minutes: { type: 'string', default: '20' }, servers: { type: 'string', default: '12' }, seed: { type: 'string', default: '42' } });
numberArg(USAGE, 'minutes', values.minutes, 0.1, 24 * 60);
numberArg(USAGE, 'servers', values.servers, 1, 1000, true);
numberArg(USAGE, 'seed', values.seed, 0, Number.MAX_SAFE_INTEGER, true);
const config = loadConfig({});
simulateFleet(normalizeSimConfig({ seed: 1, servers: 2, durationMs: 60_000 })); // warm the data cache and the JIT
const simT0 = performance.now();
const sim = simulateFleet(normalizeSimConfig({ seed: Number(values.seed), servers: Number(values.servers), durationMs: Number(values.minutes) * 60_000 }));
const simulateS = (performance.now() - simT0) / 1000;
const log = new MemoryEventLog({ defaultPartitions: config.partitions, now: () => 0 });
await produceSimulation(log, sim, 0);
const dataDir = mkdtempSync(join(tmpdir(), 'edgelat-bench-'));
const warehouse = new ChdbWarehouse({ dataDir, database: 'bench' });
await warehouse.migrate();

const inputRecords = sim.arrivals.length;
const t0 = performance.now();
const counts = await runBoundedPipeline({ log, warehouse, config });
const pipelineS = (performance.now() - t0) / 1000;
const windows = Object.values(counts.correlation).length ? (await warehouse.query<{ c: number }>('SELECT count() AS c FROM bench.load_latency_correlations'))[0]!.c : 0;

// The same windows as one SQL query: every row enters size/slide windows, 15 metric pairs each.
const pairs = LOAD_METRICS.flatMap((x) => LATENCY_METRICS.map((y) => `('${x}', '${y}', toNullable(toFloat64(${x})), toNullable(${y}))`)).join(', ');
const sql = `SELECT edge_server_id, model_id, end, p.1 AS x, p.2 AS y,
       countIf(p.3 IS NOT NULL AND p.4 IS NOT NULL) AS n,
       corrStableIf(assumeNotNull(p.3), assumeNotNull(p.4), p.3 IS NOT NULL AND p.4 IS NOT NULL) AS r
FROM bench.inference_enriched
ARRAY JOIN arrayMap(k -> toStartOfInterval(ts, INTERVAL {slide:UInt32} MILLISECOND) + toIntervalMillisecond({slide:UInt32} * (k + 1)), range({panes:UInt32})) AS end
ARRAY JOIN [${pairs}] AS p
GROUP BY edge_server_id, model_id, end, x, y
FORMAT Null`;
const params = { slide: config.windowSlideMs, panes: config.windowSizeMs / config.windowSlideMs };
await warehouse.exec(sql.replace('FORMAT Null', 'LIMIT 1 FORMAT Null'), params); // warm-up
const runs: number[] = [];
for (let i = 0; i < 3; i++) {
  const t = performance.now();
  await warehouse.exec(sql, params);
  runs.push((performance.now() - t) / 1000);
}
const sqlS = runs.sort((a, b) => a - b)[1]!;
const enriched = (await warehouse.query<{ c: number }>('SELECT count() AS c FROM bench.inference_enriched'))[0]!.c;
await warehouse.close();
rmSync(dataDir, { recursive: true, force: true });

const result = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  os: `${platform()} ${release()}`,
  scenario: { minutes: Number(values.minutes), servers: Number(values.servers), seed: Number(values.seed), partitions: config.partitions, windowSizeMs: config.windowSizeMs, windowSlideMs: config.windowSlideMs },
  inputRecords,
  enrichedRows: enriched,
  windows,
  simulateSeconds: Number(simulateS.toFixed(3)),
  pipelineSeconds: Number(pipelineS.toFixed(3)),
  recordsPerSecond: Math.round(inputRecords / pipelineS),
  chdbWindowSqlSeconds: Number(sqlS.toFixed(3)),
  ratioPipelineToSql: Number((pipelineS / sqlS).toFixed(1)),
};
const out = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, `${result.date.slice(0, 10)}-${hostname()}.json`), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(
  [
    `simulator (request by request, ${Number(values.servers)} servers × ${Number(values.minutes)} min): ${inputRecords.toLocaleString('en-US')} records in ${simulateS.toFixed(2)} s (target < 2 s at the default 12 × 20; ${(simulateS / pipelineS).toFixed(2)}× the pipeline's time below)`,
    `pipeline (decode → join → correlation → sink, embedded): ${inputRecords.toLocaleString('en-US')} records in ${pipelineS.toFixed(2)} s = ${result.recordsPerSecond.toLocaleString('en-US')} records/s (load samples and inference events)`,
    `  enriched rows ${enriched.toLocaleString('en-US')}, correlation windows ${windows.toLocaleString('en-US')}`,
    `chdb, the same window correlations as one SQL query over the same rows: ${sqlS.toFixed(3)} s (median of 3)`,
    `ratio pipeline / SQL: ${result.ratioPipelineToSql}× (the pipeline also decodes, joins, encodes and writes every row; the query only aggregates)`,
  ].join('\n') + '\n',
);
