/**
 * One consumer-group member on kafkajs, adapted from kafkajs's push model
 * (`eachBatch`) to the pull `poll(maxRecords)` of {@link Consumer}.
 */
import type { Logger } from 'pino';
import type { Admin, Consumer as KafkaJsConsumer, EachBatchPayload, Kafka } from 'kafkajs';
import { BrokerUnavailableError, CommitMetadataTooLargeError, PipelineError } from '../../errors.ts';
import { coPartitionedAssigner } from './kafka-assigner.ts';
import { fetchTopicOffsets, guard, kafkajsErrorTypes, sleep, toLogRecord, tpKey } from './kafka-support.ts';
import type { SealWatcher } from './kafka-seals.ts';
import type { CommittedOffset, Consumer, LogRecord, PollResult, TopicPartition } from './types.ts';
import { byCodeUnits } from '../names.ts';

/** How long a first group join waits before {@link KafkaConsumerOptions.onJoinWait} is told, ms. */
export const JOIN_WAIT_NOTICE_MS = 5000;

/** Tuning of a Kafka consumer member. */
export interface KafkaConsumerOptions {
  /** Longest a `poll` waits for records before returning an empty result, milliseconds. */
  pollWaitMs: number;
  /** Longest `consumer()` waits for the first group join, milliseconds. */
  joinTimeoutMs: number;
  /** Group session timeout, ms (heartbeats every min(1000, a third of it)). */
  sessionTimeoutMs: number;
  /** Longest the coordinator waits for members to rejoin in a rebalance, ms. */
  rebalanceTimeoutMs: number;
  /** Aborts a join under way (the run was stopped). */
  signal?: AbortSignal;
  /** Where rejoins after a crash are logged. */
  logger?: Logger;
  /** Called for each range of records retention deleted before this member read them (they are skipped). */
  onRetentionGap?: (gap: RetentionGap) => void;
  /** Called when a rebalance gives this member other partitions than it had (not at its first assignment). */
  onReassignment?: (change: Reassignment) => void;
  /**
   * Called once when the first join of the group has waited {@link JOIN_WAIT_NOTICE_MS} (ms waited, the group): a member
   * that died without leaving holds its partitions until its session times out, and the join waits for the rebalance
   * (a trial: a restart right after kill -9 sat silent for 12 s and looked hung).
   */
  onJoinWait?: (groupId: string, waitedMs: number) => void;
  /** How long a first join waits before `onJoinWait` is told, ms. @default {@link JOIN_WAIT_NOTICE_MS} */
  joinWaitNoticeMs?: number;
  /**
   * The cluster the log connected to (`describeCluster`), with its bootstrap brokers: after a rejoin the member checks
   * that the same cluster answers, and fails its polls with {@link clusterChangedError} when another does.
   */
  cluster?: { id: string; brokers: readonly string[] };
}

/**
 * The error of a run whose brokers' address answers for another cluster than the one it started on: a broker that came
 * back without its data (a trial restarted librdkafka's mock cluster). Its committed offsets are not the run's, and
 * reading on would read every topic again from its start into the warehouse, whose deduplication goes by the cluster
 * (3,546 inference rows for 3,100), so the run stops. Not retriable.
 * @param brokers  The bootstrap brokers.
 * @param was      The log id of the cluster the run started on (`kafka-<cluster id>`).
 * @param now      The one that answers now.
 */
export function clusterChangedError(brokers: readonly string[], was: string, now: string): PipelineError {
  return new PipelineError(`kafka: the cluster at ${brokers.join(',')} changed while the run was down (${was} → ${now}): a broker that came back without its data, `
    + 'so its topics and committed offsets are not the ones this run read; stopping rather than reading the topics again from their start into the warehouse '
    + '(its deduplication goes by the cluster): check the brokers\' storage; on purpose, start `edgelat pipeline run` again (what the new cluster holds is written as new records)');
}

/** Records of one partition that retention deleted before a consumer group read them: offsets [from, to). */
export interface RetentionGap {
  groupId: string;
  topic: string;
  partition: number;
  from: number;
  to: number;
}

/** A member's partitions changed by a rebalance (another member of its group joined or left). */
export interface Reassignment {
  groupId: string;
  /** The partitions it owns now, by topic then partition. */
  owned: TopicPartition[];
  /** The partitions it owned before. */
  previous: TopicPartition[];
}

