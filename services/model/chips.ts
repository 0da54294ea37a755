/**
 * Chip-name normalisation: free-text processor and accelerator names, as
 * submitted to MLPerf Inference (`systems_v*.csv` `compute_device`), onto one
 * chip id per chip, so that a chip is one categorical key in
 * `benchmark_latency.chip` and `chips.chip` (sql/migrations/0008_latency_model.sql).
 *
 * Rules ({@link CHIP_NAME_RULES}, first match wins) look for vendor, family and
 * model tokens, so unseen spellings of a known chip map together:
 * - Marketing noise is ignored: `(R)`, `(TM)`, clocks (`@ 2.30GHz`, `(2.0GHz)`),
 *   core counts, memory size, form factor (SXM, SXM4, PCIe, NVL, HHHL), power
 *   caps (`-500W`), vGPU profiles (`-80C`, `-24Q`), `CTS`, `Tesla`, `GeForce`.
 *   So `NVIDIA A100-SXM4-80GB` and `NVIDIA A100 80GB PCIe` are both
 *   `nvidia-a100` (one family; SXM and PCIe differ in power limit, not silicon).
 * - Kept apart: a MIG slice (`nvidia-a100-mig-1g-10gb`, a fraction of the GPU),
 *   an `S` refresh (`nvidia-l40s`, `nvidia-v100s`), Qualcomm Cloud AI 100 SKUs
 *   (`dm2e`, `dm2`, `pro`, `standard`, `lite`, `pcie`: different core counts and
 *   power), Intel model suffixes (`8380` Ice Lake vs `8380h` Cooper Lake).
 * - Jetson modules are `jetson-<form>-<gen>`; `NVIDIA Orin` and `NVIDIA Jetson
 *   AGX Orin` are `jetson-agx-orin`, and the module's CPU named as such
 *   (`NVIDIA Jetson AGX Orin CPU`) is `jetson-agx-orin-cpu`. Where a chip is also in the simulator
 *   fleet (services/simulator/fleet.ts) its id is the fleet's id
 *   (`jetson-agx-orin`, `jetson-xavier-nx`, `qualcomm-ai100-dm2e`, `rpi4-cortex-a72`).
 * - Xeons by model number without the tier (`intel-xeon-8380`; submitters
 *   mistype the tier, e.g. `Gold 8380H`), else by code name
 *   (`intel-xeon-cascade-lake`), else `intel-xeon`. `+` becomes `plus`.
 * - A Raspberry Pi is its SoC's CPU (`rpi3-cortex-a53`, `rpi4-cortex-a72`, `rpi5-cortex-a76`), named as the
 *   board or by its SoC with its cores. A CPU named only by its cores or instruction set (`BCM2835`, which Linux
 *   reports for every Pi; `ARMv8 Processor rev 1 (v8l)`) is the CPU of the board its system names, when the
 *   caller passes the system (`hint.system`).
 * - Phone SoCs (Snapdragon, Dimensity, Helio, Exynos, Kirin, Google Tensor, Allwinner) are `<vendor>-<soc>`.
 * - Arm CPUs named only by their cores become `arm-cortex-<core>x<count>-…`;
 *   SoCs become `<vendor>-<soc>` (`rockchip-rk3588`, `amlogic-s922x`), also when
 *   the name lists the SoC's parts (cores beside a Mali or NPU); the SoC's NPU or
 *   GPU named by the SoC is `-npu` / `-gpu` added, a Mali its `arm-mali-…` id.
 * - A multi-node name (`1 Node: NVIDIA A100-SXM-80GBx8, 2 Nodes: NVIDIA A30x4`)
 *   is each part normalised and joined with `+` (`nvidia-a100+nvidia-a30`).
 * - Otherwise a fallback slug (lower case, runs of non-alphanumerics → `-`), so
 *   nothing is dropped; its kind comes from keywords (GPU, FPGA, NPU, CPU…),
 *   then the caller's hint, else `asic`; its vendor from known vendor tokens.
 *
 * Kinds: `gpu` (NVIDIA, AMD Instinct, Arm Mali, Biren, Apple GPU), `cpu`,
 * `npu` (AI accelerators sold as chips or cards: Qualcomm Cloud AI 100,
 * FuriosaAI, Moffett, SAPEON, Rebellions, Untether, SiMa, Centaur, Neuchips,
 * Hailo, Intel Gaudi), `asic` (cloud-only AI ASICs: Google TPU, AWS
 * Inferentia/Trainium, Coral Edge TPU), `fpga` (Xilinx, Intel FPGAs).
 *
 * Source of the spellings: MLCommons inference_results_v1.1…v4.1 system JSON
 * files (Apache-2.0), see data/mlperf-inference/README.md.
 */

import { createHash } from 'node:crypto';

/** Chip kind, as in the `chips.kind` column. */
export type ChipKind = 'cpu' | 'gpu' | 'npu' | 'fpga' | 'asic';

/** A normalised chip: id, kind and vendor. */
export interface NormalisedChip {
  /** Normalised chip id: lower case, `[a-z0-9-]` (`+` joins the chips of a multi-node system), e.g. `nvidia-a100`. */
  chip: string;
  kind: ChipKind;
  /** Vendor as usually written, e.g. `NVIDIA`; `unknown` when no token names one. */
  vendor: string;
}

/** One normalisation rule: a pattern over the cleaned name and the chip it means. */
export interface ChipNameRule {
  /** Tested against the name after {@link cleanChipName}; case-insensitive. */
  re: RegExp;
  vendor: string;
  /** Kind, or a function of the cleaned name (an SoC name may describe its CPU or GPU). */
  kind: ChipKind | ((name: string) => ChipKind);
  /** Chip id from the match. */
  chip: (m: RegExpMatchArray, name: string) => string;
}

