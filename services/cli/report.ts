/**
 * `edgelat report load-latency`: the analysts' load-versus-latency report
 * (services/reports/) on the configured warehouse.
 */
import { Option, type Command } from 'commander';
import { checkReportFilter, LOAD_METRICS, ReportQueries, type ReportMetric } from '../reports/report-queries.ts';
import type { LoadLatencyReport } from '../reports/load-latency.ts';
import { choicesAnyCase, endBySignalAfter, idFlag, LOCKED_HELP, numberFlag, required, timeFlag } from './common.ts';
import { UsageError } from './usage-error.ts';
import { nearestNames, quoteName } from '../names.ts';

/** Options of `report load-latency`. */
interface LoadLatencyFlags {
  since?: number;
  until?: number;
  server?: string;
  model?: string;
  chip?: string;
  metric: ReportMetric;
  bucketWidth?: number;
  sloP99Ms?: number;
  out: string;
  quiet: boolean;
}

/** Add `report load-latency` to `program`. */
export function registerReportCommands(program: Command): void {
  const report = program.command('report').description('reports for analysts: load-latency');
  report
    .command('load-latency')
    .description('load versus latency: p50/p90/p99 by load bucket per chip and model, the SLO knee, rolling r with its CI, i/o versus compute share, the most load-sensitive servers; writes DIR/report.html (self-contained, SVG charts), DIR/report.csv (every number) and DIR/summary.md, and prints the summary')
    .addOption(required(new Option('--out <dir>', 'folder for report.html, report.csv and summary.md (created; required)')))
    .addOption(new Option('--since <time>', 'event time from (inclusive), ISO 8601 UTC or epoch ms (default: all data); the rolling r takes the correlation windows whose end is after it').argParser(timeFlag('--since')))
    .addOption(new Option('--until <time>', 'event time until (exclusive) (default: all data); the rolling r takes the windows whose end is at or before it (a window\'s events are before its end)').argParser(timeFlag('--until')))
    .option('--server <id>', 'only this edge server', idFlag('--server'))
    .option('--model <id>', 'only this model', idFlag('--model'))
    .option('--chip <id>', 'only this chip', idFlag('--chip'))
    .addOption(choicesAnyCase(new Option('--metric <column>', 'load metric to bucket by'), [...LOAD_METRICS]).default('cpu_util'))
    .addOption(new Option('--bucket-width <w>', 'fixed load bins of this width instead of deciles (e.g. 0.1 for a utilisation)').argParser(numberFlag('--bucket-width', 0)))
    .addOption(new Option('--slo-p99-ms <ms>', 'p99 objective, ms (> 0, at most 1e9, as every command takes it): adds the SLO knee (lowest load bucket of at least 100 requests whose p99 exceeds it) and a rule on the charts').default(50).argParser(numberFlag('--slo-p99-ms', 0, false, 1e9)))
    .option('--quiet', 'do not print the summary', false)
    .addHelpText('after', '\nExamples (after `npm start`):\n  npx edgelat report load-latency --out report\n  npx edgelat report load-latency --metric gpu_util --chip jetson-xavier-nx --slo-p99-ms 80 --out report-nx\n\nThe three files in --out are replaced on every run. When the filters match no request, they are still written (empty tables, the summary says why) and the exit code is 1; an id no request has is bad usage (2) and writes nothing.\nExit codes: 0 written; 1 no request matched (files written), or a failure (no warehouse in the data folder); 2 bad usage (an --out folder that cannot be created or written in too); ' + LOCKED_HELP + '.\n\nOn a ClickHouse server: set EDGELAT_CLICKHOUSE_URL (and EDGELAT_DATABASE).')
    .action(async (opts: LoadLatencyFlags) => {
      await reportLoadLatencyCommand(opts);
    });
}

/**
 * Run the report and write its files; progress on stderr, the summary on stdout. When no request
 * matches the filter the files are written with empty tables, the reason goes to stderr and the exit code is 1.
 * @throws {UsageError} on a bad filter, or a --server, --model or --chip that no request has (nothing written).
 */
