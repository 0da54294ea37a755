/**
 * The output floors of a checkpoint (checkpoint.ts `Checkpoint.packedFloors`) in a compact text that stays short at
 * any partition count: one string per output topic, its partitions' floors as base-36 steps above the topic's lowest.
 */
import { keyPartition, partitionKey } from '../../services/eventlog/types.ts';

/** Largest shift {@link packFloors} takes: 2^53 exceeds every safe offset, so every step is 0 (each topic's lowest floor alone). */
export const MAX_FLOOR_SHIFT = 53;

const BASE36 = /^[0-9a-z]*$/;

/**
 * Pack floors (per output partition, `topic:partition` → offset) per topic as `"<n>:<shift>:<base>:<steps>"`:
 * `n` partitions (0 … n − 1; one the map lacks gets floor 0), `base` the lowest floor (base 36), and `steps` the
 * comma-separated `⌊(floor − base) / 2^shift⌋` of each partition in order (base 36, "" for 0), or "" alone when
 * every step is 0.
 *
 * Behaviour: a floor only bounds from below where a later emission can land, so a lower one is still right (a
 * restart then scans a few more output records); with `shift` > 0 each floor is lowered by less than 2^shift
 * records, and with {@link MAX_FLOOR_SHIFT} each topic keeps only its lowest floor, at a size that no longer grows
 * with the partition count but by one comma a partition.
 * @param floors  Offsets (non-negative safe integers) per output partition key (`partitionKey`).
 * @param shift   Bits of precision dropped from each step, 0 (exact) … {@link MAX_FLOOR_SHIFT}.
 * @returns       Packed floors per output topic.
 * @throws {RangeError} if `shift` is not an integer in 0 … 53 (a programmer error, never retried).
 * @see unpackFloors
 */
export function packFloors(floors: ReadonlyMap<string, number>, shift: number): Record<string, string> {
  if (!Number.isInteger(shift) || shift < 0 || shift > MAX_FLOOR_SHIFT) throw new RangeError(`shift: expected an integer in 0 … ${MAX_FLOOR_SHIFT}, got ${JSON.stringify(shift)}`);
  const byTopic = new Map<string, number[]>();
  for (const [key, offset] of floors) {
    const { topic, partition } = keyPartition(key);
    const list = byTopic.get(topic) ?? [];
    list[partition] = Math.max(0, Math.floor(offset));
    byTopic.set(topic, list);
  }
  const scale = 2 ** shift;
  const out: Record<string, string> = {};
  for (const [topic, list] of byTopic) {
    const all = Array.from(list, (o) => o ?? 0);
    const base = Math.min(...all);
    const steps = all.map((o) => Math.floor((o - base) / scale));
    const text = steps.every((d) => d === 0) ? '' : steps.map((d) => (d === 0 ? '' : d.toString(36))).join(',');
    out[topic] = `${all.length}:${shift}:${base.toString(36)}:${text}`;
  }
  return out;
}

/**
 * Floors per output partition (`topic:partition` → offset) from {@link packFloors}'s text, each at or below the
 * floor that was packed. Null when any topic's text cannot be read (another version's, or garbled): the caller then
 * has no floors and scans the outputs from their start, which is slower but exact.
 * @param packed  Packed floors per output topic.
 */
export function unpackFloors(packed: Readonly<Record<string, unknown>>): Map<string, number> | null {
  const out = new Map<string, number>();
  for (const [topic, text] of Object.entries(packed)) {
    if (typeof text !== 'string') return null;
    const parts = text.split(':');
    if (parts.length !== 4) return null;
    const [nText, shiftText, baseText, stepsText] = parts as [string, string, string, string];
    const n = Number(nText);
    const shift = Number(shiftText);
    if (!/^\d+$/.test(nText) || !Number.isSafeInteger(n) || n < 1 || !/^\d+$/.test(shiftText) || shift > MAX_FLOOR_SHIFT) return null;
    if (baseText === '' || !BASE36.test(baseText)) return null;
    const base = parseInt(baseText, 36);
    const steps = stepsText === '' ? new Array<string>(n).fill('') : stepsText.split(',');
    if (steps.length !== n) return null;
    for (let partition = 0; partition < n; partition++) {
      const s = steps[partition]!;
      if (!BASE36.test(s)) return null;
      const floor = base + (s === '' ? 0 : parseInt(s, 36)) * 2 ** shift;
      if (!Number.isSafeInteger(floor)) return null;
      out.set(partitionKey({ topic, partition }), floor);
    }
  }
  return out;
}
