import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { InferenceEvent, LoadSample } from '../../../schemas/types.ts';
import {
  createRng, defaultDataDir, erlangC, loadBaseLatencies, mmcMeanWaitMs, normalizeSimConfig, simulateFcfsQueue,
  simulateFleet, summarizeSimResult, type SimConfig, type SimResult,
} from '../../../services/simulator/index.ts';
import { parseCsv } from '../../../services/simulator/csv.ts';
import { generateRequests, type Routing } from '../../../services/simulator/arrivals.ts';
import { buildFleet } from '../../../services/simulator/fleet.ts';
import { loadArrivalTrace } from '../../../services/simulator/data.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DATA = path.join(REPO, 'data');

const small = (over: Partial<SimConfig> = {}): SimConfig => normalizeSimConfig({ servers: 6, durationMs: 90_000, dataDir: DATA, ...over });
const events = (r: SimResult): InferenceEvent[] => r.arrivals.filter((a) => a.topic === 'edge.inference.v1').map((a) => a.value as InferenceEvent);
const loads = (r: SimResult): LoadSample[] => r.arrivals.filter((a) => a.topic === 'edge.load.v1').map((a) => a.value as LoadSample);

/** Erlang C, written out from the textbook formula (Kleinrock, Queueing Systems Vol. 1, 1975, eq. 3.40). */
function erlangCTextbook(c: number, a: number): number {
  let fact = 1;
  let sum = 0;
  for (let k = 0; k < c; k++) {
    if (k > 0) fact *= k;
    sum += a ** k / fact;
  }
  const top = (a ** c / (fact * c)) * (c / (c - a));
  return top / (sum + top);
}

/** Mean queue wait of M/M/c from `n` seeded customers, and the closed form. */
function mmcExperiment(seed: number, lambdaPerMs: number, muPerMs: number, c: number, n: number): { sim: number; exact: number } {
  const rng = createRng(seed, 'mmc-test');
  const arrivals = new Float64Array(n);
  const service = new Float64Array(n);
  let t = 0;
  for (let i = 0; i < n; i++) {
    t += rng.exponential(lambdaPerMs);
    arrivals[i] = t;
    service[i] = rng.exponential(muPerMs);
  }
  const q = simulateFcfsQueue(arrivals, service, c);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += q.waitMs[i];
  const a = lambdaPerMs / muPerMs;
  return { sim: sum / n, exact: erlangCTextbook(c, a) / (c * muPerMs - lambdaPerMs) };
}

describe('normalizeSimConfig', () => {
  it('applies the documented defaults', () => {
    const c = normalizeSimConfig({});
    expect(c).toMatchObject({
      seed: 42, servers: 12, durationMs: 1_200_000, startMs: Date.UTC(2024, 5, 1, 10),
      maxJitterMs: 1500, loadIntervalMs: 1000, rateScale: 1,
    });
    expect(c.dataDir).toBe(DATA);
    expect(defaultDataDir()).toBe(DATA);
  });

  it.each([
    ['seed', 1.5], ['servers', 0], ['servers', 2.5], ['durationMs', -1], ['startMs', Number.NaN],
    ['maxJitterMs', -5], ['loadIntervalMs', 0], ['rateScale', 0], ['rateScale', Number.POSITIVE_INFINITY],
    ['dataDir', ''], ['bogus', 1],
  ])('rejects %s = %s with a RangeError naming the field', (field, value) => {
    expect(() => normalizeSimConfig({ [field]: value } as Partial<SimConfig>)).toThrow(RangeError);
    expect(() => normalizeSimConfig({ [field]: value } as Partial<SimConfig>)).toThrow(field);
  });

  it('rejects a load interval longer than the run', () => {
    expect(() => normalizeSimConfig({ durationMs: 1000, loadIntervalMs: 2000 })).toThrow(/loadIntervalMs.*2000/);
  });
});

