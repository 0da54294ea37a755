/**
 * Checks of command-line flags that need no data, in a module that loads nothing heavy (no chdb, onnxruntime or
 * learner): a command says its usage error at once (~0.2 s), before it imports and opens the warehouse (~0.7 s of CPU
 * before: `model train --kinds nope` took 2.9 s on a loaded machine).
 */
import { LOAD_FEATURES, TELEMETRY_TARGETS } from '../model/features.ts';
import { idProblem, quoteName } from '../names.ts';
import { MAX_LOAD } from '../predictor/types.ts';
import { checkFleetSize, checkWebhookUrl, DECIMAL_TEXT, shadowSimConfig, simConfigFromFlags, traceFilesFlag, type ShadowHandOverFlags } from './common.ts';
import { UsageError } from './usage-error.ts';

/** Production servers of the demo with a shadow deployment beside them. */
export const DEMO_SHADOW_SERVERS = 3;

/**
 * Most server-minutes (`--servers` × `--duration`) the embedded demo runs: it holds every record in memory (the
 * in-process log and chdb). Measured: 120 servers × 20 min (0.85 M records) ran in 9 min at 3.8 GB resident under
 * a 2 GiB JS heap limit; 1,000 servers × 20 min ran out of heap after about 2 min (a trial). 10× the default fleet.
 */
export const DEMO_MAX_SERVER_MINUTES = 2_400;

/** The flags of `recommend` that {@link checkRecommendUsage} reads (predictor.ts's RecommendOptions has them all). */
export interface RecommendUsage {
  /** SLO on the p99 total latency, ms. */
  sloP99Ms?: number;
  /** SLO on the p90 total latency, ms. */
  sloP90Ms?: number;
  model?: string;
  onnx?: string;
  profile?: string;
  chips?: string[];
}

/**
 * The telemetry targets `--kinds` names (default all five); a kind named twice (`--kinds a,a`) trains once.
 * @throws {UsageError} naming --kinds on an empty list (`--kinds ","`, `""` or `" "`: training nothing and exiting 0
 *   would look like success) or an unknown kind, listing the kinds.
 */
export function trainingTargets(kinds: readonly string[] = TELEMETRY_TARGETS.map((t) => t.kind)): typeof TELEMETRY_TARGETS {
  const unique = [...new Set(kinds)];
  if (unique.length === 0) throw new UsageError(`--kinds: expected at least one model kind, comma-separated; kinds are ${TELEMETRY_TARGETS.map((x) => x.kind).join(', ')}`);
  return unique.map((k) => {
    const t = TELEMETRY_TARGETS.find((x) => x.kind === k);
    if (!t) throw new UsageError(`--kinds: unknown model kind ${JSON.stringify(k)}; kinds are ${TELEMETRY_TARGETS.map((x) => x.kind).join(', ')}`);
    return t;
  });
}

/**
 * Parse `--load k=v` pairs into load values (unset ones are 0, idle).
 * @throws {UsageError} naming the pair on an unknown key or a value that is not a decimal number ≥ 0 (`0x1` is refused).
 */
export function parseLoad(pairs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of pairs) {
    const m = /^([a-z_]+)=(.*)$/.exec(p);
    if (!m || !(LOAD_FEATURES as readonly string[]).includes(m[1]!)) {
      throw new UsageError(`--load ${quoteName(p)}: expected key=value with key one of ${LOAD_FEATURES.join(', ')}`);
    }
    // A known key without a value: the value is what is missing (a trial: `gpu_util=` was told to use a known key).
    // The example is one the key's own checks take (a re-test: queue_depth was shown 0.6, a count refuses it).
    if (m[2] === '') {
      const [what, example] = m[1]!.endsWith('_util') ? ['a fraction 0..1', '0.6'] : m[1] === 'requests_per_s' ? ['a number ≥ 0', '4'] : ['a whole number ≥ 0', '2'];
      throw new UsageError(`--load ${m[1]}: no value after "=": expected ${what} (${m[1]}=${example})`);
    }
    const v = Number(m[2]);
    // Pairs joined in one argument (a trial: `gpu_util=0.6,requests_per_s=4`): one --load each.
    const joined = /^[^,\s]*[,\s]+([a-z_]+)=/.exec(m[2]!);
    if (joined) throw new UsageError(`--load ${m[1]}: expected one value, got ${JSON.stringify(m[2])}: give each key=value as its own --load (--load ${m[1]}=${m[2]!.split(/[,\s]/)[0]} --load ${joined[1]}=…)`);
    const range = m[1]!.endsWith('_util') ? 'a fraction 0..1' : 'a number ≥ 0';
    // A percentage with its sign (a re-test: gpu_util=60% had no hint).
    const percent = /^(\d+(?:\.\d+)?)\s*%$/.exec(m[2]!);
    if (m[1]!.endsWith('_util') && percent && Number(percent[1]) <= 100) throw new UsageError(`--load ${m[1]}: expected a fraction 0..1, got ${JSON.stringify(m[2])}: ${m[2]} is ${m[1]}=${Number((Number(percent[1]) / 100).toPrecision(12))}`);
    if (!DECIMAL_TEXT.test(m[2]!) || !Number.isFinite(v) || v < 0) throw new UsageError(`--load ${m[1]}: expected ${range}, got ${JSON.stringify(m[2])}`);
    // A percentage (a trial's gpu_util=60) is named as one; from 2 up (1.5 is likelier a slip than 1.5 %).
    if (m[1]!.endsWith('_util') && v > 1) throw new UsageError(`--load ${m[1]}: a utilisation is a fraction 0..1, got ${m[2]}${v >= 2 && v <= 100 ? ` (a percentage? ${m[2]} % is ${m[1]}=${Number((v / 100).toPrecision(12))})` : ''}`);
    if (v > MAX_LOAD) throw new UsageError(`--load ${m[1]}: expected at most ${MAX_LOAD}, got ${m[2]}`);
    // Counts of requests, as a load sample carries them (load-sample.v1: int); a trial's concurrency=0.5 was answered.
    if ((m[1] === 'queue_depth' || m[1] === 'concurrency') && !Number.isInteger(v)) throw new UsageError(`--load ${m[1]}: a count of requests is a whole number, got ${m[2]}`);
    if (m[1]! in out) throw new UsageError(`--load ${m[1]} is given twice (${out[m[1]!]} and ${m[2]}): give it once`);
    out[m[1]!] = v;
  }
  return out;
}

