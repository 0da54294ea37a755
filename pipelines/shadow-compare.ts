import type { InferenceEvent, ShadowResult, ShadowVerdict } from '../schemas/types.ts';
import { compareSeq, type Emit, type Processor, type StepInput, type StepResult } from './processor.ts';
import { comparePairs } from './stats/compare-pairs.ts';
import { TOPICS } from './topics.ts';

/** Options of the shadow comparison. */
export interface ShadowCompareOptions {
  /** Tumbling event-time windows of the production request time, ms. @default 300000 (5 min) */
  windowMs?: number;
  /**
   * How long after a window's end, by the shadow stream's watermark, the window waits for shadow results, ms:
   * a result trailing its production event by up to this (hand-over lag + shadow latency) is always paired;
   * by more, only if it comes before its window closes. @default 30000
   */
  lagToleranceMs?: number;
  /** Relative tolerance t of the verdict: ratios in [1/(1+t), 1+t] are equivalent. @default 0.1 */
  tolerance?: number;
  /** Two-sided confidence of the ratio's interval, (0, 1). @default 0.95 */
  confidence?: number;
  /** Fewest pairs for a verdict other than INCONCLUSIVE (and for statistics). @default 20 */
  minPairs?: number;
  /** p99 objective of the shadow, ms; null: `shadow_meets_slo` is null. @default null */
  sloP99Ms?: number | null;
  /** Max out-of-orderness of event time of both input streams, ms. @default 2000 */
  maxOutOfOrdernessMs?: number;
  /** Topic names. @default TOPICS */
  topics?: { inference: string; shadow: string; verdicts: string };
}

interface ProdEntry {
  /** {@link recordId} of the event. */
  id: string;
  ts: number;
  server: string;
  model: string;
  chip: string;
  version: string;
  totalMs: number;
  /** status 'ok' (a failed request pairs, but its latency is not the model's). */
  ok: boolean;
}

/** What identifies a shadow deployment's comparison. */
type DeploymentKey = Pick<ShadowVerdict, 'edge_server_id' | 'model_id' | 'production_chip' | 'production_version' | 'shadow_chip' | 'shadow_version'>;

interface WindowAgg {
  verdictKey: DeploymentKey;
  start: number;
  production: number[];
  shadow: number[];
  /** Pairs not ok on one side or both (out of the statistics). */
  failed: number;
}

/** A shadow result held for pairing, with its place in the log and its {@link recordId}. */
type HeldResult = ShadowResult & { offset: number; id: string };

/** One request key's records of one side, and their {@link recordId}s (a record delivered twice is passed over). */
interface Held<T> {
  list: T[];
  ids: Set<string>;
}

/** State of one partition task. */
export interface ShadowCompareState {
  partition: number;
  /** Production events by `requestKey` (server, model and request id; several when an id is reused), until the window of their ts fires. */
  prod: Map<string, Held<ProdEntry>>;
  /** Shadow results by `requestKey`, until the window of their request_ts fires (they are paired then, pairGroup). */
  waiting: Map<string, Held<HeldResult>>;
  /**
   * Shadow deployments seen per window: `[window start, server, model, shadow chip, shadow version]` of a result read
   * (paired or not; late too, while the next window was open by the shadow stream's own watermark), kept until the
   * next window has fired. A deployment is expected in the window it was seen in and the next: there, a production
   * chip and version it paired nothing of still has a verdict counting them unpaired.
   */
  seen: Set<string>;
  /** Open windows by verdict key. */
  windows: Map<string, WindowAgg>;
  /**
   * Production requests per `[server, model, production chip, production version, window start]` (a redelivered
   * event once): a verdict's unpaired production requests are these less its pairs and failed pairs.
   */
  prodCounts: Map<string, number>;
  /** Unpaired shadow results per `[window start, server, model, shadow chip, shadow version]`. */
  unpairedShadow: Map<string, number>;
  /** Smallest offset per input topic and window start of the records an unfired window still needs. */
  minOffset: Record<'prod' | 'shadow', Map<number, number>>;
  /** Window ends up to this have fired, ms. */
  firedLimit: number;
  /**
   * Window ends up to this had fired before this task was rebuilt (the fire limit of the watermarks of the
   * commit it replays from, `restore`; -Infinity on a fresh start), ms.
   */
  restoredLimit: number;
  /** Per input topic, the offset up to which the partition had been read before this task was rebuilt (`restore`): below it, replays. */
  replayEnds: Record<string, number>;
}

