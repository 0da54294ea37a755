/**
 * zod schemas of `POST /v1/gate` (the deployment gate, issue 7): the request
 * and the answer, checked against `GateRequest` / `GateReport` at compile time.
 */
import { z } from 'zod';
import { MAX_IDS_PER_LIST } from './types.ts';
import { idText } from './id-schema.ts';
import type { GateReport, GateRequest } from './gate-evidence.ts';

// The one id rule of every route (a re-test: a bad id was a bad-request here, a validation-failed on predict).
const text = idText;
const ms = z.number().nullable();

/**
 * An optional field that may also be null, read as absent (a trial: a pipeline's template, or Python's None, sends
 * `"servers": null` for "unset", and got 400).
 */
const unset = <T extends z.ZodType>(schema: T) => schema.nullable().transform((v) => v ?? undefined).optional();

/** Body of `POST /v1/gate` (the optional fields may be null: absent). */
export const GateRequestSchema = z.strictObject({
  model: text,
  version: text,
  chip: text,
  servers: unset(z.array(text).min(1).max(MAX_IDS_PER_LIST)),
  slo_p99_ms: z.number().positive().max(1e9),
  // Counts: whole numbers (z.int() stops at 2^53, below 1e18).
  macs: unset(z.number().min(1).max(1e18).refine(Number.isInteger, 'expected a whole number of multiply-accumulates')),
  macs_now: unset(z.number().min(1).max(1e18).refine(Number.isInteger, 'expected a whole number of multiply-accumulates')),
  lookback_hours: unset(z.number().positive().max(24 * 365)),
  workers: unset(z.int().min(1).max(1024)).meta({ description: 'workers of one device of the candidate chip, in place of the largest concurrency the fleet\'s servers of it report (default: that, else unknown: 1 assumed, and the band\'s bottom has no queue there)' }),
});

const FactorSchema = z.object({ compute: z.number(), io: z.number(), io_offset_ms: z.number(), spread: z.number(), log_sd: z.number(), io_uncertain: z.boolean(), sources: z.array(z.string()) });

const ServerGateSchema = z.object({
  server: z.string(),
  version_now: z.string(),
  chip_now: z.string(),
  answer: z.enum(['ALLOW', 'BLOCK', 'NEED_SHADOW']),
  reason: z.string(),
  slo_p99_ms: z.number(),
  now_p99_ms: ms.meta({ description: 'p99 at the peak of what runs now, as replayed, ms; null when no replay ran' }),
  predicted_p99_ms: ms.meta({ description: 'p99 at the peak with the candidate, ms; null (and both band ends null) when no replay answers: no evidence of its cost, too few requests at the peak, or saturated (offered_utilisation ≥ 1)' }),
  p99_low_ms: ms.meta({ description: 'bottom of the p99 band, ms (null as predicted_p99_ms)' }),
  p99_high_ms: ms.meta({ description: 'top of the p99 band, ms; null next to a predicted p99: unbounded (the queue cannot drain with the factor pushed up), never within the SLO' }),
  peak: z.object({ start_ms: z.number(), end_ms: z.number(), requests: z.int(), model_requests: z.int() }).nullable(),
  offered_utilisation: z.number().nullable().meta({ description: 'busy fraction of the device\'s workers the requests need with the candidate (services slowed by their load), the highest over the days replayed; ≥ 1: saturated, BLOCK; null when nothing tells its cost' }),
  factor: FactorSchema.nullable(),
  target_workers: z.object({ count: z.int(), source: z.enum(['fleet', 'given', 'assumed']) }).nullable()
    .meta({ description: 'after a chip change to a device the server does not have yet: the workers the replay gave it and where the figure came from (fleet: the chip\'s servers reported it; given: the request; assumed: 1, none reported); null otherwise' }),
  measured: z.object({ p99_ms: z.number(), start_ms: z.number(), end_ms: z.number(), model_requests: z.int(), source: z.enum(['rollout', 'running', 'shadow']) }).nullable(),
});

/** Answer of `POST /v1/gate` (200 whatever the answer; `exit_code` is the CLI's). */
export const GateReportSchema = z.object({
  model: z.string(),
  version: z.string(),
  chip: z.string(),
  answer: z.enum(['ALLOW', 'BLOCK', 'NEED_SHADOW']),
  exit_code: z.int().min(0).max(2),
  slo_p99_ms: z.number(),
  servers: z.array(ServerGateSchema),
  left_out: z.array(z.object({ server: z.string(), newest_ms: z.number() }))
    .meta({ description: 'servers that ran the model but were not gated by default (no servers given): their newest request of it (epoch ms) is older than the lookback before the fleet\'s newest; empty when servers is given' }),
});

type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;
/** Mutual assignability of the inferred and the contract types (compile-time only). */
export type GateSchemaChecks = [
  Assert<Same<z.output<typeof GateRequestSchema>, GateRequest>>,
  Assert<Same<z.output<typeof GateReportSchema>, GateReport>>,
];
