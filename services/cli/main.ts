import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { exitWhenChdbIdle } from '../warehouse/chdb-activity.ts';
import type { EdgelatConfig } from '../config.ts';
import { DEFAULT_MAX_EXECUTION_S } from '../sql-endpoint/protocol.ts';
import { UsageError } from './usage-error.ts';
import { printable, shortArgument, shortQuoted, terminalSafe, terminalSafeStream } from '../names.ts';
import { alertsWebhookOf, alertStatesFlag, allowedHostsFlag, choicesAnyCase, hostFlag, idFlag, intFlag, LOCKED_HELP, missingRequired, optionsTakenAsValue, repeatedOptions, required, shadowHandOverOptions, stateIntRanges, timeFlag, type ShadowHandOverFlags } from './common.ts';
import { registerPredictorCommands } from './predictor-commands.ts';
import { registerReportCommands } from './report.ts';
import { registerAlertCommands } from './alerts.ts';
import { registerWhatIfCommand } from './whatif.ts';
import { GATE_ERROR_EXIT, GATE_USAGE_EXIT, registerGateCommand } from './gate.ts';
import { MAX_DRAWS } from '../model/draws.ts';
import { LOAD_FEATURES, TELEMETRY_TARGETS } from '../model/features.ts';
import { MAX_INPUT_BYTES, MAX_LOAD } from '../predictor/types.ts';

// Start-up loads the commands' flags and help only: each action loads what it runs (chdb, Kafka, ONNX
// Runtime, the HTTP servers) when it runs, so `--help`, a usage error or a quick query do not pay for the rest.
let loaded: EdgelatConfig | null = null;
/** The configuration, read once (the preAction hook below reads it before every action). */
const config = async (): Promise<EdgelatConfig> => (loaded ??= (await import('../config.ts')).loadConfig());
const warehouses = () => import('./open-warehouse.ts');
/** Checks of flags that need no data: a light module, loaded before the heavy ones so that bad usage is said at once. */
const usageChecks = () => import('./usage-checks.ts');



const FORMATS: Record<string, string> = { table: 'PrettyCompactMonoBlock', json: 'JSONEachRow', csv: 'CSV', csvWithNames: 'CSVWithNames', tsv: 'TSV' };

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** How long `pipeline run`, done and closed, waits for the event loop to drain before it exits anyway, ms. */
const PIPELINE_EXIT_GRACE_MS = 5000;

/** Set when stdout's reader went away: a streamed result stops there (`edgelat sql … | head` of an endless query). */
let stdoutClosed = false;
// A reader of stdout that stops early (`edgelat sql … | head`) closes the pipe: end quietly, as Unix tools do, not with
// a stack trace; later output goes nowhere, and the exit waits for a chdb call in flight (libchdb segfaulted, exit 139,
// when the process exited during one). stdout that cannot be written otherwise (ENOSPC: `> /dev/full`) ends the command
// as a failure, in one line (a trial: a Node stack trace, and exit 1 from gate). A closed or failing stderr only
// silences the notes and progress: the command still does its work (a trial: `report … 2>&1 >/dev/null | head -1`
// exited 0 at its first progress line with no report written).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    stream.write = ((_chunk: unknown, encoding?: unknown, callback?: unknown) => {
      const done = typeof encoding === 'function' ? encoding : callback;
      if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
      return true;
    }) as typeof stream.write;
    if (stream === process.stderr) return;
    stdoutClosed = true;
    if (error.code === 'EPIPE') return exitWhenChdbIdle(typeof process.exitCode === 'number' ? process.exitCode : 0);
    process.stderr.write(`edgelat: cannot write the output to stdout: ${error.message}\n`);
    exitWhenChdbIdle(process.argv[2] === 'gate' ? GATE_ERROR_EXIT : 1);
  });
}

/**
 * An unknown long option that begins a known one of its command (`alerts tail --firing` for `--firing-only`) is named
 * with it: commander suggests by edit distance only, and a cut-off name is too far from the whole for it. A command's
 * option given before the command (`edgelat --json gate`) is said to go after its name.
 */
const commanderPrototype = Command.prototype as unknown as { unknownOption(this: Command, flag: string): never }; // commander's own, untyped
const commanderUnknownOption = commanderPrototype.unknownOption;
commanderPrototype.unknownOption = function unknownOption(this: Command, flag: string): never {
  const name = flag.split('=', 1)[0]!;
  const longs = this.options.flatMap((o) => (o.long && !o.hidden ? [o.long] : []));
  const begun = name.startsWith('--') && name.length > 3 ? longs.filter((l) => l.startsWith(name)) : [];
  if (begun.length > 0) this.error(`error: unknown option '${flag}'\n(Did you mean ${begun.join(' or ')}?)`, { code: 'commander.unknownOption' });
  // A command's option before the command's name (`edgelat --json gate …`): said where it goes (a trial read only
  // "unknown option '--json'").
  if (this.parent === null) {
    // The command the words name (`alerts tail`), as deep as they go.
    const path: Command[] = [];
    for (const word of process.argv.slice(2).filter((w) => !w.startsWith('-'))) {
      const next = (path.at(-1) ?? this).commands.find((c) => c.name() === word || c.aliases().includes(word));
      if (!next) break;
      path.push(next);
    }
    // The first command under it that takes the option itself (`alerts` → `alerts tail`).
    const taker = (c: Command, above: Command[]): Command[] | null => {
      if (c.options.some((o) => o.long === name || o.short === name)) return [...above, c];
      for (const sub of c.commands) {
        const found = taker(sub, [...above, c]);
        if (found) return found;
      }
      return null;
    };
    const last = path.at(-1);
    // Under a group whose several commands take it (`model` → list, train, …): `model <command>`, not one of them.
    const several = last !== undefined && !last.options.some((o) => o.long === name || o.short === name) && last.commands.filter((c) => taker(c, []) !== null).length > 1;
    const full = last === undefined ? null : several ? [...path.map((c) => c.name()), '<command>'] : taker(last, path.slice(0, -1))?.map((c) => c.name()) ?? null;
    if (full !== null || (path.length === 0 && this.commands.some((c) => taker(c, []) !== null))) {
      const where = full ? `, \`edgelat ${full.join(' ')} ${name} …\`` : '';
      this.error(`error: unknown option '${flag}' (edgelat takes only --version and --help before a command: put ${name} after the command's name${where})`, { code: 'commander.unknownOption' });
    }
  }
  return commanderUnknownOption.call(this, flag);
};

