import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alertPolicy, alertStates, classifyWindow, type WindowClass } from '../../../pipelines/alerts/alert-state.ts';
import { rollingCorrelation } from '../../../pipelines/rolling-correlation.ts';
import { ProcessorRun } from '../../../pipelines/runtime/run-processor.ts';
import { TOPICS } from '../../../pipelines/topics.ts';
import { codecFor } from '../../../schemas/index.ts';
import type { CorrelationUpdate, EnrichedInference, LateEvent } from '../../../schemas/types.ts';
import { MemoryEventLog } from '../../../services/eventlog/memory.ts';
import { at, makeEnriched, makeLoad, prng } from '../../helpers/factories.ts';
import { readTopic } from '../../helpers/pipeline.ts';
import { exactPearson } from '../../helpers/rational.ts';

async function runCorrelation(rows: EnrichedInference[], options: Parameters<typeof rollingCorrelation>[0], trackFires = false, partitions = 1) {
  const log = new MemoryEventLog({ defaultPartitions: partitions });
  await log.ensureTopic(TOPICS.enriched, partitions);
  await log.produce(TOPICS.enriched, rows.map((r) => ({ key: r.edge_server_id, value: codecFor('EnrichedInference').encode(r) })));
  await log.seal(TOPICS.enriched);
  const run = new ProcessorRun({ log, processor: rollingCorrelation(options), maxBatch: 1 });
  await run.start();
  const windowsAfterArrival: number[] = [];
  while (!(await run.runBatch())) if (trackFires) windowsAfterArrival.push((await readTopic(log, TOPICS.correlation)).length);
  await run.close();
  return { log, counts: run.counts, windowsAfterArrival };
}

