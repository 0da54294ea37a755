/**
 * Benchmark systems whose own texts disagree about the hardware: the system id names one board and the
 * description (name, devices) another, or the description names a board and CPU cores that board does not have.
 * Such a system cannot be placed on a chip; its runs are not imported (services/model/import-mlperf.ts).
 *
 * Seen in MLCommons inference_results_v2.0 (Apache-2.0; data/mlperf-inference/): in the open division Krai's
 * `odroid-armnn-v21.11-opencl` is described as an NVIDIA Jetson AGX Xavier (its runs measured 44.27 ms for a
 * MobileNet the Odroid's Mali-G52 runs in 43.98 ms in the closed division, and would have landed on the Xavier),
 * and `rpi3-tflite-v2.7.1-ruy`, a Raspberry Pi 3 by id and name, has a Pi 4's `Cortex-A72` as its processor.
 *
 * Boards and their CPU cores: Raspberry Pi 3 (BCM2837, Cortex-A53), 4 and 400 (BCM2711, Cortex-A72), 5 and 500
 * (BCM2712, Cortex-A76): raspberrypi.com product briefs; Jetson Orin modules (Cortex-A78AE) and Xavier modules
 * (NVIDIA Carmel, no Cortex core): NVIDIA Jetson module data sheets; Rockchip RK3588 (Cortex-A76 + A55) and
 * RK3399 (Cortex-A72 + A53): Rockchip data sheets; Odroid boards use several SoCs (cores not checked).
 */

/** A board a system's texts may name. */
interface Board {
  /** The board as a message names it. */
  name: string;
  /** Family: two boards of one family are the same hardware for this check (a Pi 4 and a Pi 400). */
  family: string;
  /** Where a text names it (ids with `-` and `_` between words: `rpi4coral-…`, `nvidia_orin-…`, `Xavier_NX_TRT`). */
  re: RegExp;
  /** Cortex-A core numbers its CPU has ([] = none: a non-Cortex CPU); null = not checked. */
  cores: readonly number[] | null;
}

const BOARDS: readonly Board[] = [
  { name: 'Raspberry Pi 3', family: 'rpi3', re: /(?:\bRaspberry\s*Pi|(?<![a-z])RPi)\s*-?\s*3(?![0-9])/i, cores: [53] },
  { name: 'Raspberry Pi 4', family: 'rpi4', re: /(?:\bRaspberry\s*Pi|(?<![a-z])RPi)\s*-?\s*4(?:00)?(?![0-9])/i, cores: [72] },
  { name: 'Raspberry Pi 5', family: 'rpi5', re: /(?:\bRaspberry\s*Pi|(?<![a-z])RPi)\s*-?\s*5(?:00)?(?![0-9])/i, cores: [76] },
  { name: 'Odroid', family: 'odroid', re: /(?<![a-z])odroid(?![a-z])/i, cores: null },
  // Also run together with the module's form in an id (`agxorin`, `XavierNX_TRT`, `orinnx-trt`: a re-test).
  { name: 'NVIDIA Jetson Orin', family: 'jetson-orin', re: /(?:(?<![a-z])|(?<=agx))orin(?=nx|nano|[^a-z]|$)/i, cores: [78] },
  { name: 'NVIDIA Jetson Xavier', family: 'jetson-xavier', re: /(?:(?<![a-z])|(?<=agx))xavier(?=nx|[^a-z]|$)/i, cores: [] },
  { name: 'Rockchip RK3588', family: 'rk3588', re: /(?<![a-z0-9])rk3588/i, cores: [76, 55] },
  { name: 'Rockchip RK3399', family: 'rk3399', re: /(?<![a-z0-9])rk3399/i, cores: [72, 53] },
];

/** The boards a text names, at most one per family, in {@link BOARDS} order. */
function boardsIn(text: string): Board[] {
  return BOARDS.filter((b) => b.re.test(text));
}

/** The texts of one benchmark system. */
export interface SystemTexts {
  /** The system id as submitted (MLPerf `system_id`), e.g. `odroid-armnn-v21.11-opencl`. */
  id: string;
  /** The system's name (MLPerf `system_name`), '' when absent. */
  name: string;
  /** Its device names: compute device, accelerator, host processor ('' entries are ignored). */
  devices: readonly string[];
}

/**
 * Why a system's texts contradict each other about its hardware, or null when they do not (or name no known board).
 *
 * Behaviour: (1) the id names a board of the module doc's list and the name and devices name boards, none of the
 * id's family: a contradiction; (2) the id and name name boards and the devices others, none of their families: a
 * contradiction; (3) a board named by the id or the name whose CPU cores are known, while a device
 * names a Cortex-A core that board does not have (any Cortex core on a Xavier, whose CPU is Carmel): a contradiction.
 * Core numbers are compared without suffix (`Cortex-A78AE` is an A78). Pure; never throws.
 * @param s  The system's texts.
 * @returns  E.g. `its id "odroid-armnn-v21.11-neon" names Odroid but its description NVIDIA Jetson Xavier ("NVIDIA Jetson AGX Xavier")`, or null.
 */
export function systemBoardConflict(s: SystemTexts): string | null {
  const devices = s.devices.filter((d) => d.trim() !== '');
  const described = boardsIn([s.name, ...devices].join(' | '));
  const byId = boardsIn(s.id);
  if (byId.length > 0 && described.length > 0 && !byId.some((b) => described.some((d) => d.family === b.family))) {
    const text = [s.name, ...devices].find((t) => described.some((d) => d.re.test(t))) ?? s.name;
    return `its id ${JSON.stringify(s.id)} names ${byId.map((b) => b.name).join(' and ')} but its description ${described.map((b) => b.name).join(' and ')} (${JSON.stringify(text)})`;
  }
  // The name agrees with the id (or the id names none), and a device names another board: the chip would be taken from
  // that device (a re-test: `Xavier_NX_TRT` "NVIDIA Jetson Xavier NX" with the device "NVIDIA Orin" landed on the Orin).
  const named = boardsIn(`${s.id} | ${s.name}`);
  const byDevices = boardsIn(devices.join(' | '));
  if (named.length > 0 && byDevices.length > 0 && !named.some((b) => byDevices.some((d) => d.family === b.family))) {
    const device = devices.find((d) => byDevices.some((b) => b.re.test(d)))!;
    const who = byId.length > 0 && boardsIn(s.name).length > 0 ? 'its id and name say' : byId.length > 0 ? 'its id says' : 'its name says';
    return `${who} ${named.map((b) => b.name).join(' and ')} but its device is named ${JSON.stringify(device)} (${byDevices.map((b) => b.name).join(' and ')})`;
  }
  const cores = [...new Set(devices.flatMap((d) => [...d.matchAll(/\bCortex[-\s]?A(\d+)/gi)].map((m) => Number(m[1]))))];
  if (cores.length === 0) return null;
  for (const b of [...byId, ...boardsIn(s.name)]) {
    if (b.cores === null) continue;
    const other = cores.find((c) => !b.cores!.includes(c));
    if (other === undefined) continue;
    const where = devices.find((d) => new RegExp(`\\bCortex[-\\s]?A${other}(?![0-9])`, 'i').test(d))!;
    const has = b.cores.length === 0 ? 'no Cortex core (its CPU is NVIDIA Carmel)' : `Cortex-${b.cores.map((c) => `A${c}`).join(' and ')} cores`;
    return `it is ${b.name} by its ${byId.includes(b) ? 'id' : 'name'}, which has ${has}, but its processor is named ${JSON.stringify(where)}`;
  }
  return null;
}