/**
 * Times a partition is fetched again from this member's position when a batch starts past it with the records between
 * still stored, before the offsets between are taken as holding no records (a fetch already under way when the seek
 * was made may answer from the old place once).
 */
const REFETCH_TRIES = 3;

/** A batch handed over by `eachBatch`, waiting for `poll` to take its records. */
interface Pending {
  tp: TopicPartition;
  records: LogRecord[];
  /** kafkajs's resolveOffset of the batch: marks records as taken so the next fetch starts after them. */
  resolve: (offset: string) => void;
  dropped: boolean;
  done: () => void;
  donePromise: Promise<void>;
}

/**
 * A member of a Kafka consumer group.
 *
 * Behaviour: `eachBatch` queues each fetched batch and waits (back-pressure,
 * heartbeating every 500 ms) until `poll` has taken all of it; offsets are
 * resolved as records are taken, never auto-committed. Assignment comes from
 * kafkajs's GROUP_JOIN event; buffered records of partitions no longer owned
 * are dropped, and kept partitions continue at this member's position.
 */
export class KafkaConsumer implements Consumer {
  private owned: TopicPartition[] = [];
  /**
   * Whether the member holds an assignment from a completed join: false while the group rebalances or the member
   * rejoins after a crash (it then owns nothing, and "every owned partition read" would be true of nothing).
   */
  private settled = false;
  /** Assignments received so far: a poll whose assignment changed while it ran does not report the end of input. */
  private generation = 0;
  private readonly positions = new Map<string, number>();
  /** Per partition, its high watermark (end offset) as the last fetched batch gave it. */
  private readonly highWatermarks = new Map<string, number>();
  /** Per partition, the position fetched again because a batch started past it, and how often (see `eachBatch`). */
  private readonly refetched = new Map<string, { pos: number; times: number }>();
  private readonly queue: Pending[] = [];
  private wake: (() => void) | null = null;
  private closed = false;
  private joined!: Promise<void>;
  /** Set when the member could not rejoin after a crash, or rejoined another cluster; raised by the next call. */
  private failure: Error | null = null;
  /** A rejoin's check that the same cluster answers ({@link KafkaConsumerOptions.cluster}); polls wait for it. */
  private clusterCheck: Promise<void> | null = null;
  /** Per commit under way, the offsets (`topic\0partition\0offset`) kafkajs reported committed meanwhile (COMMIT_OFFSETS). */
  private readonly applied = new Set<Set<string>>();
  /**
   * Per partition (`tpKey`), the group's last commit of an offset ≥ 0 this member saw: read before kafkajs fetched
   * anything, read since, or made by this member. kafkajs answers a fetch below the oldest stored offset (retention)
   * by committing its default offset (-2, "earliest") over the group's commit and its metadata
   * (consumerGroup.recoverFromOffsetOutOfRange → offsetManager.setDefaultOffset): read after that, the group had no
   * commit, and a trial's run resumed from offset 0 without its checkpoint, counting 504 records as lost where 260
   * were (the sink's 244 rows below its commit were in the warehouse).
   */
  private readonly knownCommits = new Map<string, CommittedOffset>();

  private constructor(
    private readonly admin: Admin,
    private readonly seals: SealWatcher,
    readonly groupId: string,
    readonly topics: string[],
    private readonly options: KafkaConsumerOptions,
    private readonly c: KafkaJsConsumer,
  ) {}