describe('queueing: exact FCFS c-server simulation against closed forms', () => {
  it('Erlang C (recursion) equals the textbook formula', () => {
    for (const [c, a] of [[1, 0.5], [2, 1], [3, 2.4], [8, 6.5]] as const) {
      expect(erlangC(c, a)).toBeCloseTo(erlangCTextbook(c, a), 12);
    }
    expect(mmcMeanWaitMs(0.5, 1, 1)).toBeCloseTo(1, 12); // ρ/(μ−λ) = 0.5/0.5
  });

  it('M/M/1 at ρ = 0.5: mean wait within 3 % of ρ/(μ−λ) (200k customers)', () => {
    const lambda = 0.5;
    const mu = 1;
    const { sim, exact } = mmcExperiment(1, lambda, mu, 1, 200_000);
    expect(exact).toBeCloseTo((lambda / mu) / (mu - lambda), 12);
    expect(Math.abs(sim / exact - 1)).toBeLessThan(0.03);
  });

  it('M/M/2 at ρ = 0.5: mean wait within 3 % of Erlang C / (cμ − λ) (200k customers)', () => {
    const { sim, exact } = mmcExperiment(2, 1, 1, 2, 200_000);
    expect(exact).toBeCloseTo(1 / 3, 12); // C(2, 1) = 1/3, cμ − λ = 1
    expect(Math.abs(sim / exact - 1)).toBeLessThan(0.03);
  });

  it('serves FCFS with c workers and rejects bad input', () => {
    const q = simulateFcfsQueue([0, 0, 0, 5], [10, 10, 10, 1], 2);
    expect(Array.from(q.startMs)).toEqual([0, 0, 10, 10]);
    expect(Array.from(q.waitMs)).toEqual([0, 0, 10, 5]);
    expect(() => simulateFcfsQueue([1, 0], [1, 1], 1)).toThrow(RangeError);
    expect(() => simulateFcfsQueue([0], [1], 0)).toThrow(RangeError);
    expect(() => simulateFcfsQueue([0], [-1], 1)).toThrow(RangeError);
  });
});

describe('simulateFleet (small configs)', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = simulateFleet(small({ seed: 7 }));
    const b = simulateFleet(small({ seed: 7 }));
    expect(b).toEqual(a);
    const c = simulateFleet(small({ seed: 8 }));
    expect(c.arrivals).not.toEqual(a.arrivals);
  });

  it('emits servers × duration / interval load samples, one per server per interval', () => {
    const r = simulateFleet(small({ servers: 5, durationMs: 90_000, loadIntervalMs: 500 }));
    expect(r.stats.loadSamples).toBe(5 * 180);
    const ls = loads(r);
    expect(ls).toHaveLength(900);
    for (const f of r.fleet) {
      const ts = ls.filter((l) => l.edge_server_id === f.edge_server_id).map((l) => l.ts).sort((x, y) => x - y);
      expect(ts).toEqual(Array.from({ length: 180 }, (_, k) => r.config.startMs + k * 500));
    }
    expect(r.stats.requests).toBe(events(r).length);
  });

  it('scales the request rate with rateScale', () => {
    const base = simulateFleet(small()).stats.requests;
    const double = simulateFleet(small({ rateScale: 2 })).stats.requests;
    expect(double / base).toBeGreaterThan(1.85);
    expect(double / base).toBeLessThan(2.15);
  });
});

describe('generateRequests routing', () => {
  /** Largest |requests of a server so far − its rate share of all requests so far| over every prefix of the stream. */
  function worstPrefixDeviation(routing: Routing): { n: number; worst: number } {
    const trace = loadArrivalTrace(DATA);
    const plans = buildFleet(3, 12, loadBaseLatencies(DATA), trace);
    const total = plans.reduce((a, p) => a + p.ratePerS, 0);
    const req = generateRequests(3, Date.UTC(2024, 5, 1), 300_000, 1, plans, trace, routing);
    const count = new Array<number>(plans.length).fill(0);
    let worst = 0;
    for (let i = 0; i < req.n; i++) {
      count[req.server[i]!]!++;
      for (const [s, p] of plans.entries()) worst = Math.max(worst, Math.abs(count[s]! - (i + 1) * p.ratePerS / total));
    }
    return { n: req.n, worst };
  }

  it('smooth weighted round-robin keeps every server within about one request of its share at every point; random draws do not', () => {
    const smooth = worstPrefixDeviation('smooth');
    const random = worstPrefixDeviation('random');
    expect(smooth.n).toBeGreaterThan(10_000);
    // Smooth WRR: a server's credit stays within about one round of the weights (≤ 1.03 requests over 2,000 random fleets of 2–16 servers).
    expect(smooth.worst).toBeLessThan(1.1);
    // Independent draws wander like a random walk, √(n·p(1−p)) ≈ 30 requests for a server of a 1/12 share.
    expect(random.worst).toBeGreaterThan(10);
  });
});

