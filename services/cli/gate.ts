/**
 * `edgelat gate`: should a model version on a chip roll out? ALLOW / BLOCK /
 * NEED_SHADOW with exit codes 0 / 1 / 2 for CI/CD pipelines (errors exit 64
 * for bad usage, 70 otherwise, never 0–2). `--backtest` simulates a
 * deployment history and scores the gate on every rollout of it.
 */
import { Option, type Command } from 'commander';
import type { BacktestResult } from '../predictor/gate-backtest.ts';
import type { GateReport } from '../predictor/gate-evidence.ts';
import type { MeasuredSource, ServerGate } from '../predictor/gate.ts';
import { idProblem } from '../names.ts';
import { GATE_DEFAULTS, GATE_EXIT_CODES } from '../predictor/gate-options.ts';
import { msText } from '../predictor/ms-text.ts';
import { NoEvidenceError, NotFoundError } from '../predictor/types.ts';
import { MAC_OPERATORS_TEXT } from '../profiler/types.ts';
import { InvalidArgumentError } from 'commander';
import { dimFlag, idListFlag, intFlag, numberFlag, readOnnxFile } from './common.ts';
import { UsageError } from './usage-error.ts';


/**
 * A MAC count flag: a whole number 1..1e18, plain or in scientific notation (`4.1e9`); a fraction is no count (a
 * trial's `--macs 1.5` was gated as 1.500e+0 MACs).
 * @throws {InvalidArgumentError} naming the flag and value.
 */
