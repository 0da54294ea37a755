import type { EnrichedInference, InferenceEvent, LoadSample } from '../../schemas/types.ts';
import { enrich } from '../../pipelines/join-load-latency.ts';

/** Epoch ms of an ISO time. */
export const at = (iso: string): number => Date.parse(iso);

let seq = 0;

/**
 * An InferenceEvent with plausible defaults. Its total holds its parts (schemas/validate.ts): a total given alone
 * splits into queue 10 %, i/o 20 % and compute 70 % of it; parts given without a total add up to it.
 */
export function makeInference(p: Partial<InferenceEvent> & { edge_server_id: string; ts: number }): InferenceEvent {
  seq++;
  const parts = p.queue_ms !== undefined || p.io_ms !== undefined || p.compute_ms !== undefined;
  const total = p.total_ms ?? 10;
  const queue = p.queue_ms ?? (parts ? 0 : 0.1 * total);
  const io = p.io_ms ?? (parts ? 0 : 0.2 * total);
  const compute = p.compute_ms ?? (parts ? 0 : total - queue - io);
  return {
    event_id: `ev-${seq}`, request_id: `rq-${seq}`, device_id: `${p.edge_server_id}-acc0`, model_id: 'resnet50', model_version: 'v1', chip: 'jetson-orin',
    runtime: 'tensorrt', batch_size: 1, input_bytes: 150528, queue_ms: queue, io_ms: io, compute_ms: compute, total_ms: p.total_ms ?? (parts ? queue + io + compute : total),
    status: 'ok', deployment_id: null, role: 'production',
    ...p,
  };
}

/** A LoadSample with plausible defaults. */
export function makeLoad(p: Partial<LoadSample> & { edge_server_id: string; ts: number }): LoadSample {
  return { cpu_util: 0.3, gpu_util: 0.5, mem_util: 0.4, queue_depth: 1, concurrency: 1, requests_per_s: 10, temperature_c: null, power_w: null, ...p };
}

/** An EnrichedInference (matched to `load` when given). */
export function makeEnriched(p: Partial<InferenceEvent> & { edge_server_id: string; ts: number }, load: LoadSample | null = null): EnrichedInference {
  return enrich(makeInference(p), load);
}

/** Seeded PRNG (mulberry32), uniform in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
