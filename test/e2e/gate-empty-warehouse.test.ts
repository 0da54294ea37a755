/**
 * `edgelat gate` on a migrated warehouse that holds no telemetry yet: exit 70 (a failure, not bad usage), one
 * line naming the flag as usage errors do (a trial read "model: no request of …" where they say "--model: …").
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { edgelat, errLines } from '../helpers/edgelat-cli.ts';

describe('gate on an empty warehouse', () => {
  it('exits 70 with one line in the flags\' words, pointing at the demo or the pipeline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgelat-gate-empty-'));
    expect((await edgelat(['migrate'], dir)).code).toBe(0);
    const r = await edgelat(['gate', '--model', 'resnet50', '--version', 'v2', '--chip', 'rpi4-cortex-a72', '--slo-p99-ms', '5'], dir);
    expect([r.code, r.stdout, errLines(r.stderr)]).toEqual([70, '', [
      'edgelat: --model: no request of "resnet50" in edgelat.inference_enriched (it holds no telemetry yet: run `edgelat demo` (npm start) or the pipeline first)',
    ]]);
  }, 60_000);
});
