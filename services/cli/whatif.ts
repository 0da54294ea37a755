/**
 * `edgelat whatif`: a server's p50/p99 under its observed load with more
 * replicas of its chip (services/predictor/whatif.ts).
 */
import { Option, type Command } from 'commander';
import type { SensitivitySource } from '../predictor/whatif.ts';
import { idFlag, intFlag, LOCKED_HELP, numberFlag, required } from './common.ts';
import { UsageError } from './usage-error.ts';

const SOURCE_TEXT: Readonly<Record<SensitivitySource, string>> = {
  server: 'fitted on this server', fleet: "the fleet's median: this server never ran loaded enough to tell", none: 'no load signal anywhere: not load-sensitive',
};

/** Add `whatif` to `program`. */
export function registerWhatIfCommand(program: Command): void {
  program
    .command('whatif')
    .description("capacity what-if: a server's p50/p99 (nearest rank, measured and predicted) under its own observed load with K more replicas of its chip, or on another chip (its measured requests replayed through an FCFS queue; service times moved to the new chip at the same quantile of each model's unloaded time there (ratios of medians and of p90/p50 spreads in the fleet, or of benchmarks), and to the new utilisation by the load sensitivity fitted on its data, or the fleet's where it never ran loaded)")
    .addOption(required(new Option('--server <id>', 'edge server, e.g. edge-02').argParser(idFlag('--server'))))
    .addOption(new Option('--add-replicas <k>', 'replicas to add (of the server\'s chip, or of --chip), 0..64; default 1, or 0 with --chip').argParser(intFlag('--add-replicas', 0, 64)))
    .addOption(new Option('--chip <id>', 'run the server on this chip instead (e.g. jetson-agx-orin), with the workers per replica its servers in the fleet report (largest concurrency)').argParser(idFlag('--chip')))
    .addOption(new Option('--workers <c>', 'with --chip: its workers per replica (requests served at once), 1..1024; default the largest concurrency its servers in the fleet report, 1 (said to be assumed) when none runs it').argParser(intFlag('--workers', 1, 1024)))
    .addOption(new Option('--lookback-hours <h>', "hours of the server's requests replayed, before its newest one, > 0 up to 8760 (a year); its workers are read over all its telemetry").default(24).argParser(numberFlag('--lookback-hours', 0, false, 24 * 365)))
    .option('--json', 'print the result as JSON', false)
    .addHelpText('after', '\nExamples (after `npm start`):\n  npx edgelat whatif --server edge-02 --add-replicas 1\n  npx edgelat whatif --server edge-04 --chip jetson-agx-orin\n  npx edgelat whatif --server edge-04 --chip jetson-agx-orin --workers 2\n\nExit codes: 0 answered (saturated too), 1 failure (no evidence to compare the chips, too few requests in the lookback, a warehouse error; one line on stderr), 2 bad usage (an unknown server or chip too), ' + LOCKED_HELP + '.')
    .action(async (opts: { server: string; addReplicas?: number; chip?: string; workers?: number; lookbackHours: number; json: boolean }) => {
      if (opts.workers !== undefined && opts.chip === undefined) throw new UsageError(`--workers: only with --chip (the server's own chip has the workers it reports), got --workers ${opts.workers} alone`);
      const add = opts.addReplicas ?? (opts.chip ? 0 : 1);
      // Loaded when the command runs (the warehouse and the replay), not at the CLI's start-up.
      const [{ loadConfig }, { configuredWarehouse }, { fleetSensitivity }, { ownLoadSensitivity }, { loadChipSwap, loadServerObservations, whatIfReplicas }] = await Promise.all([
        import('../config.ts'), import('./open-warehouse.ts'), import('../predictor/gate-evidence.ts'), import('../predictor/load-sensitivity.ts'), import('../predictor/whatif.ts'),
      ]);
      const warehouse = await configuredWarehouse(loadConfig(), { existing: 'tables' });
      try {
        let r;
        let current = '';
        try {
          const o = await loadServerObservations(warehouse, opts.server, opts.lookbackHours);
          current = o.chip;
          // The fleet's sensitivity (a read of every device's newest rows) only for a part this server cannot tell.
          const own = ownLoadSensitivity(o);
          const fleet = own.compute === null || own.io === null ? await fleetSensitivity(warehouse, 0) : null;
          if (opts.workers !== undefined && opts.chip === o.chip) throw new UsageError(`--workers: --chip ${opts.chip} is the chip ${opts.server} runs, with the workers it reports (${o.workersPerReplica}); --workers is for another chip`);
          const swap = opts.chip && opts.chip !== o.chip ? await loadChipSwap(warehouse, o, opts.chip) : undefined;
          if (swap && opts.workers !== undefined) Object.assign(swap, { workersPerReplica: opts.workers, workersSource: 'given' });
          r = whatIfReplicas(o, 1 + add, swap, fleet);
        } catch (error) {
          if (error instanceof RangeError) throw new UsageError(error.message);
          throw error;
        }
        const ms = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(1)} ms` : 'saturated');
        const quantiles = (p50: number, p99: number, rho: number): string => (rho >= 1
          ? `saturated: the requests need ${rho.toFixed(2)}× the workers' time (their service slowed by the load), so the queue grows for as long as this load lasts`
          : `p50 ${ms(p50)}, p99 ${ms(p99)}`);
        process.stdout.write(opts.json ? `${JSON.stringify(r)}\n` : [
          `${r.server} (${current}): ${r.current.requests.toLocaleString('en-US')} requests replayed (the ${opts.lookbackHours} h before its newest)${r.other_chips ? `; not its ${r.other_chips.map((x) => `${x.requests.toLocaleString('en-US')} on ${x.chip}`).join(', ')} (another device of the server)` : ''}`,
          `  now        ${r.current.workers} worker(s): ${quantiles(r.current.p50_ms, r.current.p99_ms, r.current.offered_utilisation)} (measured p50 ${ms(r.current.measured_p50_ms)}, p99 ${ms(r.current.measured_p99_ms)}, failed requests included)`,
          `  ${opts.chip ? `on ${r.chip}, ${1 + add} replica(s)` : `+${add} replica(s)`}, ${r.workers} worker(s)${r.workers_source === 'assumed' ? ' (1 per replica assumed: no server of it reports its concurrency; --workers sets it)' : ''}: ${quantiles(r.p50_ms, r.p99_ms, r.offered_utilisation)}`,
          `  load sensitivity: compute ∝ 1 + ${r.sensitivity.compute.toFixed(2)}·u (${SOURCE_TEXT[r.sensitivity_source.compute]}), i/o ∝ 1 + ${r.sensitivity.io.toFixed(2)}·u (${SOURCE_TEXT[r.sensitivity_source.io]}); u = busy-worker fraction`,
          `  method: ${r.method}`,
        ].join('\n') + '\n');
      } finally {
        await warehouse.close();
      }
    });
}