/**
 * Fallback chip id of a name: read in NFKC with accents dropped (`ＮＰＵ` is `NPU`, `Exynos Ünï` is `Exynos Uni`), lower
 * case; runs of characters other than a-z and 0-9 become one `-`. A name with letters or digits of another script
 * (`昇腾 910B`) keeps them apart by a tag of its text, `-u` and 8 hex digits of its SHA-256 (the slug alone would make
 * one chip of every name that differs only there: both `910b`, or both `unknown`).
 *
 * @param s  Any text, e.g. `NPU 3.0`.
 * @returns  The slug without leading or trailing `-`, e.g. `npu-3-0`; '' for a name without letters or digits.
 */
export function slugChip(s: string): string {
  const folded = s.normalize('NFKC').normalize('NFD').replace(/\p{M}+/gu, '').toLowerCase();
  const slug = folded.replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  if (!/[^\x00-\x7f]/.test(folded) || !/[\p{L}\p{N}]/u.test(folded.replace(/[a-z0-9]/g, ''))) return slug;
  const tag = `u${createHash('sha256').update(s.normalize('NFKC')).digest('hex').slice(0, 8)}`;
  return slug === '' ? tag : `${slug}-${tag}`;
}

/**
 * Clean a chip name before the rules see it.
 *
 * @param name  Free text as submitted, e.g. `Intel(R) Xeon(R)  Platinum 8380`, or in full-width forms (`ＮＶＩＤＩＡ Ａ１００`).
 * @returns     Read in NFKC (full-width and compatibility forms as their plain letters), without `(R)` / `(TM)` / `®`
 *              / `™`, white space collapsed and trimmed: `Intel Xeon Platinum 8380`, `NVIDIA A100`.
 */
export function cleanChipName(name: string): string {
  return name.normalize('NFKC').replace(/\((?:R|TM)\)|[®™]/gi, '').replace(/\s+/g, ' ').trim();
}

const low = (s: string | undefined): string => (s ?? '').toLowerCase();
/** `1g-10gb` or `1c-3g-40gb` of a MIG profile in a name (the rule that calls it has seen one). */
function migProfile(n: string): string {
  const p = /(?:^|[^0-9.])(?:(\d+)c[.])?(\d+)g[.\s-]?(\d+)gb\b/i.exec(n)!;
  return `${p[1] ? `${p[1]}c-` : ''}${p[2]}g-${p[3]}gb`;
}
/**
 * Whether a name describes a whole SoC: it lists its CPU cores beside a GPU or NPU
 * (`Rockchip RK3588 (4x Cortex-A76, Mali-G610 GPU, 6 TOPS NPU)`); such a name stands for the SoC, whose id is its CPU's.
 */
const describesSoc = (n: string): boolean => /\bCortex[-\s]?A\d|\bCPU\b/i.test(n) && /\bMali\b|\bGPU\b|\bNPU\b/i.test(n);
const socKind = (n: string): ChipKind =>
  describesSoc(n) ? 'cpu' : /\bMali\b|\bGPU\b|\bAdreno\b/i.test(n) ? 'gpu' : /\bNPU\b|\bTPU\b|\bHexagon\b|\bHTP\b|\bDSP\b/i.test(n) ? 'npu' : 'cpu';
/** An SoC's chip id: its CPU cores are the SoC's id, its GPU or NPU another chip (a trial's "Rockchip RK3588 NPU" had landed on the CPU's id). */
const socChip = (id: string, n: string): string => (socKind(n) === 'cpu' ? id : `${id}-${socKind(n)}`);
/** A Raspberry Pi named as a board (`Raspberry Pi 4 Model B Rev 1.1`, `Raspberry Pi 400`, `RPi 5`, MLPerf's `rpi4-…` system ids): the model in group 1. */
const RASPBERRY_PI = /\b(?:Raspberry\s*Pi|RPi)\s*-?\s*(?:Compute\s+Module\s*|CM\s*)?(400|500|[345])(?![0-9])/i;
/** Accelerators sold for a Raspberry Pi: a name holding one is that accelerator, not the Pi's CPU (a re-test: "Hailo-8L on Raspberry Pi 5"). */
const PI_ACCELERATOR = /\b(?:Hailo|NCS\d?|Movidius|Myriad|Coral|Edge\s*TPU|NPU|TPU|AI\s*(?:HAT|Kit))/i;
/** The CPU chip id of a Raspberry Pi model of {@link RASPBERRY_PI} (its SoC: BCM2837, BCM2711, BCM2712). */
const PI_CPU: Readonly<Record<string, string>> = { 3: 'rpi3-cortex-a53', 4: 'rpi4-cortex-a72', 400: 'rpi4-cortex-a72', 5: 'rpi5-cortex-a76', 500: 'rpi5-cortex-a76' };
const piCpu = (model: string): string => PI_CPU[model]!;
/** The cores of each board CPU id {@link boardCpu} gives: a device name naming other cores is not that board's CPU. */
const BOARD_CORES: readonly (readonly [RegExp, RegExp])[] = [
  [/^rpi3-/, /\bCortex[-\s]?A53\b/i], [/^rpi4-/, /\bCortex[-\s]?A72\b/i], [/^rpi5-/, /\bCortex[-\s]?A76\b/i],
  [/^jetson-.*orin/, /\bCortex[-\s]?A78AE\b/i], [/^jetson-.*xavier/, /\bCarmel\b/i],
];
const NV = String.raw`\b(?:NVIDIA|Jetson)\b.*`;
/** A Jetson module's CPU named as such or by its cores (`NVIDIA Jetson AGX Orin CPU`, `Arm Cortex-A78AE (NVIDIA Jetson AGX Orin)`), not a name listing the module's GPU or DLA too. */
const jetsonCpu = (n: string): boolean => /\bCPU\b|\bCortex[-\s]?A\d/i.test(n) && !/\bGPU\b|\bDLA\b/i.test(n);
const jetsonKind = (n: string): ChipKind => (jetsonCpu(n) ? 'cpu' : 'gpu');
/** A Jetson module's id, `-cpu` added for its CPU (a trial's "Jetson AGX Orin CPU" had landed on the module's GPU). */
const jetsonChip = (id: string, n: string): string => (jetsonCpu(n) ? `${id}-cpu` : id);

