/**
 * loadFormat: the report's load values keep their usual digits (whole from 10 up, else 3 significant), and get
 * as many more as keep different values apart.
 */
import { describe, expect, it } from 'vitest';
import { loadFormat } from '../../../../services/reports/report-render.ts';

describe('loadFormat', () => {
  it('prints the usual digits where they tell the values apart', () => {
    const f = loadFormat([0.1234, 0.5678, 12.4, 37.9]);
    expect([0.1234, 0.5678, 12.4, 37.9].map(f)).toEqual(['0.123', '0.568', '12', '38']);
  });

  it('adds digits until different edges read differently (0.1231 and 0.1234 both read 0.123 before)', () => {
    const edges = [0.1231, 0.1234, 0.5];
    expect(edges.map(loadFormat(edges))).toEqual(['0.1231', '0.1234', '0.5']);
    const rates = [15.2, 15.4, 16];
    expect(rates.map(loadFormat(rates))).toEqual(['15.2', '15.4', '16.0']);
  });

  it('equal values and non-finite ones do not ask for digits', () => {
    const f = loadFormat([3, 3, 0.25, Number.NaN]);
    expect([3, 0.25].map(f)).toEqual(['3', '0.25']);
  });
});
