import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { ConfigError, PipelineError } from '../../errors.ts';
import { codecFor } from '../../schemas/index.ts';
import type { LateEvent } from '../../schemas/types.ts';
import { partitionKey as tpKey, type CommittedOffset, type Consumer, type EventLog, type LogRecord, type ProduceRecord, type TopicPartition } from '../../services/eventlog/types.ts';
import { compareSeq, type Emit, type Processor, type Seq } from '../processor.ts';
import { kindOfTopic, OUTPUT_TOPICS, TOPICS } from '../topics.ts';
import { runToEnd, type PartitionPosition } from './run-to-end.ts';
import { decodeLogRecord, fastClockJump, misplacedKey, watermarkTime, type RecordChecks } from './decode.ts';
import { LANE_HEADER, LaneRepeats, SEQ_HEADER, SETTINGS_HEADER, SkippedCopies, scanLanes } from './lanes.ts';
import { LateShareWatch } from './late-watch.ts';
import { checkpointFloors, checkpointMetadata, parseCheckpoint, settingsDiff, type Checkpoint, type CheckpointText } from './checkpoint.ts';

/** Per input topic counts. Conservation: consumed = processed + late + dead. */
export interface TopicCounts {
  consumed: number;
  processed: number;
  late: number;
  dead: number;
  /** Records skipped as second copies of records already read (lanes.ts `LaneRepeats`); counted in `consumed`. Absent: none. */
  repeated?: number;
}

/** Where a run may be made to fail on purpose (tests of recovery). */
export type FailPoint = 'after-step' | 'after-produce' | 'after-commit';

/** Options of a processor run. */
export interface ProcessorRunOptions<S> {
  log: EventLog;
  processor: Processor<S>;
  /** Consumer group. @default `edgelat-<processor.name>` */
  groupId?: string;
  /** Max records per poll. @default 2000 */
  maxBatch?: number;
  logger?: Logger;
  /** Called after each batch with the running counts. */
  onProgress?: (counts: Readonly<Record<string, TopicCounts>>) => void;
  /** Checks beyond the schema (key, event time ahead of log time); every consumer of a topic must use the same. */
  checks?: RecordChecks;
  /**
   * Partition count of each input topic whose records must be co-partitioned by key (`inputPartitions`): a record
   * elsewhere than murmur2 puts its key is warned about, once per topic, partition and key (`misplacedKey`).
   */
  partitions?: ReadonlyMap<string, number>;
  /** Test hook: throw from it to simulate a crash at that point (the run then stops without committing more). */
  failPoint?: (point: FailPoint, recordsDone: number) => void;
  /**
   * Processing time after which an input stream of a partition that brought
   * no record, while another input stream of the partition did, is idle,
   * milliseconds (all silent: nothing moves). The time counts from the
   * partition's first record, and again from its first record after all its
   * streams were silent for the timeout: a pipeline started before its
   * producers, or a fleet back from an outage, has no stream idle at once
   * because another came back a moment earlier; nor is a stream with records
   * waiting to be read (`Consumer.behind`). An idle stream's watermark is raised to
   * the lowest watermark of the partition's active streams, so it stops
   * holding back a multi-input processor (the join waits for the load
   * watermark; a server whose load samples stopped would hold its inference
   * events forever). A record of an idle stream that arrives behind the
   * raised watermark is late. Decisions depend on processing time, so a
   * replay after a crash may decide differently (as in Flink's
   * `withIdleness`). @default Infinity (never idle: bounded runs stay deterministic)
   */
  idleTimeoutMs?: number;
  /** Wall clock for idleness, epoch ms. @default Date.now */
  now?: () => number;
  /**
   * Whether every producer of this run's inputs that runs in this process has finished (sealed its output in this
   * run): read before each poll, and an end of input counts only when it was true then. A sealed topic stays sealed
   * across runs, so in a second `pipeline run --until-end` a stage downstream had reached the old end of its inputs
   * and stopped (a processor fired everything, the sink exited 0) before the stages upstream of it produced this
   * run's output (a trial: 150 correlation windows left out of the warehouse). @default () => true
   */
  inputsFinal?: () => boolean;
}

interface Stream {
  /** Max event time seen, each record's bounded by its log timestamp (`watermarkTime`), ms. */
  maxTs: number;
  /** Position to read next (= last processed offset + 1). */
  next: number;
  /** For each processed offset not yet committed: the max ts seen before it. */
  history: { offset: number; maxTsBefore: number }[];
  committed: number;
  /** Wall-clock time of the stream's last record (or of its assignment), ms. */
  lastRecordAtMs: number;
  /** `producedTotal()` when this stream's checkpoint was last committed. */
  checkpointAt: number;
  /** Whether a committed checkpoint says this stream reached end of input ({@link Checkpoint.ended}). */
  endCommitted: boolean;
  /** Log timestamp of the stream's last record this run, ms (-Infinity before one). */
  lastLogMs: number;
}