/** Ordered rules; the first whose `re` matches decides. */
export const CHIP_NAME_RULES: readonly ChipNameRule[] = [
  // NVIDIA
  // A MIG slice is a chip of its own, however the name places its profile (`(1x1g.10gb MIG)`, `MIG 3g.40gb`); a trial's
  // "NVIDIA A100 80GB MIG 3g.40gb" had landed on the whole A100.
  // Word order as nvidia-smi -L prints it too (`MIG 1g.10gb NVIDIA A100-SXM4-80GB`); a profile spelled `1g 10gb`, `1g-10gb`
  // or as a compute instance `1c.3g.40gb`. MIG named without a profile (`MIG disabled`, `MIG mode`) is the whole GPU.
  { re: /^(?=.*\bMIG\b)(?=.*(?:^|[^0-9.])(?:\d+c[.])?\d+g[.\s-]?\d+gb\b).*?\b(A100|A30|A800|H100|H200|H800|GH200|GB200|B200)\b/i, vendor: 'NVIDIA', kind: 'gpu', chip: (m, n) => `nvidia-${low(m[1])}-mig-${migProfile(n)}` },
  { re: /\bCarmel\b/i, vendor: 'NVIDIA', kind: 'cpu', chip: () => 'nvidia-carmel' },
  { re: new RegExp(`${NV}\\bOrin\\s+(NX|Nano)\\b`, 'i'), vendor: 'NVIDIA', kind: jetsonKind, chip: (m, n) => jetsonChip(`jetson-orin-${low(m[1])}`, n) },
  { re: new RegExp(`${NV}\\bOrin\\b`, 'i'), vendor: 'NVIDIA', kind: jetsonKind, chip: (_m, n) => jetsonChip('jetson-agx-orin', n) },
  { re: new RegExp(`${NV}\\bXavier\\s+NX\\b`, 'i'), vendor: 'NVIDIA', kind: jetsonKind, chip: (_m, n) => jetsonChip('jetson-xavier-nx', n) },
  { re: new RegExp(`${NV}\\bXavier\\b`, 'i'), vendor: 'NVIDIA', kind: jetsonKind, chip: (_m, n) => jetsonChip('jetson-agx-xavier', n) },
  // A module named without NVIDIA or Jetson (`Orin Nano`, `AGX Orin`, `Xavier NX`; a trial's `Orin Nano` was an unknown ASIC).
  { re: /\bOrin\s+(NX|Nano)\b/i, vendor: 'NVIDIA', kind: jetsonKind, chip: (m, n) => jetsonChip(`jetson-orin-${low(m[1])}`, n) },
  { re: /\bAGX\s+Orin\b/i, vendor: 'NVIDIA', kind: jetsonKind, chip: (_m, n) => jetsonChip('jetson-agx-orin', n) },
  { re: /\bXavier\s+NX\b/i, vendor: 'NVIDIA', kind: jetsonKind, chip: (_m, n) => jetsonChip('jetson-xavier-nx', n) },
  { re: /\bAGX\s+Xavier\b/i, vendor: 'NVIDIA', kind: jetsonKind, chip: (_m, n) => jetsonChip('jetson-agx-xavier', n) },
  { re: /\bG([HB]\d{3})\b/i, vendor: 'NVIDIA', kind: 'gpu', chip: (m) => `nvidia-g${low(m[1])}` },
  // The workstation RTX 2000–6000 Ada Generation are not the Turing Quadro RTX of the same number (a trial: one id).
  { re: /\b(?:NVIDIA|GeForce|Quadro)\b.*\bRTX\s*(A?\d{4}(?:\s*Ti)?)\b/i, vendor: 'NVIDIA', kind: 'gpu', chip: (m, n) => `nvidia-rtx-${slugChip(m[1]!)}${/^[2-6]000$/.test(m[1]!) && /\bAda\b/i.test(n) ? '-ada' : ''}` },
  { re: /\b(?:NVIDIA|Tesla)\b.*?(?:^|[^A-Za-z0-9])([ABHLTKPVM]\d{1,3})(S?)(?=$|[^A-Za-z0-9]|x\d)/i, vendor: 'NVIDIA', kind: 'gpu', chip: (m) => `nvidia-${low(m[1])}${low(m[2])}` },
  { re: /\bNVIDIA\b\s*(.*)$/i, vendor: 'NVIDIA', kind: 'gpu', chip: (m) => `nvidia-${slugChip(m[1]!) || 'unknown'}` },
  // AMD
  { re: /\b(?:AMD|Instinct)\b.*\bMI(\d{2,3}[A-Z]?)\b/i, vendor: 'AMD', kind: 'gpu', chip: (m) => `amd-mi${low(m[1])}` },
  { re: /\bEPYC\s+(\d{4}[A-Z]?)\b/i, vendor: 'AMD', kind: 'cpu', chip: (m) => `amd-epyc-${low(m[1])}` },
  { re: /\bRyzen\s+(?:Threadripper\s+)?(?:(\d)\s+)?(?:PRO\s+)?(\d{4}[A-Z]{0,3})\b/i, vendor: 'AMD', kind: 'cpu', chip: (m) => `amd-ryzen-${m[1] ? `${m[1]}-` : ''}${low(m[2])}` },
  { re: /\bRadeon\b\s*(.*)$/i, vendor: 'AMD', kind: 'gpu', chip: (m) => `amd-radeon-${slugChip(m[1]!) || 'unknown'}` },
  // Intel
  // Mobile and embedded parts carry a graphics tier or more letters after the number (`i7-1185G7`, `i7-1185G7E`,
  // `i7-1185GRE`, `i7-1365URE`), N-series (`i3-N305`), Y-series (`i7-7Y75`, `m3-8100Y`); a blank for the hyphen too.
  { re: /\bCore\b.*?\b(i[3579]|m[357])[-\s](N\d{3}|\d{3,5}[A-Z]{0,3}\d{0,2}[A-Z]{0,2}|\d[A-Z]\d{2})\b/i, vendor: 'Intel', kind: 'cpu', chip: (m) => `intel-core-${low(m[1])}-${low(m[2])}` },
  { re: /\bCore\s+Ultra\s+(\d)\s+(\d{3}[A-Z]{0,2})\b/i, vendor: 'Intel', kind: 'cpu', chip: (m) => `intel-core-ultra-${m[1]}-${low(m[2])}` },
  { re: /\bXeon\b|\bIntel\b.*\b(?:Platinum|Gold|Silver|Bronze|Lake-SP)\b/i, vendor: 'Intel', kind: 'cpu', chip: (_m, n) => `intel-xeon${xeonModel(n)}` },
  { re: /\bGaudi\s*(\d?)\b/i, vendor: 'Intel', kind: 'npu', chip: (m) => `intel-gaudi${m[1] ?? ''}` },
  { re: /\b(Stratix|Agilex|Arria)\b\s*(\w*)/i, vendor: 'Intel', kind: 'fpga', chip: (m) => `intel-${slugChip(`${m[1]} ${m[2]}`)}` },
  // Qualcomm, Google, AWS
  { re: /\bCloud\s*AI\s*100\b/i, vendor: 'Qualcomm', kind: 'npu', chip: (_m, n) => `qualcomm-ai100${ai100Sku(n)}` },
  { re: /\bEdge\s*TPU\b|\bCoral\b/i, vendor: 'Google', kind: 'asic', chip: () => 'google-edgetpu' },
  // Google's "v5 lite" and "v5litepod" are the v5e (a trial: three ids for one TPU).
  // Google's phone SoC before the Cloud TPU: its TPU is the SoC's NPU (a re-test: "Google Tensor G3 TPU" was google-tpu).
  { re: /\bGoogle\s+Tensor\b(?!\s+Processing)(?:\s+(G\d+))?/i, vendor: 'Google', kind: socKind, chip: (m, n) => socChip(`google-tensor${m[1] ? `-${low(m[1])}` : ''}`, n) },
  { re: /\b(?:TPU|Tensor\s+Processing\s+Unit)\b\s*-?\s*(?:(v\d+)\s*(lite\s*pod|lite|[a-z]*))?/i, vendor: 'Google', kind: 'asic', chip: (m) => `google-tpu${m[1] ? `-${low(m[1])}${/^lite/i.test(m[2] ?? '') ? 'e' : low(m[2])}` : ''}` },
  { re: /\b(Inferentia|Trainium)\s*(\d?)/i, vendor: 'AWS', kind: 'asic', chip: (m) => `aws-${low(m[1])}${m[2] ?? ''}` },
  { re: /\bGraviton\s*(\d?)/i, vendor: 'AWS', kind: 'cpu', chip: (m) => `aws-graviton${m[1] ?? ''}` },
  // Arm SoCs and cores. Linux reports every Raspberry Pi SoC as BCM2835; the
  // only Broadcom SoC with Cortex-A72 cores is the Pi 4's BCM2711.
  { re: /\bBCM2712\b|\bBCM283\d\b.*\bCortex[-\s]?A76\b/i, vendor: 'Broadcom', kind: 'cpu', chip: () => 'rpi5-cortex-a76' },
  { re: /\bBCM2711\b|\bBCM283\d\b.*\bCortex[-\s]?A72\b/i, vendor: 'Broadcom', kind: 'cpu', chip: () => 'rpi4-cortex-a72' },
  { re: /\bBCM283\d\b.*\bCortex[-\s]?A53\b/i, vendor: 'Broadcom', kind: 'cpu', chip: () => 'rpi3-cortex-a53' },
  // A Raspberry Pi named as a board is its SoC's CPU (a trial's "Raspberry Pi 4 Model B" had been an unknown ASIC).
  { re: new RegExp(`^(?!.*${PI_ACCELERATOR.source}).*${RASPBERRY_PI.source}`, 'i'), vendor: 'Broadcom', kind: 'cpu', chip: (m) => piCpu(m[1]!) },
  // The Pi 3's SoC (BCM2837, BCM2837B0) and the Pi 2's (BCM2836, Cortex-A7) by name, as BCM2711 and BCM2712 are.
  { re: /\bBCM2837(?:B0)?\b/i, vendor: 'Broadcom', kind: 'cpu', chip: () => 'rpi3-cortex-a53' },
  { re: /\bBCM2836\b/i, vendor: 'Broadcom', kind: 'cpu', chip: () => 'rpi2-cortex-a7' },
  { re: /\bBCM(\d{4})\b/i, vendor: 'Broadcom', kind: 'cpu', chip: (m) => `broadcom-bcm${m[1]}` },
  // A Mali named with its SoC is the Mali's chip (below), as the catalog lists it, not a third id of the same GPU; an SoC
  // described whole, its Cortex cores or CPU listed beside the Mali, is the SoC (a trial's had landed on the Mali).
  { re: /^(?!(?!.*(?:\bCortex[-\s]?A\d|\bCPU\b)).*\bMali\b).*?\bAmlogic\s+([A-Z]\d{3}[A-Z]?\d?)\b/i, vendor: 'Amlogic', kind: socKind, chip: (m, n) => socChip(`amlogic-${low(m[1])}`, n) },
  { re: /^(?!(?!.*(?:\bCortex[-\s]?A\d|\bCPU\b)).*\bMali\b).*?\bRK(\d{4})S?\b/i, vendor: 'Rockchip', kind: socKind, chip: (m, n) => socChip(`rockchip-rk${m[1]}`, n) },
  { re: /\bMali-?([GT]\d+)(?:\s*MP(\d+))?/i, vendor: 'Arm', kind: 'gpu', chip: (m) => `arm-mali-${low(m[1])}${m[2] ? `-mp${m[2]}` : ''}` },
  { re: /\bMacBookPro18,([1-4])\b/i, vendor: 'Apple', kind: 'cpu', chip: (m) => (m[1] === '1' || m[1] === '3' ? 'apple-m1-pro' : 'apple-m1-max') },
  { re: /\bApple\s+M(\d)(?:\s+(Pro|Max|Ultra))?\b/i, vendor: 'Apple', kind: 'cpu', chip: (m) => `apple-m${m[1]}${m[2] ? `-${low(m[2])}` : ''}` },
  { re: /\btensorflow-metal\b/i, vendor: 'Apple', kind: 'gpu', chip: () => 'apple-gpu' },
  // Phone and tablet SoCs: the SoC is its CPU's id, its GPU or NPU named by the SoC another chip; a part number in
  // brackets (`Snapdragon 865 (SM8250)`, `(QRB5165)`: the phone and robotics packages of one die) is dropped.
  { re: /\bSnapdragon\s*(\d+\s*(?:s|cx)?\s*\+?\s*(?:Gen\s*\d+|Elite)|\d{3}\+?|X\s*(?:Elite|Plus))/i, vendor: 'Qualcomm', kind: socKind, chip: (m, n) => socChip(`qualcomm-snapdragon-${slugChip(m[1]!.replace(/\+/g, ' plus '))}`, n) },
  { re: /\b(Dimensity|Helio)\s*([A-Z]?\d+\w*)/i, vendor: 'MediaTek', kind: socKind, chip: (m, n) => socChip(`mediatek-${low(m[1])}-${low(m[2])}${/^\+/.test(n.slice((m.index ?? 0) + m[0].length)) ? '-plus' : ''}`, n) },
  { re: /\bExynos\s*(\d{3,4}\w*)/i, vendor: 'Samsung', kind: socKind, chip: (m, n) => socChip(`samsung-exynos-${low(m[1])}`, n) },
  { re: /\bKirin\s*(\d{3,4}\w*)/i, vendor: 'HiSilicon', kind: socKind, chip: (m, n) => socChip(`hisilicon-kirin-${low(m[1])}`, n) },
  { re: /\bAllwinner\s+([A-Z]\d+\w*)/i, vendor: 'Allwinner', kind: socKind, chip: (m, n) => socChip(`allwinner-${low(m[1])}`, n) },
  { re: /\bYitian\s*(\d+)/i, vendor: 'Alibaba', kind: 'cpu', chip: (m) => `alibaba-yitian-${m[1]}` },
  { re: /\bNeoverse[- ]?([NVE]\d)\b/i, vendor: 'Arm', kind: 'cpu', chip: (m) => `arm-neoverse-${low(m[1])}` },
  { re: /\bCortex[-\s]?A\d+/i, vendor: 'Arm', kind: 'cpu', chip: (_m, n) => `arm-cortex-${cortexCores(n)}` },
  // AI accelerators and FPGAs
  { re: /\bWarboy\b/i, vendor: 'FuriosaAI', kind: 'npu', chip: () => 'furiosa-warboy' },
  { re: /\bMOFFETT\s+(S\d+)/i, vendor: 'Moffett', kind: 'npu', chip: (m) => `moffett-${low(m[1])}` },
  { re: /\bSAPEON\s+(X\d+)(?:-([A-Za-z]+))?/i, vendor: 'SAPEON', kind: 'npu', chip: (m) => `sapeon-${low(m[1])}${m[2] ? `-${low(m[2])}` : ''}` },
  { re: /\bRBLN\s+(\w+)|\bRebellions\s+(\w+)/i, vendor: 'Rebellions', kind: 'npu', chip: (m) => `rebellions-${low(m[1] ?? m[2])}` },
  { re: /\bspeedAI\s*(\d+)/i, vendor: 'Untether AI', kind: 'npu', chip: (m) => `untether-speedai${m[1]}` },
  { re: /\bNCS\s*2\b|\bMyriad\s*X\b/i, vendor: 'Intel', kind: 'npu', chip: () => 'intel-movidius-myriad-x' },
  { re: /\bMLSoC\b/i, vendor: 'SiMa.ai', kind: 'npu', chip: () => 'sima-mlsoc' },
  { re: /\bCentaur\b.*\bAI Coprocessor\b/i, vendor: 'Centaur', kind: 'npu', chip: () => 'centaur-aic' },
  { re: /\bRecAccel\b(?:[\s-]+(N\d+))?/i, vendor: 'Neuchips', kind: 'npu', chip: (m) => `neuchips-recaccel${m[1] ? `-${low(m[1])}` : ''}` },
  { re: /\bHailo[-\s]?(\d+\w*)/i, vendor: 'Hailo', kind: 'npu', chip: (m) => `hailo-${low(m[1])}` },
  { re: /\bBR(\d{3})\b/i, vendor: 'Biren', kind: 'gpu', chip: (m) => `biren-br${m[1]}` },
  { re: /\bAlveo\s*([A-Z]\d+)/i, vendor: 'Xilinx', kind: 'fpga', chip: (m) => `xilinx-alveo-${low(m[1])}` },
  { re: /\b(Versal|Kintex|Virtex|Zynq)\b\s*(\S*)/i, vendor: 'Xilinx', kind: 'fpga', chip: (m) => `xilinx-${slugChip(`${m[1]} ${m[2]}`)}` },
];

