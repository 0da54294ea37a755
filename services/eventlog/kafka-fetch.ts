/**
 * Reads of one partition's offset range without a consumer group: Fetch requests sent straight to the
 * partition's leader, as Kafka's `consumer.assign()` + `seek()` read.
 *
 * Why: kafkajs has no `assign()`; a read through a throwaway group waited for the group's first join, which a
 * broker delays by `group.initial.rebalance.delay.ms` (3 s by default; librdkafka's mock cluster too), so every
 * `read()` took over 3 s (`alerts tail` polled each partition that way) and left a group behind on the broker.
 *
 * How: kafkajs 2.2's own cluster client (its Kafka's private createCluster: same brokers, SASL, TLS, retries),
 * the leader from its metadata, its Fetch request (version negotiated with the broker: record batches,
 * compression) and its consumer's `Batch` (drops records before the fetch offset, control records and
 * aborted transactions). Those are kafkajs internals: kafkajs is frozen at 2.2.4 (package-lock), and a kafkajs
 * without them fails at the first read with an error that says so (reads are tested in test/integration/kafka-retention.test.ts
 * and the Kafka EventLog conformance suite).
 */
import { createRequire } from 'node:module';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { BrokerUnavailableError } from '../../errors.ts';
import type { TopicPartition } from './types.ts';

/** The part of kafkajs's internal broker client used here. */
interface FetchBroker {
  fetch(request: {
    replicaId: number; isolationLevel: number; maxWaitTime: number; minBytes: number; maxBytes: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<{ responses: { topicName: string; partitions: FetchedPartition[] }[] }>;
}

/** One partition of a Fetch response, as kafkajs decodes it. */
interface FetchedPartition {
  partition: number;
  highWatermark: string;
  messages: (KafkaMessage & { isControlRecord?: boolean })[];
}

/** The part of kafkajs's internal cluster client used here. */
interface Cluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(node: { nodeId: string }): Promise<FetchBroker>;
}

/** kafkajs's consumer `Batch`: the records of one fetched partition a consumer hands out. */
type BatchClass = new (topic: string, fetchedOffset: string, partition: FetchedPartition) => {
  messages: KafkaMessage[];
  messagesWithinOffset: KafkaMessage[];
};

const require = createRequire(import.meta.url);
/** Kafka's READ_COMMITTED, kafkajs's consumer default: aborted transactions are not read. */
const READ_COMMITTED = 1;
/** Longest a Fetch waits at the broker for the first byte, ms (the range is below the high watermark: it has data). */
const FETCH_WAIT_MS = 200;
/** Bytes asked per Fetch (a larger first record batch still comes whole, KIP-74). */
const FETCH_MAX_BYTES = 8 << 20;

/** kafkajs's consumer `Batch` class. @throws {BrokerUnavailableError} when this kafkajs has none. */
function kafkajsBatch(): BatchClass {
  try {
    return require('kafkajs/src/consumer/batch.js') as BatchClass;
  } catch (e) {
    throw new BrokerUnavailableError('kafka: this kafkajs has no src/consumer/batch.js (edgelat reads partitions through kafkajs 2.2 internals; see package-lock.json)', { cause: e });
  }
}

/**
 * Range reads of partitions through one connection to the cluster, opened at the first read.
 * Not a consumer: it commits nothing and joins no group.
 */
export class PartitionFetcher {
  private cluster: Promise<Cluster> | null = null;
  /** The read in progress (reads run one after another). */
  private queue: Promise<void> = Promise.resolve();

  /**
   * @param kafka   The client whose brokers, SASL, TLS and retry settings the reads use.
   * @param waitMs  Longest one read may take, ms (then BrokerUnavailableError, retriable).
   */
  constructor(private readonly kafka: Kafka, private readonly waitMs: number) {}

