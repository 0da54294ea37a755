/**
 * Cut `data/mlperf-singlestream/base-latency.csv` from the MLPerf Inference
 * results tables (`runs_v*.csv` + `systems_v*.csv`, MLCommons
 * inference_results_v1.1..v4.1, Apache-2.0). Run once by a developer; the
 * product reads only the cut.
 *
 * Usage: `npx tsx services/simulator/cut-mlperf.ts <mlperf-inference dir> [out.csv]`
 * (default out: `data/mlperf-singlestream/base-latency.csv` of this repository).
 *
 * Rule (also in data/mlperf-singlestream/README.md): SingleStream runs only; a
 * run is kept when its system's `compute_device`, `system_name` and
 * `framework` match one of {@link CHIP_RULES} (this normalises the chip
 * spellings and drops system files whose text contradicts the system id) and
 * its model is one of {@link MODEL_RULES}; a run submitted identically to both
 * divisions is kept once (closed).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { csvField, parseCsvRecords } from './csv.ts';

/** How one normalised edge chip is recognised in `systems_v*.csv`. */
export interface ChipRule {
  /** Normalised chip id written to the cut (and used by the simulator). */
  chip: string;
  /** Must match `compute_device` (free text as submitted). */
  device: RegExp;
  /** Must match `system_name`, when given (guards against mislabelled system files). */
  systemName?: RegExp;
  /** Must match `framework`: one runtime per chip, so the base latency is for one stack. */
  framework: RegExp;
}

/** The edge chips of the cut, with the runtime each is measured under. */
export const CHIP_RULES: readonly ChipRule[] = [
  // Raspberry Pi 4 (BCM2711, 4x Cortex-A72), ArmNN on the Neon CPU back-end. The
  // "Raspberry Pi 3" system files that name an A72 are excluded by the name rule.
  { chip: 'rpi4-cortex-a72', device: /Cortex-A72/, systemName: /Raspberry Pi 4/, framework: /ArmNN .*Neon/ },
  // Odroid N2+ (Amlogic S922X: 4x A73 + 2x A53), TFLite (ruy) on the CPU.
  { chip: 'odroid-n2plus-s922x', device: /Amlogic S922X/, systemName: /Odroid N2\+/, framework: /TFLite/ },
  // Firefly RK3588S, Mali-G610 MP4 GPU through ArmNN OpenCL.
  { chip: 'rk3588-mali-g610', device: /Mali-G610/, systemName: /RK3588/, framework: /ArmNN .*OpenCL/ },
  // NVIDIA Jetson Xavier NX, TensorRT (incl. MaxQ and Triton systems).
  { chip: 'jetson-xavier-nx', device: /^NVIDIA Xavier NX$/, framework: /TensorRT/ },
  // NVIDIA Jetson AGX Orin: spelled "NVIDIA Orin" (v2.0/v2.1) and "NVIDIA Jetson AGX Orin" (v3.0).
  { chip: 'jetson-agx-orin', device: /^NVIDIA (Jetson AGX )?Orin$/, framework: /TensorRT/ },
  // Qualcomm Cloud AI 100, DM.2e (15 W M.2 edge module), Qualcomm Cloud AI SDK.
  { chip: 'qualcomm-ai100-dm2e', device: /^QUALCOMM Cloud AI 100 DM\.2e$/, framework: /Cloud AI SDK/i },
];

/** MLPerf model folder name → model id of the cut. */
export const MODEL_RULES: Readonly<Record<string, string>> = {
  resnet50: 'resnet50',
  'mobilenet-v2-1.0-224-quantized': 'mobilenet-v2-int8',
  'ssd-mobilenet': 'ssd-mobilenet',
  'bert-99': 'bert-99',
  retinanet: 'retinanet',
};

/** MLPerf versions read (the files present in the shared data folder). */
export const MLPERF_VERSIONS = ['1.1', '2.0', '2.1', '3.0', '4.1'] as const;

/** Columns of `base-latency.csv`, in order. */
export const CUT_COLUMNS = [
  'model', 'chip', 'system', 'mlperf_version', 'division', 'submitter', 'system_id',
  'p50_ms', 'p90_ms', 'mean_ms', 'source_file',
] as const;

/** One row of the cut: one SingleStream run of one system. Latencies in ms. */
export interface CutRow {
  model: string;
  chip: string;
  system: string;
  mlperf_version: string;
  division: string;
  submitter: string;
  system_id: string;
  p50_ms: number;
  p90_ms: number;
  mean_ms: number;
  source_file: string;
}

