/** formatModelList: the `model list` table keeps its columns whatever the rows hold. */
import { describe, expect, it } from 'vitest';
import { formatModelList } from '../../../services/cli/model.ts';
import type { RegisteredModel } from '../../../services/model/registry.ts';

const model = (version: string, trainedAtMs: number): RegisteredModel => ({
  version, kind: 'total_ms_p50', trainedAtMs, windowStartMs: 0, windowEndMs: 1, holdoutStartMs: 0, rowsTrain: 61_445, rowsHoldout: 9059,
  metrics: { mape: 0.191 }, holdoutLoss: 0.09252, filePath: '', fileSha256: '', status: 'champion', reason: '', updatedAtMs: trainedAtMs,
});

describe('formatModelList', () => {
  it('aligns the columns when a time has milliseconds (a second cycle at one event time) or a version is long (a trial: shifted)', () => {
    const t = Date.UTC(2024, 5, 1, 10, 20);
    const lines = formatModelList([model('total_ms_p50-20240601T102000Z-0001', t), model('total_ms_p50-20240601T102000Z-0002', t + 1), model(`total_ms_p50-${'x'.repeat(40)}`, t)]).split('\n');
    const rowsAt = lines.slice(0, 4).map((l) => l.indexOf(l.startsWith('version') ? 'rows' : '61445') + (l.startsWith('version') ? 4 : 5));
    // Right-aligned rows column: every line's ends at the same place.
    expect(new Set(rowsAt).size).toBe(1);
    expect(lines[2]).toContain('2024-06-01T10:20:00.001Z');
  });

  it('warns of a champion no file serves, last (a trial: listed as healthy while predict failed on it)', () => {
    const t = Date.UTC(2024, 5, 1, 10, 20);
    const lines = formatModelList([model('total_ms_p50-20240601T102000Z-0001', t)], ['total_ms_p50-20240601T102000Z-0001']).trimEnd().split('\n');
    expect(lines.at(-1)).toBe('warning: champion total_ms_p50-20240601T102000Z-0001 cannot serve: its model file is missing or not the registered bytes, and latency_model_files holds no copy: `edgelat model promote VERSION` serves another version, or `edgelat model train` trains one');
    expect(formatModelList([model('total_ms_p50-20240601T102000Z-0001', t)]).includes('warning')).toBe(false);
  });
});
