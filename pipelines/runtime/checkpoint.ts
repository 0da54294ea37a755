/**
 * What a processor keeps beside each committed input offset (the commit metadata, JSON), and its
 * encoding within Kafka's metadata limit (run-processor.ts writes and reads it).
 */
import type { Seq } from '../processor.ts';
import { MAX_FLOOR_SHIFT, packFloors, unpackFloors } from './floors.ts';

/**
 * What a processor keeps beside each committed input offset (the commit
 * metadata, JSON), so that a new owner of the partition resumes without
 * reading whole output topics.
 */
export interface Checkpoint {
  /** Max event time seen before the committed offset, bounded by log time as `watermarkTime` (restores the watermark). */
  maxTs: number | null;
  /** Last emission position of each lane of the partition at commit time. */
  lanes?: Record<string, Seq>;
  /**
   * Per output partition (`topic:partition`): an offset at or below which no emission made after the commit lands.
   * Written by earlier versions only (it grew by an entry per output partition, past Kafka's 4096-byte limit at
   * 64 partitions); read for their checkpoints. Now {@link packedFloors}.
   */
  floors?: Record<string, number>;
  /**
   * The same floors, packed per output topic (floors.ts `packFloors`), possibly lowered to fit
   * {@link MAX_COMMIT_METADATA_BYTES}. Absent (with `floors`): a restart scans the outputs from their start.
   */
  packedFloors?: Record<string, string>;
  /** Fingerprint of the processor's settings that made the committed output (see `settingsFingerprint`). */
  settings?: string;
  /**
   * Those settings themselves (the processor's `settings` JSON), where the checkpoint stays within
   * {@link MAX_CHECKPOINT_BYTES} with them: a refusal then names the settings that differ.
   */
  settingsJson?: string;
  /** The partition's watermark per input topic when the commit was made (finite ones), ms: for `Processor.restore`. */
  watermarks?: Record<string, number>;
  /**
   * Per input topic of the partition, the next offset to process when the commit was made (≥ its committed
   * offset): the records below it had been read before it (a replay reads them again), for `Processor.restore`.
   * Every topic's, in each topic's checkpoint: a topic never committed on the partition has none of its own.
   */
  reads?: Record<string, number>;
  /**
   * Input topics of the partition whose watermark had reached end of input (+∞: sealed and drained, every window
   * fired and every held record released) when the commit was made. A later run keeps them there, so a record
   * produced after that is late, as README says of records after a seal: restored to its finite watermark, a run
   * took such a record as on time into a state already flushed (a trial: one joined no load sample held before, one
   * was dropped as a replay of an emission position already taken, neither enriched nor late).
   */
  ended?: string[];
}

/**
 * Largest commit metadata a checkpoint takes, UTF-8 bytes: Kafka's default `offset.metadata.max.bytes` (the broker
 * refuses a commit with longer metadata: OFFSET_METADATA_TOO_LARGE). The broker counts characters, never more than
 * UTF-8 bytes.
 */
export const MAX_COMMIT_METADATA_BYTES = 4096;

/**
 * Largest checkpoint, UTF-8 bytes, that also carries the settings' JSON: the lanes and exact floors come first.
 */
const MAX_CHECKPOINT_BYTES = 3072;

/**
 * The settings that differ between two processors' settings JSON, for a message: `sizeMs 300000 there,
 * 60000 here; …` (keys in either; values as JSON); '' when none differs. Null when either is not a JSON object.
 */
export function settingsDiff(there: string, here: string): string | null {
  const object = (text: string): Record<string, unknown> | null => {
    try {
      const v: unknown = JSON.parse(text);
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  };
  const a = object(there);
  const b = object(here);
  if (a === null || b === null) return null;
  const text = (v: unknown) => (v === undefined ? 'unset' : JSON.stringify(v));
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => text(a[k]) !== text(b[k]));
  return keys.map((k) => `${k} ${text(a[k])} there, ${text(b[k])} here`).join('; ');
}

/** A checkpoint as commit metadata, and what was left out or lowered to fit it ({@link checkpointMetadata}). */
export interface CheckpointText {
  /** The commit metadata (JSON). */
  metadata: string;
  /**
   * Bits of precision dropped from the floors' steps (floors.ts `packFloors`): 0 exact; more, each floor lowered by
   * less than 2^shift records (a restart scans that many more); null: the floors were left out (with them the
   * lanes' positions may stay), so a restart scans the outputs from their start.
   */
  floorShift: number | null;
  /** Whether the lanes' positions were left out too (a restart takes them from its scan of the outputs alone). */
  lanesDropped: boolean;
}

