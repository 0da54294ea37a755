import type { CorrelationUpdate, EnrichedInference, LatencyMetric, LoadMetric } from '../schemas/types.ts';
import { compareSeq, type Emit, type Processor, type StepInput, type StepResult } from './processor.ts';
import { addPoint, correlationResult, emptyMoments, mergeMoments, type Moments } from './stats/moments.ts';
import { AlignedPaneWindows } from './windows/aligned-panes.ts';
import { TOPICS } from './topics.ts';
import { alertPolicy, alertStateAt, classifyWindow, historyLength, type AlertPolicy, type WindowClass } from './alerts/alert-state.ts';

/** Load metrics correlated by default (x). */
export const LOAD_METRICS: readonly LoadMetric[] = ['cpu_util', 'gpu_util', 'queue_depth', 'concurrency', 'requests_per_s'];
/** Latency metrics correlated by default (y). */
export const LATENCY_METRICS: readonly LatencyMetric[] = ['total_ms', 'io_ms', 'compute_ms'];

/**
 * Key scopes of the correlation (DESIGN §2 `CorrelationUpdate`): per server (all its models together), per server and
 * model, per server, model and chip (a model a server runs on two chips is two keys).
 */
export const CORRELATION_SCOPES = ['server', 'server×model', 'server×model×chip'] as const;
/** One of {@link CORRELATION_SCOPES}. */
export type CorrelationScope = (typeof CORRELATION_SCOPES)[number];
/** The scopes computed unless told otherwise. */
export const DEFAULT_CORRELATION_SCOPES: readonly CorrelationScope[] = ['server×model'];

/** Options of the rolling correlation. */
export interface CorrelationOptions {
  /** Key scopes to compute, each a key of its own per record (none twice). @default DEFAULT_CORRELATION_SCOPES */
  scopes?: readonly CorrelationScope[];
  /** Window size, ms of event time; a multiple of slideMs. @default 300000 (5 min) */
  sizeMs?: number;
  /** Window slide (= pane width), ms. @default 30000 */
  slideMs?: number;
  /** Extra event time a window waits after its end before it fires, ms. @default 0 */
  allowedLatenessMs?: number;
  /** Max out-of-orderness of event time, ms. @default 2000 */
  maxOutOfOrdernessMs?: number;
  /** Input / output topic names. @default TOPICS */
  topics?: { enriched: string; correlation: string };
  /** Alert policy (pipelines/alerts/alert-state.ts). @default DEFAULT_ALERT_POLICY */
  alerts?: Partial<AlertPolicy>;
}

/**
 * Mergeable summary of one pane (or of a window of panes): row count, the
 * chip of its rows (undefined: no rows yet; null: more than one chip), and
 * moments per metric pair.
 */
interface PaneAgg {
  rows: number;
  chip: string | null | undefined;
  moments: Moments[];
}

interface OpenPane extends PaneAgg {
  start: number;
  minOffset: number;
}

interface KeyState {
  scope: CorrelationScope;
  server: string;
  /** The key's model; null for scope server. */
  model: string | null;
  /** The key's chip for scope server×model×chip, else null (the window's rows tell its chip). */
  chip: string | null;
  /** Panes still open to records, by pane index (start / slide). */
  open: Map<number, OpenPane>;
  /** Final panes, aggregated into windows in a fixed order. */
  panes: AlignedPaneWindows<PaneAgg>;
  /**
   * Smallest source offset of each final pane that a window of the alert
   * history still covers (what a commit must not pass: a replay rebuilds
   * those windows exactly, and with them the alert states).
   */
  paneOffsets: Map<number, number>;
  /** The chip of the key's last window with rows (a closing window carries it). */
  lastChip: string | null;
  /** Alert classes of this key's fired windows, per pair, by window end index (end / slide). */
  history: Map<number, WindowClass[]>;
  nextEnd: number | null;
  /**
   * End of the last window that held a final pane of the key, once no final pane is left, ms (the key is forgotten
   * once the window after it closes without rows), or null while windows with its rows follow one another.
   */
  emptyAt: number | null;
}

/** State of one partition task of the rolling correlation. */
export interface CorrelationState {
  partition: number;
  keys: Map<string, KeyState>;
  /** Highest window end already fired for this partition (the fire limit), ms. */
  firedLimit: number;
}

const PAIRS = LOAD_METRICS.flatMap((x) => LATENCY_METRICS.map((y) => [x, y] as const));

/** The chip of the union of two row sets. */
function chipOf(a: string | null | undefined, b: string | null | undefined): string | null | undefined {
  if (a === undefined) return b;
  if (b === undefined || a === b) return a;
  return null;
}

