/**
 * What a processor keeps beside each committed input offset (the commit metadata, JSON), and its
 * encoding within Kafka's metadata limit (run-processor.ts writes and reads it).
 */
import type { Seq } from '../processor.ts';

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
  /** Per output partition (`topic:partition`): an offset at or below which no emission made after the commit lands. */
  floors?: Record<string, number>;
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
 * Largest checkpoint, UTF-8 bytes, that also carries the settings' JSON: Kafka refuses commit metadata over
 * `offset.metadata.max.bytes` (4096 by default), and the lanes and floors come first.
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

/**
 * A checkpoint as commit metadata (JSON): with the settings' JSON (`settingsJson`) while that stays within
 * {@link MAX_CHECKPOINT_BYTES} UTF-8 bytes, else without it (a refusal then shows fingerprints only).
 * @param cp            The checkpoint (any JSON object).
 * @param settingsJson  The processor's settings JSON; undefined: none.
 */
export function checkpointMetadata(cp: object, settingsJson: string | undefined): string {
  const text = JSON.stringify(cp);
  if (settingsJson === undefined) return text;
  const withJson = JSON.stringify({ ...cp, settingsJson });
  return Buffer.byteLength(withJson, 'utf8') <= MAX_CHECKPOINT_BYTES ? withJson : text;
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