/** Records produced since a stream's last checkpoint after which it is committed again (same offset, fresh checkpoint). */
const CHECKPOINT_REFRESH_RECORDS = 1000;

interface Task<S> {
  state: S;
  streams: Map<string, Stream>;
  watermarks: Record<string, number>;
  /** Per output partition (`topic:partition`): no emission made from now on can land below this offset. */
  floors: Map<string, number>;
  /**
   * Wall-clock time of the partition's first record after its assignment or after a silence of all
   * its streams for the idle timeout, ms (null before any record): idle time counts from here.
   */
  activeSinceMs: number | null;
}

/**
 * Run a processor on an event log (DESIGN §3 "State and recovery"):
 * decode → step → watermark hook → produce → commit.
 *
 * Rules: the committed offset of a partition never passes the oldest record
 * the open state still needs (`processor.lowWater`), and carries as metadata
 * the max event time seen before it, so after a restart the state is rebuilt
 * by replay with the very watermarks of the first run. Emissions whose lane
 * position is at or below what the output topics already hold are dropped,
 * so a replay re-emits nothing visible. Records that fail decoding or the
 * runtime checks (decode.ts) are counted as dead (warehouse-sink, which
 * reads every topic with the same checks, dead-letters them); late
 * records go to `analytics.late-events.v1`. A second copy of an input record
 * that edgelat wrote (a producer's retried send; lanes.ts `LaneRepeats`) is
 * skipped before decoding and counted as `repeated`.
 */
export class ProcessorRun<S> {
  readonly counts: Record<string, TopicCounts> = {};
  private consumer: Consumer | null = null;
  private readonly tasks = new Map<number, Task<S>>();
  private readonly lastSeq = new Map<string, Seq>();
  /** Second copies of input records (a producer's retry), skipped; and those of the current batch, for the log. */
  private readonly repeats = new LaneRepeats(OUTPUT_TOPICS);
  private readonly skipped = new SkippedCopies();
  /** Per output partition (`topic:partition`): one past the highest offset this run produced there. */
  private readonly producedEnd = new Map<string, number>();
  private recordsDone = 0;
  private readonly groupId: string;
  /** True while a commit failed during a rebalance and waits for the next batch. */
  private commitDeferred = false;
  /** The counts when 'end of input' was last logged (null before): logged again only once they changed. */
  private endLogged: string | null = null;
  /** Cache of {@link settingsFingerprint}. */
  private fingerprint: string | undefined;

  constructor(private readonly options: ProcessorRunOptions<S>) {
    this.groupId = options.groupId ?? `edgelat-${options.processor.name}`;
    this.lateWatch = new LateShareWatch(options.processor.maxOutOfOrdernessMs, 'EDGELAT_MAX_OUT_OF_ORDERNESS_MS');
    for (const t of options.processor.inputs) this.counts[t] = { consumed: 0, processed: 0, late: 0, dead: 0 };
  }

  /** Join the group, restore positions and watermarks from committed offsets, learn what outputs already hold. */
  async start(): Promise<void> {
    const { log, processor } = this.options;
    for (const t of [...processor.inputs, ...processor.outputs, TOPICS.late]) await log.ensureTopic(t);
    this.consumer = await log.consumer(this.groupId, [...processor.inputs]);
    await this.syncAssignment();
  }