function combine(a: PaneAgg, b: PaneAgg): PaneAgg {
  return { rows: a.rows + b.rows, chip: chipOf(a.chip, b.chip), moments: a.moments.map((m, i) => mergeMoments(m, b.moments[i]!)) };
}
const identity = (): PaneAgg => ({ rows: 0, chip: undefined, moments: PAIRS.map(() => emptyMoments()) });

/**
 * Rolling load-versus-latency correlation (DESIGN §3), per key of each of
 * `scopes` ({@link CORRELATION_SCOPES}; by default server×model): a record
 * enters one key of every scope. `chip` is the key's chip for scope
 * server×model×chip, else the chip of the window's rows, or null when they
 * ran on more than one. Every request counts, whatever its status (a timeout's total_ms
 * is the time until it timed out: latency as the client saw it).
 *
 * Behaviour: per key (edge_server_id, and model_id, and chip, as its scope says) and metric pair (x in
 * LOAD_METRICS, y in LATENCY_METRICS), sliding event-time windows
 * [end − size, end) with ends on multiples of `slideMs`. Each slide-wide pane
 * holds mergeable moments (n, means, M2, co-moment); a window is the merge of
 * its panes in an order fixed by pane positions (windows/aligned-panes.ts:
 * O(1) amortised merges per window, no subtract-on-evict, and bit-for-bit the
 * same result after a restart and replay). A window fires when the watermark reaches
 * end + allowedLateness and is emitted once, if it holds at least one row,
 * for every pair; statistics are null with a reason when undefined. A record
 * whose earliest window has already fired is late: it enters no window.
 * Rows whose x or y is null count in no pair's n. Emissions are ordered by
 * (window_end, key, pair), the same on every replay.
 *
 * Alerts: each emitted window carries the alert state of its key and pair
 * (pipelines/alerts/alert-state.ts), computed from the classes of the key's
 * last historyLength + 1 windows (a window that did not fire, having no
 * rows, is neutral). The commit never passes the panes of those windows,
 * so a replay after a restart rebuilds the same states. A key is forgotten,
 * and its alert history with it, once a whole window without its rows has
 * closed (the window after the last one that held its rows): its next window
 * starts from `none`. That empty window is emitted for each pair whose state was
 * rising or firing (n 0, statistics null with `null_reason` `no_rows`, the
 * chip of the key's last window), as `none` or `resolved`, so that an alert of a server that
 * stops sending resolves a window after its rows end (at the defaults 5.5 min
 * after its last row); not at the end of a bounded input (watermark +∞), where
 * the data ended, not the server. That is told from the event times of the key's own panes,
 * so it does not depend on which other servers share the partition (or on
 * whether a row after the gap arrived before the empty window closed). Over a
 * shorter gap every window has rows, and the history goes on.
 * @throws {RangeError} if sizes are not positive, or size is not a multiple of slide; on a bad
 *         alert policy (alert-state.ts `alertPolicy`); on scopes empty, unknown or named twice.
 */