describe('simulateFleet (default config: 12 servers, 20 min)', () => {
  let r: SimResult;
  // Its speed (target < 2 s) is a benchmark's: `npm run bench` prints the simulator's time.
  beforeAll(() => {
    r = simulateFleet(normalizeSimConfig({}));
  });

  it('has >= 4 chips, >= 4 models, every model on >= 2 chips', () => {
    const chipsOf = new Map<string, Set<string>>();
    for (const f of r.fleet) for (const m of f.models) chipsOf.set(m, (chipsOf.get(m) ?? new Set()).add(f.chip));
    expect(new Set(r.fleet.map((f) => f.chip)).size).toBeGreaterThanOrEqual(4);
    expect(chipsOf.size).toBeGreaterThanOrEqual(4);
    for (const [, chips] of chipsOf) expect(chips.size).toBeGreaterThanOrEqual(2);
    expect(r.fleet).toHaveLength(12);
  });

  it('gives >= 1000 requests to every (model, chip) pair', () => {
    const pairs = new Set(r.fleet.flatMap((f) => f.models.map((m) => `${m}|${f.chip}`)));
    for (const p of pairs) expect(r.stats.perModelChip[p] ?? 0).toBeGreaterThanOrEqual(1000);
    expect(Object.values(r.stats.perModelChip).reduce((a, b) => a + b, 0)).toBe(r.stats.requests);
  });

  it('keeps arrival jitter bounded: within a topic, a earlier than b ⇒ a.ts − b.ts <= maxJitterMs', () => {
    const maxJ = r.config.maxJitterMs;
    const maxTs = new Map<string, number>();
    let prevArrival = -Infinity;
    let worstDisorder = 0;
    let worstLag = 0;
    let unsorted = 0;
    let badKeys = 0;
    for (const a of r.arrivals) {
      if (a.arrivalMs < prevArrival) unsorted++;
      prevArrival = a.arrivalMs;
      const v = a.value as { ts: number; edge_server_id: string };
      const lag = a.arrivalMs - v.ts;
      if (!Number.isInteger(lag) || lag < 0) badKeys++;
      worstLag = Math.max(worstLag, lag);
      const m = Math.max(maxTs.get(a.topic) ?? -Infinity, v.ts);
      worstDisorder = Math.max(worstDisorder, m - v.ts);
      maxTs.set(a.topic, m);
      if (a.key !== v.edge_server_id) badKeys++;
    }
    expect(unsorted).toBe(0);
    expect(badKeys).toBe(0);
    expect(worstLag).toBeLessThanOrEqual(maxJ);
    expect(worstDisorder).toBeLessThanOrEqual(maxJ);
    expect(worstDisorder).toBeGreaterThan(maxJ / 2); // the jitter really reorders records
  });

  it('produces well-formed events: total = queue + io + compute, finite, unique ids, matching ground truth', () => {
    const ev = events(r);
    expect(new Set(ev.map((e) => e.event_id)).size).toBe(ev.length);
    expect(new Set(ev.map((e) => e.request_id)).size).toBe(ev.length);
    const gt = new Map(r.groundTruth.map((g) => [g.event_id, g]));
    expect(gt.size).toBe(ev.length);
    const statuses: Record<string, number> = {};
    for (const e of ev) {
      const nums = [e.ts, e.queue_ms, e.io_ms, e.compute_ms, e.total_ms, e.input_bytes];
      if (!nums.every((x) => Number.isFinite(x) && x >= 0)) expect(nums).toBe('finite and >= 0');
      if (Math.abs(e.total_ms - (e.queue_ms + e.io_ms + e.compute_ms)) > 1e-9) expect(e.total_ms).toBe(e.queue_ms + e.io_ms + e.compute_ms);
      const g = gt.get(e.event_id)!;
      if (g.true_queue_ms !== e.queue_ms || g.true_io_ms !== e.io_ms || g.true_compute_ms !== e.compute_ms || g.ts !== e.ts) {
        expect(g).toMatchObject({ true_queue_ms: e.queue_ms, true_io_ms: e.io_ms, true_compute_ms: e.compute_ms, ts: e.ts });
      }
      if (!(g.server_util >= 0 && g.server_util <= 1)) expect(g.server_util).toBe('in [0, 1]');
      statuses[e.status] = (statuses[e.status] ?? 0) + 1;
    }
    const e0 = ev[0];
    expect(e0).toMatchObject({ role: 'production', model_version: 'v1', batch_size: 1, device_id: `${e0.edge_server_id}-acc0` });
    expect(e0.deployment_id).toBe(`dep-${e0.model_id}-${e0.chip}-1`);
    expect(JSON.parse(gt.get(e0.event_id)!.params_json)).toHaveProperty('kappa');
    const bad = ((statuses.error ?? 0) + (statuses.timeout ?? 0)) / ev.length;
    expect(bad).toBeGreaterThan(0);
    expect(bad).toBeLessThan(0.05);
  });

  it('produces load samples with utilisations in [0, 1] and plausible sensors', () => {
    for (const l of loads(r)) {
      const u = [l.cpu_util, l.gpu_util, l.mem_util];
      if (!u.every((x) => x >= 0 && x <= 1)) expect(u).toBe('in [0, 1]');
      const n = [l.queue_depth, l.concurrency, l.requests_per_s];
      if (!n.every((x) => Number.isFinite(x) && x >= 0)) expect(n).toBe('finite and >= 0');
      if (!(l.temperature_c! > 20 && l.temperature_c! < 90 && l.power_w! > 0 && l.power_w! < 80)) expect(l).toBe('plausible');
    }
  });

  it('loads some servers to 0.7–0.95 at peaks and others lightly', () => {
    const s = summarizeSimResult(r);
    expect(s.servers.some((x) => x.peakUtil60s >= 0.7 && x.peakUtil60s <= 0.95)).toBe(true);
    expect(s.servers.some((x) => x.peakUtil60s < 0.3)).toBe(true);
    expect(s.minPairCount).toBeGreaterThanOrEqual(1000);
  });

  it('makes latency grow with load: mean total_ms at server_util > 0.7 exceeds that at < 0.3, per model', () => {
    const s = summarizeSimResult(r);
    const hot = [...s.servers].sort((a, b) => b.meanUtil - a.meanUtil)[0];
    const ev = new Map(events(r).map((e) => [e.event_id, e]));
    const gts = r.groundTruth.filter((g) => g.edge_server_id === hot.edge_server_id);
    let compared = 0;
    for (const m of new Set(gts.map((g) => g.model_id))) {
      const tot = (hi: boolean): number[] => gts
        .filter((g) => g.model_id === m && (hi ? g.server_util > 0.7 : g.server_util < 0.3))
        .map((g) => ev.get(g.event_id)!.total_ms);
      const hi = tot(true);
      const lo = tot(false);
      if (hi.length < 50 || lo.length < 50) continue;
      const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
      expect(mean(hi)).toBeGreaterThan(1.5 * mean(lo));
      compared++;
    }
    expect(compared).toBeGreaterThan(0);
  });
});

