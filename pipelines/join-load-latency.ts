import type { EnrichedInference, InferenceEvent, LoadSample } from '../schemas/types.ts';
import type { Emit, Processor, StepInput, StepResult } from './processor.ts';
import { TOPICS } from './topics.ts';

/** Options of the as-of join. */
export interface JoinOptions {
  /** Max age of the matched load sample, ms (t − sample.ts <= tolerance). @default 5000 */
  toleranceMs?: number;
  /** Max out-of-orderness of event time in each input stream, ms. @default 2000 */
  maxOutOfOrdernessMs?: number;
  /** Input / output topic names. @default TOPICS */
  topics?: { inference: string; load: string; enriched: string };
}

interface HeldSample {
  ts: number;
  offset: number;
  sample: LoadSample;
}

interface HeldEvent {
  ts: number;
  offset: number;
  event: InferenceEvent;
}

/** State of one partition task of the join. */
export interface JoinState {
  partition: number;
  /** Per server: samples sorted by (ts, offset). */
  samples: Map<string, HeldSample[]>;
  /** Inference events waiting for the load watermark, sorted by (ts, offset). */
  pending: HeldEvent[];
  /** Everything with ts < frontier has been emitted. */
  frontier: number;
}

/** Insert into an array sorted by (ts, offset); appends in O(1) when in order. */
function insertSorted<T extends { ts: number; offset: number }>(list: T[], item: T): void {
  let i = list.length;
  while (i > 0 && (list[i - 1]!.ts > item.ts || (list[i - 1]!.ts === item.ts && list[i - 1]!.offset > item.offset))) i--;
  list.splice(i, 0, item);
}

/** Index of the last element with ts <= t (ties: highest offset, being last), or −1. */
function lastAtOrBefore(list: readonly HeldSample[], t: number): number {
  let lo = 0;
  let hi = list.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.ts <= t) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * Build the enriched row of an inference event from its matched load sample (or none).
 * @returns EnrichedInference with `matched=false` and null load fields when `sample` is null.
 */
export function enrich(event: InferenceEvent, sample: LoadSample | null): EnrichedInference {
  if (!sample) {
    return { ...event, matched: false, load_ts: null, load_age_ms: null, cpu_util: null, gpu_util: null, mem_util: null, queue_depth: null, concurrency: null, requests_per_s: null };
  }
  return {
    ...event,
    matched: true,
    load_ts: sample.ts,
    load_age_ms: event.ts - sample.ts,
    cpu_util: sample.cpu_util,
    gpu_util: sample.gpu_util,
    mem_util: sample.mem_util,
    queue_depth: sample.queue_depth,
    concurrency: sample.concurrency,
    requests_per_s: sample.requests_per_s,
  };
}

/**
 * The as-of join of load to latency by event time (DESIGN §3).
 *
 * Behaviour: each inference event at `t` on server `s` gets the latest load
 * sample of `s` with `ts <= t` and `t − ts <= toleranceMs`; on equal ts the
 * sample with the higher offset wins. An event is released once
 * `t < min(load watermark, inference watermark)`: every on-time sample with
 * ts <= t has then arrived (a later on-time sample has ts >= the load
 * watermark > t), and releases come out sorted by (t, offset), so the output
 * stream of a partition is in event-time order and identical on every replay.
 * A record whose ts is below its own stream's watermark on arrival is late: it
 * enters no state and goes to the late-data output; a late load sample is
 * never used, so the join never depends on arrival interleaving. State holds
 * samples no older than frontier − tolerance plus the pending events.
 * @param options  See JoinOptions; units ms.
 * @throws {RangeError} if a tolerance or bound is negative or not finite.
 */
export function joinLoadLatency(options: JoinOptions = {}): Processor<JoinState> {
  const toleranceMs = options.toleranceMs ?? 5000;
  const maxOutOfOrdernessMs = options.maxOutOfOrdernessMs ?? 2000;
  const topics = options.topics ?? TOPICS;
  for (const [field, v] of Object.entries({ toleranceMs, maxOutOfOrdernessMs })) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`${field}: expected a finite number of ms >= 0, got ${JSON.stringify(v)}`);
  }
  const name = 'join-load-latency';

  function release(state: JoinState, frontier: number): Emit[] {
    if (frontier <= state.frontier) return [];
    state.frontier = frontier;
    const out: Emit[] = [];
    let n = 0;
    while (n < state.pending.length && state.pending[n]!.ts < frontier) n++;
    for (const held of state.pending.splice(0, n)) {
      const e = held.event;
      const list = state.samples.get(e.edge_server_id);
      const i = list ? lastAtOrBefore(list, e.ts) : -1;
      const sample = i >= 0 && e.ts - list![i]!.ts <= toleranceMs ? list![i]!.sample : null;
      out.push({ topic: topics.enriched, key: e.edge_server_id, value: enrich(e, sample), lane: `${name}:enriched:${state.partition}`, seq: [e.ts, held.offset] });
    }
    // A sample older than frontier − tolerance can match no event still to come (every such event has t >= frontier).
    const horizon = frontier - toleranceMs;
    for (const [server, list] of state.samples) {
      let stale = 0;
      while (stale < list.length && list[stale]!.ts < horizon) stale++;
      if (stale > 0) list.splice(0, stale);
      if (list.length === 0) state.samples.delete(server);
    }
    return out;
  }

  return {
    name,
    inputs: [topics.inference, topics.load],
    outputs: [topics.enriched],
    maxOutOfOrdernessMs,
    settings: JSON.stringify({ toleranceMs, maxOutOfOrdernessMs }),
    init: (partition) => ({ partition, samples: new Map(), pending: [], frontier: -Infinity }),
    step(state, input: StepInput, watermarks): StepResult {
      const wm = watermarks[input.topic] ?? -Infinity;
      if (input.ts < wm) return { emit: [], lateWatermark: wm };
      if (input.topic === topics.load) {
        const sample = input.value as LoadSample;
        let list = state.samples.get(sample.edge_server_id);
        if (!list) state.samples.set(sample.edge_server_id, (list = []));
        insertSorted(list, { ts: sample.ts, offset: input.offset, sample });
      } else {
        insertSorted(state.pending, { ts: input.ts, offset: input.offset, event: input.value as InferenceEvent });
      }
      return { emit: [] };
    },
    onWatermark(state, watermarks) {
      return release(state, Math.min(watermarks[topics.load] ?? -Infinity, watermarks[topics.inference] ?? -Infinity));
    },
    lowWater(state, topic) {
      let min = Infinity;
      if (topic === topics.load) {
        for (const list of state.samples.values()) for (const s of list) min = Math.min(min, s.offset);
      } else {
        for (const e of state.pending) min = Math.min(min, e.offset);
      }
      return Number.isFinite(min) ? min : null;
    },
  };
}
