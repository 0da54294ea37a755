import { describe, expect, it } from 'vitest';
import { alertPolicy, alertStateAt, alertStates, classifyWindow, historyLength, type AlertPolicy, type AlertStateName, type WindowClass } from '../../../pipelines/alerts/alert-state.ts';
import { createRng } from '../../../services/simulator/prng.ts';

const P = alertPolicy(); // threshold 0.5, hysteresis 0.1, minN 30, fireAfter 3, clearAfter 3, lookback 20

/** 95 % Fisher-z interval of r with n rows (the correlation processor's formula, restated here). */
function ci(r: number, n: number): [number, number] {
  const z = Math.atanh(r);
  const h = 1.959963984540054 / Math.sqrt(n - 3);
  return [Math.tanh(z - h), Math.tanh(z + h)];
}
const win = (r: number | null, n = 100) => {
  if (r === null) return { n, pearson_r: null, ci_low: null, ci_high: null };
  const [lo, hi] = ci(r, n);
  return { n, pearson_r: r, ci_low: lo, ci_high: hi };
};
const cls = (rs: (number | null)[], n = 100): WindowClass[] => rs.map((r) => classifyWindow(win(r, n), P));
const states = (rs: (number | null)[], n = 100): AlertStateName[] => alertStates(cls(rs, n), P);
/** Number of times a series enters `firing` (a page). */
const pages = (s: AlertStateName[]): number => s.filter((x, i) => x === 'firing' && s[i - 1] !== 'firing').length;

/**
 * Reference: the rules of the module doc written out over the whole history
 * (no window limit, no running counters).
 */
function reference(c: readonly WindowClass[], p: AlertPolicy): AlertStateName[] {
  const clearRunEndsAt = (i: number): boolean => {
    if (i - p.clearAfter + 1 < 0) return false;
    for (let k = i - p.clearAfter + 1; k <= i; k++) if (c[k] !== 'clear') return false;
    return true;
  };
  const strong = (w: number): number => {
    if (w < 0) return 0;
    let lastClear = -1;
    for (let i = 0; i <= w; i++) if (clearRunEndsAt(i)) lastClear = i;
    let n = 0;
    for (let i = Math.max(0, w - p.lookback + 1, lastClear + 1); i <= w; i++) if (c[i] === 'strong') n++;
    return n;
  };
  const lastClearEnd = (w: number): number => {
    let last = -1;
    for (let i = 0; i <= w; i++) if (clearRunEndsAt(i)) last = i;
    return last;
  };
  // firing(w): strong(v) ≥ fireAfter for some v in (w − lookback, w] with no clear run ending in (v, w], and strong(u) ≥ 1
  // for every u in [v, w] (the evidence never lapsed since).
  const firing = (w: number): boolean => {
    if (w < 0) return false;
    for (let v = Math.max(0, w - p.lookback + 1, lastClearEnd(w) + 1); v <= w; v++) {
      let lapsed = false;
      for (let u = v; u <= w; u++) if (strong(u) === 0) lapsed = true;
      if (strong(v) >= p.fireAfter && !lapsed) return true;
    }
    return false;
  };
  return c.map((_, w) => (firing(w) ? 'firing' : firing(w - 1) ? 'resolved' : strong(w) > 0 ? 'rising' : 'none'));
}