/**
 * The usage problems of `recommend`'s flags that need no data: exactly one SLO, exactly one of --model, --onnx and
 * --profile (both said in one message), and --chips not blank with each id by the one id rule (as POST /v1/recommend
 * checks its chips). Checked before the warehouse opens, so that bad usage is said at once, even while another
 * process holds the folder.
 * @throws {UsageError} naming the flags.
 */
export function checkRecommendUsage(opts: RecommendUsage): void {
  // Both usage problems in one message (a trial: `recommend` alone named the SLO, and the model only on the next try).
  const missing = [
    (opts.sloP99Ms === undefined) === (opts.sloP90Ms === undefined) ? 'give exactly one of --slo-p99-ms and --slo-p90-ms' : null,
    [opts.model, opts.onnx, opts.profile].filter((x) => x !== undefined).length !== 1 ? 'give exactly one of --model ID, --onnx FILE and --profile FILE' : null,
  ].filter((m): m is string => m !== null);
  if (missing.length > 0) throw new UsageError(missing.join('; '));
  const chips = opts.chips;
  if (chips !== undefined && chips.length === 0) throw new UsageError('--chips: expected chip ids separated by commas, got a blank value');
  const bad = chips?.map((c) => idProblem('--chips', c)).find((p) => p !== null);
  if (bad) throw new UsageError(bad);
}

/** What {@link demoSimulation} reads of `demo`'s flags. */
export interface DemoFlags extends ShadowHandOverFlags {
  /** Simulated event-time span, minutes. */
  duration: number;
  servers: number;
  seed: number;
  /** Max arrival delay of a record after its event time, ms. */
  jitter: number;
  alertsWebhook?: string;
  alertsStates?: Set<string>;
  /** Production servers with a shadow deployment. @default DEMO_SHADOW_SERVERS, capped at `servers` */
  shadows?: number;
  /** Whether `shadows` was typed (false: the default, capped at `servers`). @default true */
  shadowsGiven?: boolean;
  trace?: string[];
}

/**
 * The simulator's settings of `edgelat demo` from its flags, every usage problem found before anything is loaded or
 * opened: a bad webhook URL, `--alerts-states` without `--alerts-webhook`, a typed `--shadows` above `--servers`, more
 * than {@link DEMO_MAX_SERVER_MINUTES} server-minutes, a `--trace` file that cannot be read, or a setting the simulator
 * refuses (named by its flag).
 * @returns The simulator's input (`sim`), the trace files given (undefined: the repository's cut) and the run's start,
 *   epoch ms.
 * @throws {UsageError} naming the flag and value.
 */
export async function demoSimulation(opts: DemoFlags): Promise<{ sim: Parameters<typeof simConfigFromFlags>[0]; traceFiles: string[] | undefined; startMs: number }> {
  if (opts.alertsWebhook !== undefined) checkWebhookUrl(opts.alertsWebhook);
  if (opts.alertsStates !== undefined && opts.alertsWebhook === undefined) throw new UsageError('--alerts-states filters what --alerts-webhook posts: give --alerts-webhook too');
  if (opts.shadows !== undefined && opts.shadows > opts.servers && (opts.shadowsGiven ?? true)) {
    throw new UsageError(`--shadows ${opts.shadows} is more than --servers ${opts.servers}: each shadow deployment runs beside one production server; give --shadows ${opts.servers} or less, or more --servers`);
  }
  checkFleetSize(opts.servers, opts.duration, DEMO_MAX_SERVER_MINUTES, 'the embedded demo');
  const traceFiles = await traceFilesFlag(opts.trace);
  const sim: Parameters<typeof simConfigFromFlags>[0] = {
    seed: opts.seed, servers: opts.servers, durationMs: opts.duration * 60_000, maxJitterMs: opts.jitter,
    shadows: shadowSimConfig(Math.min(opts.shadows ?? DEMO_SHADOW_SERVERS, opts.servers), opts), ...(traceFiles ? { traceFiles } : {}),
  };
  const { startMs } = simConfigFromFlags(sim);
  return { sim, traceFiles, startMs };
}

/**
 * `model promote`'s argument: an empty one (an unset shell variable) is no version to look up among the registered
 * ones (a trial), said before the registry is opened.
 * @throws {UsageError} naming the command and the value.
 */
export function checkVersionArgument(version: string): void {
  if (version.trim() === '') throw new UsageError(`model promote: expected a version (\`edgelat model list\` lists them), got ${JSON.stringify(version)}`);
}
