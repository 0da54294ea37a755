/**
 * The kafkajs settings of the Kafka event log (kafka.ts), built in one pure
 * function so the security and compression wiring can be unit-tested.
 */
import { CompressionTypes, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import { kafkaLogLevel, pinoLogCreator } from './kafka-support.ts';

/** SASL credentials of the Kafka event log (EDGELAT_KAFKA_SASL_*). The password never reaches a log line. */
export interface KafkaSasl {
  /** SASL mechanism, as kafkajs names it. */
  mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  /** SASL user name. */
  username: string;
  /** SASL password (secret). */
  password: string;
}

/** Producer compression of the Kafka event log; kafkajs has gzip built in (other codecs need extra packages). */
export type KafkaCompression = 'none' | 'gzip';

/** Inputs of {@link kafkaClientConfig}: the connection part of `KafkaLogOptions`, defaults applied by the caller or here. */
export interface KafkaClientInput {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** kafkajs client id. @default 'edgelat' */
  clientId?: string;
  /** pino logger for kafkajs's log lines; none means kafkajs logs nothing. @default undefined */
  logger?: Logger;
  /** kafkajs retries of one request. @default 5 */
  retries?: number;
  /** SASL credentials, or null/undefined for no SASL. @default null */
  sasl?: KafkaSasl | null;
  /**
   * Connect with TLS, verifying the brokers' certificates against Node's CA store
   * (add a private CA with the NODE_EXTRA_CA_CERTS environment variable). @default false
   */
  tls?: boolean;
  /** Compression of every produced batch. @default 'none' */
  compression?: KafkaCompression;
}

/** What {@link kafkaClientConfig} returns: the `new Kafka(...)` config and the options spread into every `producer.send`. */
export interface KafkaClientSettings {
  /** Config of the kafkajs client (admin, producer and consumers share it). */
  client: KafkaConfig;
  /** Options of every `producer.send`: all in-sync replicas acknowledge; the configured codec. */
  send: { acks: -1; compression: CompressionTypes };
}

/**
 * Build the kafkajs client config and the producer send options from the event log's options.
 *
 * Behaviour: pure (reads no files or environment). `ssl: true` only when `tls`;
 * `sasl` only when credentials are given (kafkajs then sends SaslHandshake +
 * SaslAuthenticate on every connection, over TLS when `tls`); `logCreator` only
 * with a logger. Retries back off from 100 ms to at most 5,000 ms.
 * @param input  Brokers, client id, logger, retries, SASL, TLS and compression; see {@link KafkaClientInput}.
 * @returns      The client config and the send options, see {@link KafkaClientSettings}.
 * @throws {RangeError} if `brokers` is empty, `retries` is not an integer >= 0, or `compression`/`sasl.mechanism` is unknown.
 * @example see test/unit/eventlog/kafka-client-config.test.ts
 */
export function kafkaClientConfig(input: KafkaClientInput): KafkaClientSettings {
  if (input.brokers.length === 0) throw new RangeError('brokers: expected at least one "host:port", got []');
  const retries = input.retries ?? 5;
  if (!Number.isInteger(retries) || retries < 0) throw new RangeError(`retries: expected an integer >= 0, got ${JSON.stringify(input.retries)}`);
  const compression = input.compression ?? 'none';
  if (compression !== 'none' && compression !== 'gzip') throw new RangeError(`compression: expected "none" or "gzip", got ${JSON.stringify(compression)}`);
  const sasl = input.sasl ? saslOptions(input.sasl) : null;
  const client: KafkaConfig = {
    clientId: input.clientId ?? 'edgelat',
    brokers: [...input.brokers],
    logLevel: kafkaLogLevel(input.logger),
    ...(input.logger ? { logCreator: pinoLogCreator(input.logger) } : {}),
    retry: { initialRetryTime: 100, maxRetryTime: 5_000, retries },
    ...(input.tls ? { ssl: true } : {}),
    ...(sasl ? { sasl } : {}),
  };
  return { client, send: { acks: -1, compression: compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None } };
}

/** kafkajs's SASL options for `sasl` (a copy; kafkajs's type is a union per mechanism). @throws {RangeError} on an unknown mechanism. */
function saslOptions(sasl: KafkaSasl): SASLOptions {
  const { username, password } = sasl;
  switch (sasl.mechanism) {
    case 'plain': return { mechanism: 'plain', username, password };
    case 'scram-sha-256': return { mechanism: 'scram-sha-256', username, password };
    case 'scram-sha-512': return { mechanism: 'scram-sha-512', username, password };
    default: throw new RangeError(`sasl.mechanism: expected "plain", "scram-sha-256" or "scram-sha-512", got ${JSON.stringify((sasl as { mechanism: unknown }).mechanism)}`);
  }
}