function countFlag(name: string): (value: string) => number {
  const number = numberFlag(name, 1, true, 1e18);
  return (value) => {
    const n = number(value);
    if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be a whole number of multiply-accumulates, got ${JSON.stringify(value)}`);
    return n;
  };
}

/** Exit code of a gate command that could not answer: bad usage. */
export const GATE_USAGE_EXIT = 64;
/** Exit code of a gate command that could not answer: anything else. */
export const GATE_ERROR_EXIT = 70;

interface GateFlags {
  model?: string; version?: string; chip?: string; servers?: string[]; sloP99Ms?: number; macs?: number; macsNow?: number; onnx?: string; dim?: Record<string, number>; workers?: number;
  lookbackHours: number; json: boolean; backtest: boolean; seed: number; z: number; details: boolean;
}

/** Add `gate` to `program`. */
export function registerGateCommand(program: Command): void {
  program
    .command('gate')
    .description('deployment gate: the p99 each target server would have at its observed peak load with the candidate (its own requests replayed through its queue with the candidate\'s service time, from shadow verdicts, fleet measurements, profiles or benchmarks), with an uncertainty band, against the SLO: ALLOW (exit 0), BLOCK (exit 1) or NEED_SHADOW (exit 2: run it as a shadow first); exit 64 on bad usage, 70 on any other error, 75 when another edgelat process still held the embedded warehouse after EDGELAT_LOCK_WAIT_S (try again), or at once when it is `edgelat serve` (see below). --backtest simulates a deployment history and replays every rollout through the gate with only the data from before it')
    .option('--model <id>', 'model to roll out, e.g. resnet50 (required without --backtest)')
    .option('--version <v>', 'version to roll out (the running one to change only the chip) (required without --backtest)')
    .option('--chip <id>', 'chip to run it on (the running one to change only the version) (required without --backtest)')
    .addOption(new Option('--servers <ids>', 'comma-separated target servers (blanks around a comma are ignored), repeatable (default: every server running the model)').argParser(serverList))
    .addOption(new Option('--slo-p99-ms <ms>', 'p99 objective at peak load, ms (> 0, at most 1e9) (required without --backtest)').argParser(numberFlag('--slo-p99-ms', 0, false, 1e9)))
    .addOption(new Option('--macs <n>', 'multiply-accumulates per inference of the new version (its profile), a whole number 1..1e18 (e.g. 4.1e9)').argParser(countFlag('--macs')))
    .option('--onnx <file>', 'ONNX file of the new version: its MACs are profiled at batch 1, per request (instead of --macs)')
    .addOption(new Option('--dim <name=n>', 'with --onnx: value of a named symbolic dim of its inputs past the batch (repeatable, at most 64), e.g. seq=128, or the first dim of a time-major input ([seq, N, …], whose batch is N); one left unset makes the MACs a lower bound, which the gate refuses').argParser(dimFlag))
    .addOption(new Option('--macs-now <n>', 'MACs of the running version, a whole number 1..1e18 (default: the model\'s published MACs)').argParser(countFlag('--macs-now')))
    .addOption(new Option('--lookback-hours <h>', 'hours of telemetry before each server\'s newest request of the model, > 0 up to 8760 (a year)').default(24).argParser(numberFlag('--lookback-hours', 0, false, 24 * 365)))
    .addOption(new Option('--workers <n>', 'workers of one device of --chip, 1..1024, in place of the largest concurrency the fleet\'s servers of it report (default: that; none reported: 1 assumed, and the band\'s bottom has no queue there)').argParser(intFlag('--workers', 1, 1024)))
    .option('--backtest', 'simulate a deployment history and score the gate on it (recall, specificity)', false)
    .addOption(new Option('--seed <n>', 'with --backtest: seed of its history').default(1).argParser(intFlag('--seed', 0)))
    .addOption(new Option('--z <z>', 'with --backtest: half-width of the uncertainty band in standard deviations (a z-score: 0.95, the gate\'s, leaves about 17 % above the band\'s top one-sided, not 5 %); > 0, at most 10').default(GATE_DEFAULTS.z).argParser(numberFlag('--z', 0, false, 10)))
    .option('--details', 'with --backtest --json: every rollout with the gate\'s answer and what happened', false)
    .option('--json', 'print the answer as JSON', false)
    .addHelpText('after', `
Examples (after \`npm start\`):
  npx edgelat gate --model bert-99 --version v1 --chip jetson-agx-orin --servers edge-04 --slo-p99-ms 50
  npx edgelat gate --model resnet50 --version v2 --macs 8e9 --chip jetson-xavier-nx --slo-p99-ms 40 --json
  npx edgelat gate --backtest --seed 7 --json

Exit codes: 0 ALLOW, 1 BLOCK, 2 NEED_SHADOW, 64 bad usage, 70 error, 75 the embedded warehouse stayed
held by another edgelat process for EDGELAT_LOCK_WAIT_S (default 60 s; two gates at once take turns), or at
once when the holder is \`edgelat serve\`, which holds it until stopped: a retry cannot succeed then; run the
gate with EDGELAT_CLICKHOUSE_URL set to serve's ClickHouse port (the line names it), or POST /v1/gate to serve.
With --json, an exit of 64, 70 or 75 prints {"error": text, "exit_code": n} on stdout too. Stopped by Ctrl-C
or SIGTERM (a CI step's time-out), it ends as the signal does, 130 or 143, with nothing on stdout.
--backtest --json prints {seed, rollouts, rolled_back, need_shadow, blocked, recall, specificity}:
blocked counts BLOCK and NEED_SHADOW; recall = blocked among the rolled back, specificity = allowed
among the kept (fractions 0..1). A backtest exits 0 whatever its score. --details adds details: a row a
rollout, {day, server, model, version_now, chip_now, version, chip, change, answer, rolled_back, slo_p99_ms,
predicted_p99_ms, p99_low_ms, p99_high_ms, actual_p99_ms, reason} (ms; the gate report's names).`)
    .action(async (opts: GateFlags, cmd: Command) => {
      const gate = { ...GATE_DEFAULTS, z: opts.z };
      const given = (name: string): boolean => cmd.getOptionValueSource(name) === 'cli';
      if (opts.backtest) {
        const unused = ['model', 'version', 'chip', 'servers', 'sloP99Ms', 'macs', 'onnx', 'dim', 'macsNow', 'lookbackHours', 'workers'].filter(given);
        if (unused.length > 0) throw new UsageError(`--backtest simulates its own history and takes only --seed, --z, --json and --details; not ${unused.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}`);
        if (opts.details && !opts.json) throw new UsageError('--details needs --json (it lists every rollout in the JSON)');
        const [{ createProgress }, { backtestGate }] = await Promise.all([import('./progress.ts'), import('../predictor/gate-backtest.ts')]);
        const progress = createProgress();
        progress.stage('backtest: simulating the history', 0);
        // The rollouts gated, counted on a terminal (a trial: the gating, 10 of a run's 16 s, said nothing more).
        const r = backtestGate({ seed: opts.seed }, gate, (done, total) => {
          if (done === 1) progress.stage('backtest: gating each rollout with what was known before it', total, 'rollouts');
          progress.update(done);
        });
        progress.stop();
        process.stdout.write(opts.json ? `${JSON.stringify(backtestJson(r, opts.details))}\n` : formatBacktest(r));
        return;
      }
      // --z too: a gate's answer from another band than the default's would not say so (nor could POST /v1/gate ask for one: a trial).
      for (const flag of ['seed', 'z', 'details'].filter(given)) throw new UsageError(`--${flag} is used only with --backtest`);
      for (const [flag, value] of [['--model', opts.model], ['--version', opts.version], ['--chip', opts.chip], ['--slo-p99-ms', opts.sloP99Ms]] as const) {
        if (value === undefined) throw new UsageError(`${flag} is required (or --backtest)`);
        // The request's id rule (predictor/gate.ts), checked before the warehouse opens.
        const problem = typeof value === 'string' ? idProblem(flag, value) : null;
        if (problem !== null) throw new UsageError(problem);
      }
      // A blank --servers is no list of servers (a trial: it waited for the warehouse, then failed there).
      if (opts.servers !== undefined && opts.servers.length === 0) throw new UsageError('--servers: expected server ids separated by commas, got a blank value (leave --servers out for every server running the model)');
      if (opts.onnx !== undefined && opts.macs !== undefined) throw new UsageError('give --macs or --onnx, not both');
      if (opts.dim !== undefined && opts.onnx === undefined) throw new UsageError('--dim sets a dim of the inputs of --onnx: give --onnx too');
      let macs = opts.macs;
      if (opts.onnx !== undefined) {
        const bytes = readOnnxFile('--onnx', opts.onnx);
        const { OnnxProfileError } = await import('../profiler/onnx-values.ts');
        const { profileOnce } = await import('../profiler/profile-worker.ts');
        let uncounted: string[];
        try {
          ({ macs, unknown_shape_nodes: uncounted } = await profileOnce(bytes, opts.dim ? { dims: opts.dim } : {}));
        } catch (error) {
          // The gate counts per request, batch 1: it has no --batch to point to (a trial).
          if (error instanceof OnnxProfileError) throw new UsageError(`--onnx ${JSON.stringify(opts.onnx)}: ${error.message.replace(/: set it with the batch, not as a dim$/, ': the gate counts it as 1 (per request): leave it out of --dim')}`);
          throw error;
        }
        // A lower bound of its MACs would read as a cheaper candidate than it is, and could ALLOW it (as recommend says "may miss").
        if (uncounted.length > 0) {
          const { uncountedSummary } = await import('../profiler/uncounted.ts');
          throw new UsageError(`--onnx ${JSON.stringify(opts.onnx)}: its ${macs} MACs are a lower bound (${uncountedSummary(uncounted)}), so its cost would read low: give --macs with the whole count, or run it as a shadow`);
        }
        if (!(macs! >= 1)) throw new UsageError(`--onnx ${JSON.stringify(opts.onnx)}: no countable MACs (none of ${MAC_OPERATORS_TEXT}), so its service time cannot be scaled: give --macs or run it as a shadow`);
      }
      // Loaded when a gate runs, not at the CLI's start-up.
      const [{ loadConfig }, { configuredWarehouse }, { gateFromWarehouse }] = await Promise.all([import('../config.ts'), import('./open-warehouse.ts'), import('../predictor/gate-evidence.ts')]);
      const warehouse = await configuredWarehouse(loadConfig(), { existing: 'tables' });
      try {
        let report: GateReport;
        try {
          report = await gateFromWarehouse(warehouse, {
            model: opts.model!, version: opts.version!, chip: opts.chip!, slo_p99_ms: opts.sloP99Ms!, lookback_hours: opts.lookbackHours,
            ...(opts.servers ? { servers: opts.servers } : {}), ...(macs !== undefined ? { macs } : {}), ...(opts.macsNow !== undefined ? { macs_now: opts.macsNow } : {}),
            ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
          }, gate);
        } catch (error) {
          if (error instanceof NotFoundError || error instanceof RangeError) throw new UsageError(inFlagTerms(error.message, opts.onnx !== undefined ? { macs: `--onnx ${JSON.stringify(opts.onnx)}` } : {}, opts.servers));
          // Not a usage error (exit 70), but in the same words (a trial: "model: no request of …" where usage errors say --model).
          if (error instanceof NoEvidenceError) error.message = inFlagTerms(error.message);
          throw error;
        }
        process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : formatReport(report));
        process.exitCode = GATE_EXIT_CODES[report.answer];
      } finally {
        await warehouse.close();
      }
    });
}

