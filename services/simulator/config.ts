/**
 * Defaults and validation of {@link SimConfig} (STYLE §4: one normalize*Config).
 */
import { defaultDataDir } from './data.ts';
import type { ShadowSimConfig, SimConfig } from './types.ts';

/** Default values of every {@link SimConfig} field except `dataDir`, `shadows` and `traceFiles`. */
export const SIM_DEFAULTS: Readonly<Required<Omit<SimConfig, 'dataDir' | 'shadows' | 'traceFiles'>>> = Object.freeze({
  seed: 42,
  servers: 12,
  durationMs: 20 * 60_000,
  startMs: Date.UTC(2024, 5, 1, 10),
  maxJitterMs: 1500,
  loadIntervalMs: 1000,
  rateScale: 1,
});

const KNOWN = new Set(['seed', 'servers', 'durationMs', 'startMs', 'maxJitterMs', 'loadIntervalMs', 'rateScale', 'dataDir', 'shadows', 'traceFiles']);

/** Defaults of a shadow config's optional fields. */
export const SHADOW_DEFAULTS: Readonly<Required<Omit<ShadowSimConfig, 'servers'>>> = Object.freeze({ sampleShare: 1, maxLagMs: 3000, reorderShare: 0.1, reorderMs: 1500 });

function fraction(field: string, value: unknown, openLow: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value > 1 || (openLow ? value <= 0 : value < 0)) throw bad(field, value, `a number in ${openLow ? '(0' : '[0'}, 1]`);
  return value;
}

function show(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return JSON.stringify(value) ?? String(value);
}

function bad(field: string, value: unknown, rule: string): RangeError {
  return new RangeError(`invalid sim config: ${field} must be ${rule}, got ${show(value)}`);
}

function int(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw bad(field, value, `an integer in [${min}, ${max}]`);
  }
  return value;
}

/**
 * Apply defaults to a partial config and validate every field.
 *
 * Behaviour: missing or `undefined` fields take {@link SIM_DEFAULTS}; `dataDir`
 * defaults to the repository's `data/` folder. The result has every field set.
 * @param partial  Any subset of the fields.
 * @returns        A complete, valid config (a new object).
 * @throws {RangeError} naming the first bad field and its value: unknown field,
 *   seed not a safe integer, servers outside 1..1000, durationMs outside
 *   1..7 days, startMs outside 0..8.64e15, maxJitterMs outside 0..1 h,
 *   loadIntervalMs outside 1..durationMs, rateScale not in (0, 50], dataDir not a non-empty string, traceFiles not a
 *   non-empty list of paths;
 *   shadows.servers outside 0..servers, sampleShare not in (0, 1], maxLagMs / reorderMs outside 0..60000,
 *   reorderShare not in [0, 1].
 * @example normalizeSimConfig({ servers: 4, durationMs: 60_000 })
 */
export function normalizeSimConfig(partial: Partial<SimConfig>): SimConfig {
  if (partial === null || typeof partial !== 'object') throw bad('config', partial, 'an object');
  for (const k of Object.keys(partial)) {
    if (!KNOWN.has(k)) throw new RangeError(`invalid sim config: unknown field ${JSON.stringify(k)}`);
  }
  const pick = <K extends keyof SimConfig>(k: K): SimConfig[K] | undefined => partial[k];
  const seedRaw = pick('seed') ?? SIM_DEFAULTS.seed;
  if (typeof seedRaw !== 'number' || !Number.isSafeInteger(seedRaw)) throw bad('seed', seedRaw, 'a safe integer');
  const servers = int('servers', pick('servers') ?? SIM_DEFAULTS.servers, 1, 1000);
  const durationMs = int('durationMs', pick('durationMs') ?? SIM_DEFAULTS.durationMs, 1, 7 * 86_400_000);
  const startMs = int('startMs', pick('startMs') ?? SIM_DEFAULTS.startMs, 0, 8.64e15);
  const maxJitterMs = int('maxJitterMs', pick('maxJitterMs') ?? SIM_DEFAULTS.maxJitterMs, 0, 3_600_000);
  const loadIntervalMs = int('loadIntervalMs', pick('loadIntervalMs') ?? SIM_DEFAULTS.loadIntervalMs, 1, durationMs);
  const rateScale = pick('rateScale') ?? SIM_DEFAULTS.rateScale;
  if (typeof rateScale !== 'number' || !Number.isFinite(rateScale) || rateScale <= 0 || rateScale > 50) {
    throw bad('rateScale', rateScale, 'a number in (0, 50]');
  }
  const dataDir = pick('dataDir') ?? defaultDataDir();
  if (typeof dataDir !== 'string' || dataDir.length === 0) throw bad('dataDir', dataDir, 'a non-empty string');
  const traceFiles = pick('traceFiles');
  if (traceFiles !== undefined && !(Array.isArray(traceFiles) && traceFiles.length > 0 && traceFiles.every((f) => typeof f === 'string' && f.length > 0))) {
    throw bad('traceFiles', traceFiles, 'a non-empty list of file paths');
  }
  const sh = pick('shadows');
  let shadows: Required<ShadowSimConfig> | undefined;
  if (sh !== undefined) {
    if (sh === null || typeof sh !== 'object') throw bad('shadows', sh, 'an object');
    for (const k of Object.keys(sh)) if (!['servers', 'sampleShare', 'maxLagMs', 'reorderShare', 'reorderMs'].includes(k)) throw new RangeError(`invalid sim config: unknown field ${JSON.stringify(`shadows.${k}`)}`);
    shadows = {
      servers: int('shadows.servers', sh.servers, 0, servers),
      sampleShare: fraction('shadows.sampleShare', sh.sampleShare ?? SHADOW_DEFAULTS.sampleShare, true),
      maxLagMs: int('shadows.maxLagMs', sh.maxLagMs ?? SHADOW_DEFAULTS.maxLagMs, 0, 60_000),
      reorderShare: fraction('shadows.reorderShare', sh.reorderShare ?? SHADOW_DEFAULTS.reorderShare, false),
      reorderMs: int('shadows.reorderMs', sh.reorderMs ?? SHADOW_DEFAULTS.reorderMs, 0, 60_000),
    };
  }
  return { seed: seedRaw, servers, durationMs, startMs, maxJitterMs, loadIntervalMs, rateScale, dataDir, ...(shadows ? { shadows } : {}), ...(traceFiles ? { traceFiles: [...traceFiles] } : {}) };
}