describe('data cuts in the repository', () => {
  it('base-latency.csv has the documented columns and >= 2 chips per model', () => {
    const rows = parseCsv(fs.readFileSync(path.join(DATA, 'mlperf-singlestream/base-latency.csv'), 'utf8'));
    expect(rows[0]).toEqual(['model', 'chip', 'system', 'mlperf_version', 'division', 'submitter', 'system_id', 'p50_ms', 'p90_ms', 'mean_ms', 'source_file']);
    const bases = loadBaseLatencies(DATA);
    const chips = new Map<string, number>();
    for (const b of bases) {
      chips.set(b.model, (chips.get(b.model) ?? 0) + 1);
      expect(b.p50Ms).toBeGreaterThan(0);
      expect(b.p90Ms).toBeGreaterThanOrEqual(b.p50Ms);
    }
    expect(new Set(bases.map((b) => b.chip)).size).toBeGreaterThanOrEqual(4);
    for (const [, n] of chips) expect(n).toBeGreaterThanOrEqual(2);
  });

  it('the Azure trace files are present with their header', () => {
    for (const f of ['AzureLLMInferenceTrace_code.csv', 'AzureLLMInferenceTrace_conv.csv']) {
      const head = fs.readFileSync(path.join(DATA, 'azure-llm-trace', f), 'utf8').slice(0, 60);
      expect(head.startsWith('TIMESTAMP,ContextTokens,GeneratedTokens')).toBe(true);
    }
  });
});