describe('rolling-correlation', () => {
  it('case C06: 10 s tumbling windows, watermark = max − 2 s, lateness 0: late records counted and routed, windows exact', async () => {
    const lines = readFileSync(new URL('../../fixtures/cases/C06.csv', import.meta.url), 'utf8').trim().split('\n').slice(1);
    const rows = lines.map((line, i) => {
      const [, ts, server, latency] = line.split(',');
      return makeEnriched({ edge_server_id: server!, ts: at(ts!), total_ms: Number(latency), event_id: `a${i + 1}` }, makeLoad({ edge_server_id: server!, ts: at(ts!), gpu_util: (i % 5) / 10 }));
    });
    const { log, counts, windowsAfterArrival } = await runCorrelation(rows, { sizeMs: 10_000, slideMs: 10_000, maxOutOfOrdernessMs: 2000 }, true);
    const late = await readTopic<LateEvent>(log, TOPICS.late);
    expect(late.map((l) => l.value.offset + 1)).toEqual([5, 9, 11]); // arrival numbers
    expect(counts[TOPICS.enriched]).toEqual({ consumed: 12, processed: 9, late: 3, dead: 0 });
    const windows = (await readTopic<CorrelationUpdate>(log, TOPICS.correlation)).map((w) => w.value).filter((w) => w.x_metric === 'gpu_util' && w.y_metric === 'total_ms');
    const t0 = at('2024-06-01T10:00:00.000Z');
    expect(windows.map((w) => [w.window_start - t0, w.window_end - t0, w.n])).toEqual([
      [0, 10_000, 3],
      [10_000, 20_000, 4],
      [20_000, 30_000, 2],
    ]);
    // Membership: the on-time rows of each window have the case's means.
    const lateSet = new Set(late.map((l) => l.value.offset));
    const mean = (from: number) => {
      const v = rows.filter((r, i) => !lateSet.has(i) && r.ts >= t0 + from && r.ts < t0 + from + 10_000).map((r) => r.total_ms);
      return v.reduce((a, b) => a + b, 0) / v.length;
    };
    expect([mean(0), mean(10_000), mean(20_000)]).toEqual([44, 51.75, 59]);
    // Fire times: 15 pairs per window; [0,10) after arrival 4, [10,20) after arrival 10, [20,30) at end of input.
    expect(windowsAfterArrival.slice(0, 12)).toEqual([0, 0, 0, 15, 15, 15, 15, 15, 15, 30, 30, 30]);
    expect(windows.length * 15).toBe((await readTopic(log, TOPICS.correlation)).length);
  });

  it('sliding windows: each window merges exactly its panes, undefined statistics are null with a reason', async () => {
    const rnd = prng(3);
    const t0 = at('2024-06-01T10:00:00.000Z');
    const rows: EnrichedInference[] = [];
    for (let k = 0; k < 400; k++) {
      const ts = t0 + k * 500;
      const gpu = k < 60 ? 0.5 : Math.round(rnd() * 100) / 100; // constant load for the first 30 s
      rows.push(makeEnriched({ edge_server_id: 'edge-01', model_id: k % 2 ? 'm1' : 'm2', ts, total_ms: 10 + 30 * gpu + rnd() }, makeLoad({ edge_server_id: 'edge-01', ts, gpu_util: gpu })));
    }
    const { log, counts } = await runCorrelation(rows, { sizeMs: 20_000, slideMs: 5000 });
    expect(counts[TOPICS.enriched]!.late).toBe(0);
    const windows = (await readTopic<CorrelationUpdate>(log, TOPICS.correlation)).map((w) => w.value).filter((w) => w.x_metric === 'gpu_util' && w.y_metric === 'total_ms');
    // Ends from the first pane's end to the last pane's start + size, every slide, per model.
    expect(windows.filter((w) => w.model_id === 'm1')).toHaveLength((200_000 - 5000 + 20_000) / 5000);
    for (const w of windows) {
      const inWindow = rows.filter((r) => r.model_id === w.model_id && r.ts >= w.window_start && r.ts < w.window_end);
      expect(w.n).toBe(inWindow.length);
      if (inWindow.every((r) => r.gpu_util === 0.5)) {
        expect(w.pearson_r).toBeNull();
        expect(w.null_reason).toBe(w.n < 3 ? 'n_lt_3' : 'x_constant');
      } else {
        expect(w.pearson_r).toBeGreaterThan(0.9);
      }
    }
  });

  it('keys never collide, whatever characters the ids hold (quotes and commas: a naive join of the ids would make one key of two)', async () => {
    const t0 = at('2024-06-01T10:00:00.000Z');
    const rows: EnrichedInference[] = [];
    for (let k = 0; k < 40; k++) {
      const ts = t0 + k * 1000;
      const g = (k % 10) / 10;
      rows.push(makeEnriched({ edge_server_id: 'a","b', model_id: 'c', ts, total_ms: 10 + g }, makeLoad({ edge_server_id: 'a","b', ts, gpu_util: g })));
      rows.push(makeEnriched({ edge_server_id: 'a', model_id: 'b","c', ts, total_ms: 10 - g }, makeLoad({ edge_server_id: 'a', ts, gpu_util: g })));
    }
    const { log } = await runCorrelation(rows, { sizeMs: 60_000, slideMs: 60_000 });
    const windows = (await readTopic<CorrelationUpdate>(log, TOPICS.correlation)).map((w) => w.value).filter((w) => w.x_metric === 'gpu_util' && w.y_metric === 'total_ms');
    expect(windows.map((w) => [w.edge_server_id, w.model_id, w.n, Math.round(w.pearson_r! * 1e6) / 1e6]).sort()).toEqual([
      ['a","b', 'c', 40, 1],
      ['a', 'b","c', 40, -1],
    ]);
  });
});