/** `-<model>` of a Xeon name: model number (tier dropped), else code name, else ''. */
function xeonModel(n: string): string {
  const w = /\b(w\d-\d{4}[A-Z]?)\b/i.exec(n);
  if (w) return `-${low(w[1])}`;
  const e = /\b(E[357]-\d{4}[A-Z]?)(?:\s*(v\d))?\b/i.exec(n);
  if (e) return `-${low(e[1])}${low(e[2])}`;
  const num = /(?:^|[^\d.])(\d{4}[A-Z]{0,2})(\+?)(?![\d.])/i.exec(n);
  if (num) return `-${low(num[1])}${num[2] ? 'plus' : ''}`;
  const code = /\b(Sapphire Rapids|Emerald Rapids|Granite Rapids|Sierra Forest|Ice Lake|Cascade Lake|Cooper Lake|Skylake|Broadwell|Haswell)\b/i.exec(n);
  return code ? `-${slugChip(code[1]!)}` : '';
}

/** SKU suffix of a Qualcomm Cloud AI 100 name. */
function ai100Sku(n: string): string {
  if (/\bDM\.?2e\b/i.test(n)) return '-dm2e';
  if (/\bDM\.?2\b/i.test(n)) return '-dm2';
  const tier = /\b(Pro|Standard|Lite|Ultra)\b/i.exec(n);
  if (tier) return `-${low(tier[1])}`;
  return /\bPCIe\b/i.test(n) ? '-pcie' : '';
}

