/**
 * Helpers shared by the Kafka event log (kafka.ts) and its consumer
 * (kafka-consumer.ts): error mapping, the pino log bridge, record conversion,
 * splitting a produce call into requests the broker accepts.
 */
import { isUtf8 } from 'node:buffer';
import kafkajs, { type KafkaMessage, type logCreator, type logLevel as LogLevel } from 'kafkajs';

// kafkajs is CommonJS: Node's ESM loader exposes only some names as named exports, so take these from the default export.
const { KafkaJSError, logLevel } = kafkajs;
import type { Logger } from 'pino';
import { BrokerUnavailableError, PipelineError, RetriesExhaustedError } from '../../errors.ts';
import { withRetry } from '../retry.ts';
import { MAX_PRODUCE_BYTES, NULL_VALUE_HEADER, type Headers, type LogRecord, type ProduceRecord, type TopicPartition } from './types.ts';

/** Topic holding one marker record per sealed topic (key = the sealed topic's name). */
export const SEALS_TOPIC = 'edgelat.control.seals';

/** Map key of a topic partition. */
export const tpKey = (tp: TopicPartition): string => `${tp.topic}\u0000${tp.partition}`;

/** A stack frame in kafkajs's own code. */
const KAFKAJS_FRAME = /[\\/]node_modules[\\/]kafkajs[\\/]/;

/**
 * The Kafka error types (`type`, e.g. `OFFSET_METADATA_TOO_LARGE`) a kafkajs error carries: its own, and those of the
 * errors it wraps (`cause`, `originalError`; a retrier's KafkaJSNonRetriableError or KafkaJSNumberOfRetriesExceeded),
 * three levels deep. Empty for anything else.
 */
export function kafkajsErrorTypes(e: unknown): string[] {
  const types: string[] = [];
  let level: unknown[] = [e];
  for (let depth = 0; depth < 3 && level.length > 0; depth++) {
    const next: unknown[] = [];
    for (const x of level) {
      if (x === null || typeof x !== 'object') continue;
      const inner = x as { type?: unknown; cause?: unknown; originalError?: unknown };
      if (typeof inner.type === 'string') types.push(inner.type);
      next.push(inner.cause, inner.originalError);
    }
    level = next;
  }
  return types;
}

/**
 * Translate a kafkajs failure into edgelat's hierarchy.
 *
 * Behaviour: kafkajs errors become {@link BrokerUnavailableError} (retriable when
 * kafkajs says so), and so do plain `Error`s (kafkajs throws some: "Broker not connected"; retriable) and
 * TypeErrors raised in kafkajs's own code (an answer it could not read; retriable); edgelat errors and
 * programmer errors of ours (TypeError, RangeError...) pass unchanged.
 * @param what  Lower-case description of the failed call, e.g. `produce to "t"`.
 */