/**
 * A checkpoint as commit metadata (JSON) of at most {@link MAX_COMMIT_METADATA_BYTES} UTF-8 bytes, at any partition
 * count and offset size.
 *
 * Behaviour, first that fits: (1) with the settings' JSON (`settingsJson`) and exact floors, while that stays
 * within {@link MAX_CHECKPOINT_BYTES}; (2) exact floors; (3) floors lowered by the least shift that fits (each a
 * lower bound still: a restart scans a few more output records, and is as exact); (4) without the floors, so a
 * restart scans the outputs from their start (slower, as exact); (5) without the lanes' positions too (that scan
 * finds them; only those of output records retention already deleted are lost). The floors never stay without the
 * lanes: a scan from the floors finds only what was emitted after the commit. What is left — max event time,
 * watermarks, read positions and ended inputs per input topic, settings fingerprint — grows with the input topics
 * only (a few hundred bytes each); should it still not fit, it is returned as is and the broker's refusal names it
 * (errors.ts `CommitMetadataTooLargeError`).
 * @param cp            The checkpoint, without floors.
 * @param floors        Per output partition (`topic:partition`), the offset at or below which no later emission lands.
 * @param settingsJson  The processor's settings JSON; undefined: none.
 * @param maxBytes      Largest metadata, UTF-8 bytes. @default MAX_COMMIT_METADATA_BYTES
 * @returns             The metadata, and what was lowered or left out.
 */
export function checkpointMetadata(cp: Omit<Checkpoint, 'floors' | 'packedFloors'>, floors: ReadonlyMap<string, number>, settingsJson: string | undefined, maxBytes = MAX_COMMIT_METADATA_BYTES): CheckpointText {
  const fits = (text: string, limit = maxBytes) => Buffer.byteLength(text, 'utf8') <= limit;
  const at = (shift: number) => JSON.stringify({ ...cp, packedFloors: packFloors(floors, shift) });
  const exact = at(0);
  if (settingsJson !== undefined) {
    // The exact text with the settings' JSON appended as its last key (JSON.stringify's order).
    const withJson = `${exact.slice(0, -1)},"settingsJson":${JSON.stringify(settingsJson)}}`;
    if (fits(withJson, Math.min(MAX_CHECKPOINT_BYTES, maxBytes))) return { metadata: withJson, floorShift: 0, lanesDropped: false };
  }
  if (fits(exact)) return { metadata: exact, floorShift: 0, lanesDropped: false };
  if (fits(at(MAX_FLOOR_SHIFT))) {
    // The text shortens as the shift grows: the least shift that fits, by bisection.
    let lo = 1;
    let hi = MAX_FLOOR_SHIFT;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (fits(at(mid))) hi = mid;
      else lo = mid + 1;
    }
    return { metadata: at(lo), floorShift: lo, lanesDropped: false };
  }
  const noFloors = JSON.stringify(cp);
  if (fits(noFloors)) return { metadata: noFloors, floorShift: null, lanesDropped: false };
  const { lanes: _lanes, ...rest } = cp;
  return { metadata: JSON.stringify(rest), floorShift: null, lanesDropped: true };
}

/**
 * A checkpoint's floors per output partition (`topic:partition` → offset): its packed ones, else an earlier
 * version's plain ones; null when it has none (or they cannot be read), so the outputs are scanned from their start.
 */
export function checkpointFloors(cp: Checkpoint): Map<string, number> | null {
  if (cp.packedFloors !== undefined && cp.packedFloors !== null && typeof cp.packedFloors === 'object') return unpackFloors(cp.packedFloors);
  if (cp.floors === undefined || cp.floors === null || typeof cp.floors !== 'object') return null;
  const out = new Map<string, number>();
  for (const [k, v] of Object.entries(cp.floors)) {
    if (!Number.isSafeInteger(v)) return null;
    out.set(k, v);
  }
  return out;
}

/** A committed checkpoint from its commit metadata; `{ maxTs: null }` when there is none or it is not JSON. */
export function parseCheckpoint(metadata: string | undefined): Checkpoint {
  if (!metadata) return { maxTs: null };
  try {
    return JSON.parse(metadata) as Checkpoint;
  } catch {
    return { maxTs: null };
  }
}