  /**
   * Follow the group's assignment: a partition task whose inputs are no longer
   * all owned is dropped (its new owner rebuilds it by replay); a newly owned
   * partition gets a fresh task, positioned at the committed offset with the
   * watermark stored beside it. What its lanes already hold on the outputs is
   * the checkpoint's lane positions raised by a scan of the outputs from the
   * checkpoint's floors to their end (everything emitted since that commit);
   * without a checkpoint the outputs are scanned from their beginning.
   */
  private async syncAssignment(): Promise<void> {
    const { log, processor } = this.options;
    const owned = this.consumer!.assignment();
    const ownedKeys = new Set(owned.map((tp) => `${tp.topic}:${tp.partition}`));
    for (const [partition, task] of this.tasks) {
      if ([...task.streams.keys()].some((topic) => !ownedKeys.has(`${topic}:${partition}`))) {
        this.tasks.delete(partition);
        for (const topic of task.streams.keys()) this.repeats.forget({ topic, partition });
        this.options.logger?.info({ pipeline: processor.name, partition }, 'partition revoked; its state is dropped');
      }
    }
    const fresh = owned.filter((tp) => !this.tasks.get(tp.partition)?.streams.has(tp.topic));
    if (fresh.length === 0) return;
    const outParts: TopicPartition[] = [];
    for (const topic of new Set([...processor.outputs, TOPICS.late])) {
      for (let partition = 0; partition < ((await log.partitionCount(topic)) ?? 0); partition++) outParts.push({ topic, partition });
    }
    const ends = new Map<string, number>();
    for (const tp of outParts) ends.set(tpKey(tp), await log.endOffset(tp));
    // Per fresh partition: the checkpoint's lane positions, and where to scan from (its floors). One scan serves them all.
    const scanFrom = new Map<string, number>();
    const fresher: ((lane: string) => boolean)[] = [];
    const takenOver: ((lane: string) => boolean)[] = []; // partitions with no checkpoint of this group: their lanes are read from the start
    for (const partition of new Set(fresh.map((tp) => tp.partition))) {
      let task = this.tasks.get(partition);
      if (!task) {
        task = { state: processor.init(partition), streams: new Map(), watermarks: {}, floors: new Map(), activeSinceMs: null };
        this.tasks.set(partition, task);
      }
      const keep = this.laneFilter(partition);
      fresher.push(keep);
      const lanes = new Map<string, Seq>();
      const floors = new Map<string, number>();
      const committedWatermarks: Record<string, number> = {};
      const replayEnds: Record<string, number> = {};
      const ended = new Set<string>();
      let fromStart = false;
      for (const tp of fresh.filter((f) => f.partition === partition)) {
        const c = await this.consumer!.committed(tp);
        const cp = parseCheckpoint(c?.metadata);
        this.assertSameSettings(cp, tp.topic);
        for (const [t, w] of Object.entries(cp.watermarks ?? {})) committedWatermarks[t] = Math.max(committedWatermarks[t] ?? -Infinity, w);
        for (const [t, n] of Object.entries(cp.reads ?? {})) if (Number.isSafeInteger(n)) replayEnds[t] = Math.max(replayEnds[t] ?? 0, n);
        for (const t of cp.ended ?? []) ended.add(t);
        const maxTs = cp.maxTs ?? -Infinity;
        for (const [lane, seq] of Object.entries(cp.lanes ?? {})) if (keep(lane) && !(lanes.has(lane) && compareSeq(lanes.get(lane)!, seq) >= 0)) lanes.set(lane, seq);
        // No checkpoint, or one without floors (left out to fit Kafka's limit): a previous owner may have emitted
        // before its commit, unless the input partition is empty.
        const cpFloors = checkpointFloors(cp);
        if (!cpFloors && (c !== null || (await log.endOffset(tp)) > 0)) fromStart = true;
        for (const [k, floor] of cpFloors ?? []) floors.set(k, Math.min(floors.get(k) ?? Infinity, floor));
        const offset = c?.offset ?? 0;
        this.consumer!.seek(tp, offset);
        // The repeats of an input are told apart by the records before the offset, as in the run that committed it.
        await this.repeats.seed(log, tp, offset);
        task.streams.set(tp.topic, { maxTs, next: offset, history: [], committed: offset, lastRecordAtMs: this.now(), checkpointAt: this.producedTotal(), endCommitted: false, lastLogMs: -Infinity });
        task.watermarks[tp.topic] = maxTs - processor.maxOutOfOrdernessMs;
        this.options.logger?.info({ pipeline: processor.name, topic: tp.topic, partition, offset, maxTs: Number.isFinite(maxTs) ? maxTs : null }, 'partition assigned; resuming from committed offset');
      }
      // An input that had reached end of input stays there: what was produced after is late (see Checkpoint.ended).
      for (const t of ended) {
        const stream = task.streams.get(t);
        if (!stream) continue;
        task.watermarks[t] = Infinity;
        committedWatermarks[t] = Infinity;
        stream.endCommitted = true;
      }
      for (const lane of [...this.lastSeq.keys()]) if (keep(lane)) this.lastSeq.delete(lane);
      for (const [lane, seq] of lanes) this.lastSeq.set(lane, seq);
      // From the checkpoint's floors; from the start without one; nothing when there is no checkpoint and no input yet.
      for (const tp of outParts) {
        const k = tpKey(tp);
        const from = fromStart ? 0 : floors.size === 0 ? ends.get(k)! : (floors.get(k) ?? 0);
        scanFrom.set(k, Math.min(scanFrom.get(k) ?? Infinity, from));
      }
      task.floors = new Map(ends);
      if (fromStart) takenOver.push(keep);
      if (Object.keys(committedWatermarks).length > 0) processor.restore?.(task.state, committedWatermarks, replayEnds);
    }
    const ranges = outParts.map((tp) => ({ ...tp, from: scanFrom.get(tpKey(tp))!, to: ends.get(tpKey(tp))! }));
    // Only this processor's own output moves a lane's position: a record another producer wrote under the lane would
    // stop the lane's output up to its position (a trial: a forged one at a far position lost 4,557 rows).
    const passedOver: LogRecord[] = [];
    await scanLanes(log, ranges, (lane) => fresher.some((keep) => keep(lane)), this.lastSeq, this.settingsCheck(takenOver), (r, seq) => {
      const own = this.emittedHere(r, seq);
      if (!own) passedOver.push(r);
      return own;
    });
    if (passedOver.length > 0) {
      const first = passedOver[0]!;
      // Records with the lane headers but none of the settings: an edgelat from before that header (an upgrade trial:
      // bc8aff7's correlation windows were written again, and the warning blamed another producer).
      const older = passedOver.every((r) => r.headers[SETTINGS_HEADER] === undefined);
      this.options.logger?.warn({ pipeline: processor.name, records: passedOver.length, first: { topic: first.topic, partition: first.partition, offset: first.offset, lane: first.headers[LANE_HEADER], seq: first.headers[SEQ_HEADER] } },
        older
          ? 'output records under this processor\'s lanes without a settings header are passed over: an edgelat older than this one wrote them (their windows and rows may be written again), or another producer did (only edgelat should write its output topics); stop an older version after its input has drained (pipeline run --until-end) before starting this one'
          : 'output records under this processor\'s lanes that it cannot have written (no settings header of this run, not decodable, or a position that disagrees with the record) are passed over: another producer wrote them (only edgelat should write its output topics)');
    }
    this.options.logger?.debug({ pipeline: processor.name, scanned: ranges.reduce((n, r) => n + Math.max(0, r.to - r.from), 0) }, 'lane positions restored');
  }