export function toBrokerError(e: unknown, what: string): Error {
  if (e instanceof PipelineError) return e;
  if (e instanceof KafkaJSError) {
    // Group-membership errors (a rebalance under way, a stale generation) clear once the member rejoins: retriable.
    const rejoin = kafkajsErrorTypes(e).some((t) => ['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'NOT_COORDINATOR', 'COORDINATOR_LOAD_IN_PROGRESS', 'COORDINATOR_NOT_AVAILABLE'].includes(t));
    return new BrokerUnavailableError(`kafka: ${what} failed: ${e.message}`, { retriable: e.retriable || rejoin, cause: e });
  }
  // kafkajs also throws plain Errors of its own: "Broker not connected" (a broker that accepts the connection and never
  // answers) reached the user with neither the call nor the address (a trial). Programmer errors pass unchanged.
  if (e instanceof Error && Object.getPrototypeOf(e) === Error.prototype) return new BrokerUnavailableError(`kafka: ${what} failed: ${e.message}`, { retriable: true, cause: e });
  // A TypeError raised inside kafkajs is its reading of an answer it did not expect, not ours: fetchTopicOffsets
  // destructures `low.pop()` of an offsets answer that came back empty while the cluster's metadata was refreshed (a
  // trial: "Cannot destructure property 'partitions' of 'low.pop(...)'" ended a pipeline run). Retriable.
  if (e instanceof TypeError && KAFKAJS_FRAME.test(e.stack?.split('\n')[1] ?? '')) {
    return new BrokerUnavailableError(`kafka: ${what} failed: kafkajs could not read the broker's answer (${e.message})`, { retriable: true, cause: e });
  }
  return e instanceof Error ? e : new BrokerUnavailableError(`kafka: ${what} failed: ${JSON.stringify(String(e))}`, { cause: e });
}

/**
 * A hint for a failed first connection that reads as a mismatch of security settings between edgelat and the
 * listener at `brokers`, or null. kafkajs words each one as a protocol failure that names neither: SASL against a
 * listener without it "does not support the requested API version" (its SaslHandshake is refused), TLS against a
 * plaintext listener "ECONNRESET", a plaintext client at a TLS or SASL listener "Closed connection", a certificate
 * from a private CA "self-signed certificate" (a trial). Failures that say what they are (a refused connection, an
 * unknown host, a rejected password) get none.
 * @param message  The failure's message.
 * @param s        The connection's settings: SASL mechanism (or null) and TLS.
 * @param brokers  The bootstrap brokers, as given (`host:port,...`).
 */
export function securityHint(message: string, s: { saslMechanism: string | null; tls: boolean }, brokers: string): string | null {
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|authentication failed/i.test(message)) return null;
  const at = JSON.stringify(brokers);
  if (/certificate|CERT_|unable to verify|UNABLE_TO_GET_ISSUER/i.test(message) && s.tls) {
    return `EDGELAT_KAFKA_TLS=true checks the brokers' certificates against Node's CA store: for a private CA, add it with NODE_EXTRA_CA_CERTS=/path/ca.pem`;
  }
  if (s.saslMechanism !== null && /requested API version|UNSUPPORTED_VERSION|SASL|Illegal/i.test(message)) {
    return `EDGELAT_KAFKA_SASL_MECHANISM=${s.saslMechanism} is set and ${at} refused the SASL handshake: is it a SASL listener (SASL_PLAINTEXT or SASL_SSL) with that mechanism enabled?`;
  }
  if (s.tls && /ECONNRESET|EPROTO|wrong version number|packet length|Closed connection|socket hang up/i.test(message)) {
    return `EDGELAT_KAFKA_TLS=true and ${at} ended the TLS handshake: is it a TLS listener (SSL or SASL_SSL)? A plaintext one resets it`;
  }
  if (!s.tls && /Closed connection|ECONNRESET|socket hang up/i.test(message)) {
    const missing = ['EDGELAT_KAFKA_TLS=true', ...(s.saslMechanism === null ? ['EDGELAT_KAFKA_SASL_MECHANISM (with _USERNAME and _PASSWORD)'] : [])];
    return `${at} closed the connection: if it is a TLS or SASL listener, set ${missing.join(' or ')}`;
  }
  // Accepted the connection, then no Kafka answer within the client's request time-out (a trial: an HTTP server's port
  // gave "Broker not connected" after 30 s, naming nothing).
  if (/Broker not connected|Request ApiVersions.*timed out|timed out/i.test(message)) {
    return `${at} accepted the connection but gave no Kafka answer within the client's request time-out (30 s): is that address a Kafka listener, or is the broker hung?`;
  }
  return null;
}

/**
 * The low and high offsets of a topic's partitions (kafkajs `admin.fetchTopicOffsets`), asked again twice, 200 ms
 * apart, before an error is thrown: the mock cluster's answer kafkajs cannot read (an empty offsets list while the
 * metadata is refreshed) comes and goes, and thrown at once it restarted every processor of a run (a re-test: 1 run in 3).
 * @throws {BrokerUnavailableError} as {@link guard}, the last one.
 */
export async function fetchTopicOffsets(admin: Pick<kafkajs.Admin, 'fetchTopicOffsets'>, topic: string): Promise<Awaited<ReturnType<kafkajs.Admin['fetchTopicOffsets']>>> {
  try {
    return await withRetry(() => guard(`fetch offsets of ${JSON.stringify(topic)}`, () => admin.fetchTopicOffsets(topic)), { retries: 2, initialRetryTimeMs: 200, maxRetryTimeMs: 400 });
  } catch (e) {
    throw e instanceof RetriesExhaustedError ? e.cause : e;
  }
}

/** Run `fn`, mapping its kafkajs errors through {@link toBrokerError}. */
export async function guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw toBrokerError(e, what);
  }
}

/**
 * kafkajs error/warning lines that are part of normal operation (see pinoLogCreator): every rebalance; the retry
 * limit edgelat sets on purpose; the connection failures of a broker that went away, a dozen lines a second
 * with their stacks, which `pipeline run` reports itself in one line per restart (runStreamingWithRestarts); and
 * the reset of a position that retention overtook, which the consumer reports itself with the skipped range.
 */