describe('another arrival trace (--trace): the Azure LLM trace format, merged, in place of the cut', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgelat-trace-'));
  const write = (name: string, text: string): string => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };

  it('reads the given files, merged by time, offsets from the first request (sub-ms kept), a BOM allowed', () => {
    const a = write('a.csv', '\uFEFFTIMESTAMP,ContextTokens,GeneratedTokens\n2024-05-10 00:00:01.5000000,100,3\n2024-05-10 00:00:03.0000000,300,1\n');
    const b = write('b.csv', 'TIMESTAMP,ContextTokens,GeneratedTokens\n2024-05-10 00:00:02.2500000,200,9\n');
    const t = loadArrivalTrace(DATA, [a, b]);
    expect([...t.offsetMs]).toEqual([0, 750, 1500]);
    expect([...t.contextTokens]).toEqual([100, 200, 300]);
    // Period: the last offset plus the mean gap, so a looped replay keeps the mean rate.
    expect(t.periodMs).toBe(1500 + 750);
    // A fleet built on it differs from the cut's: the trace drives the arrivals.
    const own = simulateFleet(small({ traceFiles: [a, b], durationMs: 30_000 }));
    const cut = simulateFleet(small({ durationMs: 30_000 }));
    expect(events(own).map((e) => e.ts)).not.toEqual(events(cut).map((e) => e.ts));
  });

  it('names the file, and the line, of what it cannot read', () => {
    expect(() => loadArrivalTrace(DATA, [path.join(dir, 'none.csv')])).toThrow(`trace file missing: ${JSON.stringify(path.join(dir, 'none.csv'))}`);
    const cols = write('cols.csv', 'time,tokens\n1,2\n');
    expect(() => loadArrivalTrace(DATA, [cols])).toThrow(`${JSON.stringify(cols)}: expected the Azure LLM inference trace's columns TIMESTAMP and ContextTokens, got "time", "tokens"`);
    const row = write('row.csv', 'TIMESTAMP,ContextTokens\n2024-05-10 00:00:01,10\n2024-05-10 00:00:02,-4\n');
    expect(() => loadArrivalTrace(DATA, [row])).toThrow(`${JSON.stringify(row)} line 3: bad ContextTokens "-4" (expected a whole number 0..2147483647)`);
    // Lines as an editor numbers them: a blank line and a quoted line break before the bad row counted (line 3 had been said for line 5).
    const gaps = write('gaps.csv', 'TIMESTAMP,ContextTokens,Note\n2024-05-10 00:00:01,10,"two\nlines"\n\n2024-05-10 00:00:02,x,\n');
    expect(() => loadArrivalTrace(DATA, [gaps])).toThrow(`${JSON.stringify(gaps)} line 5: bad ContextTokens "x" (expected a whole number 0..2147483647)`);
    const open = write('open.csv', 'TIMESTAMP,ContextTokens\n2024-05-10 00:00:01,10\n"2024-05-10 00:00:02,11\n2024-05-10 00:00:03,12\n');
    expect(() => loadArrivalTrace(DATA, [open])).toThrow(`${JSON.stringify(open)}: a quoted field opened on line 3 is never closed: lines 3–4 (the rest of the file) are not read`);
    // A trace of one instant loops for ever (a trial: demo hung, deaf to Ctrl-C); one that does not exist, a directory.
    const instant = write('instant.csv', 'TIMESTAMP,ContextTokens\n2023-11-16 18:17:03.97996,4808\n2023-11-16 18:17:03.97996,3180\n');
    expect(() => loadArrivalTrace(DATA, [instant])).toThrow(`trace ${JSON.stringify(instant)} spans 0 ms from its first TIMESTAMP to its last: at least 1000 ms needed (it is looped over the run)`);
    expect(() => loadArrivalTrace(DATA, [dir])).toThrow(`trace file ${JSON.stringify(dir)} is a directory: give the trace's CSV files`);
    // One TIMESTAMP's year mistyped in the real trace's code file (a trial: 2033 for 2023 on one of 8,819 lines compressed
    // every other request into a burst at the run's start, 568 of 595 timing out, without a word): the gap is named.
    const code = fs.readFileSync(path.join(DATA, 'azure-llm-trace', 'AzureLLMInferenceTrace_code.csv'), 'utf8').split('\n');
    const typo = write('typo.csv', code.map((l, i) => (i === 5 ? l.replace(/^2023/, '2033') : l)).join('\n'));
    const last = code.filter((l) => l !== '').length;
    expect(() => loadArrivalTrace(DATA, [typo])).toThrow(new RegExp(`^trace ${JSON.stringify(typo)}: a gap of 3,6\\d\\d days between ${JSON.stringify(typo)} line ${last} \\(TIMESTAMP "2023-11-16 [\\d:.]+"\\) and ${JSON.stringify(typo)} line 6 \\("2033-11-16 18:17:0[\\d.]+"\\): gaps of over an hour and over 1,000× the typical gap between requests \\([\\d.]+ s, the mean but the widest 1 %\\) make 100\\.0 % of the trace's span: a TIMESTAMP typo, or files of other days\\? `));
    // Two mistyped years, each gap under half the span (a re-test: only the widest gap had been weighed).
    const two = write('two.csv', code.map((l, i) => (i === 5 ? l.replace(/^2023/, '2013') : i === 9 ? l.replace(/^2023/, '2033') : l)).join('\n'));
    expect(() => loadArrivalTrace(DATA, [two])).toThrow(/: a gap of 3,65\d days between .* and 1 more of a tenth of the span or more: gaps of over an hour and over 1,000× the typical gap between requests \([\d.]+ s, the mean but the widest 1 %\) make 100\.0 % of the trace's span/);
    // Three files of three days, 5 minutes of requests each (a re-test: two gaps of 24 h passed).
    const day = (d: number) => write(`day${d}.csv`, ['TIMESTAMP,ContextTokens', ...Array.from({ length: 300 }, (_, k) => `2023-11-${d} 18:${String(Math.floor(k / 60)).padStart(2, '0')}:${String(k % 60).padStart(2, '0')}.5,100`)].join('\n'));
    expect(() => loadArrivalTrace(DATA, [day(14), day(15), day(16)])).toThrow(/: a gap of 23\.9 h between .*day14\.csv" line 301 .* and 1 more of a tenth of the span or more: gaps of over an hour .* make 99\.\d % of the trace's span/);
    // Three requests, the last a year off, the others at one instant or a second apart (re-tests: a median gap of 0, or
    // the typo its own median, let them pass).
    for (const second of ['18:00:00', '18:00:01']) {
      const three = write('three.csv', `TIMESTAMP,ContextTokens\n2023-11-16 18:00:00,1\n2023-11-16 ${second},1\n2033-11-16 18:00:02,1\n`);
      expect(() => loadArrivalTrace(DATA, [three]), second).toThrow(/: a gap of 3,65\d days between .*line 3 .* and .*line 4 /);
    }
    // Whole seconds (many gaps of 0) with a quiet minute, bursts of microsecond stamps once a second, and three requests
    // with a quiet 23 minutes are traces, not typos (re-tests: the median gap was 0, 1 µs, or one of two).
    const seconds = write('seconds.csv', ['TIMESTAMP,ContextTokens', ...Array.from({ length: 200 }, (_, k) => `2023-11-16 18:${String(Math.floor(k / 4 / 60) + (k >= 100 ? 1 : 0)).padStart(2, '0')}:${String(Math.floor(k / 4) % 60).padStart(2, '0')},5`)].join('\n'));
    expect(loadArrivalTrace(DATA, [seconds]).offsetMs.length).toBe(200);
    const bursts = write('bursts.csv', ['TIMESTAMP,ContextTokens', ...Array.from({ length: 3000 }, (_, k) => `2023-11-16 18:00:${String(Math.floor(k / 50)).padStart(2, '0')}.${String(k % 50).padStart(6, '0')},5`)].join('\n'));
    expect(loadArrivalTrace(DATA, [bursts]).offsetMs.length).toBe(3000);
    const quiet = write('quiet.csv', 'TIMESTAMP,ContextTokens\n2023-11-16 18:17:03,1\n2023-11-16 18:17:04,1\n2023-11-16 18:40:00,1\n');
    expect(loadArrivalTrace(DATA, [quiet]).offsetMs.length).toBe(3);
    // The real trace's two files, and a few requests with uneven gaps (20 s after 1 s), are not refused.
    expect(loadArrivalTrace(DATA).offsetMs.length).toBeGreaterThan(8000);
    const uneven = write('uneven.csv', 'TIMESTAMP,ContextTokens\n2024-05-10 00:00:00,1\n2024-05-10 00:00:01,2\n2024-05-10 00:00:21,3\n');
    expect(loadArrivalTrace(DATA, [uneven]).offsetMs[2]).toBe(21_000);
    for (const [bad, why] of [['2023-11-16 99:59:59.0', 'hour 99 does not exist'], ['2023-02-31 18:17:05.97', 'day 31 of 2023-02 does not exist (the month has 28 days)'], ['2023-11-16 18:60:00', 'minute 60 does not exist']]) {
      const f = write('nowhen.csv', `TIMESTAMP,ContextTokens\n2023-11-16 18:17:03.9799600,4808\n${bad},3\n`);
      expect(() => loadArrivalTrace(DATA, [f]), bad).toThrow(`${JSON.stringify(f)} line 3: bad trace TIMESTAMP ${JSON.stringify(bad)}: ${why} (expected YYYY-MM-DD hh:mm:ss[.fraction])`);
    }
    // Cells the header does not have (`1,234`), a column named twice, tokens past 32 bits (a re-test: read as -1,294,967,296).
    const wide = write('wide.csv', 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.1,1,234,10\n');
    expect(() => loadArrivalTrace(DATA, [wide])).toThrow(`${JSON.stringify(wide)} line 2: expected 3 cells as the header, got 4 (a number with a thousands separator? write 1234, or quote the cell)`);
    const twice = write('twice.csv', 'TIMESTAMP,ContextTokens,TIMESTAMP\n2023-11-16 18:17:03.1,1,2023-11-16 18:17:05.1\n');
    expect(() => loadArrivalTrace(DATA, [twice])).toThrow(`${JSON.stringify(twice)}: the header names "TIMESTAMP" twice; give each column once`);
    const huge = write('huge.csv', 'TIMESTAMP,ContextTokens\n2023-11-16 18:17:03.1,3000000000\n2023-11-16 18:17:05.1,2147483647\n');
    expect(() => loadArrivalTrace(DATA, [huge])).toThrow(`${JSON.stringify(huge)} line 2: bad ContextTokens "3000000000" (expected a whole number 0..2147483647)`);
    const ts = write('ts.csv', 'TIMESTAMP,ContextTokens\n2024-05-10T00:00:01Z,10\n');
    expect(() => loadArrivalTrace(DATA, [ts])).toThrow(/line 2: bad trace TIMESTAMP "2024-05-10T00:00:01Z" \(expected YYYY-MM-DD hh:mm:ss\[\.fraction\]\)$/);
    expect(() => normalizeSimConfig({ traceFiles: [] })).toThrow(/traceFiles/);
  });

  it('refuses what the importers refuse, and what adds nothing or adds twice (a file-input trial)', () => {
    const good = write('good.csv', 'TIMESTAMP,ContextTokens\n2023-11-16 18:17:03.1,10\n2023-11-16 18:17:05.1,20\n');
    // CR-only line ends had read as one header line: its 100 requests dropped without a word beside another file.
    const cr = write('cr.csv', ['TIMESTAMP,ContextTokens', ...Array.from({ length: 100 }, (_, i) => `2023-11-16 18:17:${String(10 + (i % 40)).padStart(2, '0')}.1,${i}`)].join('\r'));
    expect(() => loadArrivalTrace(DATA, [good, cr])).toThrow(`${JSON.stringify(cr)}: its lines end in CR alone: save it with LF (or CRLF) line ends`);
    const utf16 = write('utf16.csv', '');
    fs.writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('TIMESTAMP,ContextTokens\n2023-11-16 18:17:03.1,10\n', 'utf16le')]));
    expect(() => loadArrivalTrace(DATA, [utf16])).toThrow(`${JSON.stringify(utf16)}: not UTF-8 text (UTF-16?): save the file as UTF-8`);
    // gzip named as such (a re-test: its bytes read as CR-only line ends or UTF-16, by chance).
    const gz = write('gz.csv', '');
    fs.writeFileSync(gz, zlib.gzipSync('TIMESTAMP,ContextTokens\n2023-11-16 18:17:03.1,10\n2023-11-16 18:17:05.1,20\n'));
    expect(() => loadArrivalTrace(DATA, [gz])).toThrow(`${JSON.stringify(gz)}: a gzip file: decompress it first (gunzip)`);
    // A header only, or nothing, beside a good file: said, not merged as nothing.
    const head = write('head.csv', 'TIMESTAMP,ContextTokens\n');
    expect(() => loadArrivalTrace(DATA, [good, head])).toThrow(`${JSON.stringify(head)}: no request (a header only)`);
    const empty = write('empty.csv', '');
    expect(() => loadArrivalTrace(DATA, [good, empty])).toThrow(`${JSON.stringify(empty)}: empty`);
    // One file twice (its requests twice over), under two names too; an empty name (read as the current folder).
    expect(() => loadArrivalTrace(DATA, [good, good])).toThrow(`trace file ${JSON.stringify(good)} is given twice: give each file once (each would add its requests again)`);
    fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
    fs.symlinkSync(good, path.join(dir, 'sub', 'link.csv'));
    expect(() => loadArrivalTrace(DATA, [good, path.join(dir, 'sub', 'link.csv')])).toThrow(`trace file ${JSON.stringify(path.join(dir, 'sub', 'link.csv'))} is given twice (as ${JSON.stringify(good)} too): give each file once`);
    expect(() => loadArrivalTrace(DATA, [''])).toThrow('trace file "": an empty file name');
    // Past 32 MiB in all: refused before anything is read (a trial: 157 MB ran out of heap).
    const big = write('big.csv', '');
    fs.truncateSync(big, 32 * 1024 * 1024 + 1);
    expect(() => loadArrivalTrace(DATA, [big])).toThrow(/^trace files of 33,554,433 bytes in all, more than the limit of 33,554,432 \(32 MiB/);
    // The columns in any case, as the catalog import takes them.
    const lower = write('lower.csv', 'timestamp,contexttokens\n2023-11-16 18:17:03.1,10\n2023-11-16 18:17:05.1,20\n');
    expect(loadArrivalTrace(DATA, [lower]).contextTokens).toEqual(Int32Array.from([10, 20]));
    // Years 0–99 are those years, not 1900–1999 (a trial: 0099-12-31 and 0100-01-01 were 1,900 years apart).
    const early = write('early.csv', 'TIMESTAMP,ContextTokens\n0099-12-31 23:59:59,1\n0100-01-01 00:00:00,2\n');
    expect(Array.from(loadArrivalTrace(DATA, [early]).offsetMs)).toEqual([0, 1000]);
  });
});
