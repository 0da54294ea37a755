/**
 * Which topics are sealed, read from the control topic `edgelat.control.seals`.
 *
 * Behaviour: a lazily started consumer in its own random group reads the control
 * topic from the beginning and caches the keys (sealed topic names). A topic is
 * "not sealed" only once the watcher has read its control partition up to the
 * high watermark seen at the time of the question.
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Consumer as KafkaJsConsumer, Kafka } from 'kafkajs';
import { BrokerUnavailableError } from '../../errors.ts';
import { partitionForKey } from './murmur2.ts';
import { guard, SEALS_TOPIC, sleep } from './kafka-support.ts';

/** Cache of sealed topic names fed by a consumer of the control topic. */
export class SealWatcher {
  private readonly sealed = new Set<string>();
  /** Next offset to read per control partition. */
  private readonly positions = new Map<number, number>();
  private consumer: KafkaJsConsumer | null = null;
  private starting: Promise<void> | null = null;

  /**
   * @param kafka      Client used to create the watcher consumer.
   * @param admin      Connected admin client (high watermarks).
   * @param waitMs     How long a question waits for the watcher to catch up, milliseconds.
   */
  constructor(private readonly kafka: Kafka, private readonly admin: Admin, private readonly waitMs: number) {}

  /** Remember a seal made by this process (no need to wait for the control topic). */
  markSealed(topic: string): void {
    this.sealed.add(topic);
  }

  /**
   * Whether `topic` has been sealed by anyone.
   * @throws {BrokerUnavailableError} if the watcher cannot catch up within `waitMs`.
   */
  async isSealed(topic: string): Promise<boolean> {
    if (this.sealed.has(topic)) return true;
    const offsets = await guard('fetch seal offsets', () => this.admin.fetchTopicOffsets(SEALS_TOPIC));
    const p = partitionForKey(topic, offsets.length);
    const high = Number(offsets.find((o) => o.partition === p)?.high ?? 0);
    if (high === 0) return false;
    await this.start();
    const deadline = Date.now() + this.waitMs;
    while ((this.positions.get(p) ?? 0) < high) {
      if (this.sealed.has(topic)) return true;
      if (Date.now() > deadline) throw new BrokerUnavailableError(`kafka: seal watcher did not reach offset ${high} of ${SEALS_TOPIC}:${p} within ${this.waitMs} ms`, { retriable: true });
      await sleep(50);
    }
    return this.sealed.has(topic);
  }

  /** Stop the watcher consumer. */
  async close(): Promise<void> {
    const c = this.consumer;
    this.consumer = null;
    this.starting = null;
    if (c) await c.disconnect().catch(() => undefined);
  }

  private start(): Promise<void> {
    this.starting ??= (async () => {
      const c = this.kafka.consumer({ groupId: `edgelat-seals-${randomUUID()}`, maxWaitTimeInMs: 200, heartbeatInterval: 1000 });
      this.consumer = c;
      await guard('start seal watcher', async () => {
        await c.connect();
        await c.subscribe({ topics: [SEALS_TOPIC], fromBeginning: true });
        await c.run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) if (m.key) this.sealed.add(m.key.toString('utf8'));
            const last = Number(batch.lastOffset());
            if (last + 1 > (this.positions.get(batch.partition) ?? 0)) this.positions.set(batch.partition, last + 1);
          },
        });
      });
    })();
    return this.starting;
  }
}
