/**
 * `edgelat pipeline redrive`: dead letters on `<topic>.dlq` produced back to
 * their source topics (services/pipeline/redrive.ts), with a dry run that lists
 * them first.
 */
import type { EdgelatConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import type { EventLog } from '../eventlog/types.ts';
import { LISTED, REDRIVE_HEADER, redriveDeadLetters, type TopicRedrive } from '../pipeline/redrive.ts';
import { SINK_ROUTES } from '../../pipelines/warehouse-sink.ts';
import { UsageError } from './usage-error.ts';
import { printable } from '../names.ts';

/** Flags of `pipeline redrive` (as commander gives them). */
export interface RedriveFlags {
  /** Source topics, comma-separated. @default every topic the warehouse sink reads (and dead-letters) */
  topics?: string;
  error?: string;
  since?: number;
  until?: number;
  dryRun: boolean;
  json: boolean;
}

/** Topics the warehouse sink reads: the ones that have dead letters. */
export const REDRIVE_TOPICS: readonly string[] = Object.keys(SINK_ROUTES);

/**
 * Parse `--topics a,b`: known source topics, each once.
 * @throws {UsageError} naming an unknown topic (a `.dlq` one: its source), or an empty list.
 */
export function parseRedriveTopics(text: string | undefined): string[] {
  if (text === undefined) return [...REDRIVE_TOPICS];
  const names = [...new Set(text.split(',').map((s) => s.trim()).filter(Boolean))];
  if (names.length === 0) throw new UsageError(`--topics: name at least one source topic (known: ${REDRIVE_TOPICS.join(', ')}), got ${JSON.stringify(text)}`);
  for (const n of names) {
    if (n.endsWith('.dlq') && REDRIVE_TOPICS.includes(n.slice(0, -4))) throw new UsageError(`--topics: ${JSON.stringify(n)} is a dead-letter topic; name its source topic, ${JSON.stringify(n.slice(0, -4))}`);
    if (!REDRIVE_TOPICS.includes(n)) throw new UsageError(`--topics: ${JSON.stringify(n)} is not a topic edgelat dead-letters (known: ${REDRIVE_TOPICS.join(', ')})`);
  }
  return names;
}

/** The report of one topic, in lines (the dry run lists the dead letters picked). */
export function formatTopicRedrive(r: TopicRedrive, dryRun: boolean): string {
  if (r.read === 0) return `${r.dlq}: no dead letters\n`;
  const when = r.first_ts === null ? '' : ` (dead-lettered ${new Date(r.first_ts).toISOString()} to ${new Date(r.last_ts!).toISOString()})`;
  const skipped = [
    ...(r.without_bytes > 0 ? [`${r.without_bytes} without their bytes on ${r.dlq} (too large for a Kafka message: the dead_letters table keeps them)`] : []),
    ...(r.empty > 0 ? [`${r.empty} of an empty source record`] : []),
    // Why, in the first one's words (a trial: a schema registry that had lost the .dlq records' own schema id read as
    // "not a dead letter", which they were).
    ...(r.undecodable > 0 ? [`${r.undecodable} ${r.dlq} record(s) that could not be read as a dead letter (${r.undecodable === 1 ? '' : 'the first: '}${printable(r.undecodable_reason ?? 'no reason given')})`] : []),
  ];
  const copies = (r.redrive_copies > 0 ? `; ${r.redrive_copies} dead letter(s) of earlier redrives passed over (their origins are picked)` : '')
    + (r.repeated > 0 ? `; ${r.repeated} second cop${r.repeated === 1 ? 'y' : 'ies'} of dead letters passed over (a send the sink's producer retried)` : '');
  const sealed = r.sealed ? `; ${r.topic} is sealed: \`pipeline run --until-end\` reads ${dryRun ? 'them' : 'these'} too (it drains each topic to its end)` : '';
  const lines = [`${r.dlq} → ${r.topic}: ${r.read} read, ${r.matched} picked${when}, ${dryRun ? `${r.matched - r.without_bytes - r.empty} to produce (dry run: nothing produced)` : `${r.produced} produced`}${skipped.length > 0 ? `; not produced: ${skipped.join(', ')}` : ''}${copies}${sealed}`];
  if (dryRun) {
    for (const l of r.letters) {
      lines.push(`  ${r.dlq} ${l.dlq_partition}:${l.dlq_offset} (dead-lettered ${new Date(l.dead_lettered_ts).toISOString()})  source ${l.partition}:${l.offset} at ${new Date(l.ts).toISOString()}, ${l.bytes} bytes: ${printable(l.error)}`);
    }
    if (r.matched > r.letters.length) lines.push(`  + ${r.matched - r.letters.length} more (the first ${LISTED} are listed)`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Run `pipeline redrive` on Kafka (EDGELAT_KAFKA_BROKERS): read the `.dlq` topics through the schema registry when
 * one is configured, produce the raw bytes as they came (no registry in front), print a report per topic (JSON with
 * `--json`) and progress on stderr.
 * @throws {UsageError} without Kafka, for bad topics, or `--since` not before `--until`.
 */
export async function redriveCommand(config: EdgelatConfig, flags: RedriveFlags): Promise<TopicRedrive[]> {
  const topics = parseRedriveTopics(flags.topics);
  if (flags.error !== undefined && flags.error.trim() === '') throw new UsageError(`--error: expected some text to look for in the errors, got ${JSON.stringify(flags.error)}`);
  if (flags.since !== undefined && flags.until !== undefined && flags.since >= flags.until) {
    throw new UsageError(`--since ${new Date(flags.since).toISOString()} is not before --until ${new Date(flags.until).toISOString()}: no dead letter lies between them`);
  }
  if (!config.kafka) throw new UsageError('pipeline redrive reads the dead-letter topics on Kafka: set EDGELAT_KAFKA_BROKERS (the embedded demo keeps its dead letters in the table dead_letters: `edgelat sql`)');
  const logger = createLogger(config.logLevelSet ? config.logLevel : 'error');
  const { KafkaEventLog } = await import('../eventlog/kafka.ts');
  const { withSchemaRegistry } = await import('../eventlog/confluent-wire.ts');
  const { brokers, clientId, sasl, tls, compression, sessionTimeoutMs, rebalanceTimeoutMs } = config.kafka;
  const plain: EventLog = await KafkaEventLog.connect({ brokers, clientId, sasl, tls, compression, sessionTimeoutMs, rebalanceTimeoutMs, logger });
  // A registry that does not answer is asked again a few times, each said on stderr, then the command fails: a one-shot
  // command (a re-test: it waited in silence, asking for ever at most 30 s apart).
  const { RETRY_DEFAULTS } = await import('../retry.ts');
  const dlqLog = withSchemaRegistry(plain, config.schemaRegistryUrl, logger, {
    ...RETRY_DEFAULTS,
    onRetry: (error: unknown, attempt: number, delayMs: number) => process.stderr.write(`edgelat: ${(error as Error).message.split('\n')[0]}; asking again in ${(delayMs / 1000).toFixed(1)} s (try ${attempt} of ${RETRY_DEFAULTS.retries})\n`),
  });
  let said = 0;
  try {
    const results = await redriveDeadLetters(dlqLog, plain, {
      topics, errorContains: flags.error, sinceMs: flags.since, untilMs: flags.until, dryRun: flags.dryRun,
      onProgress: (read) => {
        if (read - said >= 10_000) {
          said = read;
          process.stderr.write(`edgelat: ${read.toLocaleString('en-US')} dead letters read so far\n`);
        }
      },
    });
    process.stdout.write(flags.json ? `${JSON.stringify({ dry_run: flags.dryRun, topics: results })}\n` : results.map((r) => formatTopicRedrive(r, flags.dryRun)).join(''));
    const produced = results.reduce((n, r) => n + r.produced, 0);
    if (produced > 0) {
      process.stderr.write(`edgelat: ${produced} record(s) produced again (header ${REDRIVE_HEADER}); the pipeline reads them as new records: those it now decodes are processed (late in windowed processors: their event time has passed), the others are dead-lettered again. The dead letters stay on .dlq: running this again produces them again (narrow it with --since, --until, --error)\n`);
    }
    return results;
  } finally {
    await dlqLog.close();
  }
}
