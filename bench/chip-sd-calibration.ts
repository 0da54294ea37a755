/**
 * Calibration of the log-sd that `recommend` states for the MLPerf system predictor's answers ("×1.29 at one sd"):
 * for each seed, 30 % of the models of every chip with at least 10 models are held out (all their rows), the
 * predictor (services/predictor/benchmark-predictor.ts `benchmarkPredictor`, as `recommend` builds it) is fitted on
 * the rest, and each held-out (chip, model) is predicted. z = |ln(measured / predicted)| / stated log-sd, where
 * measured is the lower median of the pair's held-out rows. A normal predictive distribution puts 68.3 % of z
 * within 1 and 95.4 % within 2, and its median z is 0.674; the reference printed beside is the predictor's
 * uncalibrated log-sd (`CHIP_LOG_SD_SCALE` divided out), measured in the same run. The median z of the raw sd over
 * 0.674 sets CHIP_LOG_SD_SCALE.
 * Data: data/mlperf-inference (runs and systems v1.1–v4.1). Usage: npm run bench:chip-sd [-- --seeds 1,2,3]
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname, release, type as osType } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseMlperf } from '../services/model/import-mlperf.ts';
import { nearestRankQuantile } from '../services/model/gbt.ts';
import { createRng, shuffleInPlace } from '../services/simulator/prng.ts';
import { benchmarkPredictor, CHIP_LOG_SD_SCALE } from '../services/predictor/benchmark-predictor.ts';
import { benchArgs, seedsArg } from './args.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = join(root, 'data/mlperf-inference');
const read = (prefix: string) => readdirSync(dataDir).filter((f) => f.startsWith(prefix) && f.endsWith('.csv')).sort().map((f) => ({ file: f, text: readFileSync(join(dataDir, f), 'utf8') }));
const USAGE = 'npm run bench:chip-sd [-- --seeds 1,2,3]   (seeds a,b,c or a range a-b)';
const seeds = seedsArg(USAGE, benchArgs(USAGE, { seeds: { type: 'string', default: '1,2,3' } }).seeds);

const parsed = parseMlperf(read('runs_'), read('systems_'));
// As the warehouse query does: one row per (system, chip, model), the lower median of its rows.
const grouped = new Map<string, { system: string; chip: string; model_id: string; ms: number[] }>();
for (const r of parsed.benchmark) {
  const key = `${r.system}|${r.chip}|${r.model_id}`;
  if (!grouped.has(key)) grouped.set(key, { system: r.system, chip: r.chip, model_id: r.model_id, ms: [] });
  grouped.get(key)!.ms.push(r.latency_ms);
}
const rows = [...grouped.values()].map((g) => ({ system: g.system, chip: g.chip, model_id: g.model_id, latency_ms: nearestRankQuantile(g.ms, 0.5) }));
const chips = new Map(parsed.chips.map((c) => [c.chip, { kind: c.kind, vendor: c.vendor }]));
const modelsOf = new Map<string, Set<string>>();
for (const r of rows) modelsOf.set(r.chip, (modelsOf.get(r.chip) ?? new Set()).add(r.model_id));
const targets = [...modelsOf].filter(([, m]) => m.size >= 10).map(([c]) => c).sort();

const z: number[] = [];
const zRaw: number[] = [];
let asked = 0;
for (const seed of seeds) {
  const held = new Set<string>();
  for (const chip of targets) {
    const models = [...modelsOf.get(chip)!].sort();
    shuffleInPlace(models, createRng(seed, `chip-sd:${chip}`));
    for (const m of models.slice(0, Math.round(0.3 * models.length))) held.add(`${chip}|${m}`);
  }
  const train = rows.filter((r) => !held.has(`${r.chip}|${r.model_id}`));
  const predict = benchmarkPredictor(train, chips);
  for (const key of [...held].sort()) {
    const [chip, model] = key.split('|') as [string, string];
    asked++;
    const p = predict(model, chip);
    if (p === null || p.logSd === undefined || !(p.logSd > 0)) continue;
    const measured = nearestRankQuantile(rows.filter((r) => r.chip === chip && r.model_id === model).map((r) => r.latency_ms), 0.5);
    const err = Math.abs(Math.log(measured / p.p90Ms));
    z.push(err / p.logSd);
    zRaw.push(err / (p.logSd / CHIP_LOG_SD_SCALE));
  }
}
const cover = (v: number[]) => ({ n: v.length, within_1sd: v.filter((x) => x <= 1).length / v.length, within_2sd: v.filter((x) => x <= 2).length / v.length, median_z: nearestRankQuantile(v, 0.5) });
const result = {
  date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model, os: `${osType()} ${release()}`, seeds, chips: targets.length, pairs_asked: asked,
  calibrated: cover(z), reference_uncalibrated: cover(zRaw), CHIP_LOG_SD_SCALE, scale_from_this_run: cover(zRaw).median_z / 0.6745, normal: { within_1sd: 0.683, within_2sd: 0.954, median_z: 0.674 },
};
const f = (c: ReturnType<typeof cover>) => `within 1 sd ${(100 * c.within_1sd).toFixed(1)} %, within 2 sd ${(100 * c.within_2sd).toFixed(1)} %, median z ${c.median_z.toFixed(2)} over ${c.n}`;
process.stdout.write(`held-out (chip, model) pairs of ${targets.length} chips with ≥ 10 models, seeds ${seeds.join(',')} (${asked} asked, ${z.length} predicted)\n`
  + `  stated log-sd (×${CHIP_LOG_SD_SCALE}):   ${f(result.calibrated)}\n`
  + `  reference, uncalibrated:    ${f(result.reference_uncalibrated)}\n`
  + `  normal:                     within 1 sd 68.3 %, within 2 sd 95.4 %, median z 0.67\n`
  + `  median z (uncalibrated) / 0.6745 = ${result.scale_from_this_run.toFixed(2)} (CHIP_LOG_SD_SCALE = ${CHIP_LOG_SD_SCALE})\n`);
const dir = join(root, 'bench/results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, `${result.date.slice(0, 10)}-${hostname()}-chip-sd.json`), `${JSON.stringify(result, null, 2)}\n`);
