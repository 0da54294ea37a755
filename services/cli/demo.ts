import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from './usage-error.ts';
import type { EdgelatConfig } from '../config.ts';
import { chdbDir, embeddedOnlyNote, modelDir } from '../config.ts';
import { createLogger } from '../log.ts';
import { assertReplaceable, DemoRefusedError, KEPT_BY_DEMO, runDemo } from '../pipeline/demo.ts';
import { prepareStaging, publishStaging, StagingNameTakenError, stagingDatabase } from '../pipeline/demo-staging.ts';
import { readSummary } from '../pipeline/summary.ts';
import { ChdbWarehouse } from '../warehouse/chdb.ts';
import { waitForFolder } from './open-warehouse.ts';
import { createProgress } from './progress.ts';
import { endBySignalAfter, type ShadowHandOverFlags } from './common.ts';
import { DEMO_MAX_SERVER_MINUTES, DEMO_SHADOW_SERVERS, demoSimulation } from './usage-checks.ts';
import { readAlertChanges } from '../alerts/alert-log.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import { MODEL_LATENCY_TOPIC } from '../model/lifecycle.ts';
import { scheduledRunTimes } from '../model/training-schedule.ts';
import { ModelRegistry } from '../model/registry.ts';
import { importBenchmarkCut } from '../model/telemetry.ts';
import { createBackend } from '../predictor/backend.ts';
import { fleetMedianRate } from '../predictor/evidence.ts';
import { EDGE_CHIPS_CSV, importChips } from './predictor.ts';

import { trainTelemetryModels } from './model.ts';
import { printable } from '../names.ts';

/** Model and SLO of the demo's chip recommendation line. */
const DEMO_RECOMMEND_MODEL = 'resnet50';
const DEMO_SLO_P99_MS = 50;

const fmt = (n: number): string => n.toLocaleString('en-US');

/** Retraining schedule the demo replays in event time when EDGELAT_RETRAIN_CRON is unset: every 10 minutes. */
export const DEMO_RETRAIN_CRON = '*/10 * * * *';

/** The folder of this package (package.json's; dist/ links to it). */
const PACKAGE_ROOT = dirname(realpathSync(fileURLToPath(new URL('../../package.json', import.meta.url))));

/**
 * How the demo's "try:" commands start: `npx edgelat`, after the data folder and database of this run when the
 * environment set them (a trial: pasted as shown, the commands read ./.edgelat instead of the demo's folder), and
 * after an empty EDGELAT_CLICKHOUSE_URL when it set one (the demo ran embedded, not on that server). Outside the
 * package's folder `npx edgelat` finds no edgelat (npx would look it up in the npm registry, a trial): there it is
 * `node <package>/bin/edgelat.js`.
 * Values are single-quoted for the shell unless they are plain (letters, digits, `_ . / : @ % + , -`).
 * @param env   The environment the demo ran with.
 * @param cwd   The folder the demo ran in. @default process.cwd()
 * @param root  This package's folder. @default the folder of its package.json
 */
export function suggestionPrefix(env: Readonly<Record<string, string | undefined>>, cwd = process.cwd(), root = PACKAGE_ROOT): string {
  const quote = (v: string): string => (/^[\w./:@%+,-]+$/.test(v) ? v : `'${v.replaceAll("'", "'\\''")}'`);
  const set = (['EDGELAT_DATA_DIR', 'EDGELAT_DATABASE'] as const).filter((k) => (env[k] ?? '') !== '').map((k) => `${k}=${quote(env[k]!)} `);
  // The demo ran on the embedded warehouse: a server's URL in the environment would send the pasted commands there.
  const embedded = (env.EDGELAT_CLICKHOUSE_URL ?? '') !== '' ? 'EDGELAT_CLICKHOUSE_URL= ' : '';
  const within = relative(root, cwd);
  const inside = within === '' || (!within.startsWith('..') && !isAbsolute(within));
  return `${embedded}${set.join('')}${inside ? 'npx edgelat' : `node ${quote(join(root, 'bin', 'edgelat.js'))}`}`;
}