const EXPECTED_KAFKAJS_LINES: readonly RegExp[] = [
  /group is rebalancing/i, /Limiting retries for the idempotent producer/,
  // A commit sent with the generation a rebalance just ended (a trial: 5 such lines, with stacks, in a run whose output
  // was exact): the commit is retried or its offsets replayed by the partitions' next owner.
  /Specified group generation id is not valid/,
  // A member the coordinator expired during a broker stall (a trial: 18 error lines after a 56 s stall, in a run that
  // recovered by itself): it joins again, and the partitions' next owner replays what was not committed.
  /The coordinator is not aware of this member/,
  // A hung broker's requests timing out, a line each retry: the run reports the stall (restart lines, /healthz).
  /Request \w+\(key: \d+, version: \d+\) timed out/,
  /Connection error|Failed to connect to (seed )?broker|Restarting the consumer|Crash: KafkaJSNumberOfRetriesExceeded|Crash: KafkaJSConnectionError/,
  // The broker closed the connection (it went away; a trial killed it): kafkajs logs the error with its stack.
  /Closed connection|KafkaJSConnectionClosedError/,
  // Retention deleted records before the group read them: kafkajs resets the position with half a dozen error lines
  // (a trial); edgelat logs the skipped range itself, once, as an error (kafka-consumer.ts).
  /Offset out of range|not within the range of offsets maintained by the server/,
];

/**
 * A kafkajs `logCreator` writing to a pino logger (never the console).
 * @param logger  pino logger; kafkajs's namespace goes into the `kafkajs` field.
 */
export function pinoLogCreator(logger: Logger): logCreator {
  return () => ({ namespace, level, log }) => {
    const { message, timestamp: _ts, ...extra } = log;
    const fields = { kafkajs: namespace, ...extra };
    // Lines kafkajs logs as errors or warnings in normal operation (EXPECTED_KAFKAJS_LINES) go to info, so the default
    // `warn` level shows only real trouble.
    if (level <= logLevel.WARN && EXPECTED_KAFKAJS_LINES.some((re) => re.test(`${message} ${String(extra.error ?? '')}`))) logger.info(fields, message);
    else if (level === logLevel.ERROR) logger.error(fields, message);
    else if (level === logLevel.WARN) logger.warn(fields, message);
    else if (level === logLevel.INFO) logger.info(fields, message);
    else logger.debug(fields, message);
  };
}

/** kafkajs log level matching a pino level (kafkajs filters before calling the creator). */
export function kafkaLogLevel(logger: Logger | undefined): LogLevel {
  if (!logger) return logLevel.NOTHING;
  switch (logger.level) {
    case 'silent': return logLevel.NOTHING;
    case 'fatal': case 'error': return logLevel.ERROR;
    case 'warn': return logLevel.WARN;
    case 'info': return logLevel.INFO;
    default: return logLevel.DEBUG;
  }
}

/**
 * Convert a fetched kafkajs message into a {@link LogRecord} (key/header bytes read as UTF-8; a key whose
 * bytes are not UTF-8 also keeps them in `wireKey`, so its dead letter stores the key that came).
 */
export function toLogRecord(topic: string, partition: number, m: KafkaMessage): LogRecord {
  const headers: Headers = {};
  for (const [k, v] of Object.entries(m.headers ?? {})) {
    if (v === undefined) continue;
    const one = Array.isArray(v) ? v[v.length - 1] : v;
    if (one !== undefined) headers[k] = Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
  }
  const key = m.key ?? null;
  return {
    topic,
    partition,
    offset: Number(m.offset),
    key: key === null ? null : key.toString('utf8'),
    ...(key !== null && !isUtf8(key) ? { wireKey: key } : {}),
    value: m.value ?? Buffer.alloc(0),
    headers: m.value === null ? { ...headers, [NULL_VALUE_HEADER]: 'tombstone' } : headers,
    timestampMs: Number(m.timestamp),
  };
}

/** Resolve after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Bytes a record adds to a record batch, estimated from above: key, value, headers, plus 64 for its varints and attributes (Kafka record format v2). */
export function recordBytes(r: Pick<ProduceRecord, 'key' | 'wireKey' | 'value' | 'headers'>): number {
  let n = 64 + r.value.length + (r.wireKey?.length ?? (r.key === null ? 0 : Buffer.byteLength(r.key)));
  for (const [k, v] of Object.entries(r.headers ?? {})) n += Buffer.byteLength(k) + Buffer.byteLength(String(v));
  return n;
}

/**
 * Split records, in order, into consecutive runs of at most `limit` bytes each ({@link recordBytes}); a record
 * larger than `limit` runs alone (the broker then decides). Sent one after another, the runs keep each partition's order.
 * @param sizes  Bytes of each record, ≥ 0.
 * @param limit  Most bytes of a run, > 0. @default MAX_PRODUCE_BYTES
 * @returns      Runs as [start, end) index pairs covering 0..sizes.length once, in order; [] for no records.
 */
export function produceChunks(sizes: readonly number[], limit = MAX_PRODUCE_BYTES): [number, number][] {
  const runs: [number, number][] = [];
  let start = 0;
  let bytes = 0;
  sizes.forEach((size, i) => {
    if (i > start && bytes + size > limit) {
      runs.push([start, i]);
      start = i;
      bytes = 0;
    }
    bytes += size;
  });
  if (sizes.length > start) runs.push([start, sizes.length]);
  return runs;
}
