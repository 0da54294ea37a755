import { randomUUID } from 'node:crypto';
import { BrokerUnavailableError, CommitMetadataTooLargeError } from '../../errors.ts';
import { partitionForKey } from './murmur2.ts';
import type { CommittedOffset, Consumer, EventLog, LogRecord, PollResult, ProduceRecord, TopicPartition } from './types.ts';

/** Options of the in-process log. */
export interface MemoryLogOptions {
  /** Partitions of an auto-created topic. @default 4 (as the Kafka mock cluster) */
  defaultPartitions?: number;
  /** Clock for record timestamps, epoch ms. @default Date.now */
  now?: () => number;
  /**
   * Longest commit metadata accepted, UTF-8 bytes (a stricter count than Kafka's, of characters): a longer one is
   * refused with `CommitMetadataTooLargeError`, as a broker with this `offset.metadata.max.bytes` does.
   * @default 4096 (Kafka's default)
   */
  offsetMetadataMaxBytes?: number;
}

interface Topic {
  /** Records of each partition, in offset order (offsets can skip: {@link MemoryEventLog.skipOffsets}). */
  partitions: LogRecord[][];
  /** Next offset to be written in each partition. */
  ends: number[];
  sealed: boolean;
  nullKeyCursor: number;
}

interface Group {
  members: MemoryConsumer[];
  committed: Map<string, CommittedOffset>;
}

const tpKey = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;