/**
 * What pairs a shadow result with its production event: the server, the model and the request id (a server may
 * number each model's requests on its own: a trial's resnet50 and bert-99 both had `req-0…`, and bert's shadow
 * results paired with resnet50's requests), and a `request_ts` within {@link REQUEST_TS_TOLERANCE_MS} of the event's ts.
 */
const requestKey = (server: string, model: string, requestId: string): string => JSON.stringify([server, model, requestId]);

/**
 * Largest gap between a shadow result's `request_ts` and its production event's `ts`, ms. Both are the production
 * server's receipt of the request (carried with the mirrored request), so they agree but for rounding or a mirroring
 * proxy's own stamp; an id whose times differ by more is another request that reused it (a restarted counter: a trial's
 * shadow results paired with the requests of the same ids two minutes before the restart, at a ratio of 0.1).
 */
export const REQUEST_TS_TOLERANCE_MS = 1000;

/**
 * What makes two records one delivered twice (a producer's retry without idempotence, at-least-once delivery): the
 * same event id, times, chip, version, latency and status. Any of them other under the same event id is another record
 * (a re-test: two deployments' results under one event id had been taken for one).
 */
const recordId = (r: { event_id: string; ts: number; total_ms: number; status: string; chip: string; model_version: string; request_ts?: number }): string =>
  JSON.stringify([r.event_id, r.ts, r.request_ts ?? null, r.chip, r.model_version, r.total_ms, r.status]);

/**
 * Pair one request key's shadow results with its production events, each deployment (shadow chip and version) on its
 * own: candidate pairs are those within {@link REQUEST_TS_TOLERANCE_MS}, taken nearest first (then by the event's ts
 * and id, the result's own ts, and its place in the log: of two results for one request, the first pairs), one result
 * per event and one event per result. Decided on the whole group when its window
 * fires, so the pairs do not depend on the order the records came in (a re-test: two devices numbering their requests
 * alike, 200 ms apart, read ratio 1 or 10 by arrival order).
 * @returns The pairs, and the results left unpaired.
 */