/** `a72x2-a53x4` from "Arm Cortex-A72 MP2 (big); Arm Cortex-A53 MP4 (LITTLE)"; `a65x4` from "4-core Cortex-A65". */
function cortexCores(n: string): string {
  const cores = [...n.matchAll(/\bCortex[-\s]?(A\d+(?:AE)?)(?:\s*MP(\d+))?/gi)];
  const leading = /\b(\d+)-core\b/i.exec(n)?.[1];
  return cores.map((c) => `${low(c[1])}${c[2] ? `x${c[2]}` : cores.length === 1 && leading ? `x${leading}` : ''}`).join('-');
}

const VENDOR_TOKENS: readonly [RegExp, string][] = [
  [/\bNVIDIA\b/i, 'NVIDIA'], [/\bAMD\b/i, 'AMD'], [/\bIntel\b/i, 'Intel'], [/\bQualcomm\b/i, 'Qualcomm'],
  [/\bApple\b/i, 'Apple'], [/\bGoogle\b/i, 'Google'], [/\b(?:AWS|Amazon)\b/i, 'AWS'], [/\bAlibaba\b/i, 'Alibaba'],
  [/\bA(?:RM|rm)(?:v\d)?\b/, 'Arm'], [/\bBroadcom\b/i, 'Broadcom'], [/\bRock[Cc]hip\b/, 'Rockchip'],
  [/\bMediaTek\b/i, 'MediaTek'], [/\bSamsung\b/i, 'Samsung'], [/\bXilinx\b/i, 'Xilinx'], [/\bAllwinner\b/i, 'Allwinner'],
  [/\b(?:HiSilicon|Huawei)\b/i, 'HiSilicon'],
];