/** Flag of each field of a gate request (gate-evidence.ts `GateRequest`, the HTTP body's names). */
const FLAG_OF_FIELD: Readonly<Record<string, string>> = {
  model: '--model', version: '--version', chip: '--chip', servers: '--servers', slo_p99_ms: '--slo-p99-ms',
  macs: '--macs', macs_now: '--macs-now', lookback_hours: '--lookback-hours', workers: '--workers',
};

/**
 * A gate request's error in the CLI's words: the field it starts with (`macs_now: …`) and the
 * fields it names in parentheses (`(macs_now)`, `(macs 5e9)`) become the flags that set them.
 * @param flags  Flags that set a field here instead of the usual one (`{ macs: '--onnx "v2.onnx"' }`).
 * @param servers  The ids of --servers as the request got them: `servers[i]: …` becomes `--servers "<id i>": …`.
 */
export function inFlagTerms(message: string, flags: Readonly<Record<string, string>> = {}, servers: readonly string[] = []): string {
  const flag = (field: string): string | undefined => flags[field] ?? FLAG_OF_FIELD[field];
  return message
    // An item of a list by its value, not by its place in the list the flags made (a trial: `servers[1]:` where
    // the flag is --servers, and the index counted the merged, de-duplicated ids of repeated flags).
    .replace(/^servers\[(\d+)\]:/, (whole, i: string) => (servers[Number(i)] !== undefined ? `--servers ${JSON.stringify(servers[Number(i)])}:` : whole))
    .replace(/^([a-z_0-9]+):/, (whole, field: string) => (flag(field) ? `${flag(field)}:` : whole))
    .replace(/\((macs_now|macs)\b/g, (_, field: string) => `(${flag(field)}`);
}

function backtestJson(r: BacktestResult, details: boolean): object {
  const { details: rows, ...score } = r;
  return details ? { ...score, details: rows } : score;
}

const ms = (x: number | null): string => (x === null ? '-' : Number.isFinite(x) ? `${msText(x)} ms` : 'saturated');
const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(1)} %`);

/** What measured the candidate, in the text report. */
const MEASURED_BY: Readonly<Record<MeasuredSource, string>> = { rollout: 'by an earlier rollout of the candidate', running: 'running now', shadow: 'by a shadow beside the server (the same requests)' };

/** The end of a window after its start: the time of day alone on the same UTC day, else the whole ISO time (across midnight). */
const untilText = (startMs: number, endMs: number): string => {
  const [start, end] = [new Date(startMs).toISOString(), new Date(endMs).toISOString()];
  return start.slice(0, 10) === end.slice(0, 10) ? end.slice(11) : end;
};

/** The gate's report as text, one block per server (answer, reason, band, measurement, factor); ms values as `msText`. */
export function formatReport(r: GateReport): string {
  // The SLO as given where the usual digits would round it (a trial: 10.39 read "10.4 ms" above a line saying 10.390).
  const slo = Number(msText(r.slo_p99_ms)) === r.slo_p99_ms ? ms(r.slo_p99_ms) : `${r.slo_p99_ms} ms`;
  const lines = [`${r.answer}: ${r.model} ${r.version} on ${r.chip}, p99 SLO ${slo} at peak load (exit ${r.exit_code})`];
  for (const s of r.servers) {
    lines.push(`  ${s.server} (now ${s.version_now} on ${s.chip_now}): ${s.answer} — ${s.reason}`);
    // A null top next to a p99: the queue cannot drain at the pushed factor (JSON: null, "unbounded").
    const high = s.p99_high_ms === null ? 'unbounded' : ms(s.p99_high_ms);
    // Every request counts, failed ones too (a time-out at its latency): the SLO is what callers waited; `recommend` reads ok ones.
    // The window itself, and what makes it the peak (a trial read a shorter, slower burst outside it as the day's peak).
    const peak = s.peak
      ? `peak ${new Date(s.peak.start_ms).toISOString()} to ${untilText(s.peak.start_ms, s.peak.end_ms)} (the server's busiest window by requests; ${s.peak.model_requests} requests of the model, failed ones included)`
      : 'peak - (0 requests of the model)';
    const busy = s.offered_utilisation === null ? '' : `; with it the ${workersText(s.target_workers, r.chip)} ${pct(s.offered_utilisation)} busy (the busiest busy period of the days replayed)`;
    if (s.predicted_p99_ms !== null) lines.push(`    p99 at peak now ${ms(s.now_p99_ms)}, with the candidate ${ms(s.predicted_p99_ms)} [${ms(s.p99_low_ms)}, ${high}]; ${peak}${busy}`);
    else if (s.offered_utilisation !== null && s.offered_utilisation >= 1) {
      lines.push(`    p99 at peak now ${ms(s.now_p99_ms)}, with the candidate saturated (its requests need ${s.offered_utilisation.toPrecision(3)}× the workers' time); ${peak}`);
    } else if (s.now_p99_ms !== null) lines.push(`    p99 at peak now ${ms(s.now_p99_ms)}, with the candidate unknown; ${peak}`);
    if (s.measured) lines.push(`    measured here ${MEASURED_BY[s.measured.source]}: p99 at peak ${ms(s.measured.p99_ms)} (${new Date(s.measured.start_ms).toISOString()}, ${s.measured.model_requests} requests of the model)`);
    if (s.factor) lines.push(`    service time ×${factorText(s.factor.compute)} compute, ×${factorText(s.factor.io)} i/o (log-sd ${factorText(s.factor.log_sd)}${s.factor.io_uncertain ? '' : ' on the compute; the i/o as measured'}): ${s.factor.sources.join('; ')}`);
  }
  if (r.left_out.length > 0) {
    lines.push(`  not gated: ${r.left_out.map((x) => `${x.server} (its newest request of ${r.model} ${new Date(x.newest_ms).toISOString()})`).join(', ')}: older than the lookback before the fleet's newest; name them with --servers to gate them`);
  }
  return `${lines.join('\n')}\n`;
}