describe('alert classification', () => {
  it('strong needs n ≥ minN, |r| ≥ threshold and a CI excluding 0; clear is below threshold − hysteresis or a CI with 0', () => {
    expect(classifyWindow(win(0.6), P)).toBe('strong');
    expect(classifyWindow(win(-0.6), P)).toBe('strong');
    expect(classifyWindow(win(0.5), P)).toBe('strong'); // at the threshold
    expect(classifyWindow(win(0.45), P)).toBe('neutral'); // inside the hysteresis band
    expect(classifyWindow(win(0.4), P)).toBe('neutral'); // band is [0.4, 0.5)
    expect(classifyWindow(win(0.39), P)).toBe('clear');
    expect(classifyWindow(win(0.9, 29), P)).toBe('neutral'); // too few rows
    expect(classifyWindow(win(null), P)).toBe('neutral'); // r undefined (zero variance)
    // |r| ≥ threshold but the CI crosses 0: clear (the relationship is not established).
    expect(classifyWindow({ n: 30, pearson_r: 0.55, ci_low: -0.01, ci_high: 0.8 }, P)).toBe('clear');
    expect(classifyWindow({ n: 30, pearson_r: 0.55, ci_low: null, ci_high: null }, P)).toBe('clear');
  });

  it('rejects a bad policy, naming the field and value', () => {
    expect(() => alertPolicy({ threshold: 1.5 })).toThrow(/alert threshold: expected a \|r\| in \(0, 1\], got 1\.5/);
    expect(() => alertPolicy({ hysteresis: 0.5 })).toThrow(/alert hysteresis: .* got 0\.5/);
    expect(() => alertPolicy({ minN: 2 })).toThrow(/alert minN: .* got 2/);
    expect(() => alertPolicy({ fireAfter: 0 })).toThrow(/alert fireAfter: .* got 0/);
    expect(() => alertPolicy({ lookback: 2.5 })).toThrow(/alert lookback: .* got 2\.5/);
    expect(historyLength(P)).toBe(41);
    expect(() => alertPolicy({ fireAfter: 5, lookback: 4 })).toThrow(/alert fireAfter: expected ≤ lookback \(4\), got 5/);
  });
});