/**
 * The part of a processor a name stands for when it is not the CPU: `npu` for an NPU or Apple's Neural Engine, `gpu` for
 * a GPU (VideoCore, Adreno too), named as the name's subject: the token ends it, or only a model word or two follows it
 * (`Apple M2 GPU`, `NPU 4`). A name that lists the parts of an SoC (`8-core CPU, 7-core GPU`) or says `with … Graphics`
 * describes the processor: null.
 */
function integratedPart(n: string): 'gpu' | 'npu' | null {
  if (/\bCPU\b|\bCortex[-\s]?A\d/i.test(n)) return null;
  if (/\b(?:NPU|Neural\s+Engine|ANE)\b(?:\s+[\w.-]+)?\s*$/i.test(n)) return 'npu';
  if (/\b(?:GPU|VideoCore(?:\s+[IVX]+)?|Adreno\s+\d+)\b(?:\s+[\w.-]+)?\s*$/i.test(n)) return 'gpu';
  return null;
}

/** Kind of a name no rule knows: keywords, then the caller's hint, else `asic`. */
function fallbackKind(n: string, hint: ChipKind | undefined): ChipKind {
  if (/\b(?:GPU|GeForce|Adreno|PowerVR)\b/i.test(n)) return 'gpu';
  if (/\bFPGA\b/i.test(n)) return 'fpga';
  if (/\b(?:NPU|AI|Accelerator|Coprocessor)\b/i.test(n)) return 'npu';
  if (/\b(?:CPU|Processor|ARMv\d\S*|x86|aarch64)\b/i.test(n)) return 'cpu';
  return hint ?? 'asic';
}

