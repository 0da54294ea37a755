/**
 * Features of MLPerf Inference systems (`systems_vX.Y.csv`,
 * data/mlperf-inference/, MLCommons, Apache-2.0) beyond the chip that
 * services/model/import-mlperf.ts puts on each benchmark row: the software
 * stack, division, round, submitter, host CPU, accelerator count and kind.
 * They are what the few-shot system predictor (services/model/system-transfer.ts)
 * uses to find a held-out system's relatives among the known systems.
 *
 * Systems are keyed like the benchmark rows: `${mlperf_version}/${division}/${submitter}/${system_id}`
 * ({@link systemKey}). A line without the key columns, with a wrong column
 * count or a key already seen is skipped here (parseMlperf reports those lines
 * as problems; this module only reads features).
 */
import { parseCsv } from '../simulator/csv.ts';
import { normaliseChip, systemDeviceName } from './chips.ts';
import type { NamedText } from './help.ts';
import { mlperfRound, systemKey } from './import-mlperf.ts';

/** What the predictor knows about one system besides its latencies. */
export interface SystemFeatures {
  /** `${mlperf_version}/${division}/${submitter}/${system_id}`. */
  system: string;
  /** MLPerf round, e.g. `v3.0`. */
  round: string;
  /** `closed` or `open`. */
  division: string;
  submitter: string;
  /** Normalised chip of the compute device (same rule as import-mlperf.ts), e.g. `nvidia-a100`. */
  chip: string;
  /** Kind of that chip: `cpu`, `gpu`, `npu`, `fpga`, `asic`. */
  chipKind: string;
  /** Vendor of that chip, e.g. `NVIDIA`; `unknown` when not known. */
  vendor: string;
  /** Normalised chip of the host processor (`unknown` when not stated). */
  hostChip: string;
  /** Instruction set of the processor that runs the model's host code ({@link isaOf} of `chip` for a CPU, else of `hostChip`). */
  isa: string;
  /** MLPerf `compute_kind`: `accelerator` or `cpu` ('' when absent). */
  computeKind: string;
  /** Accelerators per node × nodes; 0 for a CPU-only system or when not a number. */
  accelerators: number;
  /** Inference framework family ({@link frameworkFamily}), e.g. `tensorrt`, `armnn`, `tflite`. */
  framework: string;
  /** Framework family plus its backend (`armnn:neon`, `tflite:ruy`, `tensorrt:triton`); equals `framework` when none is named. */
  stack: string;
  /** `datacenter`, `edge` or both joined by `,` ('' when absent). */
  systemType: string;
}

/**
 * Framework families, first match wins, tested on the `framework` text (then the system id).
 * Order matters: `ArmNN TFLite` is ArmNN's delegate (armnn), `JetPack …, TensorRT` is TensorRT.
 */
export const FRAMEWORK_RULES: readonly (readonly [RegExp, string])[] = [
  [/\barm\s*nn\b|\barmnn/i, 'armnn'],
  [/\btensor\s*rt\b|\btrt\b/i, 'tensorrt'],
  [/\btf\s*lite\b|tensorflow[- ]lite/i, 'tflite'],
  [/\bopenvino\b/i, 'openvino'],
  [/\bonnx\s*runtime\b|\bonnxruntime\b|\bonnx\b/i, 'onnxruntime'],
  [/\bqualcomm\b|\bqaic\b|cloud ai sdk/i, 'qaic'],
  [/\bdeepsparse\b/i, 'deepsparse'],
  [/\btvm\b/i, 'tvm'],
  [/\bpytorch\b|\btorch\b/i, 'pytorch'],
  [/\btensorflow\b/i, 'tensorflow'],
  [/\bcuda\b/i, 'cuda'],
];

/** Backends named in a framework text or system id (the first one found), e.g. ArmNN's `neon` / `opencl`, TFLite's `ruy` / `xnnpack`. */
export const BACKEND_PATTERN = /\b(neon|opencl|ruy|xnnpack|triton|gpu)\b/i;

/** Instruction-set families by chip-id pattern (ids from services/model/chips.ts). */
export const ISA_RULES: readonly (readonly [RegExp, string])[] = [
  [/xeon|epyc|ryzen|threadripper|intel-core|\bi[3579]-|x86|amd-/, 'x86'],
  [/arm|cortex|neoverse|graviton|apple-m|carmel|rockchip|amlogic|broadcom|rpi|snapdragon|mediatek|exynos|kirin|google-tensor|allwinner|yitian|ampere|altra|grace|jetson|nvidia-gh/, 'arm'],
];

/**
 * Instruction set of a chip id.
 *
 * @param chip  Normalised chip id, e.g. `intel-xeon-8380`, `aws-graviton`, `armv8-processor-rev-1-v8l`.
 * @returns     `x86`, `arm`, or `other` when no rule of {@link ISA_RULES} matches.
 */
export function isaOf(chip: string): string {
  for (const [re, isa] of ISA_RULES) if (re.test(chip)) return isa;
  return 'other';
}

/**
 * Framework family of a system.
 *
 * @param framework  The `framework` column, e.g. `ArmNN v22.05 (OpenCL)`.
 * @param systemId   The system id, used when the framework text names no known family (`…_TRT`).
 * @returns          A family of {@link FRAMEWORK_RULES}; else the first word of `framework`
 *                   lower-cased (letters and digits only); `unknown` when both are empty.
 */
