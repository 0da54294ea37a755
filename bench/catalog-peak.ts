/**
 * How far a chip's catalog peak ops/s carries a model's latency (the recommender's `catalog` evidence,
 * `scaleByPeakOps`): each (model, chip) MLPerf SingleStream median of the six catalog chips is left out
 * in turn and predicted from the model's medians on the other chips and the chips' peaks. Prints the
 * median, worst and rms of |ln(predicted / measured)|, next to the reference "same latency as the
 * median chip" (no peak used), measured in the same run; the rms sets PEAK_OPS_LOG_SD.
 * Data: data/mlperf-singlestream/base-latency.csv (p50 per system; lower median over systems) and
 * data/chips/edge-chips.csv. Usage: npm run bench:catalog
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, hostname, release, type as osType } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PEAK_OPS_LOG_SD, scaleByPeakOps } from '../services/predictor/candidates.ts';
import { parseCsvRecords } from '../services/simulator/csv.ts';
import { nearestRankQuantile } from '../services/model/gbt.ts';
import { benchArgs } from './args.ts';

benchArgs('npm run bench:catalog   (no options)', {});

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const peaks = new Map(parseCsvRecords(readFileSync(join(root, 'data/chips/edge-chips.csv'), 'utf8')).map((r) => [r.chip!, Number(r.peak_ops_per_s)]));
const bySystem = new Map<string, number[]>();
for (const r of parseCsvRecords(readFileSync(join(root, 'data/mlperf-singlestream/base-latency.csv'), 'utf8'))) {
  if (!peaks.has(r.chip!) || !(Number(r.p50_ms) > 0)) continue;
  const key = `${r.model}|${r.chip}`;
  bySystem.set(key, [...(bySystem.get(key) ?? []), Number(r.p50_ms)]);
}
const lowerMedian = (v: number[]): number => nearestRankQuantile(v, 0.5);
const rows = [...bySystem].map(([key, v]) => ({ model: key.split('|')[0]!, chip: key.split('|')[1]!, ms: lowerMedian(v) }));
const errors = { peak: [] as number[], median: [] as number[] };
for (const r of rows) {
  const others = rows.filter((o) => o.model === r.model && o.chip !== r.chip).map((o) => ({ chip: o.chip, peakOps: peaks.get(o.chip)!, ms: o.ms }));
  const p = scaleByPeakOps(peaks.get(r.chip)!, others);
  if (p === null) continue;
  errors.peak.push(Math.abs(Math.log(p.ms / r.ms)));
  errors.median.push(Math.abs(Math.log(lowerMedian(others.map((o) => o.ms)) / r.ms)));
}
const summary = (e: number[]) => ({ n: e.length, median_factor: Math.exp(lowerMedian(e)), worst_factor: Math.exp(Math.max(...e)), rms_log: Math.sqrt(e.reduce((a, x) => a + x * x, 0) / e.length) });
const result = { date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model, os: `${osType()} ${release()}`, peak_ops: summary(errors.peak), reference_median_chip: summary(errors.median), PEAK_OPS_LOG_SD };
const f = (s: ReturnType<typeof summary>) => `median ×${s.median_factor.toFixed(2)}, worst ×${s.worst_factor.toFixed(2)}, rms of ln ${s.rms_log.toFixed(3)} over ${s.n}`;
process.stdout.write(`leave-one-out over the MLPerf medians of the catalog chips\n  by peak ops/s:            ${f(result.peak_ops)}\n  reference (median chip):  ${f(result.reference_median_chip)}\n  ratio of rms (peak / reference): ${(result.peak_ops.rms_log / result.reference_median_chip.rms_log).toFixed(3)}; PEAK_OPS_LOG_SD = ${PEAK_OPS_LOG_SD}\n`);
const dir = join(root, 'bench/results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, `${result.date.slice(0, 10)}-${hostname()}-catalog-peak.json`), `${JSON.stringify(result, null, 2)}\n`);