export { DEMO_MAX_SERVER_MINUTES, DEMO_SHADOW_SERVERS };

/**
 * The unpaired requests of a deployment's line, '' when none: shown where a sample or a lag left requests without their
 * other side (a trial: `--shadow-sample 0.6` left 1,309 production requests unpaired, and the line said nothing).
 */
function unpairedText(production: number, shadow: number): string {
  if (production === 0 && shadow === 0) return '';
  return `; unpaired: ${fmt(production)} production request(s)${shadow > 0 ? `, ${fmt(shadow)} shadow result(s)` : ''}`;
}

/** One line per shadow deployment (verdict counts over its windows and the median ratio), and a gate command for the first. */
async function shadowSummary(warehouse: ChdbWarehouse): Promise<{ lines: string[]; gate: string | null }> {
  const rows = await warehouse.query<{ s: string; m: string; v: string; pc: string; sc: string; windows: number; better: number; worse: number; equivalent: number; inconclusive: number; pairs: number; failed: number; unpaired: number; unpairedShadow: number; ratio: number | null; empty: number }>(
    `SELECT edge_server_id AS s, model_id AS m, any(shadow_version) AS v, production_chip AS pc, shadow_chip AS sc, count() AS windows, countIf(verdict = 'BETTER') AS better, countIf(verdict = 'WORSE') AS worse,
            countIf(verdict = 'EQUIVALENT') AS equivalent, countIf(verdict = 'INCONCLUSIVE') AS inconclusive, sum(pairs) AS pairs, sum(failed_pairs) AS failed, sum(unpaired_production) AS unpaired, sum(unpaired_shadow) AS unpairedShadow, quantileExactLowIf(0.5)(ratio, ratio IS NOT NULL) AS ratio,
            countIf(sv.pairs + sv.failed_pairs = 0) AS empty
     FROM ${warehouse.database}.shadow_verdicts AS sv WHERE production_chip != 'unknown' GROUP BY s, m, pc, sc ORDER BY s, m`);
  if (rows.length === 0) return { lines: [], gate: null };
  const first = rows[0]!;
  const empty = rows.reduce((a, r) => a + Number(r.empty), 0);
  const lines = [
    `shadow verdicts       ${fmt(rows.reduce((a, r) => a + Number(r.windows), 0))} windows (shadow / production latency, same request; ratio: the lower median of a deployment's windows' Hodges–Lehmann ratios${empty > 0 ? `; ${fmt(empty)} without a measured request: the shadow silent, late or skewed there` : ''}; table ${warehouse.database}.shadow_verdicts)`,
    ...rows.map((r) => `  ${r.s} ${r.m.padEnd(18)} ${r.pc} → ${r.sc}: ratio ${r.ratio === null ? '-' : Number(r.ratio).toFixed(2)}, ${fmt(Number(r.pairs))} pairs (+${fmt(Number(r.failed))} failed${unpairedText(Number(r.unpaired), Number(r.unpairedShadow))}); BETTER ${r.better}, WORSE ${r.worse}, EQUIVALENT ${r.equivalent}, INCONCLUSIVE ${r.inconclusive}`),
  ];
  return { lines, gate: `gate --model ${first.m} --version ${first.v} --chip ${first.sc} --servers ${first.s} --slo-p99-ms ${DEMO_SLO_P99_MS}` };
}

/**
 * Whether a database holds a run: its `inference_events` has rows (a database `migrate` made, or none, holds none).
 * @throws {WarehouseError} from the warehouse.
 */
async function holdsRun(warehouse: ChdbWarehouse): Promise<boolean> {
  const [row] = await warehouse.query<{ n: number | string }>(
    "SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = 'inference_events' AND total_rows > 0", { db: warehouse.database });
  return Number(row?.n ?? 0) > 0;
}

