/**
 * Which topics are sealed, read from the control topic `edgelat.control.seals`.
 *
 * Behaviour: a question about a topic reads the one control partition its name hashes to, from where the last
 * read of that partition ended up to the high watermark at the time of the question (kafka-fetch.ts: no
 * consumer group), and caches the keys (sealed topic names). A topic is "not sealed" only once that partition
 * has been read up to that high watermark.
 */
import type { Admin } from 'kafkajs';
import type { PartitionFetcher } from './kafka-fetch.ts';
import { partitionForKey } from './murmur2.ts';
import { guard, SEALS_TOPIC } from './kafka-support.ts';

/** Cache of sealed topic names read from the control topic. */
export class SealWatcher {
  private readonly sealed = new Set<string>();
  /** Next offset to read per control partition. */
  private readonly positions = new Map<number, number>();

  /**
   * @param fetcher    Range reads of the control topic's partitions (its waitMs bounds a question's read).
   * @param admin      Connected admin client (high watermarks).
   */
  constructor(private readonly fetcher: PartitionFetcher, private readonly admin: Admin) {}

  /** Remember a seal made by this process (no need to read the control topic). */
  markSealed(topic: string): void {
    this.sealed.add(topic);
  }

  /**
   * Whether `topic` has been sealed by anyone.
   * @throws {BrokerUnavailableError} if the control partition cannot be read up to its high watermark in time.
   */
  async isSealed(topic: string): Promise<boolean> {
    if (this.sealed.has(topic)) return true;
    const offsets = await guard('fetch seal offsets', () => this.admin.fetchTopicOffsets(SEALS_TOPIC));
    const p = partitionForKey(topic, offsets.length);
    const o = offsets.find((x) => x.partition === p);
    const high = Number(o?.high ?? 0);
    const from = Math.max(this.positions.get(p) ?? 0, Number(o?.low ?? 0));
    if (from < high) {
      const markers = await guard(`read ${SEALS_TOPIC}:${p}`, () => this.fetcher.read({ topic: SEALS_TOPIC, partition: p }, from, high));
      for (const m of markers) if (m.key) this.sealed.add(m.key.toString('utf8'));
      if (high > (this.positions.get(p) ?? 0)) this.positions.set(p, high);
    }
    return this.sealed.has(topic);
  }
}
