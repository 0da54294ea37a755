/**
 * The contract between a stream processor (a pure step, STYLE §1, after
 * Arroyo's batch/watermark split) and the runtime adapter (pipelines/runtime/).
 *
 * The runtime owns partitions, decoding, watermarks, offsets and delivery; a
 * processor owns its state and decides what to emit. One state object per
 * input partition ("task"): every key lives in exactly one partition, so
 * results never depend on how partitions are spread over instances.
 */

/** A comparable emission position: arrays compare element by element (numbers, then strings). */
export type Seq = readonly (number | string)[];

/**
 * One output record. Within a `lane` the `seq` of successive emissions strictly
 * increases and is the same on every replay of the same input, so the runtime
 * can drop re-emissions after a restart (exactly-once effect on topics).
 */
export interface Emit<T = unknown> {
  topic: string;
  key: string;
  value: T;
  /** `<processor name>:<kind>:...:<input partition>`: the runtime finds a partition's lanes by this suffix. */
  lane: string;
  seq: Seq;
}

/** A decoded input record with its log position. */
export interface StepInput<T = unknown> {
  topic: string;
  partition: number;
  offset: number;
  /** Event time of the record, epoch ms UTC. */
  ts: number;
  value: T;
}

/** What a step returns: records to emit, or the verdict that the input is late. */
export interface StepResult {
  emit: Emit[];
  /** When set, the input was late: it entered no state; the value is the watermark it missed (epoch ms). */
  lateWatermark?: number;
  /**
   * With `lateWatermark`: the event time that made it late where that is not the record's `ts`, epoch ms
   * (a shadow result is placed by its `request_ts`); the late event carries it as its `ts`.
   */
  lateTs?: number;
}

/**
 * A stream processor over co-partitioned input topics.
 * `watermarks[topic]` is that input stream's watermark in this partition
 * (max event time seen − max out-of-orderness, epoch ms; −Infinity before the
 * first record; +Infinity at end of input).
 */
export interface Processor<S> {
  /** Name, used for the consumer group (`edgelat-<name>`), lanes and logs. */
  readonly name: string;
  /** Input topics; they must have equal partition counts (co-partitioned). */
  readonly inputs: readonly string[];
  /** Output topics (for start-up scans of what was already emitted). */
  readonly outputs: readonly string[];
  /** Max out-of-orderness of event time per input stream, ms. */
  readonly maxOutOfOrdernessMs: number;
  /**
   * What shapes the output besides the input (window size, tolerances, alert policy…), as text
   * (e.g. `{"toleranceMs":5000,"maxOutOfOrdernessMs":2000}`): each emission carries its fingerprint, and
   * a run that takes over output topics written with other settings refuses to start (run-processor.ts).
   */
  readonly settings?: string;
  /** Fresh state of one partition task. */
  init(partition: number): S;
  /**
   * Told, before a rebuilt task replays from its committed offsets, the watermarks the partition had
   * when that commit was made (input topic → ms; topics without a finite one left out): what had
   * fired by then (its output is in the topics; replayed records of it are not to make more); and per
   * input topic the offset up to which the partition had been read then (`replayEnds`, the latest over
   * the topics' checkpoints; a topic absent when no checkpoint of an earlier version tells it): a record
   * below it is a replay, one at or above it is read for the first time (if its window had fired by that
   * commit, an uninterrupted run would call it late too).
   */
  restore?(state: S, committedWatermarks: Readonly<Record<string, number>>, replayEnds: Readonly<Record<string, number>>): void;
  /**
   * Event time of a decoded input record, epoch ms: what moves its stream's watermark (never past its log timestamp)
   * and what a late event is stamped with. Must be pure. @default the record's `ts`
   */
  eventTime?(topic: string, value: Readonly<Record<string, unknown>>): number;
  /** Process one on-input record; must not call the clock, the log or the warehouse. */
  step(state: S, input: StepInput, watermarks: Readonly<Record<string, number>>): StepResult;
  /** React to watermark progress (fire windows, release joined rows). Emits in seq order. */
  onWatermark(state: S, watermarks: Readonly<Record<string, number>>): Emit[];
  /**
   * Oldest offset of `topic` (this partition) that open state still needs, or
   * null when it needs none; the runtime never commits past it.
   */
  lowWater(state: S, topic: string): number | null;
}

/** Compare two emission positions element by element (numbers before strings never mix: a lane uses one shape). @returns <0, 0 or >0. */
export function compareSeq(a: Seq, b: Seq): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}