/** Commander's error line as written on stderr (without "edgelat: "), for `--json`'s error on stdout. */
let commanderLine: string | null = null;
const program = new Command('edgelat')
  .version(version)
  // Program options only before a subcommand: `gate --version v2` names a model version, not edgelat's;
  // and after an unknown command name neither (`gatee … --version v2` printed edgelat's version, exit 0).
  .enablePositionalOptions()
  .passThroughOptions()
  .exitOverride()
  .description('Inference telemetry from edge fleets → load-versus-latency answers (embedded by default: no Kafka, no ClickHouse server).')
  .showHelpAfterError('(run with --help for usage)')
  // One prefix for every error line, commander's usage errors and the commands' own alike.
  // A line break or tab in commander's message is a value's (an argument, an option, a command name), shown escaped as
  // JSON does, as the rest of the line shows it: only its last line break and the one before its "(Did you mean …?)"
  // are its own (a trial: `--model $'resnet50\n'` split "argument 'resnet50⏎' is invalid" over two lines; a re-test:
  // a value with an apostrophe too).
  .configureOutput({
    outputError: (text, write) => {
      const line = terminalSafe(shortQuoted(shortArgument(text.replace(/^error: /, 'edgelat: ').replace(/\t|\n(?!\(Did you mean |$)/g, (c) => (c === '\n' ? '\\n' : '\\t')))));
      // The first error line, as written (a nested command's with its whole path), for `--json`'s error on stdout.
      if (commanderLine === null && line.startsWith('edgelat: ')) commanderLine = line.slice('edgelat: '.length).replace(/\n$/, '');
      write(line);
    },
  })
  .addHelpText('after', `
Environment:
  EDGELAT_DATA_DIR                 runtime data folder (default ./.edgelat, relative to the current folder; embedded warehouse in
                                   <dir>/chdb; commands that only read refuse a folder without one)
  EDGELAT_DATABASE                 database of the edgelat tables (default edgelat)
  EDGELAT_LOCK_WAIT_S              longest wait while another edgelat process holds the embedded warehouse, s (default 60;
                                   0: fail at once; a running serve is not waited for: use its port, EDGELAT_CLICKHOUSE_URL)
  EDGELAT_LOG_LEVEL                structured JSON log level on stderr (default warn)
  EDGELAT_FROM_SOURCE              1: run the TypeScript sources through tsx, not the build in dist/ (default 0; a source
                                   newer than the build runs them anyway)
  EDGELAT_PARTITIONS               partitions of the in-process topics (default 4)
  EDGELAT_MAX_OUT_OF_ORDERNESS_MS  watermark lag behind the max event time (default 2000)
  EDGELAT_JOIN_TOLERANCE_MS        max age of the joined load sample (default 5000)
  EDGELAT_WINDOW_SIZE_MS           sliding window size (default 300000)
  EDGELAT_WINDOW_SLIDE_MS          sliding window slide (default 30000)
  EDGELAT_ALLOWED_LATENESS_MS      wait after a window's end before it fires (default 0)
  EDGELAT_MAX_EVENT_TIME_AHEAD_MS  max lead of event time over log time before a record is dead-lettered (default 3600000)
  EDGELAT_SINK_BATCH_OFFSETS       offsets per warehouse insert block (default 4096)
  EDGELAT_SINK_LINGER_MS           pipeline run: longest a record waits in a partial insert block (default 1000)
  EDGELAT_RETENTION_DAYS           migrate and pipeline run: days the telemetry tables keep rows, by event time (default: for ever)
  EDGELAT_CORRELATION_SCOPES       correlation key scopes: server, server×model, server×model×chip, comma-separated (default server×model)
  EDGELAT_IDLE_TIMEOUT_MS          pipeline run: a silent input stream stops holding the watermark back (default 30000)
  EDGELAT_KAFKA_BROKERS            Kafka bootstrap servers host:port,... (simulate, pipeline run and redrive, alerts tail)
  EDGELAT_KAFKA_CLIENT_ID          Kafka client id (default edgelat)
  EDGELAT_KAFKA_SASL_MECHANISM     plain | scram-sha-256 | scram-sha-512, with EDGELAT_KAFKA_SASL_USERNAME / _PASSWORD
  EDGELAT_KAFKA_TLS                true: TLS to Kafka (private CA: NODE_EXTRA_CA_CERTS) (default false)
  EDGELAT_KAFKA_COMPRESSION        none | gzip (default none)
  EDGELAT_KAFKA_GROUP_PREFIX       pipeline run: consumer groups <prefix>-<processor>; another job over the same topics needs its own (default edgelat)
  EDGELAT_KAFKA_SESSION_TIMEOUT_MS consumer groups: a member silent this long loses its partitions (default 10000; brokers
                                   accept 6000..1800000 by default), with EDGELAT_KAFKA_REBALANCE_TIMEOUT_MS, the longest
                                   wait for members to rejoin (20000; at least the session timeout)
  EDGELAT_SCHEMA_REGISTRY_URL      Confluent Schema Registry; set: records on Kafka use its framing
  EDGELAT_CLICKHOUSE_URL           ClickHouse server HTTP URL, with EDGELAT_CLICKHOUSE_USER / _PASSWORD (unset: embedded)
  EDGELAT_RETRAIN_CRON             pipeline run: retrain the latency models on this cron schedule, UTC (unset: no schedule; the demo replays every 10 min of event time)
  EDGELAT_RETRAIN_WINDOW_MS        event-time window a scheduled retraining reads, 60000 (1 min) .. 31536000000 (365 days) (default 604800000, 7 days)
  EDGELAT_RETRAIN_KEEP             pipeline run: after each scheduled retraining, prune the model files of each kind's versions beyond
                                   its champion and this many newest others, as \`edgelat model prune --keep\` (unset: keep every file)
  EDGELAT_ALERT_THRESHOLD          alert policy: |r| that counts as strong (default 0.5), with EDGELAT_ALERT_HYSTERESIS (0.1),
                                   EDGELAT_ALERT_MIN_N (30), EDGELAT_ALERT_FIRE_AFTER (3), EDGELAT_ALERT_CLEAR_AFTER (3), EDGELAT_ALERT_LOOKBACK (20)
  EDGELAT_ALERTS_TIMEOUT_MS        longest wait for the alert webhook's answer (default 10000)
  EDGELAT_ALERTS_WEBHOOK_URL       the alert webhook when --alerts-webhook is not given (keeps a token out of ps)
  EDGELAT_SHADOWS                  true: pipeline run also runs shadow-compare (default false; the demo always does)
  EDGELAT_SHADOW_WINDOW_MS         shadow-compare window (default 300000), with EDGELAT_SHADOW_LAG_TOLERANCE_MS (30000),
                                   EDGELAT_SHADOW_TOLERANCE (0.1) and EDGELAT_SHADOW_SLO_P99_MS (unset)

Exit codes: 0 success, 1 failure (one-line reason on stderr), 2 bad usage of a command (an unknown option of
it, or a model, chip or server the data does not know), 64 when no command runs (an unknown command, an
option before any command: \`edgelat --bogus\` or its subcommand: \`edgelat chips --bogus\`, no command, a command group
without its subcommand: \`edgelat alerts\`),
75 another edgelat process still held the embedded warehouse after EDGELAT_LOCK_WAIT_S (try again later), or at once
when the holder is \`edgelat serve\`, which holds it until stopped (the line names its ClickHouse port: set
EDGELAT_CLICKHOUSE_URL to it);
gate: 0 ALLOW, 1 BLOCK, 2 NEED_SHADOW, 64 bad usage, 70 failure, 75 as above (see \`edgelat gate --help\`).`);

/** Exit code of any command whose embedded warehouse stayed held by another process (sysexits' EX_TEMPFAIL: try again later). */
const LOCKED_EXIT = 75;

/** The usage error for options that took another option's name as their value ({@link optionsTakenAsValue}). */
const takenText = (taken: readonly string[]): string =>
  `${taken.join(', ')}: an option's name taken as ${taken.length === 1 ? 'its' : 'their'} value (an empty shell variable leaves an option none): give ${taken.length === 1 ? 'it a value' : 'each a value'}`;

// Every command checks the environment first (README: a bad value stops the command with one line naming every
// bad variable), also those that read none of it (profile, gate --backtest, model evaluate --format mlperf).
/**
 * Before a command reads its words: `gate --model --version v1` (the model missing) took `--version` as the model
 * and failed on "too many arguments" without saying why (a trial). Commander calls a command's preSubcommand hook
 * only where that command dispatches, so every command with subcommands gets it (`model train`, `pipeline run`, …:
 * a re-test).
 */
function checkTakenValues(command: Command): void {
  if (command.commands.length === 0) return;
  command.hook('preSubcommand', (_parent, sub) => {
    const taken = optionsTakenAsValue(sub, process.argv.slice(2));
    if (taken.length > 0) throw new UsageError(takenText(taken));
  });
  for (const sub of command.commands) checkTakenValues(sub);
}

program.hook('preAction', async (_program, action) => {
  const twice = repeatedOptions(action, process.argv.slice(2));
  if (twice.length > 0) throw new UsageError(`${twice.join(', ')} ${twice.length === 1 ? 'is' : 'are'} given more than once: give ${twice.length === 1 ? 'it' : 'each'} once`);
  // After commander's unknown-option check (common.ts `required`), with commander's words and code.
  const unset = missingRequired(action);
  if (unset !== null) action.error(`error: required option '${unset}' not specified`, { code: 'commander.missingMandatoryOptionValue' });
  await config();
});

const demo = program
  .command('demo')
  .description('simulate an edge fleet and run the whole main job embedded: join, rolling correlations, ClickHouse tables; print a summary')
  .addOption(new Option('--duration <minutes>', 'simulated event-time span, minutes (servers × minutes at most 2,400: the demo holds every record in memory)').default(20).argParser(intFlag('--duration', 1, 10_080)))
  .addOption(new Option('--servers <n>', 'edge servers in the fleet (servers × minutes at most 2,400)').default(12).argParser(intFlag('--servers', 1, 1000)))
  .addOption(new Option('--seed <n>', 'random seed (same seed, same data)').default(42).argParser(intFlag('--seed', 0)))
  .addOption(new Option('--jitter <ms>', 'max arrival delay of a record after its event time; above the out-of-orderness bound (EDGELAT_MAX_OUT_OF_ORDERNESS_MS) some records arrive late').default(2200).argParser(intFlag('--jitter', 0, 600_000)))
  .addOption(new Option('--bad-records <n>', 'undecodable records injected to show the dead-letter path').default(3).argParser(intFlag('--bad-records', 0, 1000)))
  .option('--no-models', 'skip the latency models\' retraining cycles (faster; the registered models are kept; `edgelat model train` trains them later)')
  .option('--alerts-webhook <url>', 'POST every alert state change (JSON, Idempotency-Key header) to this URL; deliveries are recorded in the table alert_deliveries (default: EDGELAT_ALERTS_WEBHOOK_URL, which keeps a token out of the command line)')
  .addOption(new Option('--alerts-states <list>', 'with --alerts-webhook: POST only changes into these states, e.g. firing,resolved').argParser(alertStatesFlag))
  .addOption(new Option('--shadows <n>', 'production servers with a shadow deployment (the same requests on another chip, compared by shadow-compare)').default(3).argParser(intFlag('--shadows', 0, 1000)));
for (const option of shadowHandOverOptions()) demo.addOption(option);
demo
  .option('--replace', 'replace the tables even where they hold inference events no demo wrote (a pipeline run\'s in the same folder); without it the demo refuses and drops nothing', false)
  .option('--trace <file...>', 'arrival trace files in the Azure LLM inference trace\'s format (columns TIMESTAMP, ContextTokens), merged, in place of the repository\'s cut of the 2023 trace (data/azure-llm-trace)')
  .addHelpText('after', '\nThe demo builds its run in <EDGELAT_DATABASE>__demo_next and then replaces the tables of the previous demo in EDGELAT_DATABASE with it (other tables there are left alone; a demo cut short leaves the previous run as it was); where they hold events no demo wrote, it refuses unless --replace.\nExit codes: 0 done; 1 failure (a warehouse error, a full disk); 2 bad usage (a flag, a fleet too large, events no demo wrote without --replace: nothing changed); ' + LOCKED_HELP + '; 130 Ctrl-C, 143 SIGTERM (the previous run kept; a signal while the tables are exchanged waits for the exchange, and then says the new run replaced it).')
  .action(async (opts: { duration: number; servers: number; seed: number; jitter: number; badRecords: number; models: boolean; alertsWebhook?: string; alertsStates?: Set<string>; shadows: number; replace: boolean; trace?: string[] } & ShadowHandOverFlags, command: Command) => {
    const cfg = await config();
    const flags = { ...opts, alertsWebhook: alertsWebhookOf(opts.alertsWebhook, cfg.alertsWebhookUrl), shadowsGiven: command.getOptionValueSource('shadows') === 'cli' };
    await (await usageChecks()).demoSimulation(flags); // bad usage said before the demo's modules are loaded
    await (await import('./demo.ts')).demoCommand(cfg, flags);
  });

program
  .command('sql')
  .description('query the warehouse (ClickHouse SQL): the embedded one, or the ClickHouse server at EDGELAT_CLICKHOUSE_URL when set; bind values with --param name=value and {name:Type} in the query')
  .argument('[query]', 'SQL text, e.g. "SELECT count() FROM edgelat.inference_enriched" (text that starts with "-", such as a -- comment, goes after --: edgelat sql -- "$(cat q.sql)"; a longer one than the system takes as one argument, 128 KiB, with --file)')
  .option('--file <path>', 'read the query from this file instead ("-": standard input), for one too long for an argument')
  .addOption(choicesAnyCase(new Option('-f, --format <format>', 'output format (json: one JSON object per line)'), Object.keys(FORMATS)).default('table'))
  .option('-p, --param <name=value>', 'bound query parameter, one per --param (repeatable; before or after the query); the value is bound as written: no escape sequences, and \\N is the two characters, not NULL', (v: string, prev: string[] = []) => {
    // Checked as it is read: `--param s edge-01` would otherwise end as "too many arguments" for the query.
    if (v.indexOf('=') < 1) throw new InvalidArgumentError(`--param must look like name=value, got ${JSON.stringify(v)}${/^[A-Za-z_]\w*$/.test(v) ? ` (give --param ${v}=VALUE as one argument)` : ''}`);
    return [...prev, v];
  })
  .option('--write', 'also run statements that change data, tables, settings or files; without it the query runs where ClickHouse itself refuses them (readonly = 1: code 164 READONLY; a SETTINGS clause too), and edgelat refuses table functions that read or write outside the warehouse (file, url, s3, remote, …) and INTO OUTFILE', false)
  .addHelpText('after', '\nExit codes: 0 answered (a --param no placeholder takes is run without, with a warning); 1 failure (an unknown table or column, a query that fails as it runs, no warehouse in the data folder); 2 bad usage (a syntax error, a --param its type cannot read or a placeholder without its --param, a statement refused without --write, more than one statement); ' + LOCKED_HELP + '; 130 Ctrl-C, 143 SIGTERM (a server\'s query asked to stop first).')
  .action(async (given: string | undefined, opts: { format: string; param?: string[]; write: boolean; file?: string }, command: Command) => {
    if ((given === undefined) === (opts.file === undefined)) throw new UsageError(given === undefined ? 'give the query, as an argument or with --file' : 'give the query as an argument or with --file, not both');
    let query = given ?? '';
    if (opts.file !== undefined) {
      // Read before the warehouse opens: the embedded one puts /dev/null in place of standard input (chdb would read it).
      try {
        query = readFileSync(opts.file === '-' ? 0 : opts.file, 'utf8');
      } catch (error) {
        throw new UsageError(`--file: cannot read ${opts.file === '-' ? 'standard input' : JSON.stringify(opts.file)} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      }
    }
    if (query.trim() === '') throw new UsageError(opts.file === undefined ? 'the query is empty' : `the query is empty (--file ${JSON.stringify(opts.file)})`);
    const params: Record<string, string> = {};
    for (const p of opts.param ?? []) {
      const eq = p.indexOf('=');
      if (p.slice(0, eq) in params) throw new UsageError(`--param ${p.slice(0, eq)} is given twice`);
      params[p.slice(0, eq)] = p.slice(eq + 1);
    }
    const [{ configuredWarehouse }, { badParameterText, canonicalStatement, EmptyQueryError, formatClause, isBadQueryParameter, isReadonlyRefusal, MultiStatementError, paramProblem, readonlyGap, runsProgram, syntaxErrorSummary, unusedParams, valuesRest, writesFile }] = await Promise.all([warehouses(), import('../warehouse/statements.ts')]);
    const misfit = paramProblem(query, params);
    if (misfit !== null) throw new UsageError(misfit);
    // ClickHouse ignores a value no placeholder takes: a misspelt name would pass unnoticed.
    for (const name of unusedParams(query, params)) process.stderr.write(`edgelat: warning: --param ${printable(name)} is not used: the query has no {${printable(name)}:Type}\n`);
    const settings = await config();
    // Through a server, --write may not be enough: serve's port takes changes only with --sql-write (a new user's trial
    // added --write and met a second refusal).
    const addWrite = `add --write to run it${settings.clickhouse !== null ? ' (through edgelat serve\'s ClickHouse port, serve must run with --sql-write too)' : ''}`;
    const warehouse = await configuredWarehouse(settings, { readonly: !opts.write, existing: opts.write ? undefined : 'folder' });
    try {
      const canonical = await canonicalStatement((sql, p) => warehouse.query(sql, p), query).catch((e: unknown) => {
        throw e instanceof EmptyQueryError ? new UsageError(e.message) : e;
      });
      if (canonical !== null && valuesRest(query, canonical) !== null) throw new MultiStatementError();
      // INTO OUTFILE is written by chdb's client side, which `readonly` does not stop.
      if (!opts.write && canonical !== null && writesFile(canonical)) throw new UsageError(`INTO OUTFILE writes a file: ${addWrite}`);
      const gap = !opts.write && canonical !== null ? readonlyGap(canonical) : null;
      if (gap !== null) throw new UsageError(`${gap}: ${addWrite}`);
      // ClickHouse prints the query's own FORMAT, whatever --format says: both given is a conflict, not a choice.
      const own = canonical !== null ? formatClause(canonical) : null;
      if (own !== null && command.getOptionValueSource('format') === 'cli') throw new UsageError(`the query has FORMAT ${own} and --format ${opts.format} is given: keep one`);
      if (canonical !== null && runsProgram(canonical)) throw new UsageError('a dictionary whose source runs a program (EXECUTABLE) would run it on every read: edgelat does not create one');
      // A server's query goes on when its client goes away: Ctrl-C (or SIGTERM) asks it to stop first, then ends as the
      // signal does (exit 130 / 143); a --write read too (a re-test: a SETTINGS read held serve's writer). The embedded
      // engine ends with the process.
      const cancel = (warehouse as { cancelRunning?: () => Promise<number> }).cancelRunning?.bind(warehouse);
      // --write on the embedded warehouse streams too (a trial: its result was held whole, 6.6 GB for 100 M rows, then
      // V8's string limit; `| head` did not stop it); a statement chdb does not stream runs as one query there.
      {
        // A read is printed as it comes, waiting while stdout is full, so no result is held whole (a trial: an
        // unbounded SELECT grew to 24 GB before the kernel killed it; 20 M rows took 1.2 GB).
        let last = 0x0a;
        let tail = Buffer.alloc(0);
        // On a terminal, a text's control characters are printed as escapes (terminalSafeStream); a binary format's
        // bytes, asked for by the query, and any output to a file or pipe as they came.
        const { isBinaryFormat } = await import('../sql-endpoint/protocol.ts');
        const screen = process.stdout.isTTY === true && !(own !== null && isBinaryFormat(own)) ? terminalSafeStream() : null;
        const onSignal = (sig: NodeJS.Signals): void => {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          process.off('SIGHUP', onSignal);
          const bounded = new Promise((r) => setTimeout(r, 3000).unref());
          void Promise.race([cancel!().catch(() => 0), bounded]).finally(() => process.kill(process.pid, sig));
        };
        if (cancel) {
          process.once('SIGINT', onSignal);
          process.once('SIGTERM', onSignal);
          process.once('SIGHUP', onSignal);
        }
        await warehouse.streamText(query, params, FORMATS[opts.format], async (chunk) => {
          // The reader is gone: end the stream (the EPIPE handler exits once the chdb call has settled).
          if (stdoutClosed) throw new Error('stdout closed');
          if (chunk.length === 0) return;
          last = chunk[chunk.length - 1]!;
          tail = Buffer.concat([tail, chunk]).subarray(-256);
          if (!process.stdout.write(screen === null ? chunk : screen.write(chunk))) await once(process.stdout, 'drain');
        }, { cancellable: true });
        if (screen !== null) process.stdout.write(screen.end());
        // A text ends on a line of its own; a binary format's bytes (Parquet, RowBinary, …) are written as they came.
        if (last !== 0x0a && !(own !== null && isBinaryFormat(own))) process.stdout.write('\n');
        // ClickHouse's table stops at its row limit with a footer on stdout, exit 0: said where a redirected output would
        // not show it (a trial: 1,000 of 71,582 rows in a file).
        const cut = opts.format === 'table' ? /Showed (\d+) out of (\d+) rows\.\s*$/.exec(tail.toString('utf8')) : null;
        // ClickHouse shows the first and the last half of what it shows, a `─ ─ ─` line between (a trial read "the first
        // 1,000" and took rows 4500+ of 5,000 for those after row 499).
        if (cut && Number(cut[2]) > Number(cut[1])) {
          const [shown, all] = [Number(cut[1]), Number(cut[2])];
          process.stderr.write(`edgelat: warning: the table shows ${shown.toLocaleString('en-US')} of ${all.toLocaleString('en-US')} rows, the first and the last ones: the line ─ ─ ─ stands for the ${(all - shown).toLocaleString('en-US')} between; --format tsv, csv or json prints them all (or add LIMIT)\n`);
        }
      }
    } catch (error) {
      if (error instanceof MultiStatementError) throw new UsageError(`${error.message}: edgelat sql runs one at a time`);
      // A server's error carries its code beside the text (the embedded engine's has "Code: N." in it): read alike, so a
      // syntax error is bad usage on either (a trial: exit 2 embedded, 1 through EDGELAT_CLICKHOUSE_URL, quoting formatQuery).
      const text = String((error as Error)?.message ?? error);
      const serverCode = (error as { code?: unknown } | null)?.code;
      const code = typeof serverCode === 'number' && !/\bCode: \d+\./.test(text) ? `Code: ${serverCode}. ` : '';
      const syntax = syntaxErrorSummary(`${code}${text}`, query);
      if (syntax !== null) throw new UsageError(syntax);
      // A --param value its type cannot parse (457 BAD_QUERY_PARAMETER, CANNOT_PARSE_*, …) is bad usage, as a missing one is.
      if (isBadQueryParameter(error)) throw new UsageError(badParameterText(error, params));
      if (!opts.write && isReadonlyRefusal(error)) throw new UsageError(`the statement changes the warehouse, a setting or a file, or uses a table function (ClickHouse refused it read-only: READONLY): ${addWrite}`);
      throw error;
    } finally {
      await warehouse.close();
    }
  });

program
  .command('migrate')
  .description('create or upgrade the edgelat tables (applies sql/migrations/NNNN_*.sql not yet applied, and adds back columns of the edgelat tables dropped by hand; idempotent) in the embedded warehouse, or on the ClickHouse server at EDGELAT_CLICKHOUSE_URL when set; exit 1 when a column has another type than the migrations give it')
  .addHelpText('after', '\nExit codes: 0 up to date (applied, or nothing to apply); 1 a column of another type than the migrations give it (left as it is), or a failure (a warehouse error, a ClickHouse server that refuses); ' + LOCKED_HELP + '.')
  .action(async () => {
    const { configuredWarehouse } = await warehouses();
    const warehouse = await configuredWarehouse(await config());
    try {
      const applied = await warehouse.migrate();
      // The migrations record files, not columns: a column dropped by hand is found against their definitions.
      const { restoreColumns } = await import('../warehouse/migrations.ts');
      let columns = { added: [] as string[], differing: [] as string[] };
      try {
        columns = await restoreColumns(warehouse);
      } catch (error) {
        // The check needs a scratch database: a server user without the right to create one still migrates.
        process.stderr.write(`edgelat: note: the columns of the edgelat tables were not checked (${(error as Error).message.split('\n')[0]})\n`);
      }
      const { applyRetention, retentionLine } = await import('../warehouse/retention.ts');
      const retention = await applyRetention(warehouse, (await config()).retentionDays);
      if (applied.length > 0) process.stdout.write(`applied ${applied.length} migration(s): ${applied.join(', ')}\n`);
      if (retention.length > 0) process.stdout.write(`${retentionLine(retention)}\n`);
      if (columns.added.length > 0) process.stdout.write(`added back ${columns.added.length} column(s) the tables lacked, as the migrations define them: ${columns.added.join(', ')}\n`);
      if (applied.length === 0 && columns.added.length === 0 && columns.differing.length === 0 && retention.length === 0) process.stdout.write(`database ${warehouse.database} is up to date\n`);
      if (columns.differing.length > 0) {
        process.stderr.write(`edgelat: ${columns.differing.length} column(s) have another type than the migrations give them (left as they are: converting would change their data): ${columns.differing.join('; ')}\n`);
        process.exitCode = 1;
      }
    } finally {
      await warehouse.close();
    }
  });

program
  .command('serve')
  .description('serve the embedded warehouse until Ctrl-C: the predictor HTTP API (predict, recommend, gate, profile, chips, correlations, /healthz, /metrics, /openapi.json) and ClickHouse\'s HTTP interface (for @clickhouse/client, curl, BI tools)')
  .addOption(new Option('--port <port>', 'TCP port of the predictor API (0 = any free port)').default(8080).argParser(intFlag('--port', 0, 65_535)))
  .addOption(new Option('--sql-port <port>', 'TCP port of the ClickHouse HTTP interface (0 = any free port)').default(8123).argParser(intFlag('--sql-port', 0, 65_535)))
  .addOption(new Option('--host <host>', 'interface to listen on (no login on either port: keep it local; a loopback port is open to every user of this machine)').default('127.0.0.1').argParser(hostFlag('--host')))
  .addOption(new Option('--profile-limit-mb <MiB>', 'largest ONNX upload of POST /v1/profile, MiB').default(64).argParser(intFlag('--profile-limit-mb', 1, 4096)))
  .addOption(new Option('--sql-timeout <s>', 'longest a query on the ClickHouse HTTP interface runs, s, before it fails with TIMEOUT_EXCEEDED (0 = no limit)').default(DEFAULT_MAX_EXECUTION_S).argParser(intFlag('--sql-timeout', 0, 86_400)))
  .option('--sql-write', 'let a POST on the ClickHouse port change the warehouse (commands run through it that write: model train, promote, imports, migrate): it then runs with this process\'s rights over its files, and the port has no login, so only where everyone who can reach it is trusted; without it the port is read-only, as ClickHouse\'s readonly = 1 keeps it (no change, table function, file() or SETTINGS clause)', false)
  .addOption(new Option('--allowed-hosts <names>', 'comma-separated host names requests may be sent to besides loopback ones and --host (with --host 0.0.0.0: this machine\'s name and addresses), e.g. a DNS name; "any" accepts every Host, which turns off the check against DNS rebinding (a web page on another name that resolves here): list the names instead where you can').argParser(allowedHostsFlag))
  .addHelpText('after', '\nStopping: Ctrl-C, SIGTERM or SIGHUP (also during the start) cancels the SQL queries running, answers the gates waiting 503, and gives the requests still being answered 10 s before their connections are closed (a second signal: at once).\nExit codes: 0 stopped by Ctrl-C, SIGTERM or SIGHUP; 1 failure (a port in use, an address not of this machine, a warehouse error); 2 bad usage; ' + LOCKED_HELP + '.')
  .action(async (opts: { port: number; sqlPort: number; host: string; profileLimitMb: number; sqlTimeout: number; sqlWrite: boolean; allowedHosts?: string[] | 'any' }) => {
    if (opts.port !== 0 && opts.port === opts.sqlPort) throw new UsageError(`--port and --sql-port are both ${opts.port}: the API and the ClickHouse interface need a port each (0 = any free port)`);
    await (await import('../sql-endpoint/serve-command.ts')).serveCommand(await config(), { ...opts, profileLimitBytes: opts.profileLimitMb * 1024 * 1024 });
  });

const simulate = program
  .command('simulate')
  .description('write a simulated fleet\'s telemetry (edge.inference.v1, edge.load.v1; edge.shadow.v1 with --shadows) to Kafka (needs EDGELAT_KAFKA_BROKERS)')
  .addOption(new Option('--duration <minutes>', 'simulated event-time span, minutes (servers × minutes at most 6,000: the run is built in memory)').default(20).argParser(intFlag('--duration', 1, 10_080)))
  .addOption(new Option('--servers <n>', 'edge servers in the fleet (servers × minutes at most 6,000)').default(12).argParser(intFlag('--servers', 1, 1000)))
  .addOption(new Option('--seed <n>', 'random seed (same seed, same data)').default(42).argParser(intFlag('--seed', 0)))
  .addOption(new Option('--jitter <ms>', 'max arrival delay of a record after its event time').default(1500).argParser(intFlag('--jitter', 0, 600_000)))
  .addOption(new Option('--rate <records/s>', 'produce rate; default: as fast as the brokers accept').argParser(intFlag('--rate', 1)))
  .addOption(new Option('--bad-records <n>', 'undecodable records injected into edge.inference.v1').default(0).argParser(intFlag('--bad-records', 0, 1000)))
  .addOption(new Option('--shadows <n>', 'production servers with a shadow deployment: the same requests on another chip, to edge.shadow.v1 (for pipeline run with EDGELAT_SHADOWS=true)').default(0).argParser(intFlag('--shadows', 0, 1000)));
for (const option of shadowHandOverOptions()) simulate.addOption(option);
simulate
  .option('--seal', 'mark the three input topics (edge.inference.v1, edge.load.v1, edge.shadow.v1) finished at the end, for good (bounded pipeline runs then end; a later simulate into them is late)', false)
  .option('--trace <file...>', 'arrival trace files in the Azure LLM inference trace\'s format (columns TIMESTAMP, ContextTokens), merged, in place of the repository\'s cut of the 2023 trace')
  .addHelpText('after', '\nExit codes: 0 produced; 1 failure (the brokers unreachable, or refusing the records); 2 bad usage (EDGELAT_KAFKA_BROKERS unset, a flag, a fleet too large, an unreadable trace).')
  .action(async (opts: { duration: number; servers: number; seed: number; jitter: number; rate?: number; badRecords: number; shadows: number; seal: boolean; trace?: string[] } & ShadowHandOverFlags) => {
    await (await import('./simulate.ts')).simulateCommand(await config(), { ...opts, rate: opts.rate ?? null });
  });

const pipelineCommand = program
  .command('pipeline')
  .description('the stream processors on Kafka');
pipelineCommand
  .command('run')
  .description('run join, correlation and warehouse-sink on Kafka (EDGELAT_KAFKA_BROKERS) into ClickHouse (EDGELAT_CLICKHOUSE_URL, else the embedded warehouse); any number of instances share the partitions; SIGTERM, Ctrl-C or SIGHUP finishes the batch, commits and exits 0 (1 when it stopped while the broker was gone, naming its error; a broker that hangs for 15 s, or a second signal, ends it at once with 1, the batch under way not committed)')
  .addHelpText('after', '\nExit codes: 0 stopped cleanly (SIGTERM, Ctrl-C, or --until-end drained), 1 failure (a broker gone or unreachable, a warehouse error, settings that differ from the committed ones), 2 bad usage, 3 --until-end drained but Kafka\'s retention had deleted input records before they were read, ' + LOCKED_HELP + '.')
  .option('--processors <list>', 'processors this instance runs (comma-separated: join, correlation, shadow, sink, alerts; default join,correlation,sink, with shadow when EDGELAT_SHADOWS=true, with alerts when --alerts-webhook is given); shadow needs EDGELAT_SHADOWS=true on every instance, alerts needs --alerts-webhook')
  .option('--until-end', 'stop once the inputs are sealed (edgelat simulate --seal) and the whole consumer group of each processor has drained them; works with any number of instances; exits 3 when Kafka\'s retention deleted input records before they were read', false)
  .addOption(new Option('--metrics-port <port>', 'port of /healthz and /metrics (0: any free port)').default(9464).argParser(intFlag('--metrics-port', 0, 65_535)))
  .addOption(new Option('--metrics-host <host>', 'interface of /healthz and /metrics').default('0.0.0.0').argParser(hostFlag('--metrics-host')))
  .option('--alerts-webhook <url>', 'also run the alerts processor: POST every alert state change (JSON, Idempotency-Key header) to this URL, retried with back-off; delivered changes are recorded in the table alert_deliveries (default: EDGELAT_ALERTS_WEBHOOK_URL, which keeps a token out of the command line)')
  .addOption(new Option('--alerts-states <list>', 'with --alerts-webhook: POST only changes into these states, e.g. firing,resolved (the others are recorded as filtered)').argParser(alertStatesFlag))
  .action(async (opts: { processors?: string; untilEnd: boolean; metricsPort: number; metricsHost: string; alertsWebhook?: string; alertsStates?: Set<string> }) => {
    const cfg = await config();
    await (await import('./pipeline.ts')).pipelineRunCommand(cfg, { ...opts, alertsWebhook: alertsWebhookOf(opts.alertsWebhook, cfg.alertsWebhookUrl) });
    // Everything of the run is closed, but a kafkajs client of a connection given up during an outage can reconnect when
    // the broker is back and hold the process open (a trial: alive 4 minutes after its summary, SIGTERM ignored). An
    // unref'd timer keeps nothing alive itself: a process that drains ends as before; one held open ends after the grace.
    setTimeout(() => exitWhenChdbIdle(typeof process.exitCode === 'number' ? process.exitCode : 0), PIPELINE_EXIT_GRACE_MS).unref();
  });
pipelineCommand
  .command('redrive')
  .description('produce dead letters (the raw bytes on <topic>.dlq) back to their source topics on Kafka (EDGELAT_KAFKA_BROKERS), once what failed them is mended (a writer schema registered, the schema registry back); the pipeline reads them as new records, and dead-letters again those it still cannot decode')
  .option('--topics <list>', 'source topics, comma-separated, e.g. edge.inference.v1 (default: every topic the warehouse sink reads and dead-letters)')
  .option('--error <text>', 'only dead letters whose error contains this text (case-insensitive), e.g. "unknown schema fingerprint"')
  .addOption(new Option('--since <time>', 'only dead letters written at or after this (their .dlq record\'s log time; ISO 8601 UTC or epoch ms)').argParser(timeFlag('--since')))
  .addOption(new Option('--until <time>', 'only dead letters written before this (ISO 8601 UTC or epoch ms)').argParser(timeFlag('--until')))
  .option('--dry-run', 'count and list the dead letters picked (the first 20 per topic); produce nothing', false)
  .option('--json', 'print the report as one JSON object ({dry_run, topics: [{topic, dlq, read, matched, produced, without_bytes, empty, undecodable, undecodable_reason, redrive_copies, repeated, first_ts, last_ts, letters, sealed}]}; repeated: second copies of a dead letter (a retried send) passed over; sealed only where something is to be produced)', false)
  .addHelpText('after', '\nA dead letter stays on its .dlq topic after a redrive (Kafka deletes nothing): running it again produces the same records again. Look first with --dry-run, and narrow with --since, --until and --error.\nA dead letter of a redriven record that failed again is passed over: its origin is picked instead, once a run.\nA sealed source topic (simulate --seal) takes them too: pipeline run --until-end drains each topic to its end, records produced after its seal included.\nExit codes: 0 done, 1 failure (Kafka gone: what was produced stays), 2 bad usage.\n\nExamples:\n  EDGELAT_KAFKA_BROKERS=localhost:9092 npx edgelat pipeline redrive --dry-run\n  EDGELAT_KAFKA_BROKERS=localhost:9092 npx edgelat pipeline redrive --topics edge.inference.v1 --error "unknown schema fingerprint" --since 2026-12-04T09:00Z')
  .action(async (opts: { topics?: string; error?: string; since?: number; until?: number; dryRun: boolean; json: boolean }) => {
    await (await import('./redrive.ts')).redriveCommand(await config(), opts);
  });

const benchmarkFileOptions = (cmd: Command, formats = ['help', 'mlperf', 'singlestream'], what = 'benchmark table format'): Command => {
  cmd
    .addOption(required(choicesAnyCase(new Option('--format <format>', what), formats)))
    .option('--architectures <file>', 'help: architectures.csv (arch_idx, op per edge/layer, op counts)')
    .option('--latency <files...>', 'help: latency_*.csv (arch_idx, one column per device, ms)');
  if (formats.includes('mlperf')) {
    cmd
      .option('--runs <files...>', `mlperf: runs_vX.Y.csv (one row per mlperf_log_summary.txt)${formats.includes('singlestream') ? '; singlestream: p50 and p90 per run (data/mlperf-singlestream/base-latency.csv), the latency models\' priors' : ''}`)
      .option('--systems <files...>', 'mlperf: systems_vX.Y.csv (one row per systems/<id>.json)');
  }
  return cmd;
};

benchmarkFileOptions(program
  .command('import')
  .description('load external data into the warehouse')
  .command('benchmark')
  .description('load a benchmark table (HELP latency tables, MLPerf Inference results, or SingleStream p50/p90 per run: the priors `model train` needs) into benchmark_latency; HELP tables also into model_profiles, MLPerf results also into chips (a SingleStream file adds no chip to the catalog: `chips import` does; recommend ranks its chips all the same); bad lines are reported with file and line'))
  .option('--source <name>', 'source label stored with every row (default: help-<folder>, mlperf or mlperf-singlestream, by --format)', idFlag('--source'))
  .option('--json', 'print what was imported as JSON: {source, benchmark_rows, profiles, chips, problems, bad_lines: [{file, line, field, value, message}], skipped, database}', false)
  .addHelpText('after', '\nExit codes: 0 every line imported; 1 some lines were bad (the good ones are written) or no latency was imported; 2 bad usage: a missing file, a directory, an empty file, a bad header, bytes that are not UTF-8, options of the other format (nothing written); ' + LOCKED_HELP + '.')
  .action(async (opts: { format: string; architectures?: string; latency?: string[]; runs?: string[]; systems?: string[]; source?: string; json: boolean }) => {
    const { checkBenchmarkFiles, emptyImportSummary, importBenchmarkCommand, parseBenchmarkFiles, printImportSummary } = await import('./benchmark.ts');
    checkBenchmarkFiles(opts); // before the warehouse is loaded and opened
    const files = parseBenchmarkFiles(opts); // a file that is not the format's is bad usage, said before the warehouse too
    // Files with nothing to import: said as the import would, without the warehouse.
    const empty = emptyImportSummary(opts, files);
    if (empty !== null) {
      process.exitCode = printImportSummary(empty, opts, (await config()).database);
      return;
    }
    const [{ configuredWarehouse }, { endBySignalAfter }] = await Promise.all([warehouses(), import('./common.ts')]);
    // Into the configured warehouse: EDGELAT_CLICKHOUSE_URL's server when set (a trial's import went to the embedded one).
    const warehouse = await configuredWarehouse(await config());
    // A trial's Ctrl-C left 50,000 of 375,000 latencies in the table, silently: say so (the same import again completes
    // it, each row once: the table keeps one row per key).
    const stopListening = endBySignalAfter((signal) => `\nedgelat: import interrupted (${signal}): part of it may be written; run the same import again to complete it (each row is kept once)`);
    try {
      process.exitCode = await importBenchmarkCommand(warehouse, opts, files);
    } finally {
      stopListening();
      await warehouse.close();
    }
  });

/** The flags `model evaluate` reads with each --format. */
const EVALUATE_FLAGS: Readonly<Record<string, readonly string[]>> = {
  help: ['--format', '--architectures', '--latency', '--device', '--shots', '--seed', '--json'],
  telemetry: ['--format', '--seed', '--json'],
  mlperf: ['--format', '--runs', '--systems', '--system', '--shots', '--seed', '--draws', '--json'],
};

const model = program.command('model').description('the latency model: evaluate, train, list, promote, prune');


benchmarkFileOptions(model
  .command('evaluate')
  .description('score the latency model: --format help on a benchmark table (without --shots an 80/20 split of architectures, every device scored; with --shots K each device, or --device D, is held out and only K of its rows are seen); --format telemetry on the warehouse\'s demo run (a quarter of the (model, chip) pairs held out, scored against the simulator\'s ground truth); --format mlperf: MLPerf SingleStream p90, each system with more than K results held out in turn with K (--shots, default 3) of its own results seen, against the additive baseline'), ['help', 'telemetry', 'mlperf'], 'help: HELP latency tables; telemetry: the fleet data in the warehouse; mlperf: MLPerf runs and systems tables')
  .option('--device <name>', 'help: score only this device (a latency column)')
  .option('--system <key>', 'mlperf: score only this system, e.g. v3.0/closed/NVIDIA/Orin_TRT')
  .addOption(new Option('--shots <k>', 'few-shot: rows of the held-out device that are seen (an integer ≥ 3; mlperf default 3)').argParser(intFlag('--shots', 3)))
  .addOption(new Option('--seed <n>', 'seed of the split / the shots').default(1).argParser(intFlag('--seed', 0)))
  .addOption(new Option('--draws <n>', 'mlperf: repeat with seeds seed..seed+n-1 (the shots are a random draw) and report each draw and their mean, min and max').argParser(intFlag('--draws', 1, MAX_DRAWS)))
  .option('--json', 'print JSON (fractions); help: {devices: [{device, n_test, acc10, mape, spearman, baseline}], median_acc10, ...}; mlperf: {systems: [{system, n_test, mape, acc10}], mape, top1_agreement, top1_within10, mean_regret, baseline: {...}, with --draws also draws: [{seed, mape, mape_ratio, top1_within10, ...}], over_draws: {mean, min, max}}', false)
  .addHelpText('after', `
Example (NAS-Bench-201 latency tables shipped in data/help-nasbench201):
  npx edgelat model evaluate --format help --architectures data/help-nasbench201/architectures.csv \\
    --latency data/help-nasbench201/latency_gpu.csv data/help-nasbench201/latency_cpu.csv data/help-nasbench201/latency_edge_mobile.csv --shots 20
MLPerf leave one system out (20–40 s on 2 cores):
  npx edgelat model evaluate --format mlperf --runs data/mlperf-inference/runs_v*.csv --systems data/mlperf-inference/systems_v*.csv --json

Exit codes: 0 scored (help: bad lines of the tables are listed and left out); 1 failure (telemetry: no warehouse in the
data folder, a warehouse error); 2 bad usage: a
missing or unreadable file, a flag the format does not read, an unknown --device or --system, nothing to score (no rows
of a device or system, or telemetry without the demo's run in the warehouse); ${LOCKED_HELP} (telemetry).`)
  .action(async (opts: { format: string; architectures?: string; latency?: string[]; runs?: string[]; systems?: string[]; device?: string; system?: string; shots?: number; draws?: number; seed: number; json: boolean }, command: Command) => {
    // A flag the format does not read would be ignored without a word (--shots with telemetry ran 40 s as if not given).
    const reads = EVALUATE_FLAGS[opts.format] ?? [];
    const foreign = command.options.filter((o) => command.getOptionValueSource(o.attributeName()) === 'cli' && !reads.includes(o.long!));
    if (foreign.length > 0) throw new UsageError(`${foreign.map((o) => o.long).join(', ')}: not read by --format ${opts.format}, which takes ${reads.join(', ')}`);
    if (opts.format === 'mlperf') {
      (await import('./benchmark.ts')).mlperfEvaluateCommand(opts);
      return;
    }
    if (opts.format === 'telemetry') {
      const [{ withModelRegistry }, { evaluateTelemetryCommand }] = await Promise.all([warehouses(), import('./model.ts')]);
      await withModelRegistry(async (warehouse) => { await evaluateTelemetryCommand(warehouse, opts); }, { existing: 'tables' });
      return;
    }
    await (await import('./benchmark.ts')).modelEvaluateCommand(await config(), opts);
  });

model
  .command('train')
  .description('train the telemetry latency models (p50/p90/p99 of total_ms, median io_ms and compute_ms) on the warehouse\'s enriched events; each challenger replaces its champion only if better on the newest 20 % of the data (time-ordered holdout); registered in latency_models, files under <data dir>/models')
  .option('--kinds <list>', `model kinds, comma-separated (${TELEMETRY_TARGETS.map((t) => t.kind).join(', ')})`)
  .addOption(new Option('--seed <n>', 'seed of the learner').default(1).argParser(intFlag('--seed', 0)))
  .option('--json', 'print the cycle results as JSON', false)
  .addHelpText('after', '\nExit codes: 0 every kind trained (each line says whether its challenger was promoted, kept as challenger, rejected or skipped); 1 failure: no requests or benchmark priors to train on, a warehouse error, Kafka unreachable with EDGELAT_KAFKA_BROKERS set, or a promotion the topic did not take (named on stderr; the registry keeps it); 2 bad usage (an unknown kind or flag); ' + LOCKED_HELP + '; 130 Ctrl-C, 143 SIGTERM (stderr says which kinds were registered before it).')
  .action(async (opts: { kinds?: string; seed: number; json: boolean }) => {
    const kinds = opts.kinds?.split(',').map((k) => k.trim()).filter(Boolean);
    (await usageChecks()).trainingTargets(kinds); // --kinds is checked before the warehouse is loaded and opened
    const [{ withModelRegistry }, { formatTrainResults, snakeCaseKeys, trainFailedLine, trainTelemetryModels, trainStoppedLine, withPromotionLog }, { createLogger }, { endBySignalAfter }] = await Promise.all([warehouses(), import('./model.ts'), import('../log.ts'), import('./common.ts')]);
    // It trains on what the pipeline wrote: a data dir without a warehouse, a database that does not exist or a
    // missing table is refused (a migration here would create an empty one and answer "no requests").
    await withModelRegistry(async (warehouse, registry, config) => {
      // A line per kind on stderr (each takes seconds), and on Ctrl-C / SIGTERM what is registered by then (a trial's
      // interrupted run ended silently, with one kind registered and another's model file written).
      const done: Parameters<typeof trainStoppedLine>[1][number][] = [];
      let current: string | null = null;
      const started = Date.now();
      // With EDGELAT_KAFKA_BROKERS, each promotion is announced on models.latency.v1, as the schedule announces its own.
      const results = await withPromotionLog(config, async (log) => {
        const stopListening = endBySignalAfter((signal) => trainStoppedLine(signal, done, current));
        return trainTelemetryModels(warehouse, registry, {
          kinds, seed: opts.seed, log: log ?? undefined, logger: createLogger(config.logLevelSet ? config.logLevel : 'error'),
          onKindStart: (kind, i, total) => {
            current = kind;
            process.stderr.write(`edgelat: training ${kind} (${i} of ${total}, ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
          },
          onKindDone: (r) => {
            done.push(r);
            current = null;
          },
        }).catch((error: unknown) => {
          // The kinds finished before it are registered: say so before the error (they had gone unmentioned).
          const line = trainFailedLine(done, current);
          if (line !== null) process.stderr.write(`${line}\n`);
          throw error;
        }).finally(stopListening);
      });
      process.stdout.write(opts.json ? `${JSON.stringify(results.map(snakeCaseKeys))}\n` : formatTrainResults(results));
      // Promoted, but the topic refused the record: the registry and the topic's consumers disagree (exit 1).
      for (const r of results.filter((x) => x.unannounced)) {
        process.stderr.write(`edgelat: ${r.version} is the champion in the registry but was not announced on ${r.unannounced!.topic}: ${r.unannounced!.error.split('\n')[0]}\n`);
        process.exitCode = 1;
      }
    }, { existing: 'tables' });
  });

model
  .command('list')
  .description('the registered latency models (latency_models): version, status champion/challenger/retired, holdout metrics')
  .option('--kind <kind>', 'only this kind')
  .option('--json', 'print JSON', false)
  .addHelpText('after', '\nA row the list cannot read whole (edited by hand: metrics that are not JSON, a status none of champion/challenger/retired) is listed with a warning saying what, as is a kind with two champions (the newest serves), and a champion no file serves (its file missing or changed, and no copy in latency_model_files).\nExit codes: 0 listed (none registered too); 1 failure (no warehouse in the data folder, a warehouse error); 2 bad usage (an unknown kind or flag); ' + LOCKED_HELP + '.')
  .action(async (opts: { kind?: string; json: boolean }) => {
    if (opts.kind !== undefined && !TELEMETRY_TARGETS.some((t) => t.kind === opts.kind)) {
      throw new UsageError(`--kind: unknown model kind ${JSON.stringify(opts.kind)}; kinds are ${TELEMETRY_TARGETS.map((t) => t.kind).join(', ')}`);
    }
    const [{ withModelRegistry }, { formatModelList, snakeCaseKeys }] = await Promise.all([warehouses(), import('./model.ts')]);
    await withModelRegistry(async (_warehouse, registry) => {
      const models = await registry.list(opts.kind);
      const lost: string[] = [];
      if (!opts.json) for (const m of models) if (m.status === 'champion' && (await registry.fileStatus(m)) === 'lost') lost.push(m.version);
      process.stdout.write(opts.json ? `${JSON.stringify(models.map(snakeCaseKeys))}\n` : formatModelList(models, lost));
    }, { existing: 'tables' });
  });

model
  .command('promote')
  .description('make a registered latency model the champion of its kind by hand (a rollback to an earlier version, or a challenger chosen over the champion); the champion is retired; predict and serve use the new one (serve within its 10 s cache; while serve holds the data folder, run this with EDGELAT_CLICKHOUSE_URL set to its ClickHouse port)')
  .argument('<version>', 'a version of `edgelat model list`, e.g. total_ms_p50-20240601T101000Z-0001')
  .option('--json', 'print JSON: {version, kind, previous, retired, announced}', false)
  .addHelpText('after', '\nEvery other champion of the kind is retired. With EDGELAT_KAFKA_BROKERS set, the new champion is announced on models.latency.v1 (the brokers are reached first: unreachable, nothing changes).\nExit codes: 0 promoted (or the champion already); 1 failure (its model file is missing, changed since registration or not a latency model of its kind, a row to write that cannot be written back, Kafka unreachable, a warehouse error); 2 bad usage (a version no model has: the nearest are named); ' + LOCKED_HELP + '.')
  .action(async (version: string, opts: { json: boolean }) => {
    (await usageChecks()).checkVersionArgument(version); // before the registry is loaded and opened
    const [{ withModelRegistry }, { promoteModel, withPromotionLog }] = await Promise.all([warehouses(), import('./model.ts')]);
    await withModelRegistry(async (_warehouse, registry, config) => {
      await withPromotionLog(config, async (log) => {
        const r = await promoteModel(registry, version, Date.now(), log ?? undefined);
        if (opts.json) process.stdout.write(`${JSON.stringify({ ...r, announced: log !== null && r.previous !== r.version })}\n`);
        else if (r.previous === r.version) process.stdout.write(`${r.version} is the champion of ${r.kind} already: ${r.retired.length ? `retired the other champion(s) beside it, ${r.retired.join(', ')}` : 'nothing changed'}\n`);
        else process.stdout.write(`${r.version} is the champion of ${r.kind}${r.previous ? `; ${r.previous} is retired` : ''} (${log ? 'announced on models.latency.v1' : 'not announced on models.latency.v1: EDGELAT_KAFKA_BROKERS is unset'})\n`);
      });
    }, { existing: 'tables' });
  });

model
  .command('prune')
  .description('remove the model files of old versions, and their copies in the warehouse (latency_model_files): every champion and the --keep newest other versions of each kind keep theirs; the pruned versions stay listed, retired, without a file')
  .addOption(new Option('--keep <n>', 'versions of each kind that keep their files beside its champion (the newest by training time)').default(5).argParser(intFlag('--keep', 0, 1_000_000)))
  .option('--dry-run', 'change nothing: list what would be removed', false)
  .option('--json', 'print JSON: {pruned: [{version, kind, status, file, file_bytes}], kept, copies_removed, copy_bytes, skipped, dry_run}', false)
  .addHelpText('after', '\nA retraining schedule registers a version of a kind at each cycle that changes it (~50–210 KB of ONNX, kept twice: in <data dir>/models and as base64 in latency_model_files); nothing else removes them. A pruned version\'s row keeps its metrics and says what it was (its reason); it can no longer be promoted. Files outside this data folder\'s models folder are left in place (their rows pruned); a file that cannot be removed or read, or is not the registered bytes, is left with its row and named on stdout, as a row edited by hand that cannot be written back is.\nExample: edgelat model prune --keep 3 --dry-run\nExit codes: 0 pruned (or nothing to prune); 1 failure (no warehouse in the data folder, a warehouse error); 2 bad usage; ' + LOCKED_HELP + '.')
  .action(async (opts: { keep: number; dryRun: boolean; json: boolean }) => {
    const [{ withModelRegistry }, { pruneRegistry }, { snakeCaseKeys, formatPruneResult }] = await Promise.all([warehouses(), import('../model/prune.ts'), import('./model.ts')]);
    await withModelRegistry(async (warehouse, registry) => {
      const r = await pruneRegistry(registry, warehouse, opts.keep, { dryRun: opts.dryRun });
      process.stdout.write(opts.json ? `${JSON.stringify({ ...snakeCaseKeys(r), pruned: r.pruned.map(snakeCaseKeys), dry_run: opts.dryRun })}\n` : formatPruneResult(r, opts.keep, opts.dryRun));
    }, { existing: 'tables' });
  });

program
  .command('predict')
  .description('predict a model\'s latency on a chip under a load (p50/p90/p99 total, median i/o and compute) with the champion telemetry models')
  .addOption(required(new Option('--model <id>', 'model id, e.g. resnet50').argParser(idFlag('--model'))))
  .addOption(required(new Option('--chip <id>', 'chip id, e.g. rk3588-mali-g610').argParser(idFlag('--chip'))))
  .option('--server <id>', 'edge server whose queueing context to use (default: the chip\'s typical server)', idFlag('--server'))
  .option('--load <key=value...>', `load, repeatable: ${LOAD_FEATURES.join(', ')} (utilisations are fractions 0..1, the others 0 to ${MAX_LOAD.toLocaleString('en-US')}; unset = 0: the lowest load, whose total still carries the waits the server's requests saw in its lowest gpu_util decile)`)
  .addOption(new Option('--input-bytes <n>', 'input size; default: the model\'s median in the fleet data').argParser(intFlag('--input-bytes', 1, MAX_INPUT_BYTES)))
  .option('--json', 'print JSON', false)
  .addHelpText('after', `
Load: the total's p50/p90/p99 follow the server's queue at the load's gpu_util (its decile): with
--server the waits that server's requests saw, without it the chip's typical server's. requests_per_s,
queue_depth and the other load fields reach the i/o and compute predictions only (and, on a chip
without fleet data, the wait through the service time they imply with gpu_util: U = X·S/c). A load
value above the most the fleet data shows on the chip gets a note: the trees hold their answer at the
edge of what they saw (a lower bound).

Exit codes: 0 predicted; 1 the data cannot answer (no champion model yet, a chip in the catalog without
benchmark p50 and p90), or a failure; 2 bad usage: a flag, an unknown model, chip or server;
${LOCKED_HELP}.

Example: npx edgelat predict --model resnet50 --chip rk3588-mali-g610 --load gpu_util=0.6 --load requests_per_s=4`)
  .action(async (opts: { model: string; chip: string; server?: string; load?: string[]; inputBytes?: number; json: boolean }) => {
    const load = (await usageChecks()).parseLoad(opts.load ?? []);
    const [{ withModelRegistry }, { formatPrediction, predictLatency }] = await Promise.all([warehouses(), import('./model.ts')]);
    await withModelRegistry(async (warehouse, registry) => {
      const p = await predictLatency(warehouse, registry, { model: opts.model, chip: opts.chip, server: opts.server, load, inputBytes: opts.inputBytes });
      process.stdout.write(opts.json ? `${JSON.stringify(p)}\n` : formatPrediction(p));
    }, { existing: 'tables' });
  });

registerPredictorCommands(program);
registerReportCommands(program);
registerAlertCommands(program);
registerWhatIfCommand(program);
registerGateCommand(program);

/**
 * An error as the debug log shows it under pino's `err` key: an error of the same class (pino's serializer names it
 * `type`) with its message, stack and cause's message scrubbed (errors.ts `scrubSecrets`), and its `code`; a thrown
 * non-Error becomes an Error of its scrubbed text.
 */
function scrubbedError(error: unknown, scrub: (text: string) => string): Error {
  if (!(error instanceof Error)) return new Error(scrub(String(error)));
  const copy: Error & { code?: unknown } = Object.create(Object.getPrototypeOf(error) as object);
  const { code } = error as Error & { code?: unknown };
  Object.defineProperties(copy, {
    message: { value: scrub(error.message), enumerable: false, writable: true },
    stack: { value: scrub(error.stack ?? ''), enumerable: false, writable: true },
  });
  if (code !== undefined) copy.code = code;
  if (error.cause instanceof Error) copy.cause = scrub(error.cause.message);
  return copy;
}

/** A one-line hint for errors users meet first. */
function hint(message: string): string {
  // Only where the missing database is edgelat's own (a trial: `sql "SELECT * FROM nosuchdb.t"` after the demo got it).
  const missing = /Code: 81\..*?Database `?([^`\s]+?)`? does(?:n't| not) exist/s.exec(message)?.[1];
  if (missing !== undefined && missing === (process.env.EDGELAT_DATABASE?.trim() || 'edgelat')) return ' (no edgelat tables here yet: run `edgelat demo` or `edgelat migrate` first)';
  if (/^getaddrinfo ENOTFOUND|^listen EADDRNOTAVAIL/.test(message)) return ` (not an address of this machine: check ${process.argv[2] === 'serve' ? '--host' : '--metrics-host'})`;
  if (/EADDRINUSE/.test(message)) return ` (another process listens there: pick another port with ${process.argv[2] === 'serve' ? '--port or --sql-port' : '--metrics-port'}; 0 = any free port)`;
  // The folder the command runs in was deleted or moved (a trial: "ENOENT: no such file or directory, uv_cwd").
  if (/\buv_cwd\b/.test(message)) return ' (the current folder no longer exists: it was deleted or moved; cd to a folder that exists)';
  return '';
}

// `gate` answers with exit codes 0 / 1 / 2; its own failures must not look like an answer. Nor may a usage error
// before any command runs (an unknown option or command name, `help` of an unknown command, no command): 64 too,
// so that `edgelat --json gate …` or a mistyped `gatee` in a deploy pipeline does not read as NEED_SHADOW (2).
const first = process.argv[2];
const gating = first === 'gate';
const commandNames = new Set(program.commands.flatMap((c) => [c.name(), ...c.aliases()]));
const topLevel = first === undefined || first === 'help' || !commandNames.has(first);
// `help bogus`, `help model bogus`, `help model train bogus`: commander prints a help and nothing of the name; say which
// word is no command (each word a subcommand of the one before), and exit 64 however commander ends (a trial: exit 0
// after "bogus is unknown"; a re-test: a word after a command without subcommands was not said at all).
let helpOfUnknown = false;
// `model help bogus` too, a group's own help command (a trial: its help printed, no word of the name, exit 64).
const group = program.commands.find((c) => c.name() === first && c.commands.length > 0);
const helpWords = first === 'help' ? process.argv.slice(3) : group !== undefined && process.argv[3] === 'help' ? [first!, ...process.argv.slice(4)] : null;
if (helpWords !== null) {
  // `help` takes command names (and -h, --help); `--` before them is read as nothing. Another option is said (a re-test:
  // `help --version`, `help -x` printed the whole help as an error, no word of why; `help -- model` named '--help').
  const option = helpWords.find((w) => w.startsWith('-') && !['-h', '--help', '--', '--json'].includes(w));
  if (option !== undefined) {
    process.stderr.write(`edgelat: help: unknown option '${option}' (help takes command names: \`edgelat help model train\`; the version: \`edgelat --version\`)\n`);
    process.exit(GATE_USAGE_EXIT);
  }
  let cmd: Command = program;
  const path: string[] = [];
  for (const word of helpWords.filter((w) => !w.startsWith('-'))) {
    // `help help`, `model help help`: the help of the help command is the command's own.
    if (word === 'help') break;
    const sub = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (sub === undefined) {
      const { similarNames } = await import('../names.ts');
      const names = cmd === program ? [...commandNames] : cmd.commands.map((c) => c.name()).filter((n) => n !== 'help');
      const like = similarNames(word, names);
      const near = names.length === 0 ? `\`${path.join(' ')}\` has no subcommands`
        : like.length > 0 ? `Did you mean ${like.slice(0, 3).join(', or ')}?` : `none is named so: ${path.length === 0 ? 'the commands' : `the subcommands of ${path.join(' ')}`} follow`;
      commanderLine = `help: unknown command '${[...path, word].join(' ')}' (${near})`;
      process.stderr.write(`edgelat: ${commanderLine}\n`);
      helpOfUnknown = true;
      break;
    }
    path.push(word);
    cmd = sub;
  }
}
/**
 * Commander names a subcommand alone in its errors ("too many arguments for 'import'"), which reads as `import
 * benchmark` where it was `chips import` (a trial), and a group's unknown subcommand without the group ("unknown
 * command 'bogus'" for `pipeline bogus`): each nested command's errors name its whole path, and a group's unknown
 * word is named after the group. (Errors that name no command, such as an unknown option, stay as they are.)
 */
function nameNestedInErrors(command: Command, path: readonly string[] = []): void {
  for (const sub of command.commands) {
    const full = [...path, sub.name()];
    if (full.length > 1 || sub.commands.length > 0) {
      const inherited = sub.configureOutput().outputError!;
      sub.configureOutput({
        outputError: (text, write) => inherited(text.replace(`for '${sub.name()}'`, `for '${full.join(' ')}'`).replace(/unknown command '(?!')/, `unknown command '${full.join(' ')} `), write),
      });
    }
    nameNestedInErrors(sub, full);
  }
}

stateIntRanges(program);
nameNestedInErrors(program);

/**
 * With `--json` a failed command that printed nothing on stdout prints its error there, one line `{"error": text,
 * "exit_code": n}` (the text as on stderr, without "edgelat: "): a pipeline that parses stdout (`jq -r .answer` after a gate) reads why,
 * not a parse error of nothing (a trial). Words after `--` are not options.
 */
const asJson = ((end) => process.argv.slice(2, end < 0 ? undefined : end).includes('--json'))(process.argv.indexOf('--'));
/** Whether the command printed on stdout: its JSON answer then stands (`recommend` prints one where no chip is ranked, exit 1). */
let printed = false;
if (asJson) {
  const write = process.stdout.write.bind(process.stdout) as (...args: unknown[]) => boolean;
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (chunk.length > 0) printed = true;
    return write(chunk, ...rest);
  }) as typeof process.stdout.write;
}
function jsonError(text: string, code: number): void {
  if (asJson && code !== 0 && !printed) process.stdout.write(`${JSON.stringify({ error: text, exit_code: code })}\n`);
}
try {
  checkTakenValues(program);
  // `help model train`: commander's help command goes one level down (it printed model's help); read it as `model train --help`.
  // `help help`: edgelat's help (commander printed it as an error, exit 64: a re-test).
  // `model help help`: the group's help (a re-test: exit 64, as for an unknown command).
  // `help --help`, `help model -h`: the same as without the flag (a trial: `help --help` printed edgelat's help as an error, exit 64).
  const helpOf = first === 'help' ? process.argv.slice(3).filter((w) => w !== '--help' && w !== '-h' && w !== '--' && w !== '--json') : [];
  const argv = first === 'help' && (helpOf.length === 0 || helpOf[0] === 'help') ? [...process.argv.slice(0, 2), '--help']
    : group !== undefined && process.argv[3] === 'help' && process.argv[4] === 'help' ? [...process.argv.slice(0, 3), '--help']
      : first === 'help' ? [...process.argv.slice(0, 2), ...(helpOf.length > 1 ? helpOf : ['help', ...helpOf]), ...(helpOf.length > 1 ? ['--help'] : [])] : process.argv;
  await program.parseAsync(argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // commander has already printed its message (and help for --help/--version, which exit 0). An unknown
    // command (also a group's: `model evalute`) or a group without one (`alerts`: its help, exit code 1 from
    // commander) runs nothing and no command's codes apply: 64.
    // An unknown option of a command group before its subcommand (`edgelat chips --bogus`) runs no command either.
    const noCommand = error.code === 'commander.unknownCommand' || error.code === 'commander.help' || (group !== undefined && error.code === 'commander.unknownOption' && process.argv[3]?.startsWith('-') === true);
    process.exitCode = helpOfUnknown ? GATE_USAGE_EXIT : error.exitCode === 0 ? 0 : gating || topLevel || noCommand ? GATE_USAGE_EXIT : 2;
    if (helpOfUnknown || (error.code !== 'commander.help' && error.code !== 'commander.helpDisplayed' && error.code !== 'commander.version')) jsonError(commanderLine ?? error.message.replace(/^error: /, ''), process.exitCode);
  } else {
    let message = error instanceof Error ? error.message : String(error);
    // demo and serve open the folder themselves: serve's port is no way for them (a re-test read the advice on demo).
    if (first === 'demo' || first === 'serve') message = message.replace(/; it is `edgelat serve`, whose ClickHouse port answers for the folder: run the command with EDGELAT_CLICKHOUSE_URL=\S+ \(all but demo and serve[^)]*\), or stop it,/, '; it is `edgelat serve`: stop it,');
    // A column of an edgelat table dropped by hand: the mend in one line, not ClickHouse's exception and the whole query
    // (a trial: report, alerts and recommend printed both). `sql` runs the user's own query: its error is theirs.
    if (first !== 'sql' && /Code: (47|16)\./.test(message)) {
      const { missingObject } = await import('../warehouse/missing-object.ts');
      message = missingObject(error)?.replace(/ \(through the ClickHouse port of this server[^)]*\)$/, '') ?? message;
    }
    const [{ createLogger }, { scrubSecrets, WarehouseLockedError }] = await Promise.all([import('../log.ts'), import('../../errors.ts')]);
    const line = `${terminalSafe(shortQuoted(scrubSecrets(message.split('\n')[0]!)))}${hint(message)}`;
    process.stderr.write(`edgelat: ${line}\n`);
    // The whole error at debug and trace, with what a server may have echoed of the request scrubbed.
    const level = process.env.EDGELAT_LOG_LEVEL?.toLowerCase();
    if (level === 'debug' || level === 'trace') createLogger(level).error({ err: scrubbedError(error, scrubSecrets) }, 'command failed');
    process.exitCode = error instanceof UsageError ? (gating ? GATE_USAGE_EXIT : 2) : error instanceof WarehouseLockedError ? LOCKED_EXIT : gating ? GATE_ERROR_EXIT : 1;
    jsonError(line, process.exitCode);
    // The command has closed what it opened; a client library may still hold a socket or a timer (kafkajs
    // reconnecting to a broker that is gone): exit rather than hang after the error is reported. Not while a chdb
    // call runs: libchdb segfaults then (a trial: a query of recommend failed while its others ran, exit 139).
    const { exitWhenChdbIdle } = await import('../warehouse/chdb-activity.ts');
    exitWhenChdbIdle(Number(process.exitCode ?? 1));
  }
}