  /**
   * A lane scan's check that output this run takes over (a group with no checkpoint reads the lanes from
   * the start) was made with this processor's settings. Another job over the same topics — a second
   * consumer group prefix — takes the emissions there as its own and drops its own as repeats, so with
   * other settings (a 60 s window where the topic holds 5-minute ones) its results would silently be the
   * first job's. @throws {ConfigError} naming the topic and both settings.
   */
  private settingsCheck(takenOver: readonly ((lane: string) => boolean)[]): ((lane: string, headers: Readonly<Record<string, string>>, topic: string) => void) | undefined {
    const { processor } = this.options;
    const ours = this.settingsFingerprint;
    if (ours === undefined || takenOver.length === 0) return undefined;
    return (lane, headers, topic) => {
      const theirs = headers[SETTINGS_HEADER];
      if (theirs === undefined || theirs === ours || !takenOver.some((keep) => keep(lane))) return;
      throw new ConfigError(`${topic} already holds ${processor.name} output made with other settings than this run's ${processor.settings} `
        + `(fingerprint ${theirs} there, ${ours} here): a job over the same topics (one with its own EDGELAT_KAFKA_GROUP_PREFIX too) takes that output as its own, `
        + 'so it must run with the same settings; a job with other settings needs a Kafka cluster of its own');
    };
  }

  /**
   * A restart of this group with other settings (a new window size) would continue the output topics
   * and tables with windows of another shape after the old ones, and take its replay's windows for
   * repeats: refused, naming the way to start over.
   * @throws {ConfigError} when the checkpoint was committed with other settings.
   */
  private assertSameSettings(cp: Checkpoint, topic: string): void {
    const ours = this.settingsFingerprint;
    if (cp.settings === undefined || ours === undefined || cp.settings === ours) return;
    const { processor } = this.options;
    const diff = cp.settingsJson !== undefined && processor.settings !== undefined ? settingsDiff(cp.settingsJson, processor.settings) : null;
    throw new ConfigError(`consumer group ${this.groupId} committed ${topic} with other ${processor.name} settings than this run's ${processor.settings} `
      + `(${diff ? `${diff}; ` : ''}fingerprint ${cp.settings} there, ${ours} here): its output topics and tables hold output of the other settings, and this run would go on after it with another shape. `
      + 'Run with the settings it had; to change them, start over: delete the output topics and the warehouse tables (or use a Kafka cluster of its own)');
  }

  /** First 16 hex digits of the SHA-256 of the processor's settings, as each emission's header carries it (undefined: none). */
  private get settingsFingerprint(): string | undefined {
    const { settings } = this.options.processor;
    return settings === undefined ? undefined : (this.fingerprint ??= createHash('sha256').update(settings).digest('hex').slice(0, 16));
  }

  /**
   * Whether an output record under one of this processor's lanes can be its own emission: it carries this run's
   * settings fingerprint (when the processor has settings), decodes, and its position agrees with its content — a
   * late event's is `[input offset]` under the lane of its input topic and partition; any other's starts with the
   * record's event time (`ts`, or a window's `window_end`).
   */
  private emittedHere(r: LogRecord, seq: Seq): boolean {
    const ours = this.settingsFingerprint;
    if (ours !== undefined && r.headers[SETTINGS_HEADER] !== ours) return false;
    const decoded = decodeLogRecord(r);
    if (!decoded.ok) return false;
    const v = decoded.value as { ts?: number; window_end?: number; topic?: string; partition?: number; offset?: number };
    if (r.topic === TOPICS.late) return seq.length === 1 && seq[0] === v.offset && r.headers[LANE_HEADER] === `${this.options.processor.name}:late:${v.topic}:${v.partition}`;
    return seq[0] === (v.window_end ?? v.ts);
  }

