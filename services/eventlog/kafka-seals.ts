/**
 * Which topics are sealed, read from the control topic `edgelat.control.seals`.
 *
 * Behaviour: a question about a topic reads the one control partition its name hashes to, from where the last
 * read of that partition ended up to the high watermark at the time of the question (kafka-fetch.ts: no
 * consumer group), and caches the keys (sealed topic names). A topic is "not sealed" only once that partition
 * has been read up to that high watermark. A marker seals the topic its key names only when its value is the JSON object
 * `{"sealed": <that topic>, …}` (`sealMarkerProblem`): any other record there is passed over, once, to `onRefused` (a
 * trial: a line `edge.inference.v1:sealed` typed into kcat sealed the topic for good, without a word).
 */
import type { Admin } from 'kafkajs';
import type { PartitionFetcher } from './kafka-fetch.ts';
import { partitionForKey } from './murmur2.ts';
import { guard, SEALS_TOPIC } from './kafka-support.ts';

/**
 * Why a record of the control topic is not a seal, or null when it is one: its key names the topic, and its value is a
 * JSON object whose `sealed` is that name (`KafkaEventLog.seal` writes `{"sealed": topic, "atMs": epoch ms}`; README
 * gives the line for kcat).
 * @param key    The record's key (UTF-8), null when it has none.
 * @param value  The record's value, null when it has none.
 */
export function sealMarkerProblem(key: string | null, value: Buffer | null): string | null {
  if (key === null || key === '') return 'it has no key (the key names the topic to seal)';
  const expected = `expected ${JSON.stringify({ sealed: key })}`;
  if (value === null || value.length === 0) return `its value is empty: ${expected}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return `its value ${JSON.stringify(value.toString('utf8').slice(0, 80))} is not JSON: ${expected}`;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return `its value ${JSON.stringify(value.toString('utf8').slice(0, 80))} is not a JSON object: ${expected}`;
  const sealed = (parsed as { sealed?: unknown }).sealed;
  if (sealed === undefined) return `its value has no "sealed": ${expected}`;
  if (sealed !== key) return `its value's "sealed" is ${JSON.stringify(sealed)}, not its key: ${expected}`;
  return null;
}

/** Cache of sealed topic names read from the control topic. */
export class SealWatcher {
  private readonly sealed = new Set<string>();
  /** Next offset to read per control partition. */
  private readonly positions = new Map<number, number>();

  /**
   * @param fetcher    Range reads of the control topic's partitions (its waitMs bounds a question's read).
   * @param admin      Connected admin client (high watermarks).
   * @param onRefused  Told of each record of the control topic that is not a seal (`sealMarkerProblem`): its key (null
   *                   without one), its offset and why.
   */
  constructor(
    private readonly fetcher: PartitionFetcher, private readonly admin: Admin,
    private readonly onRefused?: (refused: { key: string | null; partition: number; offset: string; problem: string }) => void,
  ) {}

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
      for (const m of markers) {
        const key = m.key ? m.key.toString('utf8') : null;
        const problem = sealMarkerProblem(key, m.value);
        if (problem === null) this.sealed.add(key!);
        else this.onRefused?.({ key, partition: p, offset: m.offset, problem });
      }
      if (high > (this.positions.get(p) ?? 0)) this.positions.set(p, high);
    }
    return this.sealed.has(topic);
  }
}