function pairGroup<S extends ShadowResult & { offset: number }>(events: readonly ProdEntry[], results: readonly S[]): { pairs: [ProdEntry, S][]; unpaired: S[] } {
  const pairs: [ProdEntry, S][] = [];
  const unpaired: S[] = [];
  const byDeployment = new Map<string, S[]>();
  for (const sh of results) {
    const d = JSON.stringify([sh.chip, sh.model_version]);
    const list = byDeployment.get(d);
    if (list) list.push(sh);
    else byDeployment.set(d, [sh]);
  }
  // Events by time: a result's candidates are a run of them (a trial: 8,000 requests under one reused id took 77 s).
  const byTs = [...events].sort((a, b) => a.ts - b.ts);
  for (const list of byDeployment.values()) {
    // A request id shared by so many requests within the tolerance that the candidate pairs would not fit in
    // memory (a trial: 8,000 requests in one second under one id ran out of heap): paired in time order instead.
    let count = 0;
    for (const sh of list) count += firstAtOrAfter(byTs, sh.request_ts + REQUEST_TS_TOLERANCE_MS + 1) - firstAtOrAfter(byTs, sh.request_ts - REQUEST_TS_TOLERANCE_MS);
    if (count > MAX_PAIR_CANDIDATES) {
      const inOrder = pairInTimeOrder(byTs, list);
      pairs.push(...inOrder.pairs);
      unpaired.push(...inOrder.unpaired);
      continue;
    }
    const candidates: { gap: number; e: ProdEntry; sh: S }[] = [];
    for (const sh of list) {
      for (let i = firstAtOrAfter(byTs, sh.request_ts - REQUEST_TS_TOLERANCE_MS); i < byTs.length && byTs[i]!.ts <= sh.request_ts + REQUEST_TS_TOLERANCE_MS; i++) {
        const e = byTs[i]!;
        candidates.push({ gap: Math.abs(e.ts - sh.request_ts), e, sh });
      }
    }
    candidates.sort((a, b) => a.gap - b.gap || a.e.ts - b.e.ts || cmp(a.e.id, b.e.id) || a.sh.ts - b.sh.ts || a.sh.offset - b.sh.offset);
    const usedEvents = new Set<ProdEntry>();
    const usedResults = new Set<S>();
    for (const c of candidates) {
      if (usedEvents.has(c.e) || usedResults.has(c.sh)) continue;
      usedEvents.add(c.e);
      usedResults.add(c.sh);
      pairs.push([c.e, c.sh]);
    }
    for (const sh of list) if (!usedResults.has(sh)) unpaired.push(sh);
  }
  return { pairs, unpaired };
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Most candidate pairs (event, result within the request-time tolerance) of one request key and deployment that {@link pairGroup} ranks nearest first. */
export const MAX_PAIR_CANDIDATES = 200_000;

/**
 * Pair one deployment's results with events in time order: events by (ts, id), results by (request_ts, ts, offset),
 * merged, the earliest of each paired while within {@link REQUEST_TS_TOLERANCE_MS}, else the earlier one left. Linear
 * after the sort, and independent of arrival order; for a request id shared by more requests within the tolerance
 * than {@link MAX_PAIR_CANDIDATES} lets pairGroup rank.
 * @param byTs Events sorted by ts.
 */
function pairInTimeOrder<S extends ShadowResult & { offset: number }>(byTs: readonly ProdEntry[], results: readonly S[]): { pairs: [ProdEntry, S][]; unpaired: S[] } {
  const events = [...byTs].sort((a, b) => a.ts - b.ts || cmp(a.id, b.id));
  const ordered = [...results].sort((a, b) => a.request_ts - b.request_ts || a.ts - b.ts || a.offset - b.offset);
  const pairs: [ProdEntry, S][] = [];
  const unpaired: S[] = [];
  let i = 0;
  for (const sh of ordered) {
    while (i < events.length && events[i]!.ts < sh.request_ts - REQUEST_TS_TOLERANCE_MS) i++;
    if (i < events.length && events[i]!.ts <= sh.request_ts + REQUEST_TS_TOLERANCE_MS) pairs.push([events[i++]!, sh]);
    else unpaired.push(sh);
  }
  return { pairs, unpaired };
}

/** Index of the first entry of `byTs` (sorted by ts) whose ts is at or after `ts` (its length when none is). */
function firstAtOrAfter(byTs: readonly ProdEntry[], ts: number): number {
  let lo = 0;
  let hi = byTs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (byTs[mid]!.ts < ts) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * shadow-compare (issue 7): pair each shadow result with its production event
 * by server, model and `request_id` (its `request_ts` within
 * {@link REQUEST_TS_TOLERANCE_MS} of the event's ts) and compare them per
 * (server, model, production chip and version, shadow chip and version) and
 * tumbling window of the production request time. A shadow result's event
 * time is its `request_ts` (the production clock), so its own clock running
 * fast or slow moves no window.
 *
 * Behaviour: inputs edge.inference.v1 and edge.shadow.v1, co-partitioned by
 * server. A production event waits for its shadows, and a shadow result for
 * its production event, until the window of the request time fires (one
 * production event may pair with the shadows of several chips): a side that
 * came behind its stream's watermark but before its window fired still pairs,
 * whichever side came first. Each side's latency is its own
 * `total_ms`, so the hand-over lag and the arrival order change nothing. A
 * window [s, e) fires once the production watermark reaches e and the shadow
 * watermark e + lagTolerance; it emits one ShadowVerdict per shadow
 * deployment and production chip and version it paired in it, and per
 * production chip and version of its server and model a deployment seen in
 * it or the window before paired none of (0 pairs), with the pairs, the
 * production requests of its server, model, production chip and version that
 * this deployment did not pair, and the shadow results whose production event
 * never came (counted, never dropped). A request key's records are paired when their window fires,
 * as a whole, window by window (pairGroup: nearest request time first, one
 * to one per deployment; two sides in two windows are two unpaired records),
 * so the pairs do not depend on arrival order or on how many windows fire at
 * once; a request repeated (a retry) leaves its repeats unpaired, a record
 * delivered twice (recordId) counts once. A record whose window has fired,
 * or would have by its own stream's watermark alone (the other input read
 * behind it), is late: the same records on every log, whatever the interleaving. Emissions are ordered by (window end, key), the same on every replay.
 * After a restart (or a rebalance) a replayed record whose window had fired
 * before the commit the task replays from is passed over: its verdict is in the
 * topic, and its other side may lie before the other input's committed offset
 * (not replayed), so it would come out unpaired. A record of such a window read
 * for the first time (at or past the offset the partition had been read to at
 * that commit) is late, as an uninterrupted run would call it (a trial: after a
 * restart two late shadow results went to no late output and counted 0 late).
 * @throws {RangeError} on non-positive window, negative lag tolerance, tolerance ≤ 0, confidence outside (0, 1), minPairs < 1.
 */
export function shadowCompare(options: ShadowCompareOptions = {}): Processor<ShadowCompareState> {
  const W = options.windowMs ?? 300_000;
  const lagTol = options.lagToleranceMs ?? 30_000;
  const tolerance = options.tolerance ?? 0.1;
  const confidence = options.confidence ?? 0.95;
  const minPairs = options.minPairs ?? 20;
  const slo = options.sloP99Ms ?? null;
  const topics = options.topics ?? { inference: TOPICS.inference, shadow: TOPICS.shadow, verdicts: TOPICS.shadowVerdicts };
  if (!(Number.isInteger(W) && W > 0)) throw new RangeError(`windowMs: expected a positive integer of ms, got ${JSON.stringify(W)}`);
  if (!(lagTol >= 0)) throw new RangeError(`lagToleranceMs: expected >= 0, got ${JSON.stringify(lagTol)}`);
  if (!(tolerance > 0)) throw new RangeError(`tolerance: expected > 0, got ${JSON.stringify(tolerance)}`);
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence: expected in (0, 1), got ${JSON.stringify(confidence)}`);
  if (!(Number.isInteger(minPairs) && minPairs >= 1)) throw new RangeError(`minPairs: expected an integer >= 1, got ${JSON.stringify(minPairs)}`);
  const name = 'shadow-compare';
  const startOf = (ts: number): number => Math.floor(ts / W) * W;

  const noteOffset = (state: ShadowCompareState, side: 'prod' | 'shadow', ts: number, offset: number): void => {
    const m = state.minOffset[side];
    const s = startOf(ts);
    m.set(s, Math.min(m.get(s) ?? Infinity, offset));
  };

  /** Windows ending at or before this fire: the production watermark's window start, and the shadow watermark's less the lag tolerance. */
  function fireLimit(watermarks: Readonly<Record<string, number>>): number {
    const pwm = watermarks[topics.inference] ?? -Infinity;
    const swm = watermarks[topics.shadow] ?? -Infinity;
    const byProd = pwm === Infinity ? Infinity : startOf(pwm);
    const byShadow = swm === Infinity ? Infinity : startOf(swm - lagTol);
    return Math.min(byProd, byShadow);
  }

  /**
   * Windows ending at or before this would have fired by `topic`'s own watermark alone (its window start; the shadow's
   * less the lag tolerance). A record of such a window is late whichever input was read ahead, so the same sealed input
   * calls the same records late on every log (a trial: 1,965 shadow results trailing their requests by 94 s were late on
   * Kafka and paired in the demo, whose round robin read the production topic behind the shadow topic).
   */
  function ownLimit(topic: string, watermarks: Readonly<Record<string, number>>): number {
    const w = watermarks[topic] ?? -Infinity;
    if (w === Infinity) return Infinity;
    return startOf(topic === topics.shadow ? w - lagTol : w);
  }

  /** Records of one request key split into those of windows due at `limit`, by window start, and the rest, in order. */
  function byWindow<T>(records: readonly T[], timeOf: (r: T) => number, limit: number): { due: Map<number, T[]>; open: T[] } {
    const due = new Map<number, T[]>();
    const open: T[] = [];
    for (const r of records) {
      const start = startOf(timeOf(r));
      if (start + W > limit) open.push(r);
      else if (due.has(start)) due.get(start)!.push(r);
      else due.set(start, [r]);
    }
    return { due, open };
  }

  /**
   * Mark a shadow result's deployment seen in the window of its request time, late or not, while the next window is
   * open by the shadow stream's own watermark (the only window that reads it then; by its own watermark, so the same
   * results count on every interleaving and replay: a restart had counted a late one the run before had not), and
   * hold its offset until then for a restart to read it again (a trial: a second restart had lost it).
   */
  function noteSeen(state: ShadowCompareState, sh: ShadowResult, offset: number, watermarks: Readonly<Record<string, number>>): void {
    const start = startOf(sh.request_ts);
    if (start + 2 * W <= ownLimit(topics.shadow, watermarks)) return;
    state.seen.add(seenKey(start, sh.edge_server_id, sh.model_id, sh.chip, sh.model_version));
    noteOffset(state, 'shadow', sh.request_ts, offset);
  }

  function addPair(state: ShadowCompareState, p: ProdEntry, sh: ShadowResult): void {
    const verdictKey = {
      edge_server_id: p.server, model_id: p.model, production_chip: p.chip, production_version: p.version, shadow_chip: sh.chip, shadow_version: sh.model_version,
    };
    const start = startOf(p.ts);
    const k = JSON.stringify([start, ...Object.values(verdictKey)]);
    let agg = state.windows.get(k);
    if (!agg) {
      agg = { verdictKey, start, production: [], shadow: [], failed: 0 };
      state.windows.set(k, agg);
    }
    // A time-out or an error is not the model's latency on that chip: counted, not compared (a trial found
    // 17 time-outs paired at a median ratio of 0.02 in one demo; a shadow failing fast would look BETTER).
    if (!p.ok || sh.status !== 'ok') {
      agg.failed++;
      return;
    }
    agg.production.push(p.totalMs);
    agg.shadow.push(sh.total_ms);
  }

  const prodCountKey = (server: string, model: string, chip: string, version: string, start: number): string => JSON.stringify([server, model, chip, version, start]);

  function unpairedShadow(state: ShadowCompareState, sh: ShadowResult): void {
    const k = JSON.stringify([startOf(sh.request_ts), sh.edge_server_id, sh.model_id, sh.chip, sh.model_version]);
    state.unpairedShadow.set(k, (state.unpairedShadow.get(k) ?? 0) + 1);
  }

  const seenKey = (start: number, server: string, model: string, chip: string, version: string): string => JSON.stringify([start, server, model, chip, version]);

  /**
   * Emit every window with end <= limit: a verdict per deployment and production chip and version with pairs, and
   * one per production chip and version of its server and model that a deployment expected there (seen in the window
   * or the one before) paired nothing of, its requests all unpaired (a trial: a shadow silent for a window, all late,
   * or skewed past the request-time tolerance left those requests in no verdict). Unpaired shadow results join the
   * verdict of their deployment in that window (the first by key when several production chips match), or a
   * verdict of their own with production chip and version `unknown`: decided here, at fire
   * time, so the result never depends on arrival order.
   */
  function fire(state: ShadowCompareState, limit: number, out: Emit[]): void {
    const due = [...state.windows].filter(([, a]) => a.start + W <= limit);
    const shadowsLeft = new Map([...state.unpairedShadow].filter(([k]) => (JSON.parse(k) as [number])[0] + W <= limit));
    const byKey = new Map<string, WindowAgg>();
    for (const [k, a] of due) {
      state.windows.delete(k);
      byKey.set(k, a);
    }
    // Deployments seen, by server, model and window start.
    const seenAt = new Map<string, [string, string][]>();
    for (const sk of state.seen) {
      const [seenStart, server, model, shadowChip, shadowVersion] = JSON.parse(sk) as [number, string, string, string, string];
      const at = JSON.stringify([server, model, seenStart]);
      seenAt.set(at, [...(seenAt.get(at) ?? []), [shadowChip, shadowVersion]]);
    }
    for (const ck of state.prodCounts.keys()) {
      const [server, model, chip, version, start] = JSON.parse(ck) as [string, string, string, string, number];
      if (start + W > limit) continue;
      const expected = [start, start - W].flatMap((at) => seenAt.get(JSON.stringify([server, model, at])) ?? []);
      for (const [shadowChip, shadowVersion] of expected) {
        const verdictKey = { edge_server_id: server, model_id: model, production_chip: chip, production_version: version, shadow_chip: shadowChip, shadow_version: shadowVersion };
        const k = JSON.stringify([start, ...Object.values(verdictKey)]);
        if (!byKey.has(k)) byKey.set(k, { verdictKey, start, production: [], shadow: [], failed: 0 });
      }
    }
    const rows: { k: string; a: WindowAgg; unpairedShadow: number }[] = [];
    for (const [k, a] of [...byKey].sort(([x], [y]) => cmp(x, y))) {
      const sk = seenKey(a.start, a.verdictKey.edge_server_id, a.verdictKey.model_id, a.verdictKey.shadow_chip, a.verdictKey.shadow_version);
      const unpaired = shadowsLeft.get(sk) ?? 0;
      shadowsLeft.delete(sk);
      rows.push({ k, a, unpairedShadow: unpaired });
    }
    for (const [sk, count] of shadowsLeft) {
      const [start, server, model, chip, version] = JSON.parse(sk) as [number, string, string, string, string];
      const verdictKey = { edge_server_id: server, model_id: model, production_chip: 'unknown', production_version: 'unknown', shadow_chip: chip, shadow_version: version };
      rows.push({ k: JSON.stringify([start, ...Object.values(verdictKey)]), a: { verdictKey, start, production: [], shadow: [], failed: 0 }, unpairedShadow: count });
    }
    for (const { k, a, unpairedShadow } of rows) {
      const stats = comparePairs(a.production, a.shadow, { tolerance, confidence, minPairs });
      const v = a.verdictKey;
      // This deployment's unpaired production requests: those of its production chip and version it did not pair
      // (a request another shadow deployment paired is still unpaired here: each verdict describes its own pairs).
      const requests = state.prodCounts.get(prodCountKey(v.edge_server_id, v.model_id, v.production_chip, v.production_version, a.start)) ?? 0;
      const value: ShadowVerdict = {
        ...a.verdictKey, window_start: a.start, window_end: a.start + W,
        pairs: a.production.length,
        unpaired_production: Math.max(0, requests - a.production.length - a.failed),
        unpaired_shadow: unpairedShadow,
        ...stats, confidence, tolerance, slo_p99_ms: slo,
        shadow_meets_slo: slo === null || stats.shadow_p99_ms === null ? null : stats.shadow_p99_ms <= slo,
        failed_pairs: a.failed,
      };
      out.push({ topic: topics.verdicts, key: a.verdictKey.edge_server_id, value, lane: `${name}:verdicts:${state.partition}`, seq: [a.start + W, k] });
    }
    const done = (k: string, at: number): boolean => (JSON.parse(k) as number[])[at]! + W <= limit;
    for (const k of [...state.prodCounts.keys()]) if (done(k, 4)) state.prodCounts.delete(k);
    for (const k of [...state.unpairedShadow.keys()]) if (done(k, 0)) state.unpairedShadow.delete(k);
    // Who was seen in a window is needed until the next window fires; so are the offsets of those results, for a
    // restart to read them again (a replayed result of a fired window is passed over, but seen).
    for (const k of [...state.seen]) if ((JSON.parse(k) as number[])[0]! + 2 * W <= limit) state.seen.delete(k);
    for (const st of [...state.minOffset.prod.keys()]) if (st + W <= limit) state.minOffset.prod.delete(st);
    for (const st of [...state.minOffset.shadow.keys()]) if (st + 2 * W <= limit) state.minOffset.shadow.delete(st);
  }

  return {
    name,
    inputs: [topics.inference, topics.shadow],
    outputs: [topics.verdicts],
    maxOutOfOrdernessMs: options.maxOutOfOrdernessMs ?? 2000,
    settings: JSON.stringify({ windowMs: W, lagToleranceMs: lagTol, tolerance, confidence, minPairs, sloP99Ms: slo, maxOutOfOrdernessMs: options.maxOutOfOrdernessMs ?? 2000 }),
    init: (partition) => ({ partition, prod: new Map(), waiting: new Map(), seen: new Set(), windows: new Map(), prodCounts: new Map(), unpairedShadow: new Map(), minOffset: { prod: new Map(), shadow: new Map() }, firedLimit: -Infinity, restoredLimit: -Infinity, replayEnds: {} }),
    // A shadow result's event time is its request's (request_ts, the production clock), not its own ts: the shadow
    // stream's watermark then measures the lag tolerance on the clock the windows are cut by. By its own ts, a shadow
    // clock 40 s fast closed windows early and left a trial's last 80 results of each window late, their requests unpaired.
    eventTime: (topic, value) => (topic === topics.shadow ? (value as unknown as ShadowResult).request_ts : (value as unknown as InferenceEvent).ts),
    restore(state, committedWatermarks, replayEnds) {
      state.restoredLimit = fireLimit(committedWatermarks);
      state.replayEnds = { ...replayEnds };
    },
    step(state, input: StepInput, watermarks): StepResult {
      if (input.topic === topics.inference && (input.value as InferenceEvent).role !== 'production') return { emit: [] };
      // A record replayed after a restart whose window had fired before it: its verdict is in the topic, and its other
      // side may lie before the other input's committed offset (not replayed), so it would come out unpaired. One
      // read for the first time (at or past where the partition had been read) is late, as it was for the run before.
      const requestTs = input.topic === topics.inference ? (input.value as InferenceEvent).ts : (input.value as ShadowResult).request_ts;
      if (startOf(requestTs) + W <= state.restoredLimit) {
        // Seen as the run before saw it: the replay gives each record the watermark it was read at.
        if (input.topic === topics.shadow) noteSeen(state, input.value as ShadowResult, input.offset, watermarks);
        if (input.offset >= (state.replayEnds[input.topic] ?? Infinity)) return { emit: [], lateWatermark: watermarks[input.topic] ?? -Infinity, lateTs: requestTs };
        return { emit: [] };
      }
      if (input.topic === topics.inference) {
        const e = input.value as InferenceEvent;
        if (startOf(e.ts) + W <= Math.max(state.firedLimit, ownLimit(topics.inference, watermarks))) return { emit: [], lateWatermark: watermarks[topics.inference] ?? -Infinity };
        noteOffset(state, 'prod', e.ts, input.offset);
        const rk = requestKey(e.edge_server_id, e.model_id, e.request_id);
        const id = recordId(e);
        const held = state.prod.get(rk) ?? { list: [], ids: new Set<string>() };
        // The same record delivered again (recordId) is one request: passed over.
        if (held.ids.has(id)) return { emit: [] };
        const ck = prodCountKey(e.edge_server_id, e.model_id, e.chip, e.model_version, startOf(e.ts));
        state.prodCounts.set(ck, (state.prodCounts.get(ck) ?? 0) + 1);
        held.ids.add(id);
        held.list.push({ id, ts: e.ts, server: e.edge_server_id, model: e.model_id, chip: e.chip, version: e.model_version, totalMs: e.total_ms, ok: e.status === 'ok' });
        state.prod.set(rk, held);
        return { emit: [] };
      }
      const sh = input.value as ShadowResult;
      noteSeen(state, sh, input.offset, watermarks);
      if (startOf(sh.request_ts) + W <= Math.max(state.firedLimit, ownLimit(topics.shadow, watermarks))) return { emit: [], lateWatermark: watermarks[topics.shadow] ?? -Infinity, lateTs: sh.request_ts };
      noteOffset(state, 'shadow', sh.request_ts, input.offset);
      const rk = requestKey(sh.edge_server_id, sh.model_id, sh.request_id);
      const id = recordId(sh);
      const held = state.waiting.get(rk) ?? { list: [], ids: new Set<string>() };
      // The same record delivered again is one result: passed over.
      if (!held.ids.has(id)) {
        held.ids.add(id);
        held.list.push({ ...sh, offset: input.offset, id });
        state.waiting.set(rk, held);
      }
      return { emit: [] };
    },
    onWatermark(state, watermarks) {
      const limit = fireLimit(watermarks);
      if (limit <= state.firedLimit) return [];
      state.firedLimit = limit;
      // Either side of a request is held until its window fires (step refuses records of fired windows only), and the
      // request key's records due now are paired then, as a whole (pairGroup): whatever order they came in, and a side
      // that came behind its stream's watermark still pairs. Records of a window not due wait for theirs (a pair whose
      // two sides fall in two windows, by a skew across the boundary, is two unpaired records).
      for (const rk of new Set([...state.prod.keys(), ...state.waiting.keys()])) {
        const events = state.prod.get(rk)?.list ?? [];
        const results = state.waiting.get(rk)?.list ?? [];
        const eventsBy = byWindow(events, (p) => p.ts, limit);
        const resultsBy = byWindow(results, (sh) => sh.request_ts, limit);
        if (eventsBy.due.size === 0 && resultsBy.due.size === 0) continue;
        // Window by window: a pair whose sides fall in two windows is two unpaired records whether the windows fire
        // in one call or two (a re-test: one call paired them, two did not).
        for (const start of new Set([...eventsBy.due.keys(), ...resultsBy.due.keys()])) {
          const { pairs, unpaired } = pairGroup(eventsBy.due.get(start) ?? [], resultsBy.due.get(start) ?? []);
          for (const [e, sh] of pairs) addPair(state, e, sh);
          for (const sh of unpaired) unpairedShadow(state, sh);
        }
        if (eventsBy.open.length) state.prod.set(rk, { list: eventsBy.open, ids: new Set(eventsBy.open.map((p) => p.id)) });
        else state.prod.delete(rk);
        if (resultsBy.open.length) state.waiting.set(rk, { list: resultsBy.open, ids: new Set(resultsBy.open.map((sh) => sh.id)) });
        else state.waiting.delete(rk);
      }
      const out: Emit[] = [];
      fire(state, limit, out);
      return out.sort((a, b) => compareSeq(a.seq, b.seq));
    },
    lowWater(state, topic) {
      let min = Infinity;
      if (topic === topics.inference) for (const o of state.minOffset.prod.values()) min = Math.min(min, o);
      else for (const o of state.minOffset.shadow.values()) min = Math.min(min, o);
      return Number.isFinite(min) ? min : null;
    },
  };
}