  /**
   * Records of offsets [from, to) of one partition, in offset order (keys, values, headers as produced). The range
   * must be stored: from ≥ the partition's oldest offset, to ≤ its high watermark (the caller clamps it); offsets
   * that hold no record (control records of transactions) are passed over.
   * @throws {BrokerUnavailableError} when the leader cannot be reached or answers an error, when the range is not
   *   read within `waitMs`, or when this kafkajs lacks the internals used here.
   */
  read(tp: TopicPartition, from: number, to: number): Promise<KafkaMessage[]> {
    // One read at a time: kafkajs connects a broker on first use without a lock, and two reads that found it
    // unconnected opened two sockets, one of which outlived disconnect() and kept the process alive (a trial:
    // `alerts tail` reading 3 partitions at once did not exit on SIGTERM). A read takes milliseconds.
    const run = this.queue.then(() => this.readNow(tp, from, to));
    this.queue = run.then(() => undefined, () => undefined);
    return run;
  }

  private async readNow(tp: TopicPartition, from: number, to: number): Promise<KafkaMessage[]> {
    const cluster = await this.connect();
    const Batch = kafkajsBatch();
    const out: KafkaMessage[] = [];
    const deadline = Date.now() + this.waitMs;
    let next = from;
    let stale = false;
    while (next < to) {
      if (Date.now() > deadline) {
        throw new BrokerUnavailableError(`kafka: read of ${tp.topic}:${tp.partition} [${from}, ${to}) reached offset ${next} within ${this.waitMs} ms`, { retriable: true });
      }
      let fetched: FetchedPartition | undefined;
      try {
        if (stale) await cluster.refreshMetadata();
        const broker = await this.leader(cluster, tp);
        const response = await broker.fetch({
          replicaId: -1, isolationLevel: READ_COMMITTED, maxWaitTime: FETCH_WAIT_MS, minBytes: 1, maxBytes: FETCH_MAX_BYTES,
          topics: [{ topic: tp.topic, partitions: [{ partition: tp.partition, fetchOffset: String(next), maxBytes: FETCH_MAX_BYTES }] }],
        });
        fetched = response.responses.find((r) => r.topicName === tp.topic)?.partitions.find((p) => p.partition === tp.partition);
      } catch (e) {
        // A leader moved, or metadata was not there yet: ask again with fresh metadata, until the deadline.
        const retriable = (e as { retriable?: boolean }).retriable === true || /leader|metadata|not connected/i.test(String((e as Error)?.message));
        if (!retriable) throw e;
        stale = true;
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      stale = false;
      if (!fetched) continue;
      const batch = new Batch(tp.topic, String(next), fetched);
      for (const m of batch.messages) if (Number(m.offset) < to) out.push(m);
      const last = batch.messagesWithinOffset.at(-1);
      if (last !== undefined) next = Number(last.offset) + 1;
    }
    return out;
  }

  /** Close the connection (if one was opened). Idempotent. */
  async close(): Promise<void> {
    await this.queue;
    const c = this.cluster;
    this.cluster = null;
    if (c) await c.then((x) => x.disconnect()).catch(() => undefined);
  }

  /** The leader broker of `tp` by the cluster's metadata (fetched for the topic at its first use). */
  private async leader(cluster: Cluster, tp: TopicPartition): Promise<FetchBroker> {
    await cluster.addTargetTopic(tp.topic);
    const leaders = cluster.findLeaderForPartitions(tp.topic, [tp.partition]);
    const nodeId = Object.keys(leaders)[0];
    if (nodeId === undefined) throw new BrokerUnavailableError(`kafka: no leader of ${tp.topic}:${tp.partition} in the metadata`, { retriable: true });
    return cluster.findBroker({ nodeId });
  }

  private connect(): Promise<Cluster> {
    this.cluster ??= (async () => {
      const create = Object.getOwnPropertySymbols(this.kafka).find((s) => s.description === 'private:Kafka:createCluster');
      if (create === undefined) throw new BrokerUnavailableError('kafka: this kafkajs has no createCluster (edgelat reads partitions through kafkajs 2.2 internals; see package-lock.json)');
      const cluster = (this.kafka as unknown as Record<symbol, (o: object) => Cluster>)[create]!({ allowAutoTopicCreation: false, isolationLevel: READ_COMMITTED });
      await cluster.connect();
      return cluster;
    })();
    const pending = this.cluster;
    pending.catch(() => { if (this.cluster === pending) this.cluster = null; });
    return pending;
  }
}
