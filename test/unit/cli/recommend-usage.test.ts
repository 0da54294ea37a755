/**
 * checkRecommendUsage: `recommend`'s usage problems that need no data, said before the warehouse opens (a usage error
 * had waited for the folder's lock and the engine's start, ~1 s, to say what the flags alone tell).
 */
import { describe, expect, it } from 'vitest';
import { checkRecommendUsage } from '../../../services/cli/predictor.ts';
import { UsageError } from '../../../services/cli/usage-error.ts';

describe('checkRecommendUsage', () => {
  it.each([
    [{}, 'give exactly one of --slo-p99-ms and --slo-p90-ms; give exactly one of --model ID, --onnx FILE and --profile FILE'],
    [{ model: 'resnet50', sloP99Ms: 10, sloP90Ms: 5 }, 'give exactly one of --slo-p99-ms and --slo-p90-ms'],
    [{ model: 'resnet50', onnx: 'm.onnx', sloP99Ms: 10 }, 'give exactly one of --model ID, --onnx FILE and --profile FILE'],
    [{ model: 'resnet50', sloP99Ms: 10, chips: [] }, '--chips: expected chip ids separated by commas, got a blank value'],
    [{ model: 'resnet50', sloP99Ms: 10, chips: ['jetson-agx-orin', 'rk3588\u202e'] }, expect.stringMatching(/^--chips: /)],
  ])('%j: %s', (opts, message) => {
    expect(() => checkRecommendUsage(opts)).toThrow(UsageError);
    expect(() => checkRecommendUsage(opts)).toThrow(expect.objectContaining({ message }));
  });

  it('passes one SLO with one of --model, --onnx and --profile, and good chip ids', () => {
    expect(checkRecommendUsage({ model: 'resnet50', sloP90Ms: 20, chips: ['jetson-agx-orin'] })).toBeUndefined();
    expect(checkRecommendUsage({ profile: 'p.json', sloP99Ms: 10 })).toBeUndefined();
  });
});