  /** Lanes of one input partition: `<processor>:...:<partition>` (see Emit.lane). */
  private laneFilter(partition: number): (lane: string) => boolean {
    const prefix = `${this.options.processor.name}:`;
    const suffix = `:${partition}`;
    return (lane) => lane.startsWith(prefix) && lane.endsWith(suffix);
  }

  /** The checkpoint of a partition now: its lanes' last positions and, per output partition, where later emissions will land at or above. */
  private checkpoint(partition: number, task: Task<S>, maxTs: number): string {
    const keep = this.laneFilter(partition);
    const lanes: Record<string, Seq> = {};
    for (const [lane, seq] of this.lastSeq) if (keep(lane)) lanes[lane] = seq;
    for (const [k, end] of this.producedEnd) task.floors.set(k, Math.max(task.floors.get(k) ?? 0, end));
    const settings = this.settingsFingerprint;
    const watermarks = Object.fromEntries(Object.entries(task.watermarks).filter(([, w]) => Number.isFinite(w)));
    const reads = Object.fromEntries([...task.streams].map(([topic, s]) => [topic, s.next]));
    const ended = Object.entries(task.watermarks).filter(([, w]) => w === Infinity).map(([t]) => t);
    const cp: Checkpoint = { maxTs: Number.isFinite(maxTs) ? maxTs : null, lanes, watermarks, reads, ...(ended.length > 0 ? { ended } : {}), ...(settings !== undefined ? { settings } : {}) };
    const text = checkpointMetadata(cp, task.floors, settings === undefined ? undefined : this.options.processor.settings);
    this.noteCheckpointFit(partition, text);
    return text.metadata;
  }

  /** What {@link noteCheckpointFit} said already: `lowered`, `floors`, `lanes`. */
  private readonly checkpointFitSaid = new Set<string>();

  /**
   * Say, once per run and kind, that a checkpoint was cut to fit Kafka's commit metadata limit (4096 bytes): floors
   * lowered (info: a restart scans a few more output records), or left out (warn: a restart scans the outputs from
   * their start), with the lanes' positions too. Recovery stays exact either way; only its speed changes.
   */
  private noteCheckpointFit(partition: number, text: CheckpointText): void {
    const kind = text.lanesDropped ? 'lanes' : text.floorShift === null ? 'floors' : text.floorShift > 0 ? 'lowered' : null;
    if (kind === null || this.checkpointFitSaid.has(kind)) return;
    this.checkpointFitSaid.add(kind);
    const where = { pipeline: this.options.processor.name, partition, floorShift: text.floorShift, metadataBytes: Buffer.byteLength(text.metadata, 'utf8') };
    if (kind === 'lowered') {
      this.options.logger?.info(where, `checkpoint floors lowered by up to 2^${text.floorShift} records per output partition to fit kafka's 4096-byte commit metadata: a restart scans that many more output records`);
    } else {
      this.options.logger?.warn(where, `checkpoint without its output floors${kind === 'lanes' ? ' and lane positions' : ''} to fit kafka's 4096-byte commit metadata: a restart scans the output topics from their start to restore its lanes (slower, still exact)`);
    }
  }

  /** Records this run has produced, all output partitions together. */
  private producedTotal(): number {
    let n = 0;
    for (const end of this.producedEnd.values()) n += end;
    return n;
  }

  /** Process one poll. @returns true at end of input (everything flushed and committed). */
  async runBatch(): Promise<boolean> {
    const { processor } = this.options;
    if (!this.consumer) throw new Error('ProcessorRun.start() was not called');
    await this.syncAssignment();
    const final = this.options.inputsFinal?.() ?? true;
    const polled = await this.consumer.poll(this.options.maxBatch ?? 2000);
    const { records } = polled;
    const endOfInput = polled.endOfInput && final;
    await this.syncAssignment();
    const out: Emit[] = [];
    for (const r of records) {
      const stream = this.tasks.get(r.partition)?.streams.get(r.topic);
      if (!stream || r.offset < stream.next) continue; // fetched before a rebalance took the partition away, or already processed
      this.stepRecord(r, out);
      this.recordsDone++;
      this.options.failPoint?.('after-step', this.recordsDone);
    }
    this.skipped.flush(this.options.logger, processor.name);
    if (endOfInput) {
      for (const task of this.tasks.values()) {
        for (const t of processor.inputs) task.watermarks[t] = Infinity;
        out.push(...processor.onWatermark(task.state, task.watermarks));
      }
    } else {
      this.advanceIdleStreams(out);
    }
    await this.produce(out);
    this.options.failPoint?.('after-produce', this.recordsDone);
    await this.commit();
    this.options.failPoint?.('after-commit', this.recordsDone);
    this.options.onProgress?.(this.counts);
    if (endOfInput && this.commitDeferred) return false; // not done until the deferred commit went through
    if (endOfInput) {
      // Once per end reached: an unbounded run over drained inputs polls on, and logged this every second (a trial).
      const counts = JSON.stringify(this.counts);
      if (counts !== this.endLogged) this.options.logger?.info({ pipeline: processor.name, counts: this.counts }, 'end of input');
      this.endLogged = counts;
    }
    return endOfInput;
  }