async function reportLoadLatencyCommand(opts: LoadLatencyFlags): Promise<void> {
  // Loaded here, not at start-up: the warehouse and the report's charts are the heavy part of the CLI.
  const { checkOutDir, writeLoadLatencyReport } = await import('../reports/load-latency.ts');
  // What needs no data is checked before the warehouse is loaded and opened (a trial: an empty --out waited for the
  // warehouse lock another process held, then exited 75, "try again").
  try {
    checkReportFilter({ metric: opts.metric, bucketWidth: opts.bucketWidth, sinceMs: opts.since, untilMs: opts.until });
    checkOutDir(opts.out);
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message);
    throw error;
  }
  const [{ loadConfig }, { configuredWarehouse }] = await Promise.all([import('../config.ts'), import('./open-warehouse.ts')]);
  const config = loadConfig();
  const warehouse = await configuredWarehouse(config, { existing: 'tables' });
  const started = Date.now();
  // Said in one line, as the demo and model train say it (a trial: 130 / 143 without a word). The three files are
  // replaced together (replaceAllOrNone, synchronous: no signal is handled in the middle of it).
  let written = false;
  const stopListening = endBySignalAfter((signal) => `\nedgelat: report interrupted (${signal}): ${written ? 'its files were written' : `the files in ${JSON.stringify(opts.out)} are as they were`}`);
  try {
    // A filter naming an id no request has is a typo: said before any file is written (one matching nothing in the range is not).
    if (opts.server !== undefined || opts.model !== undefined || opts.chip !== undefined) {
      const known = await new ReportQueries(warehouse, { metric: opts.metric }).knownIds();
      for (const [flag, value, ids] of [['--server', opts.server, known.servers], ['--model', opts.model, known.models], ['--chip', opts.chip, known.chips]] as const) {
        if (value === undefined || ids.length === 0 || ids.includes(value)) continue;
        throw new UsageError(`${flag}: no request with a load sample in ${warehouse.database}.inference_enriched has ${flag.slice(2)} ${quoteName(value)} (nearest: ${nearestNames(value, ids)})`);
      }
    }
    // An empty report says why, in the files too (a reader of summary.md alone learned only "0 requests"; a trial), and
    // on stderr: the reason needs a query, asked before the files are written (each is written once).
    let empty: string | null = null;
    const annotate = async (built: { report: LoadLatencyReport; summary: string; html: string }) => {
      if (built.report.requests > 0) return null;
      const all = await new ReportQueries(warehouse, { metric: opts.metric }).allRequests();
      const filters = [opts.server && `server ${opts.server}`, opts.model && `model ${opts.model}`, opts.chip && `chip ${opts.chip}`, opts.since !== undefined && `since ${new Date(opts.since).toISOString()}`, opts.until !== undefined && `until ${new Date(opts.until).toISOString()}`].filter(Boolean).join(', ');
      empty = all === 0
        ? `${warehouse.database}.inference_enriched holds no request with a load sample (run \`npm start\` first); the files hold empty tables`
        : `none of the ${all.toLocaleString('en-US')} requests with a load sample in ${warehouse.database}.inference_enriched matches ${filters || `the filter`} with a value of ${opts.metric}; the files hold empty tables. \`edgelat sql "SELECT edge_server_id, chip, model_id, min(ts), max(ts) FROM ${warehouse.database}.inference_enriched GROUP BY ALL"\` lists what there is`;
      const { withEmptyNote } = await import('../reports/report-render.ts');
      // Under the page's heading too (a trial: the page said "0 requests" alone).
      return { summary: `${built.summary}\n**Empty:** ${empty}.\n`, html: withEmptyNote(built.html, empty) };
    };
    const { report, summary, files } = await writeLoadLatencyReport(warehouse, {
      sinceMs: opts.since, untilMs: opts.until, server: opts.server, model: opts.model, chip: opts.chip,
      metric: opts.metric, bucketWidth: opts.bucketWidth, sloP99Ms: opts.sloP99Ms,
    }, opts.out, (step) => process.stderr.write(`edgelat: ${step} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`), annotate).catch((error: unknown) => {
      if (error instanceof RangeError) throw new UsageError(error.message);
      throw error;
    });
    written = true;
    if (empty !== null) process.stderr.write(`edgelat: ${empty}\n`);
    const printed = summary;
    if (!opts.quiet) process.stdout.write(printed);
    process.stderr.write(`edgelat: wrote ${files.join(', ')}\n`);
    // An empty report is written (a script may expect the files) but is not a success.
    if (report.requests === 0) process.exitCode = 1;
  } finally {
    stopListening();
    await warehouse.close();
  }
}