  /**
   * Join `groupId` and resolve after the first assignment arrived.
   * @throws {BrokerUnavailableError} if the join does not complete within `joinTimeoutMs`.
   */
  static async join(kafka: Kafka, admin: Admin, seals: SealWatcher, groupId: string, topics: string[], options: KafkaConsumerOptions): Promise<KafkaConsumer> {
    // restartOnFailure: kafkajs rejoins after a crash (seen: SyncGroup answered as malformed by librdkafka's mock during a
    // rebalance; the broker gone for a while), but not once the member is closed: a consumer restarted after its run
    // ended (the broker lost, the processors restarted on a new connection) would rejoin the group and hold partitions
    // that nothing polls. kafkajs cannot cancel a restart it already scheduled: a member that joins after close leaves.
    // Stopped before it began: refused before anything connects (a start left running would ask the log's admin while
    // the log closes, and its connection outlive the log).
    if (options.signal?.aborted) throw new BrokerUnavailableError(`kafka: group ${JSON.stringify(groupId)} join given up: the run was stopped`, { retriable: false });
    let member: KafkaConsumer | undefined;
    const c = kafka.consumer({ groupId, partitionAssigners: [coPartitionedAssigner], retry: { retries: 8, restartOnFailure: async () => member?.closed !== true }, maxWaitTimeInMs: Math.min(500, options.pollWaitMs), heartbeatInterval: Math.min(1000, Math.floor(options.sessionTimeoutMs / 3)), sessionTimeout: options.sessionTimeoutMs, rebalanceTimeout: options.rebalanceTimeoutMs });
    member = new KafkaConsumer(admin, seals, groupId, topics, options, c);
    let onJoin!: () => void;
    member.joined = new Promise<void>((r) => (onJoin = r));
    c.on(c.events.GROUP_JOIN, (e) => {
      if (member.closed) return void c.disconnect().catch(() => undefined);
      // Every join, the first too (kafkajs retries a first join itself, a re-test's onto another cluster), and a rejoin
      // after a crash or a broker's restart, may have reached another cluster behind the same address: polls and
      // commits wait until the cluster is known to be the same (a trial's went on unnoticed).
      if (options.cluster) member.clusterCheck = member.checkCluster(options.cluster);
      member.onAssignment(e.payload.memberAssignment);
      member.settled = true;
      onJoin();
    });
    c.on(c.events.REBALANCING, () => {
      member.settled = false;
    });
    c.on(c.events.CRASH, (e) => {
      if (!e.payload.restart) void member.restartAfterCrash(e.payload.error);
    });
    c.on(c.events.COMMIT_OFFSETS, (e) => member.onCommitted(e.payload.topics));
    // A join that takes long is said once (the dead member's session, then the rebalance, are waited for).
    const noticeMs = options.joinWaitNoticeMs ?? JOIN_WAIT_NOTICE_MS;
    const waitNotice = options.onJoinWait ? setTimeout(() => { if (!member!.settled && !member!.closed) options.onJoinWait!(groupId, noticeMs); }, noticeMs) : undefined;
    member.joined.then(() => clearTimeout(waitNotice), () => clearTimeout(waitNotice));
    // The time limit covers the whole start: kafkajs's run() itself waits for the first join (and retries it).
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new BrokerUnavailableError(`kafka: group ${JSON.stringify(groupId)} join did not complete within ${options.joinTimeoutMs} ms`, { retriable: true })), options.joinTimeoutMs);
    });
    const started = guard(`join group ${JSON.stringify(groupId)}`, () => member.start()).then(() => member.joined);
    started.catch(() => undefined); // its failure after a timeout is not this call's
    // A stopped run does not wait for the join (a trial: SIGTERM during a join took 25 s to end the process).
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, rej) => {
      onAbort = () => rej(new BrokerUnavailableError(`kafka: group ${JSON.stringify(groupId)} join given up: the run was stopped`, { retriable: false }));
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => undefined);
    try {
      await Promise.race([started, timeout, aborted]).finally(() => {
        clearTimeout(timer);
        clearTimeout(waitNotice);
        if (onAbort) options.signal?.removeEventListener('abort', onAbort);
      });
    } catch (e) {
      // Closed, so that kafkajs does not restart it (restartOnFailure) and a join that completes late leaves at once:
      // a member abandoned here went on rejoining, and the process outlived its run and ignored SIGTERM (a trial).
      // Not awaited: kafkajs's disconnect waits for the join it is retrying to end (26 s in a trial with 1 s timeouts).
      member.closed = true;
      void c.disconnect().catch(() => undefined);
      throw e;
    }
    return member;
  }

  assignment(): TopicPartition[] {
    return [...this.owned];
  }

  private async start(): Promise<void> {
    await this.c.connect();
    try {
      await this.c.subscribe({ topics: this.topics, fromBeginning: true });
      // Before kafkajs fetches: its reset of an out-of-range offset overwrites the group's commit (see knownCommits).
      await this.rememberCommits();
    } catch (error) {
      if (!this.closed) throw error;
    }
    // Given up meanwhile (the run was stopped, or the join timed out; the log's admin may be closed by now): the
    // disconnect made then may have come before this connect, so disconnect again rather than join.
    if (this.closed) return void (await this.c.disconnect().catch(() => undefined));
    await this.c.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (p) => this.eachBatch(p) });
  }

  /**
   * kafkajs stops a consumer for good on a non-retriable error. One is seen
   * only from librdkafka's mock cluster: a follower's SyncGroup that arrives
   * after the leader's already completed the sync is answered INVALID_REQUEST
   * (the mock counts assignments, not syncing members). kafkajs has left the
   * group by then, so this member owns nothing: its partitions are given up
   * (the runtime drops their state, their new owner replays from the
   * committed offsets) and it joins again. After 5 failed restarts in a row
   * the error is raised by the next poll.
   */
  private async restartAfterCrash(error: Error): Promise<void> {
    if (this.closed) return;
    this.settled = false;
    this.onAssignment({});
    for (let attempt = 1; attempt <= 5 && !this.closed; attempt++) {
      this.options.logger?.warn({ groupId: this.groupId, attempt, err: error.message }, 'kafka consumer crashed; rejoining the group');
      try {
        await sleep(500 * attempt);
        if (this.closed) return;
        await this.start();
        return;
      } catch (e) {
        error = e as Error;
      }
    }
    this.failure ??= new BrokerUnavailableError(`kafka: consumer of group ${JSON.stringify(this.groupId)} could not rejoin after a crash: ${error.message}`, { cause: error });
    this.wake?.();
  }

  /** Fail this member's polls when another cluster than `cluster` answers now (an unanswered check passes: the next rejoin checks again). */
  private async checkCluster(cluster: { id: string; brokers: readonly string[] }): Promise<void> {
    const now = await this.admin.describeCluster().then((d) => `kafka-${d.clusterId}`, () => cluster.id);
    if (now !== cluster.id) {
      this.failure ??= clusterChangedError(cluster.brokers, cluster.id, now);
      this.wake?.();
    }
  }

  /**
   * Whether records of `tp` lie past this member's read position: queued and not yet polled, or more than one offset
   * below the high watermark the last fetched batch of the partition gave (one offset may be a transaction's marker,
   * which no fetch returns); false before any batch of it came.
   */
  behind(tp: TopicPartition): boolean {
    const key = tpKey(tp);
    const pos = this.positions.get(key);
    const hw = this.highWatermarks.get(key);
    return this.queue.some((b) => tpKey(b.tp) === key && b.records.length > 0) || (pos !== undefined && hw !== undefined && pos < hw - 1);
  }

  async poll(maxRecords: number): Promise<PollResult> {
    if (this.clusterCheck) await this.clusterCheck;
    this.assertOpen();
    const generation = this.generation;
    let budget = Math.max(1, Math.floor(maxRecords));
    const deadline = Date.now() + this.options.pollWaitMs;
    while (this.queue.length === 0 && Date.now() < deadline && !this.closed) {
      await Promise.race([new Promise<void>((r) => (this.wake = r)), sleep(Math.max(1, deadline - Date.now()))]);
      this.wake = null;
    }
    const records: LogRecord[] = [];
    // Round-robin over queued batches (one per partition at a time) so one partition cannot starve the others.
    const slice = Math.max(1, Math.ceil(budget / Math.max(1, this.queue.length)));
    let progressed = true;
    while (budget > 0 && progressed) {
      progressed = false;
      for (const p of [...this.queue]) {
        if (budget <= 0) break;
        const take = p.records.splice(0, Math.min(slice, budget));
        if (take.length === 0) continue;
        const key = tpKey(p.tp);
        const last = take[take.length - 1]!.offset;
        records.push(...take);
        this.positions.set(key, last + 1);
        p.resolve(String(last));
        budget -= take.length;
        progressed = true;
        if (p.records.length === 0) this.finish(p);
      }
    }
    // Only of a settled assignment that held through the poll (a trial: a member rejoining after a crash owned nothing,
    // reported the end of input, and its partition's later records all went to late_events).
    const stable = () => this.settled && this.generation === generation;
    const endOfInput = records.length === 0 && this.queue.length === 0 && stable() && (await this.allRead()) && stable();
    return { records, endOfInput };
  }

  /** kafkajs's COMMIT_OFFSETS event (emitted once the coordinator accepted a commit): its offsets count as applied. */
  private onCommitted(topics: readonly { topic: string; partitions: readonly { partition: number; offset: unknown }[] }[]): void {
    for (const t of topics) for (const p of t.partitions) for (const seen of this.applied) seen.add(`${t.topic}\u0000${p.partition}\u0000${String(p.offset)}`);
  }

  /**
   * Commit positions of owned partitions, with their metadata; resolves once the group coordinator accepted them.
   * @throws {BrokerUnavailableError} for a partition not owned; retriable when the commit failed or kafkajs returned
   *   without applying it (its consumer not running, during a restart).
   * @throws {CommitMetadataTooLargeError} when the broker refused a metadata longer than its `offset.metadata.max.bytes`.
   */
  async commit(offsets: CommittedOffset[]): Promise<void> {
    if (this.clusterCheck) await this.clusterCheck;
    this.assertOpen();
    for (const o of offsets) {
      if (!this.owns(o)) {
        throw new BrokerUnavailableError(`commit refused: ${o.topic}:${o.partition} is not owned by this member of group ${JSON.stringify(this.groupId)} (rebalanced away)`);
      }
    }
    const applied = new Set<string>();
    this.applied.add(applied);
    try {
      await guard(`commit offsets of group ${JSON.stringify(this.groupId)}`, async () => {
        try {
          return await this.c.commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset), metadata: o.metadata })));
        } catch (e) {
          // Refused again after every restart: named, and not a BrokerUnavailableError (which restarts the run).
          if (kafkajsErrorTypes(e).includes('OFFSET_METADATA_TOO_LARGE')) {
            throw new CommitMetadataTooLargeError(this.groupId, offsets.map((o) => `${o.topic}:${o.partition}`), Math.max(...offsets.map((o) => Buffer.byteLength(o.metadata ?? '', 'utf8'))), e);
          }
          throw e;
        }
      });
    } finally {
      this.applied.delete(applied);
    }
    // kafkajs returns without an error, and without committing, when its consumer is not running at that moment (stopped,
    // or restarting after a crash: runner.commitOffsets). A caller that took that for a commit would go on as if it were
    // durable: the sink would write a partial block whose plan no one can read back, and a later owner would form other
    // blocks over the same offsets and insert their rows again (a trial: 2 of 6 rows twice).
    const missing = offsets.filter((o) => !applied.has(`${o.topic}\u0000${o.partition}\u0000${o.offset}`));
    if (missing.length > 0) {
      throw new BrokerUnavailableError(`commit not applied: kafkajs returned without committing ${missing.map((o) => `${o.topic}:${o.partition}@${o.offset}`).join(', ')} for group ${JSON.stringify(this.groupId)} (its consumer was not running: stopped, or restarting after a rebalance or a crash)`, { retriable: true });
    }
    for (const o of offsets) this.knownCommits.set(tpKey(o), { topic: o.topic, partition: o.partition, offset: o.offset, metadata: o.metadata });
  }

  /**
   * The group's committed offset of a partition, with its metadata; null when it has none. When the broker holds
   * none (< 0) but this member saw a commit of it ({@link knownCommits}: kafkajs's reset after a retention gap wrote
   * -2 over it), that commit.
   */
  async committed(tp: TopicPartition): Promise<CommittedOffset | null> {
    const res = await guard(`fetch committed offsets of group ${JSON.stringify(this.groupId)}`, () => this.admin.fetchOffsets({ groupId: this.groupId, topics: [tp.topic] }));
    const p = res.find((t) => t.topic === tp.topic)?.partitions.find((x) => x.partition === tp.partition);
    if (p && Number(p.offset) >= 0) {
      const c = { topic: tp.topic, partition: tp.partition, offset: Number(p.offset), metadata: p.metadata ?? '' };
      this.knownCommits.set(tpKey(tp), c);
      return c;
    }
    const known = this.knownCommits.get(tpKey(tp));
    if (known) {
      this.options.logger?.warn({ groupId: this.groupId, topic: tp.topic, partition: tp.partition, offset: known.offset, broker: p?.offset ?? null },
        'the group\'s commit was reset (kafkajs, after an offset out of range): resuming from the commit seen before it');
    }
    return known ?? null;
  }

  /** Read the group's commits of its topics into {@link knownCommits} (offsets ≥ 0 only: a reset's -2 does not replace one). */
  private async rememberCommits(): Promise<void> {
    const res = await guard(`fetch committed offsets of group ${JSON.stringify(this.groupId)}`, () => this.admin.fetchOffsets({ groupId: this.groupId, topics: this.topics }));
    for (const t of res) {
      for (const p of t.partitions) {
        if (Number(p.offset) >= 0) this.knownCommits.set(tpKey({ topic: t.topic, partition: p.partition }), { topic: t.topic, partition: p.partition, offset: Number(p.offset), metadata: p.metadata ?? '' });
      }
    }
  }

  async groupDrained(): Promise<boolean> {
    for (const topic of this.topics) if (!(await this.seals.isSealed(topic))) return false;
    const committed = await guard(`fetch committed offsets of group ${JSON.stringify(this.groupId)}`, () => this.admin.fetchOffsets({ groupId: this.groupId, topics: this.topics }));
    for (const topic of this.topics) {
      const ends = await fetchTopicOffsets(this.admin, topic);
      const mine = committed.find((t) => t.topic === topic)?.partitions ?? [];
      for (const e of ends) {
        const c = Number(mine.find((p) => p.partition === e.partition)?.offset ?? -1);
        if (Math.max(c, 0) !== Number(e.high)) return false;
      }
    }
    return true;
  }

  seek(tp: TopicPartition, offset: number): void {
    if (!this.owns(tp)) throw new RangeError(`seek: ${tp.topic}:${tp.partition} is not assigned to this member`);
    this.dropBuffered((p) => tpKey(p.tp) === tpKey(tp));
    this.positions.set(tpKey(tp), offset);
    this.c.seek({ topic: tp.topic, partition: tp.partition, offset: String(offset) });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.dropBuffered(() => true);
    this.wake?.();
    await guard(`leave group ${JSON.stringify(this.groupId)}`, () => this.c.disconnect());
  }

  private owns(tp: TopicPartition): boolean {
    return this.owned.some((o) => o.topic === tp.topic && o.partition === tp.partition);
  }

  private onAssignment(assignment: Record<string, number[]>): void {
    const next: TopicPartition[] = Object.entries(assignment).flatMap(([topic, ps]) => ps.map((partition) => ({ topic, partition })));
    const nextKeys = new Set(next.map(tpKey));
    this.dropBuffered((p) => !nextKeys.has(tpKey(p.tp)));
    for (const key of [...this.positions.keys()]) if (!nextKeys.has(key)) this.positions.delete(key);
    for (const key of [...this.highWatermarks.keys()]) if (!nextKeys.has(key)) this.highWatermarks.delete(key);
    // kafkajs restarts kept partitions at the committed offset; continue at our position instead (as memory.ts does).
    for (const tp of next) {
      const pos = this.positions.get(tpKey(tp));
      if (pos !== undefined) this.c.seek({ topic: tp.topic, partition: tp.partition, offset: String(pos) });
    }
    const previous = this.owned;
    this.owned = next.sort((a, b) => byCodeUnits(a.topic, b.topic) || a.partition - b.partition);
    this.generation++;
    if (this.generation > 1 && (previous.length !== this.owned.length || previous.some((p, i) => tpKey(p) !== tpKey(this.owned[i]!)))) {
      this.options.onReassignment?.({ groupId: this.groupId, owned: [...this.owned], previous });
    }
  }

  private async eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const tp = { topic: batch.topic, partition: batch.partition };
    const key = tpKey(tp);
    const pos = this.positions.get(key);
    const records = batch.messages.map((m) => toLogRecord(batch.topic, batch.partition, m)).filter((r) => pos === undefined || r.offset >= pos);
    const hw = Number(batch.highWatermark);
    if (Number.isSafeInteger(hw)) this.highWatermarks.set(key, hw);
    if (pos !== undefined && records.length > 0 && records[0]!.offset > pos && !this.closed) {
      const first = records[0]!.offset;
      // Counted as lost input only when the partition's oldest stored offset confirms it: across a rebalance a batch
      // can start past this member's position without any record deleted (a two-instance run reported such a gap).
      const low = await this.admin.fetchTopicOffsets(batch.topic).then((o) => Number(o.find((x) => x.partition === batch.partition)?.low ?? NaN), () => NaN);
      // A seek while the broker was asked moved this partition elsewhere: kafkajs fetches from there, not this batch.
      if (this.positions.get(key) !== pos || this.closed || isStale()) return;
      const where = { groupId: this.groupId, topic: batch.topic, partition: batch.partition, from: pos, to: first };
      let refetched = 0; // times this position was fetched again already
      if (low > pos) {
        // kafkajs reset an out-of-range position to the oldest stored offset: retention deleted records nobody here read.
        this.options.logger?.error({ ...where, lost: first - pos }, 'records deleted by retention before this group read them: skipped');
        this.options.onRetentionGap?.({ groupId: this.groupId, topic: batch.topic, partition: batch.partition, from: pos, to: Math.min(low, first) });
        // kafkajs committed -2 over the group's offset when it reset this position (see knownCommits): the group's commit
        // is put back before these records are handed over, so that a process killed before its next commit resumes
        // from it with its checkpoint, not from 0 (a re-test: after kill -9 the next run counted 683 lost for 203).
        const known = this.knownCommits.get(key);
        if (known) {
          await this.commit([known]).catch((e: unknown) => this.options.logger?.warn({ ...where, err: (e as Error).message }, 'could not put back the group\'s commit kafkajs reset'));
          if (this.closed || isStale()) return;
        }
      } else if ((refetched = this.refetched.get(key)?.pos === pos ? this.refetched.get(key)!.times : 0) < REFETCH_TRIES) {
        // The records between are stored: kafkajs fetched from its own resume point, past the position this member
        // seeks to (the group's committed offset after a rebalance or a rejoin: the previous owner read past it but
        // did not commit). Skipped, they would be processed by no one (a two-instance trial skipped 14 such records):
        // this batch is dropped and the partition fetched again from the position.
        this.refetched.set(key, { pos, times: refetched + 1 });
        this.options.logger?.warn({ ...where, low }, 'a fetched batch starts past this member\'s position, the records between still stored: fetching again from the position');
        this.c.seek({ topic: batch.topic, partition: batch.partition, offset: String(pos) });
        return;
      } else {
        // Fetched from the position REFETCH_TRIES times and still starting past it: the offsets between hold no
        // records (transaction markers, compacted records).
        this.options.logger?.info(where, 'the offsets between this member\'s position and the fetched batch hold no records: continued from the batch');
      }
      this.positions.set(key, first);
    }
    if (records.length === 0) {
      if (batch.messages.length > 0 && !isStale()) resolveOffset(batch.lastOffset());
      return;
    }
    if (this.closed || isStale() || !this.owns(tp)) return;
    let done!: () => void;
    const pending: Pending = { tp, records, resolve: resolveOffset, dropped: false, done: () => done(), donePromise: new Promise<void>((r) => (done = r)) };
    this.queue.push(pending);
    this.wake?.();
    try {
      for (;;) {
        const finished = await Promise.race([pending.donePromise.then(() => true), sleep(500).then(() => false)]);
        if (finished) return;
        if (!isRunning() || isStale()) return this.finish(pending, true);
        await heartbeat();
      }
    } catch (e) {
      // A rebalance (heartbeat error): the records were never delivered; kafkajs re-fetches them after the rejoin.
      this.finish(pending, true);
      throw e;
    }
  }

  private finish(p: Pending, dropped = false): void {
    const i = this.queue.indexOf(p);
    if (i >= 0) this.queue.splice(i, 1);
    p.dropped ||= dropped;
    p.done();
  }

  private dropBuffered(which: (p: Pending) => boolean): void {
    for (const p of [...this.queue]) if (which(p)) this.finish(p, true);
  }

  /**
   * True when every owned partition's topic is sealed and this member's position reached its high watermark (also when
   * a settled join gave it none: more members than partitions). The caller checks that the assignment is settled.
   */
  private async allRead(): Promise<boolean> {
    const owned = this.owned;
    const topics = [...new Set(owned.map((tp) => tp.topic))];
    for (const topic of topics) if (!(await this.seals.isSealed(topic))) return false;
    for (const topic of topics) {
      const offsets = await fetchTopicOffsets(this.admin, topic);
      const committed = owned.some((tp) => tp.topic === topic && !this.positions.has(tpKey(tp)))
        ? await guard('fetch committed offsets', () => this.admin.fetchOffsets({ groupId: this.groupId, topics: [topic] }))
        : [];
      for (const tp of owned.filter((o) => o.topic === topic)) {
        const o = offsets.find((x) => x.partition === tp.partition);
        const high = Number(o?.high ?? 0);
        const c = Number(committed[0]?.partitions.find((x) => x.partition === tp.partition)?.offset ?? -1);
        const pos = this.positions.get(tpKey(tp)) ?? (c >= 0 ? c : Number(o?.low ?? 0));
        if (pos < high) return false;
      }
    }
    return true;
  }

  private assertOpen(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new BrokerUnavailableError(`consumer of group ${JSON.stringify(this.groupId)} is closed`);
  }
}