/** Index of the first record of `log` (in offset order) whose offset is at least `offset`; log.length when none. */
function indexAt(log: readonly LogRecord[], offset: number): number {
  let lo = 0;
  let hi = log.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (log[mid]!.offset < offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * An in-process partitioned log with Kafka's semantics: key partitioning by
 * murmur2, per-partition offsets, consumer groups with committed offsets and
 * range assignment (partition i of every subscribed topic goes to the same
 * member, so co-partitioned topics are joined locally), and `seal()` for
 * bounded runs. Topics are auto-created on first use. Not persistent: it lives
 * as long as the process. Offsets are consecutive unless {@link skipOffsets}
 * leaves some without a record, as Kafka's transaction markers do.
 */
export class MemoryEventLog implements EventLog {
  /** A fresh random id per log: a new log's offsets must not collide with an old one's in deduplication tokens. */
  readonly id = `memory-${randomUUID()}`;
  private readonly topics = new Map<string, Topic>();
  private readonly groups = new Map<string, Group>();
  private readonly defaultPartitions: number;
  private readonly now: () => number;
  /** See {@link MemoryLogOptions.offsetMetadataMaxBytes}. */
  readonly offsetMetadataMaxBytes: number;
  private memberSeq = 0;

  constructor(options: MemoryLogOptions = {}) {
    this.defaultPartitions = options.defaultPartitions ?? 4;
    this.now = options.now ?? Date.now;
    this.offsetMetadataMaxBytes = options.offsetMetadataMaxBytes ?? 4096;
    if (!Number.isInteger(this.defaultPartitions) || this.defaultPartitions < 1) {
      throw new RangeError(`defaultPartitions: expected an integer >= 1, got ${JSON.stringify(options.defaultPartitions)}`);
    }
  }

  async ensureTopic(topic: string, partitions = this.defaultPartitions): Promise<void> {
    this.topic(topic, partitions);
  }

  async partitionCount(topic: string): Promise<number | null> {
    return this.topics.get(topic)?.partitions.length ?? null;
  }

  async produce(topic: string, records: ProduceRecord[]): Promise<{ partition: number; offset: number }[]> {
    const t = this.topic(topic);
    if (t.sealed) throw new BrokerUnavailableError(`topic ${JSON.stringify(topic)} is sealed (end of input); nothing more can be produced to it`);
    const count = t.partitions.length;
    return records.map((r) => {
      let partition: number;
      if (r.partition !== undefined) {
        if (!Number.isInteger(r.partition) || r.partition < 0 || r.partition >= count) {
          throw new RangeError(`partition: ${JSON.stringify(r.partition)} is not a partition of ${JSON.stringify(topic)} (0..${count - 1})`);
        }
        partition = r.partition;
      } else if (r.key !== null) {
        partition = partitionForKey(r.key, count);
      } else {
        partition = t.nullKeyCursor++ % count;
      }
      const log = t.partitions[partition]!;
      const offset = t.ends[partition]!++;
      // A key of bytes that are not UTF-8 reads as a Kafka consumer's does (kafka-support.ts `toLogRecord`): text with U+FFFD, its bytes in wireKey.
      const key = r.wireKey === undefined ? r.key : r.wireKey.toString('utf8');
      log.push({ topic, partition, offset, key, value: r.value, headers: r.headers ?? {}, timestampMs: r.timestampMs ?? this.now(), ...(r.wireKey === undefined ? {} : { wireKey: r.wireKey }) });
      return { partition, offset };
    });
  }

  async consumer(groupId: string, topics: string[]): Promise<Consumer> {
    for (const t of topics) this.topic(t);
    const group: Group = this.groups.get(groupId) ?? { members: [], committed: new Map() };
    this.groups.set(groupId, group);
    const member = new MemoryConsumer(this, groupId, topics, `m${++this.memberSeq}`);
    group.members.push(member);
    this.rebalance(group);
    return member;
  }

  /**
   * Leave offsets of a partition without a record, as Kafka does for the control record that ends each transaction
   * (and as a compacted topic shows a removed record): the end offset moves on by `count`, no consumer or `read`
   * sees anything there, and the next record produced gets the offset after them.
   * @param tp     Partition of an existing (or auto-created) topic.
   * @param count  Offsets to leave empty, an integer >= 1.
   * @throws {RangeError} if `count` is not an integer >= 1 or the partition does not exist.
   * @throws {BrokerUnavailableError} if the topic is sealed.
   */
  skipOffsets(tp: TopicPartition, count: number): void {
    const t = this.topic(tp.topic);
    if (t.sealed) throw new BrokerUnavailableError(`topic ${JSON.stringify(tp.topic)} is sealed (end of input); nothing more can be produced to it`);
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`count: expected an integer >= 1, got ${JSON.stringify(count)}`);
    if (!Number.isInteger(tp.partition) || tp.partition < 0 || tp.partition >= t.partitions.length) {
      throw new RangeError(`partition: ${JSON.stringify(tp.partition)} is not a partition of ${JSON.stringify(tp.topic)} (0..${t.partitions.length - 1})`);
    }
    t.ends[tp.partition]! += count;
  }

  async seal(topic: string): Promise<void> {
    this.topic(topic).sealed = true;
  }

  async endOffset(tp: TopicPartition): Promise<number> {
    return this.partitionEnd(tp);
  }

  async read(tp: TopicPartition, from: number, to: number): Promise<LogRecord[]> {
    const log = this.partitionLog(tp);
    return log.slice(indexAt(log, from), indexAt(log, to));
  }

  async close(): Promise<void> {
    this.groups.clear();
  }

  /** @internal used by MemoryConsumer. */
  partitionLog(tp: TopicPartition): LogRecord[] {
    const t = this.topics.get(tp.topic);
    const log = t?.partitions[tp.partition];
    if (!log) throw new BrokerUnavailableError(`unknown topic partition ${JSON.stringify(tpKey(tp).replace('\u0000', ':'))}`);
    return log;
  }

  /** @internal the next offset to be written in a partition. */
  partitionEnd(tp: TopicPartition): number {
    this.partitionLog(tp);
    return this.topics.get(tp.topic)!.ends[tp.partition]!;
  }

  /** @internal the end offset of every partition of a topic (none when it does not exist). */
  partitionEnds(topic: string): number[] {
    return this.topics.get(topic)?.ends ?? [];
  }

  /** See {@link EventLog.isSealed}. */
  isSealed(topic: string): boolean {
    return this.topics.get(topic)?.sealed ?? false;
  }

  /** @internal */
  group(groupId: string): Group {
    const g = this.groups.get(groupId);
    if (!g) throw new BrokerUnavailableError(`consumer group ${JSON.stringify(groupId)} does not exist`);
    return g;
  }

  /** @internal */
  leave(member: MemoryConsumer): void {
    const group = this.groups.get(member.groupId);
    if (!group) return;
    group.members = group.members.filter((m) => m !== member);
    this.rebalance(group);
  }

  private topic(name: string, partitions = this.defaultPartitions): Topic {
    let t = this.topics.get(name);
    if (!t) {
      if (!Number.isInteger(partitions) || partitions < 1) throw new RangeError(`partitions: expected an integer >= 1, got ${JSON.stringify(partitions)}`);
      t = { partitions: Array.from({ length: partitions }, () => []), ends: Array.from({ length: partitions }, () => 0), sealed: false, nullKeyCursor: 0 };
      this.topics.set(name, t);
    }
    return t;
  }

  /** Range assignment: per topic, contiguous partition ranges to members in join order. */
  private rebalance(group: Group): void {
    const owned = new Map<MemoryConsumer, TopicPartition[]>(group.members.map((m) => [m, []]));
    const topics = [...new Set(group.members.flatMap((m) => m.topics))];
    for (const topic of topics) {
      const members = group.members.filter((m) => m.topics.includes(topic));
      const count = this.topics.get(topic)!.partitions.length;
      const per = Math.floor(count / members.length);
      const extra = count % members.length;
      let next = 0;
      members.forEach((m, i) => {
        const n = per + (i < extra ? 1 : 0);
        for (let p = next; p < next + n; p++) owned.get(m)!.push({ topic, partition: p });
        next += n;
      });
    }
    for (const [m, tps] of owned) m.assign(tps, group.committed);
  }
}

/** A member of a consumer group of the in-process log. */
class MemoryConsumer implements Consumer {
  private owned: TopicPartition[] = [];
  private readonly positions = new Map<string, number>();
  private closed = false;

  constructor(private readonly log: MemoryEventLog, readonly groupId: string, readonly topics: string[], readonly memberId: string) {}

  assign(tps: TopicPartition[], committed: Map<string, CommittedOffset>): void {
    const keep = new Map(this.positions);
    this.positions.clear();
    for (const tp of tps) this.positions.set(tpKey(tp), keep.get(tpKey(tp)) ?? committed.get(tpKey(tp))?.offset ?? 0);
    this.owned = tps;
  }

  assignment(): TopicPartition[] {
    return [...this.owned];
  }

  /** Whether records of `tp` lie past this member's read position (its end offset is beyond it). */
  behind(tp: TopicPartition): boolean {
    const pos = this.positions.get(tpKey(tp));
    return pos !== undefined && pos < this.log.partitionEnd(tp);
  }

  async poll(maxRecords: number): Promise<PollResult> {
    this.assertOpen();
    const records: LogRecord[] = [];
    let budget = Math.max(1, Math.floor(maxRecords));
    // Round-robin over partitions in slices so one busy partition cannot starve the others.
    const slice = Math.max(1, Math.ceil(budget / Math.max(1, this.owned.length)));
    let progressed = true;
    while (budget > 0 && progressed) {
      progressed = false;
      for (const tp of this.owned) {
        if (budget <= 0) break;
        const key = tpKey(tp);
        const pos = this.positions.get(key)!;
        const log = this.log.partitionLog(tp);
        const from = indexAt(log, pos);
        const take = Math.min(slice, budget, log.length - from);
        // Past the last record: over the offsets that hold none (as a Kafka fetch moves past control records).
        if (take <= 0) {
          this.positions.set(key, Math.max(pos, this.log.partitionEnd(tp)));
          continue;
        }
        for (let i = 0; i < take; i++) records.push(log[from + i]!);
        this.positions.set(key, from + take === log.length ? Math.max(log[from + take - 1]!.offset + 1, this.log.partitionEnd(tp)) : log[from + take - 1]!.offset + 1);
        budget -= take;
        progressed = true;
      }
    }
    const endOfInput =
      records.length === 0 &&
      this.owned.every((tp) => this.log.isSealed(tp.topic) && this.positions.get(tpKey(tp))! >= this.log.partitionEnd(tp));
    return { records, endOfInput };
  }

  async commit(offsets: CommittedOffset[]): Promise<void> {
    this.assertOpen();
    const group = this.log.group(this.groupId);
    for (const o of offsets) {
      if (!this.positions.has(tpKey(o))) {
        throw new BrokerUnavailableError(`commit refused: ${o.topic}:${o.partition} is not owned by member ${this.memberId} of group ${JSON.stringify(this.groupId)} (rebalanced away)`);
      }
      const bytes = Buffer.byteLength(o.metadata ?? '', 'utf8');
      if (bytes > this.log.offsetMetadataMaxBytes) throw new CommitMetadataTooLargeError(this.groupId, [`${o.topic}:${o.partition}`], bytes);
      group.committed.set(tpKey(o), { ...o });
    }
  }

  async committed(tp: TopicPartition): Promise<CommittedOffset | null> {
    const c = this.log.group(this.groupId).committed.get(tpKey(tp));
    return c ? { ...c } : null;
  }

  async groupDrained(): Promise<boolean> {
    const group = this.log.group(this.groupId);
    return this.topics.every((topic) =>
      this.log.isSealed(topic) &&
      this.log.partitionEnds(topic).every((end, partition) => (group.committed.get(tpKey({ topic, partition }))?.offset ?? 0) === end));
  }

  seek(tp: TopicPartition, offset: number): void {
    if (!this.positions.has(tpKey(tp))) throw new RangeError(`seek: ${tp.topic}:${tp.partition} is not assigned to this member`);
    this.positions.set(tpKey(tp), offset);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.log.leave(this);
  }

  private assertOpen(): void {
    if (this.closed) throw new BrokerUnavailableError(`consumer ${this.memberId} of group ${JSON.stringify(this.groupId)} is closed`);
  }
}