export function frameworkFamily(framework: string, systemId = ''): string {
  for (const text of [framework, systemId.replace(/[_-]/g, ' ')]) {
    for (const [re, family] of FRAMEWORK_RULES) if (re.test(text)) return family;
  }
  const word = /[a-z0-9]+/i.exec(framework)?.[0];
  return word ? word.toLowerCase() : 'unknown';
}

/**
 * Parse the systems files into features per system key.
 *
 * Behaviour: files in order; the first line of a key wins; lines with a wrong
 * column count or an empty key column are skipped.
 * @param systems  `systems_vX.Y.csv` files (columns: data/mlperf-inference/README.md).
 * @returns        Features by system key.
 * @throws {RangeError} if a file's header lacks one of the key columns or `compute_device`.
 * @example see test/unit/model/evaluate-mlperf.test.ts
 */
export function parseMlperfSystems(systems: readonly NamedText[]): Map<string, SystemFeatures> {
  const out = new Map<string, SystemFeatures>();
  for (const f of systems) {
    const rows = parseCsv(f.text.replace(/^\uFEFF/, ''));
    const header = (rows[0] ?? []).map((h) => h.trim());
    for (const c of ['mlperf_version', 'division', 'submitter', 'system_id', 'compute_device']) {
      if (!header.includes(c)) throw new RangeError(`${f.file}: header lacks required column ${JSON.stringify(c)}`);
    }
    for (const cells of rows.slice(1)) {
      if (cells.length !== header.length) continue;
      const r: Record<string, string> = {};
      header.forEach((h, i) => { r[h] = cells[i]!.trim(); });
      if (!r.mlperf_version || !r.division || !r.submitter || !r.system_id) continue;
      const key = systemKey(r as Parameters<typeof systemKey>[0]);
      if (out.has(key)) continue;
      out.set(key, featuresOf(key, r));
    }
  }
  return out;
}

/**
 * Features of a system known only by its key and chip (a benchmark row in the warehouse, whose systems file
 * was not imported): round, division and submitter from the key; framework and backend from the system id
 * (as {@link frameworkFamily} does without a framework text); host chip, compute kind, accelerator count and
 * system type unknown ('unknown', '', 0, '').
 *
 * @param key   `${round}/${division}/${submitter}/${system_id}`; the system id may contain '/'.
 * @param chip  The rows' normalised chip with its kind and vendor (the chip catalog's).
 * @throws {RangeError} if the key has fewer than four '/'-separated parts.
 */
export function featuresFromKey(key: string, chip: { chip: string; kind: string; vendor: string }): SystemFeatures {
  const [round, division, submitter, ...rest] = key.split('/');
  const systemId = rest.join('/');
  if (!round || !division || !submitter || !systemId) throw new RangeError(`system: expected "round/division/submitter/system_id", got ${JSON.stringify(key)}`);
  return {
    system: key, round, division, submitter, chip: chip.chip, chipKind: chip.kind, vendor: chip.vendor, hostChip: 'unknown',
    isa: isaOf(chip.kind === 'cpu' ? chip.chip : 'unknown'), computeKind: '', accelerators: 0, ...softwareStack('', systemId), systemType: '',
  };
}

/**
 * Framework family and stack (family plus its backend) of a system from its framework text and system id.
 * @returns `{ framework, stack }`: {@link frameworkFamily}; `stack` is `family:backend` when {@link BACKEND_PATTERN}
 *          finds a backend in the text or the id, else the family.
 */
function softwareStack(frameworkText: string, systemId: string): { framework: string; stack: string } {
  const framework = frameworkFamily(frameworkText, systemId);
  const backend = BACKEND_PATTERN.exec(`${frameworkText} ${systemId.replace(/[_-]/g, ' ')}`)?.[1]?.toLowerCase();
  return { framework, stack: backend ? `${framework}:${backend}` : framework };
}

function featuresOf(key: string, r: Record<string, string>): SystemFeatures {
  // Same choice of raw name as import-mlperf.ts, so `chip` equals the benchmark rows' chip.
  const raw = systemDeviceName(r);
  const chip = normaliseChip(raw, { kind: r.compute_kind === 'cpu' ? 'cpu' : undefined, system: `${r.system_name ?? ''} ${r.system_id ?? ''}`, host: r.host_processor_model_name });
  const host = r.host_processor_model_name ? normaliseChip(r.host_processor_model_name, { kind: 'cpu' }).chip : 'unknown';
  const perNode = Number(r.accelerators_per_node);
  const nodes = Number(r.number_of_nodes);
  return {
    system: key,
    round: mlperfRound(r.mlperf_version!) ?? r.mlperf_version!,
    division: r.division!,
    submitter: r.submitter!,
    chip: chip.chip,
    chipKind: chip.kind,
    vendor: chip.vendor,
    hostChip: host,
    isa: isaOf(chip.kind === 'cpu' ? chip.chip : host),
    computeKind: r.compute_kind ?? '',
    accelerators: Number.isFinite(perNode) && perNode > 0 ? perNode * (Number.isFinite(nodes) && nodes > 0 ? nodes : 1) : 0,
    ...softwareStack(r.framework ?? '', r.system_id!),
    systemType: r.system_type ?? '',
  };
}