/**
 * Select the SingleStream runs of the chosen chips and models.
 *
 * @param mlperfDir  Folder holding `runs_vX.Y.csv` and `systems_vX.Y.csv`.
 * @returns          Rows sorted by (model, chip, mlperf_version, division, submitter, system_id).
 * @throws {RangeError} if a runs or systems file is missing, or a run has no system row.
 */
export function cutMlperf(mlperfDir: string): CutRow[] {
  const rows: CutRow[] = [];
  for (const v of MLPERF_VERSIONS) {
    const runsFile = `runs_v${v}.csv`;
    const sysFile = path.join(mlperfDir, `systems_v${v}.csv`);
    const runPath = path.join(mlperfDir, runsFile);
    if (!fs.existsSync(runPath) || !fs.existsSync(sysFile)) {
      throw new RangeError(`mlperf folder ${JSON.stringify(mlperfDir)} lacks ${runsFile} or systems_v${v}.csv`);
    }
    const systems = new Map<string, Record<string, string>>();
    for (const s of parseCsvRecords(fs.readFileSync(sysFile, 'utf8'))) {
      systems.set([s.mlperf_version, s.division, s.submitter, s.system_id].join('\u0000'), s);
    }
    for (const r of parseCsvRecords(fs.readFileSync(runPath, 'utf8'))) {
      if (r.scenario !== 'SingleStream') continue;
      const model = MODEL_RULES[r.model];
      if (model === undefined) continue;
      const s = systems.get([r.mlperf_version, r.division, r.submitter, r.system_id].join('\u0000'));
      if (s === undefined) throw new RangeError(`run without system row: ${JSON.stringify([runsFile, r.system_id])}`);
      const rule = CHIP_RULES.find((c) => c.device.test(s.compute_device)
        && (c.systemName === undefined || c.systemName.test(s.system_name))
        && c.framework.test(s.framework));
      if (rule === undefined) continue;
      const p50 = Number(r.p50_latency_ms);
      const p90 = Number(r.p90_latency_ms);
      const mean = Number(r.mean_latency_ms);
      if (![p50, p90, mean].every((x) => Number.isFinite(x) && x > 0)) continue;
      rows.push({
        model, chip: rule.chip, system: s.system_name, mlperf_version: r.mlperf_version,
        division: r.division, submitter: r.submitter, system_id: r.system_id,
        p50_ms: p50, p90_ms: p90, mean_ms: mean, source_file: runsFile,
      });
    }
  }
  return dedupeDivisions(rows).sort(compareRows);
}

/** Keep one copy of a run submitted byte-identically to both divisions (the closed one). */
function dedupeDivisions(rows: CutRow[]): CutRow[] {
  const seen = new Set<string>();
  const ordered = [...rows].sort((a, b) => (a.division === b.division ? 0 : a.division === 'closed' ? -1 : 1));
  const out: CutRow[] = [];
  for (const r of ordered) {
    const k = [r.mlperf_version, r.submitter, r.system_id, r.model, r.p50_ms, r.p90_ms, r.mean_ms].join('\u0000');
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(r);
  }
  return out;
}

function compareRows(a: CutRow, b: CutRow): number {
  const ka = [a.model, a.chip, a.mlperf_version, a.division, a.submitter, a.system_id];
  const kb = [b.model, b.chip, b.mlperf_version, b.division, b.submitter, b.system_id];
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1;
  return 0;
}

/**
 * Render the cut as CSV text with the {@link CUT_COLUMNS} header and LF line ends.
 *
 * @param rows  Rows from {@link cutMlperf}.
 * @returns     The file content, ending with a line break.
 */
export function cutToCsv(rows: readonly CutRow[]): string {
  const lines = [CUT_COLUMNS.join(',')];
  for (const r of rows) lines.push(CUT_COLUMNS.map((c) => csvField(r[c])).join(','));
  return `${lines.join('\n')}\n`;
}

function main(argv: string[]): void {
  const [dir, outArg] = argv;
  if (dir === undefined) {
    process.stderr.write('usage: npx tsx services/simulator/cut-mlperf.ts <mlperf-inference dir> [out.csv]\n');
    process.exitCode = 2;
    return;
  }
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const out = outArg ?? path.join(repo, 'data/mlperf-singlestream/base-latency.csv');
  const rows = cutMlperf(dir);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, cutToCsv(rows));
  const pairs = new Map<string, number>();
  for (const r of rows) pairs.set(`${r.model} on ${r.chip}`, (pairs.get(`${r.model} on ${r.chip}`) ?? 0) + 1);
  process.stdout.write(`wrote ${rows.length} rows (${pairs.size} model×chip pairs) to ${out}\n`);
  for (const [k, n] of pairs) process.stdout.write(`  ${k}: ${n} runs\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2));
}