/**
 * `edgelat demo`: run the embedded main job and print its summary on stdout
 * (progress and logs on stderr).
 * @param opts.shadows       Production servers with a shadow deployment; more than `servers` is refused when typed,
 *                           the default ({@link DEMO_SHADOW_SERVERS}) is capped at `servers`. @default DEMO_SHADOW_SERVERS
 * @param opts.shadowsGiven  Whether `shadows` was asked for (false: the CLI's default, capped at `servers`). @default true
 * @throws {UsageError} on a bad webhook URL, `--alerts-states` without `--alerts-webhook`, a typed `--shadows`
 *   above `--servers`, more than {@link DEMO_MAX_SERVER_MINUTES} server-minutes, or a setting the simulator refuses
 *   (named by its flag).
 */
export async function demoCommand(config: EdgelatConfig, opts: { duration: number; servers: number; seed: number; jitter: number; badRecords: number; models?: boolean; alertsWebhook?: string; alertsStates?: Set<string>; shadows?: number; shadowsGiven?: boolean; replace?: boolean; trace?: string[] } & ShadowHandOverFlags): Promise<void> {
  const { sim, traceFiles, startMs } = await demoSimulation(opts);
  // The summary reports dead letters and late events; unless asked, log only errors so stderr keeps the progress.
  const logger = createLogger(config.logLevelSet ? config.logLevel : 'error');
  const embeddedOnly = embeddedOnlyNote('demo', config);
  if (embeddedOnly !== null) process.stderr.write(`${embeddedOnly}\n`);
  const warehouse = await waitForFolder(config, () => new ChdbWarehouse({ dataDir: chdbDir(config), database: config.database }));
  // The run is built in a staging database and replaces the previous one only when complete (demo-staging.ts).
  const work = new ChdbWarehouse({ dataDir: chdbDir(config), database: stagingDatabase(config.database) });
  const progress = createProgress();
  let published = false;
  /** The exchange of the tables under way: a signal waits for it (a re-test: a SIGTERM then said the old run was kept). */
  let publishing: Promise<void> | null = null;
  /** Whether the staging database is the demo's own (made, or being made): a failure drops it. */
  let ownStaging = false;
  /** Whether the database held a run before this one (a first run replaces nothing: a trial read "replacing the previous run"). */
  let hadRun = true;
  // Ctrl-C or SIGTERM (a webhook that stays down makes the demo wait for it: delivery pauses, never drops a change).
  const stopListening = endBySignalAfter((signal) => {
    progress.stop();
    return published
      ? `\nedgelat: interrupted (${signal}) after the run ${hadRun ? 'replaced the previous one in' : 'was published to'} database ${config.database}: its summary was not printed`
      : `\nedgelat: interrupted (${signal}); database ${config.database} ${hadRun ? 'keeps the previous run' : 'is as it was (it held no run)'} (this run's partial tables in ${work.database} are dropped by the next demo)`;
  }, () => publishing);
  try {
    const kept = [...KEPT_BY_DEMO, ...(opts.models === false ? ['latency_models', 'latency_model_files'] : [])];
    // Both refusals come before anything is made or dropped (a re-test: a refused demo, exit 2 "nothing changed", had
    // dropped the staging database first): inference events no demo wrote in the database the run replaces, and a
    // database of the staging name that no demo made.
    await assertReplaceable(warehouse, opts.replace === true).catch((error: unknown) => {
      if (!(error instanceof DemoRefusedError)) throw error;
      progress.stop();
      throw new UsageError(`${error.message} (folder ${JSON.stringify(config.dataDir)})`);
    });
    // Model files can be written, checked before the run (a trial: a models/ this user cannot write failed the demo only
    // after its whole pipeline, 15–65 s).
    if (opts.models !== false) await new ModelRegistry(warehouse, modelDir(config)).assertWritable(`the demo did not start (database ${config.database} is as it was; --no-models runs it without models)`);
    hadRun = await holdsRun(warehouse);
    ownStaging = true;
    await prepareStaging(warehouse, work, kept).catch((error: unknown) => {
      if (!(error instanceof StagingNameTakenError)) throw error;
      ownStaging = false;
      throw new UsageError(`${error.message} (folder ${JSON.stringify(config.dataDir)})`);
    });
    // replace: checked above, on the database the run replaces (the staging one holds no events yet).
    const result = await runDemo({
      warehouse: work, config, logger, badRecords: opts.badRecords, alertsWebhook: opts.alertsWebhook, alertsStates: opts.alertsStates, replace: true,
      // Said whatever the log level (the demo logs errors only, and the first two failures are warnings: a trial's demo
      // stayed silent after "sink..." while the webhook was down); the error's message has the URL's secrets redacted.
      onAlertsPause: (error) => progress.note(`${printable(error.message)}; delivery paused, retrying until the webhook answers (each change is posted once, in order; Ctrl-C stops the demo, ${hadRun ? 'the previous run kept' : 'nothing published'})`),
      onAlertsResume: () => progress.note('alert webhook: it answers again; delivery goes on'),
      sim, finishLater: true, keepTables: kept,
      onStage: (stage, total) => progress.stage(stage, total),
      onProgress: (_stage, done) => progress.update(done),
    });
    // The latency model: the simulator's MLPerf cut as the benchmark prior, then the retraining schedule
    // replayed in event time (each cycle reads the data up to its time; a challenger must beat the champion).
    await importBenchmarkCut(work);
    // The shipped catalog adds chips and unknown figures; what a user set with `chips import` stays.
    await importChips(work, EDGE_CHIPS_CSV, { keepStored: true });
    const staged = new ModelRegistry(work, modelDir(config));
    const cron = config.retrainCron ?? DEMO_RETRAIN_CRON;
    const runs = opts.models === false ? [] : scheduledRunTimes(cron, startMs, startMs + opts.duration * 60_000);
    if (runs.length === 0 && opts.models !== false) runs.push(startMs + opts.duration * 60_000);
    let trained: Awaited<ReturnType<typeof trainTelemetryModels>> = [];
    for (const [k, nowMs] of runs.entries()) {
      progress.stage(`latency models ${k + 1}/${runs.length}`, 0);
      trained = await trainTelemetryModels(work, staged, { seed: 1, log: result.log, logger, nowMs, windowMs: nowMs - startMs });
    }
    // Complete once the models are trained: only then does the run replace the previous one.
    progress.stage(hadRun ? 'replacing the previous run' : 'publishing the run', 0);
    publishing = publishStaging(warehouse, work).then(() => {
      published = true;
    });
    await publishing;
    const registry = new ModelRegistry(warehouse, modelDir(config));
    const champions = await registry.list();
    const modelPartitions = (await result.log.partitionCount(MODEL_LATENCY_TOPIC)) ?? 0;
    let promotions = 0;
    for (let p = 0; p < modelPartitions; p++) promotions += await result.log.endOffset({ topic: MODEL_LATENCY_TOPIC, partition: p });
    const medianRps = (await fleetMedianRate(warehouse)) ?? 1;
    // Among the fleet's chips: after `import benchmark --format mlperf` every datacenter chip would rank too, and the
    // lines shown named none of the fleet's (a trial). The suggested command below ranks every chip known.
    const fleetChips = (await warehouse.query<{ chip: string }>(`SELECT DISTINCT chip FROM ${warehouse.database}.inference_enriched ORDER BY chip`)).map((r) => String(r.chip));
    const recommend = createBackend({ warehouse, registry }).recommend;
    const recRequest = { model: DEMO_RECOMMEND_MODEL, slo: { percentile: 0.99 as const, ms: DEMO_SLO_P99_MS }, rps: medianRps };
    const rec = await recommend({ ...recRequest, chips: fleetChips }).catch(() => recommend(recRequest));
    progress.stop();
    const s = await readSummary(warehouse);
    const alerts = await readAlertChanges(warehouse);
    const shadows = await shadowSummary(warehouse);
    const delivered = opts.alertsWebhook
      ? (await warehouse.query<{ delivered: number; rejected: number; filtered: number }>(`SELECT countIf(status = 'delivered') AS delivered, countIf(status = 'rejected') AS rejected, countIf(status = 'filtered') AS filtered FROM ${warehouse.database}.alert_deliveries`))[0]
      : undefined;
    const db = warehouse.database;
    // The suggested per-server query names a server this demo has windows of (edge-02 is not in a 1-server fleet).
    const [busiest] = await warehouse.query<{ s: string }>(`SELECT edge_server_id AS s FROM ${db}.load_latency_correlations GROUP BY s ORDER BY count() DESC, s LIMIT 1`);
    const c = result.counts;
    const joinIn = c.join[TOPICS.inference]!;
    const joinLoad = c.join[TOPICS.load]!;
    const corrLate = c.correlation[TOPICS.enriched]?.late ?? 0;
    const valid = joinIn.consumed - joinIn.dead;
    const pct = (n: number, of: number): string => (of > 0 ? `${((100 * n) / of).toFixed(2)} %` : '-');
    const failed = Object.entries(s.statuses).filter(([k]) => k !== 'ok').map(([k, n]) => `${fmt(n)} ${k}`).join(', ') || 'none';
    const run = suggestionPrefix(process.env);
    const lines = [
      `edgelat demo: ${opts.servers} edge server${opts.servers === 1 ? '' : 's'}, ${opts.duration} min of event time, arrival jitter up to ${opts.jitter} ms, seed ${opts.seed} (${(result.elapsedMs / 1000).toFixed(1)} s)`,
      ...(traceFiles ? [`arrivals: the trace ${traceFiles.map((f) => JSON.stringify(f)).join(' + ')} (--trace), in place of the repository's cut of the Azure LLM inference trace 2023`] : []),
      '',
      'records per topic',
      ...Object.entries(result.topicRecords).map(([t, n]) => `  ${t.padEnd(40)} ${fmt(n).padStart(9)}`),
      '',
      `inference events      ${fmt(valid)} valid: ${fmt(joinIn.processed)} joined (${pct(joinIn.processed, valid)}), ${fmt(joinIn.late)} late (${pct(joinIn.late, valid)}, behind the watermark)`,
      `enriched rows         ${fmt(s.tables.inference_enriched)} (${pct(Math.round(s.matchRate * s.tables.inference_enriched), s.tables.inference_enriched)} found a load sample within ${config.joinToleranceMs} ms; failed requests: ${failed})`,
      `load samples          ${fmt(joinLoad.consumed)} (${fmt(joinLoad.late)} late)`,
      `late events           ${fmt(s.tables.late_events)} (join: ${fmt(joinIn.late)} inference + ${fmt(joinLoad.late)} load; correlation: ${fmt(corrLate)}${c.shadow
        ? `; shadow-compare: ${fmt(c.shadow[TOPICS.inference]?.late ?? 0)} inference + ${fmt(c.shadow[TOPICS.shadow]?.late ?? 0)} shadow results` : ''}; table ${db}.late_events)`,
      `dead letters          ${fmt(s.tables.dead_letters)} (bad records injected: ${result.badRecords}; table ${db}.dead_letters)`,
      `correlation windows   ${fmt(s.tables.load_latency_correlations)} (${config.windowSizeMs / 60_000} min windows every ${config.windowSlideMs / 1000} s × 15 metric pairs; edge windows cover part of the data)`,
      ...shadows.lines,
      `alert state changes   ${fmt(alerts.length)} (${fmt(alerts.filter((a) => a.state === 'firing').length)} into firing; \`edgelat alerts tail\`)${delivered ? `; webhook: ${fmt(delivered.delivered)} delivered, ${fmt(delivered.rejected)} refused, ${fmt(delivered.filtered)} not sent (--alerts-states) (table ${db}.alert_deliveries)` : ''}`,
      `ground-truth rows     ${fmt(s.tables.sim_ground_truth)}`,
      '',
      'strongest load-versus-latency correlations (n >= 30; one window per server, model and pair; 95 % CI by Fisher z; all statuses)',
      s.strongest.trimEnd(),
      '',
      'latency per chip (joined requests of every status, late ones not counted; percentiles of status ok, nearest-rank)',
      s.perChip.trimEnd(),
      '',
      opts.models === false ? `latency models: skipped (--no-models: ${champions.length === 0 ? 'none registered' : `the ${champions.length} registered versions kept, trained on the data before this run`}; \`edgelat model train\` trains them)` : `latency models: ${runs.length} retraining cycle${runs.length === 1 ? '' : 's'} (cron "${cron}" replayed in event time; holdout: the newest 20 % of each window), ${champions.length} versions in ${db}.latency_models, ${promotions} promotion record${promotions === 1 ? '' : 's'} on ${MODEL_LATENCY_TOPIC}; the last cycle:`,
      ...(opts.models === false ? [] : trained).map((t) => {
        const m = champions.find((c) => c.version === t.version)?.metrics ?? {};
        const parts = [m.mape !== undefined ? `MAPE ${(100 * m.mape).toFixed(1)} %` : '', m.acc10 !== undefined ? `±10 % ${(100 * m.acc10).toFixed(1)} %` : '', m.coverage !== undefined ? `coverage ${(100 * m.coverage).toFixed(1)} %` : ''].filter(Boolean);
        return `  ${t.version.padEnd(38)} ${t.status.padEnd(10)} ${parts.join(', ')}${t.promoted ? '' : ` (${t.reason})`}`;
      }),
      '',
      `chip recommendation for ${rec.model} among the fleet's chips at its median load (${medianRps} req/s), SLO p99 ≤ ${DEMO_SLO_P99_MS} ms (edgelat recommend):`,
      ...rec.chips.slice(0, 4).map((r) => `  ${r.rank}. ${r.chip.padEnd(22)} p99 ${(r.at_load.p99 === null ? "∞" : r.at_load.p99.toFixed(1)).padStart(7)} ms  ${r.evidence.kind.padEnd(9)} ${r.reason}`),
      ...(rec.chips.length > 4 ? [`  … and ${rec.chips.length - 4} more chip(s) ranked: the command below lists them, with every other chip known`] : []),
      '',
      `data: ${chdbDir(config)} (database ${db})`,
      `try:${/^EDGELAT_/.test(run) ? ' (with the settings of this run)' : ''}`,
      `  ${run} sql "SELECT chip, model_id, count() AS n, round(corrStable(queue_depth, total_ms), 3) AS r FROM ${db}.inference_enriched WHERE status = 'ok' GROUP BY chip, model_id ORDER BY r DESC"`,
      `  ${run} sql "SELECT model_id, window_end, round(pearson_r, 3) AS r, round(ci_low, 3) AS r_low, round(ci_high, 3) AS r_high, n, null_reason FROM ${db}.load_latency_correlations WHERE x_metric = 'requests_per_s' AND y_metric = 'total_ms' AND model_id IS NOT NULL AND edge_server_id = {s:String} ORDER BY model_id, window_end LIMIT 10" --param s=${busiest?.s ?? 'edge-01'}`,
      // predict answers with the champion latency models: none after --no-models unless kept from before (recommend and gate need none).
      ...(opts.models === false && !champions.some((m) => m.status === 'champion') ? [] : [`  ${run} predict --model resnet50 --chip rk3588-mali-g610 --load gpu_util=0.6 --load requests_per_s=4`]),
      `  ${run} recommend --model ${DEMO_RECOMMEND_MODEL} --slo-p99-ms ${DEMO_SLO_P99_MS} --rps ${medianRps}`,
      ...(shadows.gate ? [`  ${run} ${shadows.gate}`] : []),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } catch (error) {
    // Whatever stopped the run, the previous one stays; the staging database goes (best effort: the next demo drops it).
    if (ownStaging && !published) await work.exec(`DROP DATABASE IF EXISTS ${work.database} SYNC`).catch(() => undefined);
    throw error;
  } finally {
    stopListening();
    progress.stop();
    await work.close();
    await warehouse.close();
  }
}
