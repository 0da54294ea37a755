/**
 * Benchmark: memory and throughput of a large read through the `edgelat serve` SQL endpoint (ClickHouse HTTP, chdb
 * behind it), streamed as it is answered, against the reference of the same read held whole: chdb's non-streaming
 * query (`ChdbEngine.query`), which the endpoint used to answer every read with. Each side runs in a child process
 * of its own (chdb allows one data folder per process; RSS is per process), sampling its RSS every 20 ms:
 *  - streamed: the endpoint on 127.0.0.1, the read fetched over HTTP by the parent and counted, not kept;
 *  - held whole: `ChdbEngine.query` of the same statement, the bytes handed back as one buffer.
 * Prints, per side, the output's size, seconds, MB/s and the peak RSS above the process's RSS before the read, and
 * the ratio held/streamed of that peak; writes bench/results/<date>-<host>-sql-read.json. Exits 1 when the two
 * outputs differ in size.
 *
 * Usage: npm run bench:sql-read [-- --rows 20000000]
 */
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, hostname, platform, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs, numberArg } from './args.ts';

/** What a child reports: the output's bytes, the read's seconds, RSS before it and its peak during it, bytes. */
interface Side { bytes: number; seconds: number; rssBeforeBytes: number; rssPeakBytes: number }

const HERE = fileURLToPath(import.meta.url);
const statement = (rows: number) => `SELECT number, toString(number * 7) AS s, number % 13 AS m FROM numbers(${rows}) FORMAT TSV`;

/** Sample this process's RSS every 20 ms until stopped; returns the peak. */
function rssSampler(): () => number {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  return () => {
    clearInterval(timer);
    return Math.max(peak, process.memoryUsage.rss());
  };
}

/** Child: run one side and send its figures. */
async function child(mode: string, rows: number): Promise<void> {
  const { ChdbEngine } = await import('../services/sql-endpoint/chdb-engine.ts');
  const engine = new ChdbEngine(mkdtempSync(join(tmpdir(), 'edgelat-bench-sql-')));
  await engine.query('SELECT 1', {}, 'TSV', 'default', true); // warm the engine before the baseline
  if (mode === 'whole') {
    const rssBeforeBytes = process.memoryUsage.rss();
    const stop = rssSampler();
    const t0 = performance.now();
    const r = await engine.query(statement(rows), {}, 'TSV', 'default', true);
    const seconds = (performance.now() - t0) / 1000;
    process.send!({ bytes: r.body.byteLength, seconds, rssBeforeBytes, rssPeakBytes: stop() } satisfies Side);
    await engine.close();
    return;
  }
  const { createSqlEndpoint } = await import('../services/sql-endpoint/server.ts');
  const endpoint = createSqlEndpoint({ engine });
  await endpoint.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(endpoint.server.address() as { port: number }).port}/?query=${encodeURIComponent(statement(rows))}`;
  const rssBeforeBytes = process.memoryUsage.rss();
  const stop = rssSampler();
  const t0 = performance.now();
  // The client is this process too (counting, not keeping): its share of RSS is one network chunk at a time.
  const res = await fetch(url);
  let bytes = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.byteLength;
  const seconds = (performance.now() - t0) / 1000;
  process.send!({ bytes, seconds, rssBeforeBytes, rssPeakBytes: stop() } satisfies Side);
  await endpoint.close();
}

function runSide(mode: 'stream' | 'whole', rows: number): Promise<Side> {
  return new Promise((resolve, reject) => {
    const c = fork(HERE, ['--child', mode, '--rows', String(rows)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let got: Side | undefined;
    c.on('message', (m) => {
      got = m as Side;
    });
    c.on('exit', (code) => (got ? resolve(got) : reject(new Error(`${mode} child exited ${code} without figures`))));
  });
}

async function main(): Promise<void> {
  const usage = 'npm run bench:sql-read [-- --rows 20000000]   (rows 1..1000000000)';
  const values = benchArgs(usage, { rows: { type: 'string', default: '20000000' }, child: { type: 'string' } });
  const rows = numberArg(usage, 'rows', values.rows, 1, 1e9, true);
  if (values.child) {
    await child(values.child, rows);
    process.exit(0);
  }
  const mb = (b: number) => b / 2 ** 20;
  const streamed = await runSide('stream', rows);
  const whole = await runSide('whole', rows);
  const line = (name: string, s: Side) => `${name.padEnd(11)} ${mb(s.bytes).toFixed(0).padStart(6)} MiB  ${s.seconds.toFixed(2).padStart(6)} s  ${(mb(s.bytes) / s.seconds).toFixed(0).padStart(5)} MiB/s  peak RSS +${mb(s.rssPeakBytes - s.rssBeforeBytes).toFixed(0)} MiB`;
  process.stdout.write(`SQL endpoint read of ${rows.toLocaleString('en-US')} rows (${statement(rows)})\n`);
  process.stdout.write(`${line('streamed', streamed)}\n${line('held whole', whole)}\n`);
  const ratio = (whole.rssPeakBytes - whole.rssBeforeBytes) / Math.max(streamed.rssPeakBytes - streamed.rssBeforeBytes, 1);
  process.stdout.write(`peak RSS above baseline, held whole / streamed: ${ratio.toFixed(1)}×; time streamed / held whole: ${(streamed.seconds / whole.seconds).toFixed(2)}\n`);
  const out = join(dirname(HERE), 'results', `${new Date().toISOString().slice(0, 10)}-${hostname()}-sql-read.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ rows, node: process.version, cpu: cpus()[0]?.model, cores: cpus().length, os: `${platform()} ${release()}`, streamed, whole, ratio }, null, 2)}\n`);
  process.stdout.write(`wrote ${out}\n`);
  if (streamed.bytes !== whole.bytes) {
    process.stderr.write(`outputs differ: streamed ${streamed.bytes} bytes, held whole ${whole.bytes}\n`);
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