describe('rolling-correlation scopes (DESIGN §2: server, server×model, server×model×chip)', () => {
  it('each scope keys its windows its way; each window\'s r is that of its own rows (exact reference); server×model is the default\'s, unchanged', async () => {
    const rnd = prng(11);
    const t0 = at('2024-06-01T10:00:00.000Z');
    const rows: EnrichedInference[] = [];
    // One server: m1 on chip-a, m2 on chip-a and chip-b (a second device), for 60 s.
    for (let k = 0; k < 240; k++) {
      const ts = t0 + k * 250;
      const model = k % 3 === 0 ? 'm1' : 'm2';
      const chip = model === 'm2' && k % 2 === 0 ? 'chip-b' : 'chip-a';
      const gpu = Math.round(rnd() * 100) / 100;
      rows.push(makeEnriched({ edge_server_id: 'edge-01', model_id: model, chip, ts, total_ms: (chip === 'chip-b' ? 50 : 10) + 30 * gpu * rnd() }, makeLoad({ edge_server_id: 'edge-01', ts, gpu_util: gpu })));
    }
    const opts = { sizeMs: 20_000, slideMs: 10_000 };
    const all = (await readTopic<CorrelationUpdate>((await runCorrelation(rows, { ...opts, scopes: ['server', 'server×model', 'server×model×chip'] })).log, TOPICS.correlation)).map((w) => w.value);
    const plain = (await readTopic<CorrelationUpdate>((await runCorrelation(rows, opts)).log, TOPICS.correlation)).map((w) => w.value);
    const pair = (w: CorrelationUpdate) => w.x_metric === 'gpu_util' && w.y_metric === 'total_ms';
    // server×model: the default run's windows exactly.
    expect(all.filter((w) => w.scope === 'server×model')).toEqual(plain);
    const ofScope = (scope: string) => all.filter((w) => w.scope === scope && pair(w));
    const keys = (scope: string) => [...new Set(ofScope(scope).map((w) => JSON.stringify([w.model_id, w.chip])))].sort();
    expect(keys('server')).toEqual([JSON.stringify([null, null])]); // every model, and the rows ran on two chips
    expect(keys('server×model')).toEqual([JSON.stringify(['m1', 'chip-a']), JSON.stringify(['m2', null])]);
    expect(keys('server×model×chip')).toEqual([JSON.stringify(['m1', 'chip-a']), JSON.stringify(['m2', 'chip-a']), JSON.stringify(['m2', 'chip-b'])]);
    for (const w of [...ofScope('server'), ...ofScope('server×model'), ...ofScope('server×model×chip')]) {
      const own = rows.filter((r) => r.ts >= w.window_start && r.ts < w.window_end && (w.model_id === null || r.model_id === w.model_id)
        && (w.scope !== 'server×model×chip' || r.chip === w.chip));
      expect(w.n).toBe(own.length);
      const exact = exactPearson(own.map((r) => r.gpu_util!), own.map((r) => r.total_ms));
      expect(Math.abs(w.pearson_r! - exact.r!)).toBeLessThan(1e-12);
    }
    expect(() => rollingCorrelation({ scopes: [] })).toThrow('scopes: expected one or more of server, server×model, server×model×chip, none twice, got []');
    expect(() => rollingCorrelation({ scopes: ['server', 'server'] })).toThrow(/none twice/);
  });
});

