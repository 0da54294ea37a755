/**
 * Issue 7 ("shadow verdicts also become evidence in the chip recommender's output"): the recommender reads
 * `shadow_verdicts` per shadow chip with one ratio per production chip it ran against (a trial pooled the
 * windows against a Xavier, ~0.16, and an AI100, ~0.50, into one median of 0.16), counting only windows in
 * which the shadow ran the production's version. Expected values are worked out by hand from the rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadShadowEvidence } from '../../services/predictor/evidence.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

/** One verdict window (the columns the evidence reads; the others at neutral values). */
function verdict(production_chip: string, shadow_chip: string, ratio: number | null, verdict: string, pairs: number, shadow_version = 'v1', k = 0,
  p99: [production: number | null, shadow: number | null] = [null, null], tolerance = 0.1): Record<string, unknown> {
  return {
    edge_server_id: 'edge-01', model_id: 'bert-99', production_chip, production_version: 'v1', shadow_chip, shadow_version,
    window_start: `2024-06-01 10:${String(5 * k).padStart(2, '0')}:00.000`, window_end: `2024-06-01 10:${String(5 * k + 5).padStart(2, '0')}:00.000`,
    pairs, unpaired_production: 0, unpaired_shadow: 0, production_p50_ms: null, production_p90_ms: null, production_p99_ms: p99[0],
    shadow_p50_ms: null, shadow_p90_ms: null, shadow_p99_ms: p99[1], ratio, ratio_ci_low: null, ratio_ci_high: null, confidence: 0.95,
    wilcoxon_w_plus: null, wilcoxon_p: null, tolerance, verdict, slo_p99_ms: null, shadow_meets_slo: null,
  };
}

describe('loadShadowEvidence', () => {
  let w: ChdbWarehouse;
  beforeAll(async () => {
    w = await createTestDatabase('shadowev');
    await w.insert(`${w.database}.shadow_verdicts`, [
      // p99 ratios 0.5, 1.2, 0.3 (and a production p99 of 0 ms: no ratio): 0.5; against the AI100 1.5 (a window without a shadow p99 left out).
      verdict('jetson-xavier-nx', 'jetson-agx-orin', 0.3, 'BETTER', 100, 'v1', 0, [10, 5]),
      verdict('jetson-xavier-nx', 'jetson-agx-orin', 0.1, 'BETTER', 110, 'v1', 1, [10, 12]),
      verdict('jetson-xavier-nx', 'jetson-agx-orin', 0.2, 'BETTER', 120, 'v1', 2, [10, 3]),
      verdict('jetson-xavier-nx', 'jetson-agx-orin', null, 'INCONCLUSIVE', 3, 'v1', 3, [0, 4]),
      verdict('qualcomm-ai100-dm2e', 'jetson-agx-orin', 0.6, 'BETTER', 200, 'v1', 4, [20, 30]),
      verdict('qualcomm-ai100-dm2e', 'jetson-agx-orin', 0.5, 'EQUIVALENT', 210, 'v1', 5, [20, null], 0.2),
      // Another version on the shadow: another model's cost, not a chip's. A production chip not known.
      verdict('jetson-xavier-nx', 'jetson-agx-orin', 2.5, 'WORSE', 300, 'v2', 6),
      verdict('unknown', 'jetson-agx-orin', 0.9, 'EQUIVALENT', 400, 'v1', 7),
      verdict('jetson-xavier-nx', 'rk3588-mali-g610', null, 'INCONCLUSIVE', 5, 'v1', 8),
      // A window where the shadow measured nothing (silent, late or skewed): no evidence, not a window of it.
      verdict('jetson-xavier-nx', 'jetson-agx-orin', null, 'INCONCLUSIVE', 0, 'v1', 9),
    ]);
  }, 60_000);
  afterAll(async () => w?.close());

  it('gives each production chip its own median ratio (lower median over its windows with a ratio), totals over all', async () => {
    const e = await loadShadowEvidence(w, 'bert-99');
    expect([...e.keys()]).toEqual(['jetson-agx-orin', 'rk3588-mali-g610']);
    expect(e.get('jetson-agx-orin')).toEqual({
      windows: 6, pairs: 100 + 110 + 120 + 3 + 200 + 210, better: 4, worse: 0, equivalent: 1, inconclusive: 1,
      against: [
        // 0.1, 0.2, 0.3 (the window without a ratio left out): 0.2. Two windows, 0.5 and 0.6: the lower, 0.5.
        { chip: 'jetson-xavier-nx', windows: 4, pairs: 333, median_ratio: 0.2, median_p99_ratio: 0.5, tolerance: 0.1 },
        { chip: 'qualcomm-ai100-dm2e', windows: 2, pairs: 410, median_ratio: 0.5, median_p99_ratio: 1.5, tolerance: 0.2 },
      ],
    });
    expect(e.get('rk3588-mali-g610')!.against).toEqual([{ chip: 'jetson-xavier-nx', windows: 1, pairs: 5, median_ratio: null, median_p99_ratio: null, tolerance: 0.1 }]);
    expect((await loadShadowEvidence(w, 'resnet50')).size).toBe(0);
  });
});
