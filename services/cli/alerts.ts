/**
 * `edgelat alerts tail`: the alert state changes, from the correlation topic
 * on Kafka (followed until Ctrl-C) or from the correlation table of the
 * embedded warehouse (printed, then the command ends).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Option, type Command } from 'commander';
import { BrokerUnavailableError, RetryStoppedError } from '../../errors.ts';
import type { CorrelationUpdate } from '../../schemas/types.ts';
import { ALERT_CHANGE_KEYS, type AlertChange } from '../alerts/alert-change.ts';
import type { EdgelatConfig } from '../config.ts';
import type { Warehouse } from '../warehouse/types.ts';
import { backoffDelay } from '../retry.ts';
import { intFlag, LOCKED_HELP, timeFlag } from './common.ts';
import { UsageError } from './usage-error.ts';
import { printable } from '../names.ts';

/** Options of `alerts tail`. */
interface TailFlags {
  firingOnly: boolean;
  json: boolean;
  since?: number;
  limit: number;
  pollMs: number;
}

/** One line of the terminal view. */
export function formatChange(c: AlertChange): string {
  // Each bound on its own: a record with one of them null is decoded as valid (a trial: `ci_high!` stopped the tail).
  const bound = (x: number | null): string => (x === null ? '?' : x.toFixed(2));
  const ci = c.ci_low === null && c.ci_high === null ? '' : ` [${bound(c.ci_low)}, ${bound(c.ci_high)}]`;
  const r = c.null_reason === 'no_rows' ? 'no requests in the window (went quiet)' : c.pearson_r === null ? 'r undefined' : `r=${c.pearson_r.toFixed(3)}${ci}`;
  // Ids from the data, escaped: a newline in one split a change over two lines (a re-test).
  return `${c.window_end}  ${c.state.toUpperCase().padEnd(8)} ${printable(c.edge_server_id)} ${c.model_id === null ? '-' : printable(c.model_id)} ${c.x_metric}→${c.y_metric}  ${r} n=${c.n}  (was ${c.previous_state})`;
}

/** Add `alerts tail` to `program`. */
export function registerAlertCommands(program: Command): void {
  const alerts = program.command('alerts').description('alert state changes of the load-versus-latency correlations');
  alerts
    .command('tail')
    .description('print alert state changes per server, model and metric pair (states none, rising, firing, resolved: none → rising → firing → resolved, and rising back to none when it does not hold): on Kafka (EDGELAT_KAFKA_BROKERS) follow the correlation topic until Ctrl-C; otherwise read the correlation table of the warehouse and exit')
    .option('--firing-only', 'only changes into firing', false)
    .option('--json', 'one JSON object per line (the webhook body: idempotency_key, states, window, r and its CI, null_reason: no_rows when the server and model went quiet)', false)
    .addOption(new Option('--since <time>', 'only windows ending at or after this time (ISO 8601 UTC or epoch ms)').argParser(timeFlag('--since')))
    .addOption(new Option('--limit <n>', 'warehouse: only the newest N changes (0: all)').default(0).argParser(intFlag('--limit', 0)))
    .addOption(new Option('--poll-ms <ms>', 'Kafka: pause between reads at the end of the topic').default(1000).argParser(intFlag('--poll-ms', 10, 60_000)))
    .addHelpText('after', '\nExamples:\n  npx edgelat alerts tail --firing-only          # after `npm start`: from the embedded warehouse\n  EDGELAT_KAFKA_BROKERS=localhost:9092 npx edgelat alerts tail --json\n\nExit codes: 0 printed (none too; on Kafka: stopped by Ctrl-C or SIGTERM); 1 failure (no warehouse in the data folder, Kafka unreachable, a warehouse error); 2 bad usage; ' + LOCKED_HELP + ' (the warehouse only).')
    .action(async (opts: TailFlags) => {
      const { loadConfig } = await import('../config.ts');
      const config = loadConfig();
      // Keys in AlertChange's order whatever the source (the warehouse's rows and the topic's changes are built apart).
      const print = (c: AlertChange) => process.stdout.write(`${opts.json ? JSON.stringify(c, ALERT_CHANGE_KEYS) : formatChange(c)}\n`);
      // The states were decided by the correlation processor as it wrote each window: a policy set now does not change them.
      const policy = Object.keys(process.env).filter((k) => k.startsWith('EDGELAT_ALERT_')).sort();
      if (policy.length > 0) {
        process.stderr.write(`edgelat: ${policy.join(', ')} ${policy.length === 1 ? 'is' : 'are'} not applied here: alerts tail prints the states the correlation processor decided when it wrote the windows (its policy then); the variables apply to the next pipeline run or demo\n`);
      }
      if (config.kafka && opts.limit !== 0) throw new UsageError(`--limit ${opts.limit}: the newest N changes are the warehouse's; on Kafka (EDGELAT_KAFKA_BROKERS) the tail follows the topic: leave --limit out, or use --since`);
      if (config.kafka) await tailKafka(config, opts, print);
      else await tailWarehouse(config, opts, print);
    });
}

