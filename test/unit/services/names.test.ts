import { describe, expect, it } from 'vitest';
import { nearestNames } from '../../../services/names.ts';

describe('nearestNames', () => {
  const chips = ['rk3588-mali-g610', 'jetson-xavier-nx', 'jetson-agx-orin', 'rpi4-cortex-a72', 'qualcomm-ai100'];

  it('lists the closest first by edit distance, case-insensitive, and counts the rest', () => {
    // Distances from "jetson-orin": jetson-agx-orin 4 (insert "agx-"), jetson-xavier-nx 7, the others more.
    expect(nearestNames('jetson-orin', chips, 2)).toBe('jetson-agx-orin, jetson-xavier-nx, … 3 more');
    expect(nearestNames('JETSON-AGX-ORIN', chips, 1)).toBe('jetson-agx-orin, … 4 more');
  });

  it('lists every name when they fit, ties in the given order', () => {
    expect(nearestNames('x', ['ab', 'cd'], 8)).toBe('ab, cd');
    expect(nearestNames('', [], 3)).toBe('');
  });
});
