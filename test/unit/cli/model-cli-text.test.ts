/**
 * Texts of the model commands. formatPrediction: the header names the load; an unset load is the lowest one, whose
 * total carries the queue waits of the server's lowest gpu_util decile, not "idle" (recommend's idle is one request
 * alone). trainStoppedLine: what an interrupted `model train` registered.
 */
import { describe, expect, it } from 'vitest';
import { formatPrediction, trainFailedLine, trainStoppedLine, type LatencyPrediction } from '../../../services/cli/model.ts';

const prediction = (load: Record<string, number>): LatencyPrediction => ({
  model: 'resnet50', chip: 'qualcomm-ai100-dm2e', server: null, input_bytes: 153_762, load,
  total_ms: { p50: 1.58, p90: 1.67, p99: 5.73 }, io_ms_p50: 0.91, compute_ms_p50: 0.64,
  benchmark: { p50_ms: 0.64, p90_ms: 0.65 }, versions: { total_ms_p50: 'v1' }, notes: [],
});

describe('formatPrediction', () => {
  it('names an unset load the lowest one, with the queue waits it carries, not idle', () => {
    const head = formatPrediction(prediction({ gpu_util: 0 })).split('\n')[0]!;
    expect(head).toBe("resnet50 on qualcomm-ai100-dm2e (the chip's typical server's queue: --server for another), 153,762 input bytes, load: the lowest "
      + "(every field 0: the total carries the queue waits of the server's lowest gpu_util decile; recommend's idle is one request alone)");
    expect(head).not.toContain('idle,');
  });

  it('names the fields given', () => {
    expect(formatPrediction(prediction({ gpu_util: 0.6, requests_per_s: 4 })).split('\n')[1]).toBe('  total   p50 1.58 ms   p90 1.67 ms   p99 5.73 ms');
    expect(formatPrediction(prediction({ gpu_util: 0.6, requests_per_s: 4 })).split('\n')[0]).toMatch(/, load: gpu_util=0\.6 requests_per_s=4$/);
  });

  it('says unbounded where the rate keeps every worker busy (null percentiles)', () => {
    const flood = { ...prediction({ requests_per_s: 1e6 }), total_ms: { p50: null, p90: null, p99: null } };
    expect(formatPrediction(flood).split('\n')[1]).toBe('  total   unbounded: the queue cannot drain at this rate (see the note)');
  });
});

describe('trainStoppedLine', () => {
  it('says what each finished kind came to, and which kind was in training', () => {
    const done = [{ version: 'total_ms_p50-20240601T102000Z-0002', status: 'challenger' as const, promoted: false, reason: '', challengerLoss: 1, championLoss: 0.9, championVersion: null }];
    expect(trainStoppedLine('SIGTERM', done, 'io_ms_p50')).toBe('edgelat: model train stopped by SIGTERM: finished: total_ms_p50-20240601T102000Z-0002 challenger; '
      + 'io_ms_p50 was in training (registered only if `edgelat model list` shows a version of it from this run); run model train again for the rest');
    expect(trainStoppedLine('SIGINT', [], 'total_ms_p50')).toBe('edgelat: model train stopped by SIGINT: no kind finished; total_ms_p50 was in training '
      + '(registered only if `edgelat model list` shows a version of it from this run); run model train again for the rest');
  });
});

describe('trainFailedLine', () => {
  it('names the kinds registered before an error stopped a later one, and nothing when none had finished', () => {
    const done = [{ version: 'total_ms_p50-20240601T102000Z-0002', status: 'champion' as const, promoted: true, reason: '', challengerLoss: 1, championLoss: null, championVersion: null }];
    expect(trainFailedLine(done, 'io_ms_p50')).toBe('edgelat: model train failed while training io_ms_p50; finished: total_ms_p50-20240601T102000Z-0002 champion (registered)');
    expect(trainFailedLine(done, null)).toBe('edgelat: model train failed; finished: total_ms_p50-20240601T102000Z-0002 champion (registered)');
    expect(trainFailedLine([], 'total_ms_p50')).toBeNull();
  });
});