/** Changes from the warehouse's correlation table (sql/reports/alert_changes.sql). */
async function tailWarehouse(config: EdgelatConfig, opts: TailFlags, print: (c: AlertChange) => void): Promise<void> {
  const [{ configuredWarehouse }, { readAlertChanges }] = await Promise.all([import('./open-warehouse.ts'), import('../alerts/alert-log.ts')]);
  const warehouse: Warehouse = await configuredWarehouse(config, { existing: 'tables' });
  try {
    const changes = await readAlertChanges(warehouse, { sinceMs: opts.since, firingOnly: opts.firingOnly, limit: opts.limit });
    for (const c of changes) print(c);
    // "no change into firing since 2024-06-01T10:24:00.000Z" (a trial read "… since then into firing").
    if (changes.length === 0) process.stderr.write(`edgelat: no alert state change${opts.firingOnly ? ' into firing' : ''}${opts.since === undefined ? '' : ` since ${new Date(opts.since).toISOString()}`} in ${warehouse.database}.load_latency_correlations\n`);
  } finally {
    await warehouse.close();
  }
}

/** Follow the correlation topic on Kafka from its oldest retained record (so each pair's state is known), printing changes. */
async function tailKafka(config: EdgelatConfig, opts: TailFlags, print: (c: AlertChange) => void): Promise<void> {
  const [{ KafkaEventLog }, { REGISTRY_RETRY, withSchemaRegistry }, { decodeLogRecord }, { OUTPUT_TOPICS, TOPICS }, { ALERT_SCOPE, alertChange, pairKey }, { LaneRepeats }] = await Promise.all([
    import('../eventlog/kafka.ts'), import('../eventlog/confluent-wire.ts'), import('../../pipelines/runtime/decode.ts'), import('../../pipelines/topics.ts'), import('../alerts/alert-change.ts'),
    import('../../pipelines/runtime/lanes.ts'),
  ]);
  // With EDGELAT_SCHEMA_REGISTRY_URL the correlation records are Confluent-framed, as the pipeline wrote them (a trial:
  // without the registry's framing every record failed to decode and the command printed nothing).
  const stop = new AbortController();
  // A registry that does not answer is asked again until it does, or until Ctrl-C (a trial: the pipeline's wait ignored it).
  // Each retry said on stderr, as the broker's are (a re-test: it waited in silence).
  const registryRetry = {
    ...REGISTRY_RETRY, signal: stop.signal,
    onRetry: (error: unknown, _attempt: number, delayMs: number) => process.stderr.write(`edgelat: ${(error as Error).message.split('\n')[0]}; asking again in ${(delayMs / 1000).toFixed(1)} s (Ctrl-C stops)\n`),
  };
  const connect = async () => withSchemaRegistry(await KafkaEventLog.connect({ ...config.kafka!, logger: undefined }), config.schemaRegistryUrl, undefined, registryRetry);
  // A broker that cannot be reached at the start ends the command; one lost later is waited for (below).
  let log = await connect();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  const state = new Map<string, string>();
  let open = true;
  let undecodable = 0;
  let said = 0;
  let latestBad = '';
  // The running total of records skipped, after each read that added some (a re-test: a line at the 1st and every
  // 1,000th said "1 record(s)" where 5, or 780 of 785, were skipped).
  const sayUndecodable = (): void => {
    if (undecodable === said) return;
    said = undecodable;
    process.stderr.write(`edgelat: ${undecodable} record(s) of ${TOPICS.correlation} could not be decoded and were skipped so far (the latest: ${latestBad}); the warehouse sink dead-letters them\n`);
  };
  try {
    const partitions = (await log.partitionCount(TOPICS.correlation)) ?? 0;
    if (partitions === 0) process.stderr.write(`edgelat: topic ${TOPICS.correlation} does not exist yet; waiting for it\n`);
    const next = new Map<number, number>();
    // Second copies of windows (a producer's retry) would read as changes back and forth; the topic is read from its start.
    const repeats = new LaneRepeats(OUTPUT_TOPICS);
    while (!stop.signal.aborted) {
      let read = 0;
      try {
        const count = (await log.partitionCount(TOPICS.correlation)) ?? 0;
        // The partitions' new records are read first (a read is a fetch from the partition's leader, no group),
        // then handled in partition order: a pair's updates are all in one partition.
        const due = (await Promise.all(Array.from({ length: count }, async (_, p) => ({ p, from: next.get(p) ?? 0, end: await log.endOffset({ topic: TOPICS.correlation, partition: p }) }))))
          .filter(({ from, end }) => end > from);
        const batches = await Promise.all(due.map(({ p, from, end }) => log.read({ topic: TOPICS.correlation, partition: p }, from, end)));
        for (const [i, { p, end }] of due.entries()) {
          for (const r of batches[i]!) {
            next.set(p, r.offset + 1);
            read++;
            if (repeats.copyOf(r) !== null) continue;
            const decoded = decodeLogRecord(r);
            if (!decoded.ok) {
              // The warehouse-sink dead-letters it; said here too (below, once a read), so that records skipped are never silent.
              undecodable++;
              latestBad = `partition ${r.partition} offset ${r.offset}: ${decoded.reason}`;
              continue;
            }
            const u = decoded.value as unknown as CorrelationUpdate;
            if (u.scope !== ALERT_SCOPE) continue;
            const k = pairKey(u);
            const c = alertChange(state.get(k) ?? 'none', u);
            state.set(k, u.alert_state);
            if (c && (!opts.firingOnly || c.state === 'firing') && (opts.since === undefined || u.window_end >= opts.since)) print(c);
          }
          if (!next.has(p)) next.set(p, end);
        }
        sayUndecodable();
      } catch (error) {
        // Ctrl-C while a read waited for the schema registry: the stop asked for.
        if (stop.signal.aborted && error instanceof RetryStoppedError) {
          process.stderr.write('edgelat: stopped while the schema registry did not answer; the records not read yet are read at the next start\n');
          break;
        }
        if (!(error instanceof BrokerUnavailableError)) throw error;
        // The broker went away: wait (1 s doubling to 30 s), connect again and go on from the offsets already read.
        open = false;
        await log.close().catch(() => undefined);
        let reason: Error = error;
        for (let attempt = 0; !open && !stop.signal.aborted; attempt++) {
          const delayMs = backoffDelay(attempt, { initialRetryTimeMs: 1000, factor: 0 });
          process.stderr.write(`edgelat: ${reason.message.split('\n')[0]}; connecting again in ${delayMs / 1000} s (Ctrl-C stops)\n`);
          await sleep(delayMs, undefined, { signal: stop.signal }).catch(() => undefined);
          if (stop.signal.aborted) break;
          try {
            log = await connect();
            open = true;
            process.stderr.write('edgelat: connected again; following the topic from where it stopped\n');
          } catch (e) {
            if (!(e instanceof BrokerUnavailableError)) throw e;
            reason = e;
          }
        }
        continue;
      }
      if (read === 0) await sleep(opts.pollMs, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  } finally {
    if (open) await log.close();
  }
}
