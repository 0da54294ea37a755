/**
 * Registers the chip recommender's commands on the CLI: `recommend`, `chips
 * import | list` and `profile`.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { MAX_LOAD, MAX_SLO_MS, MIN_RPS } from '../predictor/types.ts';
import { MAC_OPERATORS_TEXT } from '../profiler/types.ts';
import { assertReadableFile, choicesAnyCase, dimFlag, idFlag, idListFlag, intFlag, LOCKED_HELP, numberFlag } from './common.ts';
import type { RecommendOptions } from './predictor.ts';

// The actions load what they run (the warehouse, the recommender, the profiler) when they run: start-up loads only the flags.
const warehouses = () => import('./open-warehouse.ts');
const predictor = () => import('./predictor.ts');

/** Add the commands to `program`. */
export function registerPredictorCommands(program: Command): void {
  program
    .command('profile')
    .description(`profile an ONNX model: parameters, MACs (${MAC_OPERATORS_TEXT}), FLOPs = 2·MACs, element operations of the other operators, operator histogram, weight bytes, inputs, precision`)
    .argument('<model.onnx>', 'ONNX file')
    .addOption(new Option('--batch <n>', 'value of a symbolic batch dimension, 1..4096').default(1).argParser(intFlag('--batch', 1, 4096)))
    .addOption(new Option('--dim <name=n>', 'value of a named symbolic dim of the inputs past the batch (repeatable, at most 64), e.g. seq=128, or the first dim of a time-major input ([seq, N, …]: --batch 8 --dim seq=20); one left unset counts as 1 and is listed under unknown shape (the MACs are then a lower bound)').argParser(dimFlag))
    .option('--model-id <id>', 'model id to report (default: the graph name or file name)')
    .option('--json', 'print the ModelProfile as JSON (input of `recommend --profile`)', false)
    .addHelpText('after', '\nExit codes: 0 profiled; 1 a failure; 2 bad usage: a missing or unreadable file, one that is not an ONNX model, a bad --batch or --dim.')
    .action(async (file: string, opts: { batch: number; dim?: Record<string, number>; modelId?: string; json: boolean }) => {
      await (await import('./profile.ts')).profileCommand(file, opts);
    });

  program
    .command('recommend')
    .description('rank chips for a model under an SLO and a load: predicted p50/p90/p99 at the load and idle, the highest load that meets the SLO (M/G/c queueing law calibrated to the fleet), cost per million inferences, the evidence and a reason per chip')
    .option('--model <id>', 'a model the fleet or a benchmark knows, e.g. resnet50 (give exactly one of --model, --onnx and --profile)', idFlag('--model'))
    .option('--onnx <file>', 'a new model as an ONNX file (profiled; latency scaled by MACs from reference models measured on each chip)')
    .option('--profile <file>', 'a new model as the JSON of `edgelat profile --json`')
    .addOption(new Option('--slo-p99-ms <ms>', 'latency objective: p99 at most this, ms (give exactly one of --slo-p99-ms and --slo-p90-ms)').argParser(numberFlag('--slo-p99-ms', 0, false, MAX_SLO_MS)))
    .addOption(new Option('--slo-p90-ms <ms>', 'latency objective: p90 at most this, ms (or --slo-p99-ms)').argParser(numberFlag('--slo-p90-ms', 0, false, MAX_SLO_MS)))
    .addOption(new Option('--rps <requests/s>', `expected load of the model, requests/s: 0, or ${MIN_RPS}..${MAX_LOAD} (at 0 the cost is priced at the highest load within the SLO)`).default(1).argParser(rpsFlag))
    .addOption(new Option('--chips <ids>', 'candidate chips, comma-separated (blanks around a comma are ignored), repeatable (default: every chip in the catalog, the fleet or a benchmark)').argParser(idListFlag('--chips', 'chip')))
    .addOption(choicesAnyCase(new Option('--objective <what>', 'order of the chips that meet the SLO'), ['latency', 'cost']).default('latency'))
    .addOption(new Option('--batch <n>', 'with --onnx: value of a symbolic batch dimension').argParser(intFlag('--batch', 1, 4096)))
    .addOption(new Option('--dim <name=n>', 'with --onnx: value of a named symbolic dim past the batch (repeatable, at most 64), e.g. seq=128, or the first dim of a time-major input ([seq, N, …])').argParser(dimFlag))
    .option('--json', 'print the recommendation as JSON (the POST /v1/recommend answer)', false)
    .addHelpText('after', '\nExit codes: 0 chips ranked; 1 no chip could be ranked (the answer, every chip skipped with its reason, is printed), or a failure; 2 bad usage: a flag, an unknown model or chip, an unreadable ONNX or profile file; ' + LOCKED_HELP + '.\n\nExamples (after `npm start`):\n  npx edgelat recommend --model resnet50 --slo-p99-ms 50 --rps 6\n  npx edgelat recommend --onnx test/fixtures/onnx/tiny-cnn.onnx --slo-p90-ms 20 --rps 2 --json   # a small CNN in the repository; your own .onnx file')
    .action(async (opts: RecommendOptions) => {
      // Usage first, from a light module: said at once, before chdb and the predictor are loaded.
      (await import('./usage-checks.ts')).checkRecommendUsage(opts);
      // The model, an ONNX file profiled or a profile read, before the warehouse is loaded and opened: a file that cannot
      // be read is bad usage said at once (a re-test: it waited for a warehouse another process held, then exit 75).
      const { modelOf, recommendCommand } = await predictor();
      const model = await modelOf(opts);
      const { withModelRegistry } = await warehouses();
      await withModelRegistry(async (warehouse, registry) => {
        await recommendCommand(warehouse, registry, opts, undefined, model);
      }, { existing: 'tables' });
    });

  const chips = program.command('chips').description('the chip catalog (table chips): list, import');
  chips
    .command('list')
    .description('print the chip catalog (a row that breaks the import\'s rules, written with sql --write, is named on stderr instead)')
    .option('--json', 'print JSON', false)
    .addHelpText('after', '\nExit codes: 0 listed (rows left out are named on stderr); 1 failure (no warehouse in the data folder, a warehouse error); 2 bad usage; ' + LOCKED_HELP + '.')
    .action(async (opts: { json: boolean }) => {
      const [{ withModelRegistry }, { formatChips }, { loadCatalog }, { validChips }] = await Promise.all([warehouses(), predictor(), import('../predictor/evidence.ts'), import('../predictor/chip-catalog.ts')]);
      await withModelRegistry(async (warehouse) => {
        // A row written past `chips import` (sql --write) is named on stderr, not printed into the table (a trial's
        // newline in a chip id broke it), as GET /v1/chips lists it under "invalid".
        const { chips: rows, invalid } = validChips(await loadCatalog(warehouse));
        for (const bad of invalid) process.stderr.write(`edgelat: chip ${JSON.stringify(bad.chip)} left out: ${bad.problem} (fix the row: \`edgelat chips import\` or sql --write)\n`);
        process.stdout.write(opts.json ? `${JSON.stringify(rows)}\n` : formatChips(rows));
      }, { existing: 'tables' });
    });
  chips
    .command('import')
    .description('merge a catalog CSV into the chips table: columns chip, kind (cpu|gpu|npu|fpga|asic), vendor, names (;-separated), peak_ops_per_s, memory_bw_bytes_s, power_w, price_per_hour; a blank cell keeps the stored value; the good lines are written and every bad field is reported with file and line')
    .argument('<chips.csv>', 'catalog CSV (see data/chips/edge-chips.csv)')
    .option('--json', 'print {written, added, problems, bad_lines: [{file, line, field, value, message}], claims: [{line, chip, name, from}]} as JSON (one entry per bad field; claims: names that were another chip\'s id or raw name)', false)
    .addHelpText('after', '\nExit codes: 0 every line imported; 1 some lines were bad (the good ones are written); 2 bad usage: a missing file or a bad header (nothing written); ' + LOCKED_HELP + '.')
    .action(async (file: string, opts: { json: boolean }) => {
      const [{ withModelRegistry }, { chipsImportCommand, precheckChipCatalog }] = await Promise.all([warehouses(), predictor()]);
      assertReadableFile(file, `chips import ${JSON.stringify(file)}`);
      const text = precheckChipCatalog(file);
      await withModelRegistry(async (warehouse) => {
        if ((await chipsImportCommand(warehouse, file, { ...opts, text })) > 0) process.exitCode = 1;
      });
    });
}

/**
 * `recommend --rps`: 0, or MIN_RPS..MAX_LOAD requests/s (below MIN_RPS the cost per million overflows), as POST
 * /v1/recommend takes it.
 * @throws {InvalidArgumentError} naming the flag and value.
 */
function rpsFlag(value: string): number {
  const n = numberFlag('--rps', 0, true, MAX_LOAD)(value);
  if (n > 0 && n < MIN_RPS) throw new InvalidArgumentError(`--rps must be 0 or at least ${MIN_RPS} requests/s (one request in about 11.6 days), got ${JSON.stringify(value)}`);
  return n;
}