/**
 * The CPU of the board a system names, or null: a Raspberry Pi 3, 4 or 5 (`Raspberry Pi 4 Model B Rev 1.1`, a system id
 * `rpi4-tvm-fp32`), a Jetson Orin or Xavier module (`NVIDIA Jetson AGX Orin (TFLite with xnnpack on CPU)`).
 * @param system  The system's name and id as submitted (MLPerf `system_name` and `system_id`).
 * @returns       E.g. `{ chip: 'rpi4-cortex-a72', vendor: 'Broadcom' }`, `{ chip: 'jetson-agx-orin-cpu', vendor: 'NVIDIA' }`.
 */
function boardCpu(system: string): { chip: string; vendor: string } | null {
  const pi = RASPBERRY_PI.exec(system);
  if (pi) return { chip: piCpu(pi[1]!), vendor: 'Broadcom' };
  // The module named by the system, brackets (the runtime) left out, and its CPU asked for.
  const module = /\b(?:NVIDIA|Jetson)\b[^()]*?\b(?:Orin|Xavier)(?:\s+(?:NX|Nano))?\b/i.exec(system.replace(/\([^)]*\)/g, ' '))?.[0];
  if (!module) return null;
  const chip = normaliseChip(`${module} CPU`).chip;
  return /^jetson-.*-cpu$/.test(chip) ? { chip, vendor: 'NVIDIA' } : null;
}

/**
 * Whether a CPU's name tells only its instruction set or cores, not the chip: a Raspberry Pi's `BCM2835` alone (which
 * Linux reports for every Pi), cores alone (`Arm Cortex-A72 MP4`, `Arm Cortex-A78AE v8.2`, `NVIDIA Carmel (ARMv8.2)`),
 * or what /proc/cpuinfo says of an Arm CPU (`ARMv8 Processor rev 1 (v8l)`, `aarch64`).
 * @param n      The name, cleaned ({@link cleanChipName}).
 * @param c      The name's normalisation without a system.
 * @param ruled  Whether a rule of {@link CHIP_NAME_RULES} gave `c` (not the fallback slug).
 */
function genericCpu(n: string, c: NormalisedChip, ruled: boolean): boolean {
  if (c.kind !== 'cpu') return false;
  if (ruled) return /^broadcom-bcm283\d$|^arm-cortex-|^nvidia-carmel$/.test(c.chip);
  return /\b(?:ARMv\d[\w.]*|aarch64|arm64)\b/i.test(n);
}

/** Placeholder words, as letters and digits only: `#N/A`, `N / A` and `N.A.` are `na`, `(none)` and `none.` are `none`. */
const PLACEHOLDER_WORDS: ReadonlySet<string> = new Set(['na', 'none', 'null', 'nil', 'unknown', 'tbd', 'notapplicable', 'notavailable']);

/**
 * Whether a cell names no device: empty or punctuation alone (`-`, `?`, `—`), a placeholder word in any case, width
 * and punctuation (`N/A`, `Ｎ／Ａ`, `#N/A`, `N.A.`, `(none)`, `<none>`, `Not applicable`, `unknown`, `TBD`, `null`), alone or
 * with a remark in brackets after it (`None (CPU only)`, `N/A (CPU only)`), as MLPerf's files and hand-made ones write
 * where a system has no accelerator (a trial: compute_device `-` became chip `unknown` and `N/A` chip `n-a`, both ranked
 * by `recommend`). A name that only begins with such a word (`Unknown Accelerator X1`, `N/A-something`, `None-AI`) is a name.
 * @param cell  The cell, as read.
 */
export function placeholderName(cell: string): boolean {
  // Full-width forms read as their ASCII (NFKC: `Ｎ／Ａ` is `N/A`), and a remark in brackets after the word is a remark
  // (`None (CPU only)`, `N/A (CPU only)`, `TBD (soon)`; a re-test: the latter became chips `n-a-cpu-only`, `tbd-soon`).
  const t = cell.normalize('NFKC').trim().toLowerCase();
  const word = (s: string): string => s.replace(/[^\p{L}\p{N}]+/gu, '');
  const bare = t.replace(/\s*\([^()]*\)$/u, '');
  return word(t) === '' || PLACEHOLDER_WORDS.has(word(t)) || (bare !== t && PLACEHOLDER_WORDS.has(word(bare)));
}

/**
 * The raw device name of an MLPerf systems record: its `compute_device`, else `accelerator_model_name`, else
 * `host_processor_model_name`, else `system_name`, the first that names a device ({@link placeholderName} skips the
 * others); `''` when none does. The MLPerf import and the system features read the same name, so a system's chip is
 * one id in both.
 * @param r  The record's cells by column name (a column the file lacks is undefined).
 */
export function systemDeviceName(r: Readonly<Record<string, string | undefined>>): string {
  return [r.compute_device, r.accelerator_model_name, r.host_processor_model_name, r.system_name]
    .find((s): s is string => s !== undefined && !placeholderName(s)) ?? '';
}

