/**
 * Edge-fleet simulator (DESIGN §6): a deterministic fleet of edge servers whose
 * latency follows an exact FCFS c-server queue under load, driven by the real
 * Azure LLM inference arrival trace (CC-BY-4.0, Patel et al., ISCA 2024) and
 * real per-chip MLPerf Inference SingleStream latencies (MLCommons, Apache-2.0),
 * both read from the repository's `data/` folder. See data/*\/README.md.
 */
export type { FleetServer, SimArrival, SimConfig, SimGroundTruth, SimResult } from './types.ts';
export { normalizeSimConfig, SIM_DEFAULTS } from './config.ts';
export { simulateFleet, simulateServerCapacity, INFERENCE_TOPIC, LOAD_TOPIC, SHADOW_TOPIC } from './simulate.ts';
export { simulateFcfsQueue, erlangC, mmcMeanWaitMs, type FcfsQueueResult, type ServiceTimeFn } from './queueing.ts';
export { createRng, type Rng } from './prng.ts';
export { CHIP_SPECS, LAW_PARAMS, LATENCY_LAW, MODEL_INPUT_BYTES, type ChipSpec } from './fleet.ts';
export { defaultDataDir, loadArrivalTrace, loadBaseLatencies, type ArrivalTrace, type BaseLatency } from './data.ts';
export { summarizeSimResult, type ServerSummary, type SimSummary } from './summary.ts';
