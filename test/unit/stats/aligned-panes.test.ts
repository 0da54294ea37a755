import { describe, expect, it } from 'vitest';
import { emptyMoments, mergeMoments, momentsOf, type Moments } from '../../../pipelines/stats/moments.ts';
import { AlignedPaneWindows } from '../../../pipelines/windows/aligned-panes.ts';
import { prng } from '../../helpers/factories.ts';

describe('AlignedPaneWindows', () => {
  it.each([1, 2, 3, 7, 10])('k = %i: each window combines exactly its panes, oldest first (string monoid)', (k) => {
    const rnd = prng(k);
    const w = new AlignedPaneWindows<string>(k, (a, b) => a + b, () => '');
    const present = new Map<number, string>();
    for (let end = 1; end < 120; end++) {
      const idx = end - 1;
      if (rnd() < 0.8) {
        const v = `[${idx}]`;
        w.add(idx, v);
        present.set(idx, v);
      }
      let want = '';
      for (let i = end - k; i < end; i++) want += present.get(i) ?? '';
      expect(w.window(end)).toBe(want);
      w.evictBefore(end + 1 - k);
    }
  });

  it('gives bit-identical windows whatever the history (fresh state rebuilt from a later pane, as after a restart)', () => {
    const rnd = prng(42);
    const k = 10;
    const panes: Moments[] = Array.from({ length: 200 }, () => {
      const xs = Array.from({ length: 5 }, () => 1e9 + rnd());
      return momentsOf(xs, xs.map((x) => 3 * x + rnd()));
    });
    const first = new AlignedPaneWindows<Moments>(k, mergeMoments, emptyMoments);
    const windows = new Map<number, Moments>();
    for (let end = 1; end <= 200; end++) {
      first.add(end - 1, panes[end - 1]!);
      windows.set(end, first.window(end));
      first.evictBefore(end + 1 - k);
    }
    for (const restartAt of [37, 95, 150]) {
      const second = new AlignedPaneWindows<Moments>(k, mergeMoments, emptyMoments);
      for (let i = restartAt - k; i < restartAt - 1; i++) second.add(i, panes[i]!);
      for (let end = restartAt; end <= 200; end++) {
        second.add(end - 1, panes[end - 1]!);
        expect(second.window(end)).toEqual(windows.get(end));
        second.evictBefore(end + 1 - k);
      }
    }
  });

  it('refuses a pane added twice and a bad k', () => {
    const w = new AlignedPaneWindows<string>(3, (a, b) => a + b, () => '');
    w.add(4, 'x');
    expect(() => w.add(4, 'y')).toThrow(/already added/);
    expect(() => new AlignedPaneWindows<string>(0, (a, b) => a + b, () => '')).toThrow(/k: expected an integer >= 1/);
  });
});
