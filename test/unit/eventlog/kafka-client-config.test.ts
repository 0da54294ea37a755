/**
 * kafkaClientConfig: the exact kafkajs client config and producer send options
 * for each security/compression combination, and the EDGELAT_KAFKA_* path from
 * the environment to kafkajs. The wire side (gzip through a broker, the SASL
 * handshake being attempted) is in test/integration/kafka-security-compression.test.ts.
 */
import { CompressionTypes, logLevel } from 'kafkajs';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../services/config.ts';
import { kafkaClientConfig, type KafkaClientInput } from '../../../services/eventlog/kafka-client-config.ts';

const RETRY = { initialRetryTime: 100, maxRetryTime: 5_000, retries: 5 };

describe('kafkaClientConfig', () => {
  it.each<[string, KafkaClientInput, ReturnType<typeof kafkaClientConfig>]>([
    [
      'no security, no compression',
      { brokers: ['k1:9092', 'k2:9092'] },
      { client: { clientId: 'edgelat', brokers: ['k1:9092', 'k2:9092'], logLevel: logLevel.NOTHING, retry: RETRY }, send: { acks: -1, compression: CompressionTypes.None } },
    ],
    [
      'sasl plain without tls',
      { brokers: ['k1:9092'], clientId: 'c1', sasl: { mechanism: 'plain', username: 'alice', password: 's3cret' } },
      {
        client: { clientId: 'c1', brokers: ['k1:9092'], logLevel: logLevel.NOTHING, retry: RETRY, sasl: { mechanism: 'plain', username: 'alice', password: 's3cret' } },
        send: { acks: -1, compression: CompressionTypes.None },
      },
    ],
    [
      'scram-sha-512 over tls',
      { brokers: ['k1:9093'], retries: 2, tls: true, sasl: { mechanism: 'scram-sha-512', username: 'bob', password: 'hunter2' } },
      {
        client: { clientId: 'edgelat', brokers: ['k1:9093'], logLevel: logLevel.NOTHING, retry: { ...RETRY, retries: 2 }, ssl: true, sasl: { mechanism: 'scram-sha-512', username: 'bob', password: 'hunter2' } },
        send: { acks: -1, compression: CompressionTypes.None },
      },
    ],
    [
      'scram-sha-256, tls off, gzip compression',
      { brokers: ['k1:9092'], tls: false, compression: 'gzip', sasl: { mechanism: 'scram-sha-256', username: 'carol', password: 'pw' } },
      {
        client: { clientId: 'edgelat', brokers: ['k1:9092'], logLevel: logLevel.NOTHING, retry: RETRY, sasl: { mechanism: 'scram-sha-256', username: 'carol', password: 'pw' } },
        send: { acks: -1, compression: CompressionTypes.GZIP },
      },
    ],
    [
      'gzip compression only',
      { brokers: ['k1:9092'], compression: 'gzip', sasl: null },
      { client: { clientId: 'edgelat', brokers: ['k1:9092'], logLevel: logLevel.NOTHING, retry: RETRY }, send: { acks: -1, compression: CompressionTypes.GZIP } },
    ],
  ])('%s', (_name, input, expected) => {
    const got = kafkaClientConfig(input);
    expect(got).toStrictEqual(expected);
    // kafkajs's own codes: GZIP is 1 in the record-batch attributes, none is 0.
    expect(got.send.compression).toBe(input.compression === 'gzip' ? 1 : 0);
  });

  it('bridges kafkajs logs to a pino logger at the matching level', () => {
    const got = kafkaClientConfig({ brokers: ['k1:9092'], logger: pino({ level: 'warn' }) });
    expect(got.client.logLevel).toBe(logLevel.WARN);
    expect(typeof got.client.logCreator).toBe('function');
    expect(kafkaClientConfig({ brokers: ['k1:9092'], logger: pino({ level: 'silent' }) }).client.logLevel).toBe(logLevel.NOTHING);
  });

  it('copies the brokers and the credentials instead of aliasing the input', () => {
    const input: KafkaClientInput = { brokers: ['k1:9092'], sasl: { mechanism: 'plain', username: 'u', password: 'p' } };
    const got = kafkaClientConfig(input);
    input.brokers.push('k2:9092');
    input.sasl!.password = 'changed';
    expect(got.client.brokers).toEqual(['k1:9092']);
    expect(got.client.sasl).toEqual({ mechanism: 'plain', username: 'u', password: 'p' });
  });

  it.each<[string, KafkaClientInput, RegExp]>([
    ['no brokers', { brokers: [] }, /brokers: expected at least one "host:port", got \[\]/],
    ['negative retries', { brokers: ['k:1'], retries: -1 }, /retries: expected an integer >= 0, got -1/],
    ['snappy (needs a package)', { brokers: ['k:1'], compression: 'snappy' as 'gzip' }, /compression: expected "none" or "gzip", got "snappy"/],
    ['an unknown SASL mechanism', { brokers: ['k:1'], sasl: { mechanism: 'gssapi' as 'plain', username: 'u', password: 'p' } }, /sasl.mechanism: expected .*, got "gssapi"/],
  ])('rejects %s with a RangeError', (_name, input, message) => {
    expect(() => kafkaClientConfig(input)).toThrow(RangeError);
    expect(() => kafkaClientConfig(input)).toThrow(message);
  });

  it('turns EDGELAT_KAFKA_* variables into the kafkajs config', () => {
    const kafka = loadConfig({
      EDGELAT_KAFKA_BROKERS: 'k1:9093',
      EDGELAT_KAFKA_CLIENT_ID: 'edge',
      EDGELAT_KAFKA_SASL_MECHANISM: 'scram-sha-512',
      EDGELAT_KAFKA_SASL_USERNAME: 'svc',
      EDGELAT_KAFKA_SASL_PASSWORD: 'pa55',
      EDGELAT_KAFKA_TLS: 'true',
      EDGELAT_KAFKA_COMPRESSION: 'gzip',
    }).kafka!;
    expect(kafkaClientConfig(kafka)).toStrictEqual({
      client: { clientId: 'edge', brokers: ['k1:9093'], logLevel: logLevel.NOTHING, retry: RETRY, ssl: true, sasl: { mechanism: 'scram-sha-512', username: 'svc', password: 'pa55' } },
      send: { acks: -1, compression: CompressionTypes.GZIP },
    });
  });
});
