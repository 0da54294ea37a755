import type { CorrelationUpdate } from '../../schemas/types.ts';

const T0 = Date.UTC(2024, 5, 1, 10, 0, 0);
const STATES = ['none', 'rising', 'rising', 'firing', 'firing', 'firing', 'resolved', 'none', 'rising', 'none', 'rising', 'firing', 'resolved', 'none'];

/**
 * Correlation windows of 6 servers (edge-0..edge-5) × 2 metric pairs (cpu_util, gpu_util → total_ms),
 * each pair walking through a fixed sequence of 14 alert states (shifted per pair), 30 s apart, in
 * window order: 168 updates with alert state changes of every kind.
 */
export function alertWindows(): CorrelationUpdate[] {
  const out: CorrelationUpdate[] = [];
  for (let w = 0; w < STATES.length; w++) {
    for (let s = 0; s < 6; s++) {
      for (const x of ['cpu_util', 'gpu_util'] as const) {
        out.push({
          scope: 'server×model', edge_server_id: `edge-${s}`, model_id: 'resnet50', chip: 'chip-a', window_start: T0 + w * 30_000 - 300_000, window_end: T0 + w * 30_000,
          x_metric: x, y_metric: 'total_ms', n: 100, pearson_r: 0.6, ci_low: 0.45, ci_high: 0.72, slope: 10, intercept: 1, p_value: 1e-6, null_reason: null,
          alert_state: STATES[(w + s + (x === 'gpu_util' ? 3 : 0)) % STATES.length]! as CorrelationUpdate['alert_state'],
        });
      }
    }
  }
  return out;
}
