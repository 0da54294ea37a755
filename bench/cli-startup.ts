/**
 * Start-up time of the `edgelat` CLI, in one run: median wall time (ms) of
 * `edgelat --help`, of a usage error (`edgelat gate --model x`, exit 64) and
 * of `edgelat sql "SELECT 1"` on an empty data dir, from the compiled dist/
 * (scripts/build.mjs; `npm ci` builds it) and from the sources through tsx
 * (EDGELAT_FROM_SOURCE=1, the reference measured in the same run), next to the
 * floors they pay: Node loading an empty file, and Node with tsx loading an
 * empty TypeScript file. The CLI loads a command's modules only when the
 * command runs (services/cli/main.ts), so the first two should sit near the floor.
 * Usage: npm run bench:cli [-- --runs N]   (default 9 runs of each)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs, numberArg } from './args.ts';

const here = dirname(fileURLToPath(import.meta.url));
const bin = join(here, '..', 'bin', 'edgelat.js');
const USAGE = 'npm run bench:cli [-- --runs 9]   (runs 1..1000)';
const runs = numberArg(USAGE, 'runs', benchArgs(USAGE, { runs: { type: 'string', default: '9' } }).runs, 1, 1000, true);

const dataDir = mkdtempSync(join(tmpdir(), 'edgelat-bench-cli-'));
const empty = join(dataDir, 'empty.ts');
writeFileSync(empty, 'export {};\n');
const emptyJs = join(dataDir, 'empty.mjs');
writeFileSync(emptyJs, 'export {};\n');
const env: NodeJS.ProcessEnv = { ...process.env, EDGELAT_DATA_DIR: dataDir, EDGELAT_FROM_SOURCE: '0' };

/** Median wall time of `node args`, ms; the first run (file caches, tsx's transform cache) is not counted. */
function medianMs(args: string[], expectCode: number, fromSource = false): number {
  const times: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now();
    const r = spawnSync('node', args, { env: fromSource ? { ...env, EDGELAT_FROM_SOURCE: '1' } : env, encoding: 'utf8' });
    const ms = performance.now() - t0;
    if (r.status !== expectCode) throw new Error(`node ${args.join(' ')} exited ${r.status}, expected ${expectCode}: ${r.stderr}`);
    if (i > 0) times.push(ms);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

try {
  execFileSync('node', [bin, 'migrate'], { env }); // the sql run then measures a query, not the tables' creation
  const commands: [string, string[], number][] = [
    ['edgelat --help', ['--help'], 0],
    ['edgelat gate --model x (exit 64)', ['gate', '--model', 'x'], 64],
    ['edgelat sql "SELECT 1"', ['sql', 'SELECT 1', '--format', 'csv'], 0],
  ];
  const out = {
    runs,
    floorMs: medianMs([emptyJs], 0),
    tsxFloorMs: medianMs(['--import', 'tsx', empty], 0),
    compiled: Object.fromEntries(commands.map(([name, args, code]) => [name, medianMs([bin, ...args], code)])),
    fromSource: Object.fromEntries(commands.map(([name, args, code]) => [name, medianMs([bin, ...args], code, true)])),
  };
  const ms = (x: number): string => `${x.toFixed(0).padStart(5)} ms`;
  process.stdout.write(
    `edgelat CLI start-up, median of ${runs} runs each:\n` +
      `  ${'node, empty file (floor)'.padEnd(34)} ${ms(out.floorMs)}\n` +
      `  ${'node + tsx, empty file (tsx floor)'.padEnd(34)} ${ms(out.tsxFloorMs)}\n` +
      `  ${''.padEnd(34)}  dist/    sources (tsx)  dist / sources\n` +
      commands.map(([name]) => `  ${name.padEnd(34)} ${ms(out.compiled[name]!)}  ${ms(out.fromSource[name]!)}      ${(out.compiled[name]! / out.fromSource[name]!).toFixed(2)}×\n`).join(''),
  );
  const dir = join(here, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${new Date().toISOString().slice(0, 10)}-${hostname()}-cli.json`), `${JSON.stringify(out, null, 2)}\n`);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