  /** Whether every member of the group is done with the sealed inputs (see Consumer.groupDrained). */
  async groupDrained(): Promise<boolean> {
    if (!this.consumer) throw new Error('ProcessorRun.start() was not called');
    return this.consumer.groupDrained();
  }

  /** Next offset to process per owned input partition. */
  positions(): PartitionPosition[] {
    return [...this.tasks].flatMap(([partition, task]) => [...task.streams].map(([topic, s]) => ({ topic, partition, position: s.next })));
  }

  /**
   * Event-time watermark per owned input partition, epoch ms UTC (max event
   * time seen, each record's no later than its log timestamp (`watermarkTime`),
   * − the processor's out-of-orderness bound; -Infinity before the first
   * record, Infinity after end of input).
   */
  watermarks(): { topic: string; partition: number; watermarkMs: number }[] {
    return [...this.tasks].flatMap(([partition, task]) => Object.entries(task.watermarks).map(([topic, watermarkMs]) => ({ topic, partition, watermarkMs })));
  }

  /** Run until end of input, then leave the group. */
  async runToEnd(): Promise<Record<string, TopicCounts>> {
    return runToEnd(this);
  }

  /** Leave the group without committing anything more (what a crash looks like to the log). */
  async close(): Promise<void> {
    await this.consumer?.close();
    this.consumer = null;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Raise the watermark of each idle input stream of a partition to the lowest watermark of its active streams (see `idleTimeoutMs`). */
  private advanceIdleStreams(out: Emit[]): void {
    const idleMs = this.options.idleTimeoutMs ?? Number.POSITIVE_INFINITY;
    if (!Number.isFinite(idleMs)) return;
    const now = this.now();
    for (const [partition, task] of this.tasks) {
      if (task.streams.size < 2) continue;
      const streams = [...task.streams];
      if (task.activeSinceMs === null) continue;
      const since = task.activeSinceMs;
      const active = streams.filter(([topic, s]) => now - s.lastRecordAtMs < idleMs || this.behind(topic, partition)).map(([topic]) => task.watermarks[topic] ?? -Infinity);
      if (active.length === 0 || active.length === streams.length) continue;
      const target = Math.min(...active);
      if (!Number.isFinite(target)) continue;
      const raised: string[] = [];
      for (const [topic, s] of streams) {
        if (now - Math.max(s.lastRecordAtMs, since) >= idleMs && !this.behind(topic, partition) && (task.watermarks[topic] ?? -Infinity) < target) {
          task.watermarks[topic] = target;
          raised.push(topic);
        }
      }
      if (raised.length === 0) continue;
      this.options.logger?.debug({ pipeline: this.options.processor.name, partition, idle: raised, watermark: target }, 'idle input streams no longer hold the watermark back');
      out.push(...this.options.processor.onWatermark(task.state, task.watermarks));
    }
  }

  /**
   * Whether the consumer knows of records of the stream it has not handed over yet (Consumer.behind): a stream with a
   * backlog is not idle however long it brought nothing (its batches waiting their turn behind the other stream's
   * backlog), or its records, once read, would be late behind a watermark raised past them.
   */
  private behind(topic: string, partition: number): boolean {
    return this.consumer?.behind?.({ topic, partition }) ?? false;
  }

  /** Servers whose records are mostly late (a clock behind its partition's others'), warned about once each. */
  private readonly lateWatch: LateShareWatch;

  /**
   * Count a record of a server for {@link lateWatch}, and log its warning when it has one. A shadow result is not
   * counted: it trails its request by design, and its lateness is the lag tolerance's, not a clock's.
   */
  private watchLateness(r: LogRecord, server: string, lagMs: number | null): void {
    if (kindOfTopic(r.topic) === 'ShadowResult') return;
    const text = this.lateWatch.note(r.topic, r.partition, server, lagMs !== null, lagMs ?? 0);
    if (text !== null) this.options.logger?.warn({ pipeline: this.options.processor.name, topic: r.topic, partition: r.partition, server }, text);
  }

  /** Input topics whose records after end of input were said ({@link noteAfterEnd}). */
  private readonly afterEndSaid = new Set<string>();

  /**
   * Say once per input topic that records came after its end of input and are late: a finished `--until-end` run, or a
   * producer after a seal. The clock-skew warning had told a re-test to sync a server's clock (NTP) for them.
   */
  private noteAfterEnd(r: LogRecord): void {
    if (this.afterEndSaid.has(r.topic)) return;
    this.afterEndSaid.add(r.topic);
    this.options.logger?.warn({ pipeline: this.options.processor.name, topic: r.topic, partition: r.partition, offset: r.offset },
      `records of ${r.topic} came after its end of input (sealed and read to its end, in this run or an earlier one of its consumer group): they are late, in late_events; to process such records, run them as a new stream (other topics, or another EDGELAT_KAFKA_GROUP_PREFIX)`);
  }

  /** Keys already warned about by {@link warnIfMisplaced}, as `topic:partition:key`. */
  private readonly misplacedWarned = new Set<string>();

  /** Warn, once per topic, partition and key, of a record that is not where murmur2 puts its key (`misplacedKey`). */
  /** Partitions (topic:partition) whose watermark jump by a fast-clock record was said ({@link fastClockJump}): once a run. */
  private readonly jumpWarned = new Set<string>();

  private warnIfFastClockJump(r: LogRecord, server: string, ts: number, previousMaxMs: number, previousLogMs: number): void {
    const id = `${r.topic}:${r.partition}`;
    if (this.jumpWarned.has(id)) return;
    const text = fastClockJump(ts, r.timestampMs, previousMaxMs, previousLogMs);
    if (text === null) return;
    this.jumpWarned.add(id);
    this.options.logger?.warn({ pipeline: this.options.processor.name, topic: r.topic, partition: r.partition, server, offset: r.offset }, text);
  }

  private warnIfMisplaced(r: LogRecord): void {
    if (!this.options.partitions) return;
    const id = `${r.topic}:${r.partition}:${r.key}`;
    if (this.misplacedWarned.has(id)) return;
    const text = misplacedKey(r, this.options.partitions, this.options.processor.name);
    if (text === null) return;
    this.misplacedWarned.add(id);
    this.options.logger?.warn({ pipeline: this.options.processor.name, topic: r.topic, partition: r.partition, key: r.key, offset: r.offset }, text);
  }

  private stepRecord(r: LogRecord, out: Emit[]): void {
    const { processor } = this.options;
    const task = this.tasks.get(r.partition)!;
    const stream = task.streams.get(r.topic)!;
    const counts = this.counts[r.topic]!;
    counts.consumed++;
    stream.history.push({ offset: r.offset, maxTsBefore: stream.maxTs });
    stream.next = r.offset + 1;
    const now = this.now();
    let lastInPartition = -Infinity;
    for (const s of task.streams.values()) lastInPartition = Math.max(lastInPartition, s.lastRecordAtMs);
    if (task.activeSinceMs === null || now - lastInPartition >= (this.options.idleTimeoutMs ?? Infinity)) task.activeSinceMs = now;
    stream.lastRecordAtMs = now;
    const copyOf = this.repeats.copyOf(r);
    if (copyOf !== null) {
      counts.repeated = (counts.repeated ?? 0) + 1;
      this.skipped.add(r, copyOf);
      return;
    }
    const decoded = decodeLogRecord(r, this.options.checks);
    if (!decoded.ok) {
      counts.dead++;
      return;
    }
    const value = decoded.value as { ts: number; edge_server_id: string };
    this.warnIfMisplaced(r);
    const ts = processor.eventTime?.(r.topic, decoded.value) ?? value.ts;
    const result = processor.step(task.state, { topic: r.topic, partition: r.partition, offset: r.offset, ts, value }, task.watermarks);
    out.push(...result.emit);
    if (result.lateWatermark !== undefined) {
      counts.late++;
      // After end of input the watermark is +∞ (every window has fired), and a record that still comes (the end was
      // reported before everything was read, across a rebalance) is late: its late event carries its stream's last
      // finite watermark (a late event's watermark is a timestamp: Avro long, DateTime64).
      const lateTs = result.lateTs ?? ts;
      const watermark = [result.lateWatermark, stream.maxTs - processor.maxOutOfOrdernessMs, lateTs].find(Number.isFinite)!;
      const late: LateEvent = {
        topic: r.topic, partition: r.partition, offset: r.offset, ts: lateTs, watermark,
        operator: processor.name, edge_server_id: value.edge_server_id, record_json: codecFor(kindOfTopic(r.topic)).encodeJson(value as never).toString('utf8'),
      };
      out.push({ topic: TOPICS.late, key: value.edge_server_id, value: late, lane: `${processor.name}:late:${r.topic}:${r.partition}`, seq: [r.offset] });
      // Late because its input had ended (sealed and drained): no clock is behind, so it is said once a topic, not as skew.
      if (task.watermarks[r.topic] === Infinity) this.noteAfterEnd(r);
      else this.watchLateness(r, value.edge_server_id, watermark - lateTs);
      return;
    }
    counts.processed++;
    this.watchLateness(r, value.edge_server_id, null);
    const at = watermarkTime(ts, r.timestampMs);
    const previousLogMs = stream.lastLogMs;
    stream.lastLogMs = r.timestampMs;
    if (at > stream.maxTs) {
      // Per record on the hot path: looked into only where the record's clock runs ahead of its log time (at < ts).
      if (ts > at) this.warnIfFastClockJump(r, value.edge_server_id, ts, stream.maxTs, previousLogMs);
      stream.maxTs = at;
      // Never lower: an idle stream's watermark may have been raised past its own records (advanceIdleStreams).
      const wm = at - processor.maxOutOfOrdernessMs;
      if (wm > (task.watermarks[r.topic] ?? -Infinity)) {
        task.watermarks[r.topic] = wm;
        out.push(...processor.onWatermark(task.state, task.watermarks));
      }
    }
  }

  private async produce(out: Emit[]): Promise<void> {
    const byTopic = new Map<string, ProduceRecord[]>();
    const settings = this.settingsFingerprint;
    for (const e of out) {
      const prev = this.lastSeq.get(e.lane);
      if (prev && compareSeq(e.seq, prev) <= 0) continue; // already in the topic: a replay
      this.lastSeq.set(e.lane, e.seq);
      const codec = codecFor(kindOfTopic(e.topic));
      const list = byTopic.get(e.topic) ?? [];
      list.push({ key: e.key, value: codec.encode(e.value as never), headers: { [LANE_HEADER]: e.lane, [SEQ_HEADER]: JSON.stringify(e.seq), ...(settings !== undefined ? { [SETTINGS_HEADER]: settings } : {}) } });
      byTopic.set(e.topic, list);
    }
    for (const [topic, records] of byTopic) {
      for (const at of await this.options.log.produce(topic, records)) {
        const k = tpKey({ topic, partition: at.partition });
        this.producedEnd.set(k, Math.max(this.producedEnd.get(k) ?? 0, at.offset + 1));
      }
    }
  }

  private async commit(): Promise<void> {
    const offsets: CommittedOffset[] = [];
    for (const [partition, task] of this.tasks) {
      for (const [topic, stream] of task.streams) {
        const low = this.options.processor.lowWater(task.state, topic);
        const offset = low === null ? stream.next : Math.min(low, stream.next);
        // A partition whose offset stands still (quiet, or held by open state) still refreshes its checkpoint now and
        // then, so that its next owner's output scan stays short.
        const stale = stream.committed >= 0 && this.producedTotal() - stream.checkpointAt >= CHECKPOINT_REFRESH_RECORDS;
        // End of input is committed once, even at an offset already committed (a later run must know it: Checkpoint.ended).
        const ending = task.watermarks[topic] === Infinity && !stream.endCommitted;
        if (offset === stream.committed && !stale && !ending) continue;
        const at = stream.history.findIndex((h) => h.offset >= offset);
        const maxTs = at >= 0 && stream.history[at]!.offset === offset ? stream.history[at]!.maxTsBefore : stream.maxTs;
        stream.history.splice(0, at >= 0 ? at : stream.history.length);
        offsets.push({ topic, partition, offset, metadata: this.checkpoint(partition, task, maxTs) });
        stream.committed = offset;
        stream.checkpointAt = this.producedTotal();
        if (task.watermarks[topic] === Infinity) stream.endCommitted = true;
      }
    }
    this.commitDeferred = false;
    if (offsets.length) {
      try {
        await this.consumer!.commit(offsets);
      } catch (error) {
        // A rebalance took a partition away since the poll (case C09), or is under way: commit what is still ours;
        // what cannot be committed now is retried with the next batch (the new owner of a lost partition replays it).
        await this.syncAssignment();
        const owned = new Set(this.consumer!.assignment().map((tp) => `${tp.topic}:${tp.partition}`));
        const still = offsets.filter((o) => owned.has(`${o.topic}:${o.partition}`));
        const retriable = error instanceof PipelineError && error.retriable;
        if (still.length === offsets.length && !retriable) throw error;
        try {
          if (still.length && still.length < offsets.length) await this.consumer!.commit(still);
          else if (retriable) throw error;
        } catch (again) {
          if (!(again instanceof PipelineError && again.retriable)) throw again;
          for (const o of still) {
            const stream = this.tasks.get(o.partition)?.streams.get(o.topic);
            if (stream) stream.committed = -1;
          }
          this.options.logger?.info({ pipeline: this.options.processor.name, err: (again as Error).message }, 'commit deferred to the next batch');
          this.commitDeferred = true;
          return;
        }
      }
      this.options.logger?.debug({ pipeline: this.options.processor.name, offsets }, 'committed');
    }
  }
}