describe('rolling-correlation alerts', () => {
  // minN 35 of ~40 rows per window: a window rebuilt from part of its panes would not count, so a replay that started too late would show.
  const policy = { minN: 35, fireAfter: 2, clearAfter: 2, lookback: 6 };
  const opts = { sizeMs: 20_000, slideMs: 5000, alerts: policy };
  /** One server and model, a row every 500 ms; latency follows gpu load only in [60 s, 150 s) (and again in [200 s, 230 s) on a gap-free run). */
  function rows(): EnrichedInference[] {
    const rnd = prng(11);
    const t0 = at('2024-06-01T10:00:00.000Z');
    const out: EnrichedInference[] = [];
    for (let k = 0; k < 520; k++) {
      const ts = t0 + k * 500 + Math.floor(rnd() * 400); // some disorder within 2 s
      const gpu = Math.round(rnd() * 100) / 100;
      const s = (ts - t0) / 1000;
      const coupled = (s >= 60 && s < 150) || (s >= 200 && s < 230);
      out.push(makeEnriched({ edge_server_id: 'edge-07', model_id: 'm1', ts, total_ms: coupled ? 10 + 30 * gpu + rnd() : 10 + 30 * rnd() }, makeLoad({ edge_server_id: 'edge-07', ts, gpu_util: gpu })));
    }
    return out;
  }
  const gpuTotal = (ws: CorrelationUpdate[]) => ws.filter((w) => w.x_metric === 'gpu_util' && w.y_metric === 'total_ms');
  /**
   * A row every 500 ms for 130 s: edge-A's, while `aAt(s)`, follows gpu load (and, from `rpsFrom` s when given, its
   * requests_per_s too); edge-B's, with `withB`, follows nothing (it keeps the watermark moving).
   */
  function twoServers(seed: number, aAt: (s: number) => boolean, withB: boolean, rpsFrom?: number): EnrichedInference[] {
    const rnd = prng(seed);
    const t0 = at('2024-06-01T10:00:00.000Z');
    const out: EnrichedInference[] = [];
    for (let k = 0; k < 260; k++) {
      const ts = t0 + k * 500;
      const s = k / 2;
      const gpu = Math.round(rnd() * 100) / 100;
      const rps = rpsFrom === undefined ? undefined : Math.round(rnd() * 100);
      const noise = rnd();
      const coupled = rps !== undefined && s >= rpsFrom! ? rps / 2 : 0;
      if (aAt(s)) out.push(makeEnriched({ edge_server_id: 'edge-A', model_id: 'm1', ts, total_ms: 10 + 30 * gpu + coupled + noise }, makeLoad({ edge_server_id: 'edge-A', ts, gpu_util: gpu, ...(rps === undefined ? {} : { requests_per_s: rps }) })));
      if (withB) out.push(makeEnriched({ edge_server_id: 'edge-B', model_id: 'm1', ts: ts + 1, total_ms: 10 + 30 * rnd() }, makeLoad({ edge_server_id: 'edge-B', ts: ts + 1, gpu_util: rnd() })));
    }
    return out;
  }

  it('each window carries the state of alert-state.ts over the classes of its key\'s windows', async () => {
    const { log } = await runCorrelation(rows(), opts);
    const ws = gpuTotal((await readTopic<CorrelationUpdate>(log, TOPICS.correlation)).map((w) => w.value));
    const p = alertPolicy(policy);
    // Reference: consecutive window ends, a missing window neutral.
    const byEnd = new Map(ws.map((w) => [w.window_end, w]));
    const ends = ws.map((w) => w.window_end);
    const seq: WindowClass[] = [];
    const expected = new Map<number, string>();
    for (let e = Math.min(...ends); e <= Math.max(...ends); e += 5000) {
      const w = byEnd.get(e);
      seq.push(w ? classifyWindow(w, p) : 'neutral');
      if (w) expected.set(e, alertStates(seq, p).at(-1)!);
    }
    expect(ws.map((w) => w.alert_state)).toEqual(ws.map((w) => expected.get(w.window_end)));
    const states = ws.map((w) => w.alert_state);
    // Two coupled episodes: each fires once and resolves.
    expect(states.filter((s, i) => s === 'firing' && states[i - 1] !== 'firing')).toHaveLength(2);
    expect(states.filter((s) => s === 'resolved')).toHaveLength(2);
    expect(states[0]).toBe('none');
    // Other pairs with no relationship stay quiet.
    const ioCpu = (await readTopic<CorrelationUpdate>(log, TOPICS.correlation)).map((w) => w.value).filter((w) => w.x_metric === 'cpu_util');
    expect(ioCpu.every((w) => w.alert_state === 'none')).toBe(true);
  });

  it('keeps a key\'s alert history over a gap shorter than a window (a trial: forgotten once its panes left, firing → none → rising → firing again)', async () => {
    const rnd = prng(5);
    const t0 = at('2024-06-01T10:00:00.000Z');
    const out: EnrichedInference[] = [];
    for (let k = 0; k < 240; k++) {
      const ts = t0 + k * 500;
      const s = k / 2;
      // edge-07 drives the watermark throughout; edge-08 follows gpu load, silent in [60 s, 77.5 s): less than a
      // window (20 s), more than window − slide + out-of-orderness (17 s), after which its panes had all left.
      const gpu = Math.round(rnd() * 100) / 100;
      out.push(makeEnriched({ edge_server_id: 'edge-07', model_id: 'm1', ts, total_ms: 10 + 30 * rnd() }, makeLoad({ edge_server_id: 'edge-07', ts, gpu_util: gpu })));
      if (s < 60 || s >= 77.5) out.push(makeEnriched({ edge_server_id: 'edge-08', model_id: 'm1', ts: ts + 1, total_ms: 10 + 30 * gpu + rnd() }, makeLoad({ edge_server_id: 'edge-08', ts: ts + 1, gpu_util: gpu })));
    }
    const loose = { ...opts, alerts: { minN: 20, fireAfter: 2, clearAfter: 2, lookback: 6 } };
    const { log } = await runCorrelation(out, loose);
    const ws = gpuTotal((await readTopic<CorrelationUpdate>(log, TOPICS.correlation)).map((w) => w.value)).filter((w) => w.edge_server_id === 'edge-08' && w.scope === 'server×model');
    // Every window of edge-08 holds rows (the gap is shorter than a window): its states are those of one unbroken history.
    const p = alertPolicy(loose.alerts);
    const ends = ws.map((w) => w.window_end);
    expect(ends).toEqual(Array.from({ length: ends.length }, (_, i) => ends[0]! + i * 5000));
    expect(ws.map((w) => w.alert_state)).toEqual(alertStates(ws.map((w) => classifyWindow(w, p)), p));
    const states = ws.map((w) => w.alert_state);
    expect(states.filter((x, i) => x === 'firing' && states[i - 1] !== 'firing')).toHaveLength(1);
    expect(states.slice(states.indexOf('firing'))).not.toContain('none');
  });

  it('forgets a key after a gap longer than a window whether or not other servers of its partition move the watermark (a trial: alone, firing went on over the gap)', async () => {
    /** edge-A follows gpu load, silent in [60 s, 85 s): a window (20 s) + a slide + the 2 s bound; edge-B, when there, keeps the watermark moving. */
    const gapRows = (withB: boolean) => twoServers(7, (s) => s < 60 || s >= 85, withB);
    const loose = { ...opts, alerts: { minN: 20, fireAfter: 2, clearAfter: 2, lookback: 6 } };
    const show = async (log: MemoryEventLog) => gpuTotal((await readTopic<CorrelationUpdate>(log, TOPICS.correlation)).map((w) => w.value))
      .filter((w) => w.edge_server_id === 'edge-A').map((w) => `${(w.window_end % 3_600_000) / 1000}s n=${w.n} ${w.alert_state}`);
    // Windows end every 5 s; the last with rows before the gap ends at 75 s, the one at 80 s has none and closes
    // (emitted: the alert resolves), the first after it ends at 90 s and starts from none. The end of the input
    // closes nothing.
    const expected = [
      '5s n=10 none', '10s n=20 rising', ...[15, 20, 25, 30, 35, 40, 45, 50, 55, 60].map((e) => `${e}s n=${e === 15 ? 30 : 40} firing`),
      '65s n=30 firing', '70s n=20 firing', '75s n=10 firing', '80s n=0 resolved',
      '90s n=10 none', '95s n=20 rising', '100s n=30 firing', ...[105, 110, 115, 120, 125, 130].map((e) => `${e}s n=40 firing`),
      '135s n=30 firing', '140s n=20 firing', '145s n=10 firing',
    ];
    expect(await show((await runCorrelation(gapRows(false), loose)).log)).toEqual(expected);
    expect(await show((await runCorrelation(gapRows(true), loose)).log)).toEqual(expected);
    // Alone, with batches of 50: the gap's last row and the first after it meet in one batch, then in separate ones.
    for (const maxBatch of [50, 7]) {
      const log = new MemoryEventLog({ defaultPartitions: 1 });
      await log.ensureTopic(TOPICS.enriched, 1);
      await log.produce(TOPICS.enriched, gapRows(false).map((r) => ({ key: r.edge_server_id, value: codecFor('EnrichedInference').encode(r) })));
      await log.seal(TOPICS.enriched);
      await new ProcessorRun({ log, processor: rollingCorrelation(loose), maxBatch }).runToEnd();
      expect(await show(log)).toEqual(expected);
    }
    // A crash after the gap: the resumed run forgets the key as an unbroken run does.
    for (const crashAt of [130, 160, 200]) expect(await show(await crashThenResume(gapRows(false), loose, crashAt))).toEqual(expected);
  });

  it('a server that stops sending: its firing pairs resolve and its rising ones go to none in the first window without its rows, once, on every replay (a trial: alerts of retired servers stayed firing)', async () => {
    /** edge-A follows gpu load until 60 s (and its requests_per_s too from 52 s), then stops for good; edge-B goes on to 130 s. */
    const retiredRows = () => twoServers(9, (s) => s < 60, true, 52);
    const loose = { ...opts, alerts: { minN: 20, fireAfter: 3, clearAfter: 2, lookback: 6, threshold: 0.3, hysteresis: 0.05 } };
    const { log } = await runCorrelation(retiredRows(), loose);
    const a = (await readTopic<CorrelationUpdate>(log, TOPICS.correlation)).map((w) => w.value).filter((w) => w.edge_server_id === 'edge-A');
    const lastEnd = Math.max(...a.filter((w) => w.n > 0).map((w) => w.window_end));
    const closing = a.filter((w) => w.n === 0);
    // Every closing record is the window one slide after the last with rows, of a pair whose last state was rising or firing.
    expect(closing.length).toBeGreaterThan(0);
    for (const w of closing) {
      expect(w.window_end).toBe(lastEnd + 5000);
      expect(w.window_start).toBe(lastEnd + 5000 - 20_000);
      const before = a.find((v) => v.window_end === lastEnd && v.x_metric === w.x_metric && v.y_metric === w.y_metric)!;
      // The chip of the key's last window (a receiver matching a resolve to its firing by labels needs it), a reason of its own.
      expect([w.pearson_r, w.ci_low, w.ci_high, w.slope, w.p_value, w.null_reason, w.chip]).toEqual([null, null, null, null, null, 'no_rows', before.chip]);
      expect(w.chip).not.toBeNull();
      expect(w.alert_state).toBe(before.alert_state === 'firing' ? 'resolved' : 'none');
    }
    const last = (x: string, y: string) => a.filter((w) => w.x_metric === x && w.y_metric === y).at(-1)!;
    expect(last('gpu_util', 'total_ms')).toMatchObject({ n: 0, alert_state: 'resolved', window_end: at('2024-06-01T10:01:20.000Z') });
    expect(last('requests_per_s', 'total_ms')).toMatchObject({ n: 0, alert_state: 'none', window_end: at('2024-06-01T10:01:20.000Z') });
    // Pairs that ended at none get no closing record; each pair's last state is none or resolved.
    const lastStates = new Set(a.filter((w) => w.window_end === lastEnd).map((w) => `${w.x_metric}/${w.y_metric}`));
    expect(closing.length).toBe(a.filter((w) => w.window_end === lastEnd && (w.alert_state === 'firing' || w.alert_state === 'rising')).length);
    for (const pair of lastStates) expect(['none', 'resolved']).toContain(last(...(pair.split('/') as [string, string])).alert_state);
    // The same, once each, after a crash at any point.
    const reference = (await readTopic<CorrelationUpdate>(log, TOPICS.correlation)).map((w) => w.value);
    for (const crashAt of [100, 180, 230, 300]) {
      expect((await readTopic<CorrelationUpdate>(await crashThenResume(retiredRows(), loose, crashAt), TOPICS.correlation)).map((w) => w.value)).toEqual(reference);
    }
  });

  it('after a crash at any point, the resumed run emits the same windows and alert states', async () => {
    const input = rows();
    const reference = (await readTopic<CorrelationUpdate>((await runCorrelation(input, opts)).log, TOPICS.correlation)).map((w) => w.value);
    for (const crashAt of [37, 140, 233, 301, 388, 455]) {
      const log = await crashThenResume(input, opts, crashAt);
      const got = (await readTopic<CorrelationUpdate>(log, TOPICS.correlation)).map((w) => w.value);
      expect(got).toEqual(reference);
    }
    expect(reference.some((w) => w.alert_state === 'firing')).toBe(true);
  });
});

/**
 * The correlation over `input` (one partition, batches of 7) in a run that crashes after the commit that passes
 * `crashAt` records, then in a second run that resumes from its commits to the end; the log they shared.
 */
async function crashThenResume(input: readonly EnrichedInference[], options: Parameters<typeof rollingCorrelation>[0], crashAt: number): Promise<MemoryEventLog> {
  const log = new MemoryEventLog({ defaultPartitions: 1 });
  await log.ensureTopic(TOPICS.enriched, 1);
  await log.produce(TOPICS.enriched, input.map((r) => ({ key: r.edge_server_id, value: codecFor('EnrichedInference').encode(r) })));
  await log.seal(TOPICS.enriched);
  const first = new ProcessorRun({
    log, processor: rollingCorrelation(options), maxBatch: 7,
    failPoint: (point, done) => { if (point === 'after-commit' && done >= crashAt) throw new Error('crash'); },
  });
  await first.start();
  await expect((async () => { while (!(await first.runBatch())); })()).rejects.toThrow('crash');
  await first.close();
  await new ProcessorRun({ log, processor: rollingCorrelation(options), maxBatch: 7 }).runToEnd();
  return log;
}