/** The replay's workers in the report's words: a new device's count and where it came from (`ServerGate.target_workers`). */
function workersText(w: ServerGate['target_workers'], chip: string): string {
  if (w === null) return 'workers are';
  const why = w.source === 'fleet' ? 'as its servers report' : w.source === 'given' ? 'as --workers gives' : 'assumed: no server of it reports its concurrency, so the band\'s bottom has no queue there; --workers sets it';
  return `${w.count} worker(s) of a new ${chip} device (${why}) are`;
}

function formatBacktest(r: BacktestResult): string {
  return [
    `gate backtest, seed ${r.seed}: ${r.rollouts} rollouts, ${r.rolled_back} rolled back`,
    `  blocked ${r.blocked} (NEED_SHADOW ${r.need_shadow}, counted as a block)`,
    `  recall ${pct(r.recall)} (rolled back and blocked), specificity ${pct(r.specificity)} (kept and allowed)`,
  ].join('\n') + '\n';
}

/** `--servers` value(s): {@link idListFlag} of servers (`edge-04,,edge-09` refused, repeats merged). */
export const serverList = idListFlag('--servers', 'server');

/** A multiplier or a log-sd for the text report: 3 decimals, or 3 significant digits below 0.1 (×0.00246, not ×0.002). */
function factorText(x: number): string {
  return Math.abs(x) >= 0.1 || x === 0 ? x.toFixed(3) : x.toPrecision(3);
}
