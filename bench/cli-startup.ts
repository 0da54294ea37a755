/**
 * Start-up time of the `edgelat` CLI, in one run: median wall time (ms) of
 * `edgelat --help`, of a usage error (`edgelat gate --model x`, exit 64) and
 * of `edgelat sql "SELECT 1"` on an empty data dir, next to the floor every
 * command pays: Node with tsx loading an empty TypeScript file (the reference
 * measured in the same run). The CLI loads a command's modules only when the
 * command runs (services/cli/main.ts), so the first two should sit near the floor.
 * Usage: npm run bench:cli [-- --runs N]   (default 9 runs of each)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const bin = join(here, '..', 'bin', 'edgelat.js');
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 9;
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be an integer >= 1, got ${JSON.stringify(process.argv[runsArg + 1])}`);

const dataDir = mkdtempSync(join(tmpdir(), 'edgelat-bench-cli-'));
const empty = join(dataDir, 'empty.ts');
writeFileSync(empty, 'export {};\n');
const env = { ...process.env, EDGELAT_DATA_DIR: dataDir };

/** Median wall time of `node args`, ms; the first run (file caches, tsx's transform cache) is not counted. */
function medianMs(args: string[], expectCode: number): number {
  const times: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now();
    const r = spawnSync('node', args, { env, encoding: 'utf8' });
    const ms = performance.now() - t0;
    if (r.status !== expectCode) throw new Error(`node ${args.join(' ')} exited ${r.status}, expected ${expectCode}: ${r.stderr}`);
    if (i > 0) times.push(ms);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

try {
  execFileSync('node', [bin, 'migrate'], { env }); // the sql run then measures a query, not the tables' creation
  const out = {
    runs,
    floorMs: medianMs(['--import', 'tsx', empty], 0),
    helpMs: medianMs([bin, '--help'], 0),
    usageErrorMs: medianMs([bin, 'gate', '--model', 'x'], 64),
    sqlMs: medianMs([bin, 'sql', 'SELECT 1', '--format', 'csv'], 0),
  };
  const line = (name: string, ms: number): string => `  ${name.padEnd(34)} ${ms.toFixed(0).padStart(5)} ms  (${(ms / out.floorMs).toFixed(2)}× the floor)\n`;
  process.stdout.write(
    `edgelat CLI start-up, median of ${runs} runs each:\n` +
      `  ${'node + tsx, empty file (the floor)'.padEnd(34)} ${out.floorMs.toFixed(0).padStart(5)} ms\n` +
      line('edgelat --help', out.helpMs) +
      line('edgelat gate --model x (exit 64)', out.usageErrorMs) +
      line('edgelat sql "SELECT 1"', out.sqlMs),
  );
  const dir = join(here, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${new Date().toISOString().slice(0, 10)}-${hostname()}-cli.json`), `${JSON.stringify(out, null, 2)}\n`);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