export function rollingCorrelation(options: CorrelationOptions = {}): Processor<CorrelationState> {
  const sizeMs = options.sizeMs ?? 300_000;
  const slideMs = options.slideMs ?? 30_000;
  const allowedLatenessMs = options.allowedLatenessMs ?? 0;
  const maxOutOfOrdernessMs = options.maxOutOfOrdernessMs ?? 2000;
  const topics = options.topics ?? TOPICS;
  if (!(slideMs > 0) || !Number.isInteger(slideMs)) throw new RangeError(`slideMs: expected a positive integer of ms, got ${JSON.stringify(slideMs)}`);
  if (!(sizeMs > 0) || sizeMs % slideMs !== 0) throw new RangeError(`sizeMs: expected a positive multiple of slideMs (${slideMs}), got ${JSON.stringify(sizeMs)}`);
  if (!(allowedLatenessMs >= 0)) throw new RangeError(`allowedLatenessMs: expected >= 0, got ${JSON.stringify(allowedLatenessMs)}`);
  const policy = alertPolicy(options.alerts);
  const scopes = options.scopes ?? DEFAULT_CORRELATION_SCOPES;
  if (scopes.length === 0 || new Set(scopes).size !== scopes.length || scopes.some((x) => !(CORRELATION_SCOPES as readonly string[]).includes(x))) {
    throw new RangeError(`scopes: expected one or more of ${CORRELATION_SCOPES.join(', ')}, none twice, got ${JSON.stringify(scopes)}`);
  }
  const defaultScopes = scopes.length === DEFAULT_CORRELATION_SCOPES.length && scopes.every((x, i) => x === DEFAULT_CORRELATION_SCOPES[i]);
  const name = 'rolling-correlation';
  const panesPerWindow = sizeMs / slideMs;
  /** Windows before the current one whose classes the alert state reads. */
  const alertWindows = historyLength(policy);

  function window(key: KeyState, end: number, agg: PaneAgg): CorrelationUpdate[] {
    const endIdx = end / slideMs;
    const results = agg.moments.map((m) => correlationResult(m));
    key.history.set(endIdx, results.map((r) => classifyWindow(r, policy)));
    key.lastChip = agg.chip ?? null;
    for (const idx of key.history.keys()) if (idx < endIdx - alertWindows) key.history.delete(idx);
    return PAIRS.map(([x, y], i) => {
      const classes: WindowClass[] = [];
      for (let w = endIdx - alertWindows; w <= endIdx; w++) classes.push(key.history.get(w)?.[i] ?? 'neutral');
      return {
        scope: key.scope,
        edge_server_id: key.server,
        model_id: key.model,
        chip: key.scope === 'server×model×chip' ? key.chip : agg.chip ?? null,
        window_start: end - sizeMs,
        window_end: end,
        x_metric: x,
        y_metric: y,
        ...results[i]!,
        alert_state: alertStateAt(classes, policy),
      };
    });
  }

  /**
   * The closing window of a key that went quiet: the first window without its rows (end `end`), for each pair whose
   * last window was rising or firing, with n 0, null statistics (`null_reason` `no_rows`), the chip of the key's
   * last window, and the state none (from rising) or resolved (from firing). Without it an alert of a server that
   * stops sending stayed firing for good (a trial: 461 pairs of 227 retired servers); with the chip null, a receiver
   * that matches a resolve to its firing by labels never closed it (a re-test).
   */
  function closing(state: CorrelationState, keyStr: string, key: KeyState, end: number, out: Emit[]): void {
    const lastIdx = end / slideMs - 1;
    PAIRS.forEach(([x, y], i) => {
      const classes: WindowClass[] = [];
      for (let w = lastIdx - alertWindows; w <= lastIdx; w++) classes.push(key.history.get(w)?.[i] ?? 'neutral');
      const last = alertStateAt(classes, policy);
      if (last !== 'firing' && last !== 'rising') return;
      const value: CorrelationUpdate = {
        scope: key.scope,
        edge_server_id: key.server,
        model_id: key.model,
        chip: key.scope === 'server×model×chip' ? key.chip : key.lastChip,
        window_start: end - sizeMs,
        window_end: end,
        x_metric: x,
        y_metric: y,
        ...correlationResult(emptyMoments()),
        null_reason: 'no_rows',
        alert_state: last === 'firing' ? 'resolved' : 'none',
      };
      out.push({ topic: topics.correlation, key: key.server, value, lane: `${name}:windows:${state.partition}`, seq: [end, keyStr, i] });
    });
  }

  /** Fire this key's windows with end <= limit, in end order. */
  function fire(state: CorrelationState, keyStr: string, key: KeyState, limit: number, out: Emit[]): void {
    for (;;) {
      if (key.nextEnd === null && key.open.size > 0) key.nextEnd = (Math.min(...key.open.keys()) + 1) * slideMs;
      // The window after the last one that held the key's rows (end emptyAt + slide): when a pane of it is open, the
      // key's windows go on; once it closes without rows, the key starts over, its alert history gone, and its alerts
      // close (`closing`). Told from the key's own pane times, not from whether its state was empty when the
      // watermark passed: a row of its next pane that arrived early (no other server of the partition moving the
      // watermark) changes nothing. At the end of a bounded input (limit Infinity) nothing closes: the data ended,
      // not the server.
      if (key.emptyAt !== null) {
        const gapEnd = key.emptyAt + slideMs;
        if (key.nextEnd !== null && key.nextEnd <= gapEnd) key.emptyAt = null;
        else if (gapEnd <= limit) {
          if (limit !== Infinity) closing(state, keyStr, key, gapEnd, out);
          key.history.clear();
          key.paneOffsets.clear();
          key.emptyAt = null;
        }
      }
      if (key.nextEnd === null) return;
      const end = key.nextEnd;
      if (end > limit) return;
      const endIdx = end / slideMs;
      for (const [idx, pane] of key.open) {
        if (idx >= endIdx) continue;
        key.open.delete(idx);
        key.panes.add(idx, { rows: pane.rows, chip: pane.chip, moments: pane.moments });
        key.paneOffsets.set(idx, pane.minOffset);
      }
      const agg = key.panes.window(endIdx);
      if (agg.rows > 0) {
        window(key, end, agg).forEach((value, i) =>
          out.push({ topic: topics.correlation, key: key.server, value, lane: `${name}:windows:${state.partition}`, seq: [end, keyStr, i] }),
        );
      }
      // The next window starts one pane later: older panes are done. Their
      // offsets stay while a window of the next window's alert history covers them.
      const keepFrom = endIdx + 1 - panesPerWindow;
      key.panes.evictBefore(keepFrom);
      const offsetsFrom = keepFrom - alertWindows;
      for (const idx of key.paneOffsets.keys()) if (idx < offsetsFrom) key.paneOffsets.delete(idx);
      if (key.panes.size > 0) key.nextEnd = end + slideMs;
      else {
        // No final pane left: this was the last window holding them. The next one holds rows only if a pane of
        // index endIdx is (or, until it closes, comes) open.
        key.nextEnd = key.open.size > 0 ? Math.max(end + slideMs, (Math.min(...key.open.keys()) + 1) * slideMs) : null;
        key.emptyAt = end;
      }
    }
  }

  return {
    name,
    inputs: [topics.enriched],
    outputs: [topics.correlation],
    maxOutOfOrdernessMs,
    // The scopes only when not the default: the settings of the topics a run written before scopes existed stay equal.
    settings: JSON.stringify({ sizeMs, slideMs, allowedLatenessMs, maxOutOfOrdernessMs, alerts: policy, ...(defaultScopes ? {} : { scopes }) }),
    init: (partition) => ({ partition, keys: new Map(), firedLimit: -Infinity }),
    step(state, input: StepInput, watermarks): StepResult {
      const wm = watermarks[input.topic] ?? -Infinity;
      const idx = Math.floor(input.ts / slideMs);
      // The earliest window holding this record ends at its pane's end; it has fired once wm >= end + lateness.
      if ((idx + 1) * slideMs + allowedLatenessMs <= wm) return { emit: [], lateWatermark: wm };
      const row = input.value as EnrichedInference;
      for (const scope of scopes) {
        const model = scope === 'server' ? null : row.model_id;
        const chip = scope === 'server×model×chip' ? row.chip : null;
        // server×model keeps the key text it had before scopes (emission positions, and with them replays, are unchanged).
        const keyStr = scope === 'server×model' ? JSON.stringify([row.edge_server_id, row.model_id]) : JSON.stringify([row.edge_server_id, model, chip, scope]);
        let key = state.keys.get(keyStr);
        if (!key) {
          key = { scope, server: row.edge_server_id, model, chip, open: new Map(), panes: new AlignedPaneWindows(panesPerWindow, combine, identity), paneOffsets: new Map(), lastChip: null, history: new Map(), nextEnd: null, emptyAt: null };
          state.keys.set(keyStr, key);
        }
        let pane = key.open.get(idx);
        if (!pane) {
          pane = { start: idx * slideMs, minOffset: input.offset, ...identity() };
          key.open.set(idx, pane);
          if (key.panes.size === 0) key.nextEnd = Math.min(key.nextEnd ?? Infinity, (idx + 1) * slideMs);
        }
        pane.rows++;
        pane.chip = chipOf(pane.chip, row.chip);
        pane.minOffset = Math.min(pane.minOffset, input.offset);
        PAIRS.forEach(([x, y], i) => {
          const xv = row[x];
          const yv = row[y];
          if (xv !== null && xv !== undefined && yv !== null && yv !== undefined) addPoint(pane!.moments[i]!, xv, yv);
        });
      }
      return { emit: [] };
    },
    onWatermark(state, watermarks) {
      const wm = watermarks[topics.enriched] ?? -Infinity;
      const limit = wm === Infinity ? Infinity : Math.floor((wm - allowedLatenessMs) / slideMs) * slideMs;
      if (limit <= state.firedLimit && limit !== Infinity) return [];
      state.firedLimit = limit;
      const out: Emit[] = [];
      for (const [keyStr, key] of state.keys) {
        fire(state, keyStr, key, limit, out);
        // Forgotten (its alert history with it) once a whole window without its rows has closed: the window after the
        // last one that held a pane of it. When its last pane left, rows of its next pane may not have arrived yet (a
        // trial: a 4.5-min gap under a 5-min window dropped a firing alert's history, then none → rising → firing).
        if (key.open.size === 0 && key.panes.size === 0 && key.emptyAt === null) state.keys.delete(keyStr);
      }
      return out.sort((a, b) => compareSeq(a.seq, b.seq));
    },
    lowWater(state) {
      let min = Infinity;
      for (const key of state.keys.values()) {
        for (const p of key.open.values()) min = Math.min(min, p.minOffset);
        for (const o of key.paneOffsets.values()) min = Math.min(min, o);
      }
      return Number.isFinite(min) ? min : null;
    },
  };
}
