/**
 * systemBoardConflict: benchmark systems whose id and description disagree about the hardware. The cases are rows of
 * data/mlperf-inference/systems_v*.csv (MLCommons, Apache-2.0), read by hand; the last ones are made up.
 */
import { describe, expect, it } from 'vitest';
import { systemBoardConflict, type SystemTexts } from '../../../services/model/board-conflict.ts';

const system = (id: string, name: string, ...devices: string[]): SystemTexts => ({ id, name, devices });

describe('systemBoardConflict', () => {
  it.each([
    // v2.0 open: Krai's Odroid ids with a Jetson AGX Xavier's system file.
    [system('odroid-armnn-v21.11-opencl', 'NVIDIA Jetson AGX Xavier', 'NVIDIA Xavier', 'NVIDIA Xavier', 'NVIDIA Carmel (ARMv8.2)'),
      'its id "odroid-armnn-v21.11-opencl" names Odroid but its description NVIDIA Jetson Xavier ("NVIDIA Jetson AGX Xavier")'],
    [system('odroid-tflite-v2.7.1-ruy', 'NVIDIA Jetson AGX Xavier', 'NVIDIA Carmel (ARMv8.2)', '-', 'NVIDIA Carmel (ARMv8.2)'),
      'its id "odroid-tflite-v2.7.1-ruy" names Odroid but its description NVIDIA Jetson Xavier ("NVIDIA Jetson AGX Xavier")'],
    // v2.0 open: a Raspberry Pi 3 by id and name with a Pi 4's cores.
    [system('rpi3-tflite-v2.7.1-ruy', 'Raspberry Pi 3 Model B Rev 1.2 (rpi3)', 'BCM2835 Arm Cortex-A72 r0p3', '-', 'BCM2835 Arm Cortex-A72 r0p3'),
      'it is Raspberry Pi 3 by its id, which has Cortex-A53 cores, but its processor is named "BCM2835 Arm Cortex-A72 r0p3"'],
    // Made up: a Pi 5 by name with a Pi 4's cores; a Xavier by id with Cortex cores; an Orin id on a Pi.
    [system('board-x', 'Raspberry Pi 5', 'Arm Cortex-A72'), 'it is Raspberry Pi 5 by its name, which has Cortex-A76 cores, but its processor is named "Arm Cortex-A72"'],
    [system('Xavier_NX_TRT', 'NVIDIA Jetson Xavier NX', 'NVIDIA Xavier NX', '6-core Arm Cortex-A57'),
      'it is NVIDIA Jetson Xavier by its id, which has no Cortex core (its CPU is NVIDIA Carmel), but its processor is named "6-core Arm Cortex-A57"'],
    [system('orin-tflite', 'Raspberry Pi 4 Model B', 'BCM2711'), 'its id "orin-tflite" names NVIDIA Jetson Orin but its description Raspberry Pi 4 ("Raspberry Pi 4 Model B")'],
    // A re-test: the name agrees with the id and the device names another board (the chip is taken from the device).
    [system('Xavier_NX_TRT', 'NVIDIA Jetson Xavier NX', 'NVIDIA Orin'), 'its id and name say NVIDIA Jetson Xavier but its device is named "NVIDIA Orin" (NVIDIA Jetson Orin)'],
    [system('rpi4-trt', 'Raspberry Pi 4 Model B', 'NVIDIA Jetson AGX Orin'), 'its id and name say Raspberry Pi 4 but its device is named "NVIDIA Jetson AGX Orin" (NVIDIA Jetson Orin)'],
    [system('edge-box', 'Raspberry Pi 5', 'NVIDIA Xavier'), 'its name says Raspberry Pi 5 but its device is named "NVIDIA Xavier" (NVIDIA Jetson Xavier)'],
    // A module's form run together with its name in an id (a re-test).
    [system('XavierNX_TRT', 'NVIDIA Jetson Orin NX', 'NVIDIA Orin NX'), 'its id "XavierNX_TRT" names NVIDIA Jetson Xavier but its description NVIDIA Jetson Orin ("NVIDIA Jetson Orin NX")'],
    [system('orinnx-trt', 'Raspberry Pi 4', 'BCM2711'), 'its id "orinnx-trt" names NVIDIA Jetson Orin but its description Raspberry Pi 4 ("Raspberry Pi 4")'],
  ])('%j: %s', (s, reason) => expect(systemBoardConflict(s)).toBe(reason));

  it.each([
    system('odroid-armnn-v21.11-opencl', 'Odroid N2+ (odroid)', 'Arm Mali-G52 MP6 GPU', 'Arm Mali-G52 MP6 GPU', 'Amlogic S922X (12nm): Arm Cortex-A73 MP4 (big); Arm Cortex-A53 MP2 (LITTLE)'),
    system('rpi3-tflite-v2.7.1-ruy', 'Raspberry Pi 3 Model B Rev 1.2 (rpi3)', 'BCM2837 Arm Cortex-A53 r0p4', '-', 'BCM2837 Arm Cortex-A53 r0p4'),
    system('rpi4coral-fan.on-tflite-v2.5.0-ruy', 'Raspberry Pi 4', 'Arm Cortex-A72 MP4', '-', 'Arm Cortex-A72 MP4'),
    system('rpi4-tvm-fp32', 'Raspberry (Raspberry Pi 4 Model B Rev 1.1)', 'BCM2835', '-', 'BCM2835'),
    system('firefly-tflite-v2.5.0-ruy', 'Firefly-RK3399 (firefly)', 'Arm Cortex-A72 MP2 (big); Arm Cortex-A53 MP4 (LITTLE)'),
    system('firefly-armnn-v22.05-opencl', 'Firefly-RK3588S (firefly)', 'ARM Mali-G610 MP4', 'ARM Mali-G610 MP4', 'RockChip RK3588S: Arm Cortex-A76 (big); Arm Cortex-A55 (LITTLE)'),
    system('Orin_TRT', 'NVIDIA Orin (TensorRT)', 'NVIDIA Orin', 'NVIDIA Orin', '12-core Cortex-A78 CPU'),
    system('orin-armnn-v22.05-neon', 'NVIDIA Jetson AGX Orin', 'Arm Cortex-A78AE v8.2', '-', 'Arm Cortex-A78AE v8.2'),
    system('nvidia_orin-reference-cpu-onnxruntime-v1.13.1-default_config', 'NVIDIA Jetson AGX Orin (Onnxruntime CPU)', 'ARMv8 Processor rev 1 (v8l)', 'N/A', 'ARMv8 Processor rev 1 (v8l)'),
    system('AGX_Xavier_TRT_MaxQ', 'Auvidea X220-LC AGX Xavier 32GB (MaxQ, TensorRT)', 'NVIDIA AGX Xavier', 'NVIDIA AGX Xavier', 'NVIDIA Carmel (ARMv8.2)'),
    system('xavier-power.0-fan.cool-armnn-v21.05-neon', 'NVIDIA Jetson AGX Xavier', 'NVIDIA Carmel (ARMv8.2)'),
    // No board named anywhere, or by the id alone.
    system('A100_TRT', 'NVIDIA DGX A100 (8x A100-SXM-80GB, TensorRT)', 'NVIDIA A100-SXM-80GB', 'AMD EPYC 7742 64-Core Processor'),
    system('rpi4-armnn', '', ''),
    // Word parts that only look like a board: "origin", "rpi45".
    system('origin-tflite', 'NVIDIA Jetson AGX Xavier', 'NVIDIA Carmel (ARMv8.2)'),
    system('rpi45-x', 'Raspberry Pi 3', 'BCM2837 Arm Cortex-A53'),
    system('agxorin-trt', 'NVIDIA Jetson AGX Orin', 'NVIDIA Jetson AGX Orin', '12-core Arm Cortex-A78AE'),
    system('Orin_TRT', 'NVIDIA Jetson AGX Orin 64G (TensorRT) + CTI Forge Carrier (AGX201)', 'NVIDIA Jetson AGX Orin 64G', '12-core ARM Cortex-A78AE CPU'),
    system('orinoco-x', 'NVIDIA Jetson AGX Xavier', 'NVIDIA Carmel (ARMv8.2)'),
  ])('%j: none', (s) => expect(systemBoardConflict(s)).toBeNull());
});