describe('alert state machine over window sequences', () => {
  const cases: { name: string; rs: (number | null)[]; n?: number; want: string; pages: number }[] = [
    { name: 'quiet', rs: [0.1, 0.2, -0.1, 0.0, 0.3], want: 'none none none none none', pages: 0 },
    {
      name: 'sustained: rises, fires after 3 strong windows, resolves after 3 clear ones',
      rs: [0.1, 0.7, 0.7, 0.7, 0.8, 0.8, 0.2, 0.2, 0.2, 0.1],
      want: 'none rising rising firing firing firing firing firing resolved none', pages: 1,
    },
    {
      name: 'flapping across the threshold (strong, clear, strong, …): fires once, on the third strong window',
      rs: [0.6, 0.3, 0.6, 0.3, 0.6, 0.3, 0.6, 0.3, 0.6, 0.3, 0.6, 0.3],
      want: 'rising rising rising rising firing firing firing firing firing firing firing firing', pages: 1,
    },
    {
      name: 'rare strong windows (fewer than fireAfter per lookback) never fire; the evidence shows as rising',
      rs: [0.6, 0.1, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.6, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.45, 0.6],
      want: Array(41).fill('rising').join(' '), pages: 0,
    },
    {
      name: 'flapping inside the hysteresis band after firing: stays firing (one page)',
      rs: [0.6, 0.6, 0.6, 0.45, 0.55, 0.42, 0.58, 0.44, 0.6, 0.47, 0.52, 0.41, 0.56],
      want: 'rising rising firing firing firing firing firing firing firing firing firing firing firing', pages: 1,
    },
    {
      name: 'flapping strong / clear after firing: one clear window never resolves',
      rs: [0.7, 0.7, 0.7, 0.2, 0.7, 0.2, 0.7, 0.2, 0.7, 0.2, 0.7],
      want: 'rising rising firing firing firing firing firing firing firing firing firing', pages: 1,
    },
    {
      name: 'low n: strong correlations on too few rows never fire',
      rs: [0.9, 0.9, 0.9, 0.9, 0.9], n: 20,
      want: 'none none none none none', pages: 0,
    },
    {
      name: 'CI crossing 0 (|r| 0.55 on n 30 has CI (0.23, 0.76); at n 12 it would be neutral by minN)',
      rs: [0.55, 0.55, 0.55], n: 30, want: 'rising rising firing', pages: 1,
    },
    {
      name: 'confirmation lapses: firing with only band windows after its last strong one for `lookback` windows resolves',
      rs: [0.7, 0.7, 0.7, ...Array(22).fill(0.45)],
      want: ['rising', 'rising', ...Array(20).fill('firing'), 'resolved', 'none', 'none'].join(' '), pages: 1,
    },
    {
      name: 'strong windows falling to 2 in 20 and back to 3 within `lookback` windows: stays firing (a trial: it resolved and paged again 90 s later)',
      rs: [0.7, 0.7, 0.7, ...Array(18).fill(0.45), 0.7, 0.7, 0.7],
      want: ['rising', 'rising', ...Array(22).fill('firing')].join(' '), pages: 1,
    },
    {
      name: 'a strong window after the evidence lapsed (none) rises, even where a count of 3 lies within the lookback (never none → firing)',
      rs: [0.7, 0.7, 0.7, ...Array(20).fill(0.45), 0.7],
      want: ['rising', 'rising', ...Array(20).fill('firing'), 'resolved', 'rising'].join(' '), pages: 1,
    },
    {
      name: 'strong windows below 3 in 20 for `lookback` windows after they last reached it: resolves, and pages again only on 3 more',
      // Strong at 0–2, then every 10th window (2 per 20): the count last reaches 3 at window 20, so it fires up to 39.
      rs: [0.7, 0.7, 0.7, ...Array(10).fill(0.45), ...Array(4).fill([0.7, ...Array(9).fill(0.45)]).flat(), 0.7, 0.7, 0.7],
      want: ['rising', 'rising', ...Array(38).fill('firing'), 'resolved', ...Array(13).fill('rising'), 'firing', 'firing'].join(' '), pages: 2,
    },
    {
      name: 'undefined r (zero load variance) is no evidence',
      rs: [0.7, null, 0.7, 0.7, 0.7], want: 'rising rising rising firing firing', pages: 1,
    },
    {
      name: 'a second episode after resolution pages again',
      rs: [0.7, 0.7, 0.7, 0.1, 0.1, 0.1, 0.1, 0.7, 0.7, 0.7],
      want: 'rising rising firing firing firing resolved none rising rising firing', pages: 2,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const s = states(c.rs, c.n);
      expect(s.join(' ')).toBe(c.want);
      expect(pages(s)).toBe(c.pages);
      expect(s).toEqual(reference(cls(c.rs, c.n), P));
    });
  }

  it('never jumps from none to firing (fireAfter ≥ 2)', () => {
    const rng = createRng(11, 'alert-jump');
    const kinds: WindowClass[] = ['strong', 'clear', 'neutral'];
    let checked = 0;
    for (let t = 0; t < 300; t++) {
      const c = Array.from({ length: 50 }, () => kinds[rng.int(3)]!);
      const st = alertStates(c, P);
      checked += st.filter((x, i) => x === 'firing' && i > 0 && st[i - 1] !== 'firing').length;
      st.forEach((x, i) => {
        if (x === 'firing' && i > 0) expect(st[i - 1]).not.toBe('none');
      });
    }
    expect(checked).toBeGreaterThan(50);
  });

  it('a CI that includes 0 blocks firing even at |r| ≥ threshold', () => {
    const wide = { n: 40, pearson_r: 0.6, ci_low: -0.05, ci_high: 0.85 };
    expect(alertStates([wide, wide, wide, wide].map((w) => classifyWindow(w, P)), P)).toEqual(['none', 'none', 'none', 'none']);
  });

  it('a series flapping around the threshold with noise fires at most once', () => {
    const rng = createRng(7, 'alert-flap');
    let fired = 0;
    for (let trial = 0; trial < 200; trial++) {
      // |r| uniform in [0.44, 0.60): strong (≥ 0.5) 62.5 % of windows, the rest in the band.
      const rs = Array.from({ length: 60 }, () => 0.44 + 0.16 * rng.next());
      const s = states(rs);
      fired += pages(s);
      expect(pages(s)).toBeLessThanOrEqual(1);
    }
    expect(fired).toBe(200); // and each of them does fire once
  });

  it('depends only on the last historyLength windows, and equals the whole-history reference on random sequences', () => {
    const rng = createRng(3, 'alert-random');
    const kinds: WindowClass[] = ['strong', 'clear', 'neutral'];
    for (let trial = 0; trial < 300; trial++) {
      const p = alertPolicy({ fireAfter: 1 + Math.floor(rng.next() * 4), clearAfter: 1 + Math.floor(rng.next() * 4), lookback: 4 + Math.floor(rng.next() * 8) });
      const c = Array.from({ length: 40 }, () => kinds[Math.floor(rng.next() * 3)]!);
      expect(alertStates(c, p)).toEqual(reference(c, p));
      // Any older prefix changes nothing: replace everything before the last h + 1 windows.
      const h = historyLength(p);
      const tail = c.slice(-(h + 1));
      expect(alertStateAt([...Array.from({ length: 25 }, () => kinds[Math.floor(rng.next() * 3)]!), ...tail], p)).toBe(alertStateAt(c, p));
    }
  });
});
