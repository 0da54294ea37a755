/**
 * zod schemas of `POST /v1/gate` (the deployment gate, issue 7): the request
 * and the answer, checked against `GateRequest` / `GateReport` at compile time.
 */
import { z } from 'zod';
import type { GateReport, GateRequest } from './gate-evidence.ts';

const text = z.string().min(1).max(256);
const ms = z.number().nullable();

/** Body of `POST /v1/gate`. */
export const GateRequestSchema = z.strictObject({
  model: text,
  version: text,
  chip: text,
  servers: z.array(text).min(1).max(1024).optional(),
  slo_p99_ms: z.number().positive().max(1e9),
  macs: z.number().min(1).max(1e18).optional(),
  macs_now: z.number().min(1).max(1e18).optional(),
  lookback_hours: z.number().positive().max(24 * 365).optional(),
});

const FactorSchema = z.object({ compute: z.number(), io: z.number(), io_offset_ms: z.number(), spread: z.number(), log_sd: z.number(), io_uncertain: z.boolean(), sources: z.array(z.string()) });

const ServerGateSchema = z.object({
  server: z.string(),
  version_now: z.string(),
  chip_now: z.string(),
  answer: z.enum(['ALLOW', 'BLOCK', 'NEED_SHADOW']),
  reason: z.string(),
  slo_p99_ms: z.number(),
  now_p99_ms: ms,
  predicted_p99_ms: ms,
  p99_low_ms: ms,
  p99_high_ms: ms,
  peak: z.object({ start_ms: z.number(), end_ms: z.number(), requests: z.int(), model_requests: z.int() }).nullable(),
  factor: FactorSchema.nullable(),
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
});

type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;
/** Mutual assignability of the inferred and the contract types (compile-time only). */
export type GateSchemaChecks = [
  Assert<Same<z.output<typeof GateRequestSchema>, GateRequest>>,
  Assert<Same<z.output<typeof GateReportSchema>, GateReport>>,
];
