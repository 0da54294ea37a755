/**
 * Benchmark of the scale-out paths, in one run on one machine:
 *  1. records/s consumed, decoded and processed (as-of join) through
 *     kafkajs from librdkafka's mock cluster, next to raw kafkajs fetch of
 *     the same records without processing;
 *  2. rows/s inserted through @clickhouse/client (over HTTP, into the
 *     `edgelat serve` endpoint on chdb) next to chdb directly.
 * Needs Debian's kcat. Usage: npm run bench:kafka [-- --minutes 10]
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, hostname, platform, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { joinLoadLatency } from '../pipelines/join-load-latency.ts';
import { ProcessorRun } from '../pipelines/runtime/run-processor.ts';
import { TOPICS } from '../pipelines/topics.ts';
import { SINK_ROUTES } from '../pipelines/warehouse-sink.ts';
import { enrich } from '../pipelines/join-load-latency.ts';
import { KafkaEventLog } from '../services/eventlog/kafka.ts';
import { produceInChunks } from '../services/pipeline/produce.ts';
import { normalizeSimConfig, simulateFleet } from '../services/simulator/index.ts';
import type { InferenceEvent } from '../schemas/types.ts';
import { ChdbWarehouse } from '../services/warehouse/chdb.ts';
import { ClickHouseWarehouse } from '../services/warehouse/clickhouse.ts';
import type { Warehouse } from '../services/warehouse/types.ts';
import { startKafkaMock } from '../test/helpers/kafka-mock.ts';
import { startSqlEndpointProcess } from '../test/helpers/sql-endpoint.ts';
import { benchArgs, numberArg } from './args.ts';

const USAGE = 'npm run bench:kafka [-- --minutes 10]   (minutes of simulated fleet, 0.1..1440)';
const values = benchArgs(USAGE, { minutes: { type: 'string', default: '10' } });
numberArg(USAGE, 'minutes', values.minutes, 0.1, 24 * 60);
const sim = simulateFleet(normalizeSimConfig({ seed: 42, durationMs: Number(values.minutes) * 60_000 }));
const mock = await startKafkaMock();
const endpoint = await startSqlEndpointProcess();
const out: Record<string, number> = {};
try {
  const log = await KafkaEventLog.connect({ brokers: mock.brokers, clientId: 'edgelat-bench' });
  await produceInChunks(log, sim.arrivals);
  const records = sim.arrivals.length;

  // 1a. Raw kafkajs fetch of both topics, no decoding.
  const kafka = new kafkajs.Kafka({ brokers: mock.brokers, clientId: 'edgelat-bench-raw', logLevel: kafkajs.logLevel.NOTHING });
  const raw = kafka.consumer({ groupId: `bench-raw-${Date.now()}`, maxWaitTimeInMs: 100 });
  await raw.connect();
  await raw.subscribe({ topics: [TOPICS.inference, TOPICS.load], fromBeginning: true });
  let seen = 0;
  let rawStart = 0;
  const rawDone = new Promise<void>((resolve) => {
    void raw.run({
      eachBatch: async ({ batch }) => {
        if (rawStart === 0) rawStart = performance.now();
        seen += batch.messages.length;
        if (seen >= records) resolve();
      },
    });
  });
  await rawDone;
  const rawS = (performance.now() - rawStart) / 1000;
  await raw.disconnect();
  out.rawKafkajsRecordsPerSecond = Math.round(records / rawS);

  // 1b. The same records consumed, decoded and joined by the runtime (group join excluded from the timing).
  const run = new ProcessorRun({ log, processor: joinLoadLatency() });
  await run.start();
  const t1 = performance.now();
  while (!(await run.runBatch()));
  const procS = (performance.now() - t1) / 1000;
  await run.close();
  out.processedRecordsPerSecond = Math.round(records / procS);
  await log.close();

  // 2. Inserts of enriched rows: @clickhouse/client over HTTP vs chdb in-process.
  const rows = sim.arrivals.filter((a) => a.topic === TOPICS.inference).map((a, i) => SINK_ROUTES[TOPICS.enriched]!.toRow(enrich(a.value as InferenceEvent, null), 0, i));
  const insertRate = async (w: Warehouse): Promise<number> => {
    await w.migrate();
    const t = performance.now();
    for (let i = 0; i < rows.length; i += 4096) await w.insert(`${w.database}.inference_enriched`, rows.slice(i, i + 4096), { dedupToken: `bench:${i}` });
    return Math.round(rows.length / ((performance.now() - t) / 1000));
  };
  const http = new ClickHouseWarehouse({ url: endpoint.url, database: 'bench_http' });
  out.clickhouseClientRowsPerSecond = await insertRate(http);
  await http.close();
  const directDir = mkdtempSync(join(tmpdir(), 'edgelat-bench-chdb-'));
  const direct = new ChdbWarehouse({ dataDir: directDir, database: 'bench_direct' });
  out.chdbDirectRowsPerSecond = await insertRate(direct);
  await direct.close();
  rmSync(directDir, { recursive: true, force: true });
  out.records = records;
  out.rows = rows.length;
} finally {
  await endpoint.stop();
  await mock.stop();
}

const result = { date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, os: `${platform()} ${release()}`, minutes: Number(values.minutes), ...out };
const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, `${result.date.slice(0, 10)}-${hostname()}-kafka.json`), `${JSON.stringify(result, null, 2)}\n`);
const f = (n: number) => n.toLocaleString('en-US');
process.stdout.write(
  [
    `kafka (mock cluster), ${f(out.records!)} records:`,
    `  raw kafkajs fetch, no decoding:            ${f(out.rawKafkajsRecordsPerSecond!)} records/s`,
    `  consumed + decoded + joined by edgelat:    ${f(out.processedRecordsPerSecond!)} records/s (${(out.rawKafkajsRecordsPerSecond! / out.processedRecordsPerSecond!).toFixed(1)}× slower than raw)`,
    `warehouse inserts, ${f(out.rows!)} enriched rows in blocks of 4096:`,
    `  @clickhouse/client over HTTP (edgelat serve on chdb): ${f(out.clickhouseClientRowsPerSecond!)} rows/s`,
    `  chdb in-process:                                      ${f(out.chdbDirectRowsPerSecond!)} rows/s (${(out.chdbDirectRowsPerSecond! / out.clickhouseClientRowsPerSecond!).toFixed(1)}× the HTTP path)`,
  ].join('\n') + '\n',
);