/**
 * Normalise one chip name as submitted (free text) to a chip id, kind and vendor.
 *
 * Behaviour: rules of {@link CHIP_NAME_RULES} in order (see the module doc);
 * a multi-node name (`1 Node: X, 2 Nodes: Y`) is each part normalised and
 * joined by `+`; a name no rule knows becomes its slug ({@link slugChip});
 * an empty name is `unknown`. Pure and deterministic; never throws.
 * @param name  E.g. `NVIDIA A100-SXM4-80GB`, `Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz`.
 * @param hint  `kind`: kind to use for a name that no rule and no keyword classifies
 *              (e.g. `cpu` when MLPerf's `compute_kind` is `cpu`). @default undefined (→ `asic`)
 *              `system`: the system's name and id (MLPerf `system_name` and `system_id`): a CPU name that tells only
 *              an instruction set or cores ({@link genericCpu}) is the CPU of the board the system names
 *              ({@link boardCpu}: `BCM2835` on `Raspberry Pi 4 Model B` is `rpi4-cortex-a72`, `ARMv8 Processor rev 1
 *              (v8l)` on `NVIDIA Jetson AGX Orin` is `jetson-agx-orin-cpu`), unless the name names other cores than the
 *              board's. @default undefined (the name alone)
 *              `host`: the system's host processor (MLPerf `host_processor_model_name`): an NPU named only as such
 *              (`NPU 3.0`) beside an SoC host is that SoC's NPU (`rockchip-rk3588-npu`). @default undefined
 * @returns     `{ chip, kind, vendor }`, e.g. `{ chip: 'nvidia-a100', kind: 'gpu', vendor: 'NVIDIA' }`.
 * @example see test/unit/model/import-mlperf.test.ts
 */
export function normaliseChip(name: string, hint: { kind?: ChipKind; system?: string; host?: string } = {}): NormalisedChip {
  const named = normaliseName(name, hint.kind);
  // An NPU named only as such (`NPU 3.0`) beside an SoC host is that SoC's NPU (Alibaba's RK3588 board: `npu-3-0`, vendor
  // unknown, beside the `rockchip-rk3588-npu` of other spellings).
  if (hint.host && !named.ruled && /^NPU\b/i.test(cleanChipName(name))) {
    const host = normaliseName(hint.host, 'cpu');
    if (host.ruled && host.result.kind === 'cpu' && SOC_ID.test(host.result.chip)) return { chip: `${host.result.chip}-npu`, kind: 'npu', vendor: host.result.vendor };
  }
  if (!hint.system || !genericCpu(cleanChipName(name), named.result, named.ruled)) return named.result;
  // A Broadcom SoC number is a Pi's: on a system naming another board it stays as named (a re-test: BCM2835 on a Jetson).
  const found = boardCpu(hint.system);
  const board = found && (found.vendor === 'Broadcom' || !named.result.chip.startsWith('broadcom-')) ? found : null;
  const cores = board && BOARD_CORES.find(([re]) => re.test(board.chip))?.[1];
  const other = /\bCortex[-\s]?A\d+(?:AE)?\b|\bCarmel\b/i.test(name) && !(cores && cores.test(name));
  return board && !other ? { chip: board.chip, kind: 'cpu', vendor: board.vendor } : named.result;
}

/** Chip ids of SoCs (their CPU's id; an NPU or GPU on them adds `-npu` / `-gpu`). */
const SOC_ID = /^(?:rockchip|amlogic|qualcomm-snapdragon|mediatek|samsung-exynos|hisilicon-kirin|google-tensor|allwinner)-/;

/** {@link normaliseChip} of the name alone, and whether a rule (not the fallback slug) gave it. */
function normaliseName(name: string, kindHint: ChipKind | undefined): { result: NormalisedChip; ruled: boolean } {
  const hint = { kind: kindHint };
  const n = cleanChipName(name);
  if (n === '') return { result: { chip: 'unknown', kind: hint.kind ?? 'asic', vendor: 'unknown' }, ruled: false };
  if (/^\d+\s+Nodes?:/i.test(n)) {
    const parts = n.split(/,\s*(?=\d+\s+Nodes?:)/i).map((p) => normaliseChip(p.replace(/^\d+\s+Nodes?:\s*/i, '').replace(/x\d+$/i, ''), hint));
    const uniq = (xs: string[]): string => [...new Set(xs)].sort().join('+');
    return { result: { chip: uniq(parts.map((p) => p.chip)), kind: parts[0]!.kind, vendor: uniq(parts.map((p) => p.vendor)) }, ruled: true };
  }
  for (const r of CHIP_NAME_RULES) {
    const m = r.re.exec(n);
    if (!m) continue;
    const chip = r.chip(m, n);
    const kind = typeof r.kind === 'function' ? r.kind(n) : r.kind;
    // A processor's GPU or NPU named by the processor (`Apple M2 GPU`, `Intel Core Ultra 7 155H NPU`, `Apple M1 Neural
    // Engine`) is another chip than its CPU cores (a re-test: they all landed on the CPU's id).
    const part = kind === 'cpu' ? integratedPart(n) : null;
    return { result: part ? { chip: `${chip}-${part}`, kind: part, vendor: r.vendor } : { chip, kind, vendor: r.vendor }, ruled: true };
  }
  const vendor = VENDOR_TOKENS.find(([re]) => re.test(n))?.[1] ?? 'unknown';
  return { result: { chip: slugChip(n) || 'unknown', kind: fallbackKind(n, hint.kind), vendor }, ruled: false };
}
