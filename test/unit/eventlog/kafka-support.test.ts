/** kafkajs's log lines through pinoLogCreator: what is normal operation goes to info, real trouble stays an error. */
import kafkajs from 'kafkajs';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { BrokerUnavailableError } from '../../../errors.ts';
import { fetchTopicOffsets, pinoLogCreator, produceChunks, recordBytes, securityHint, toBrokerError } from '../../../services/eventlog/kafka-support.ts';
import { MAX_PRODUCE_BYTES } from '../../../services/eventlog/types.ts';

const { logLevel } = kafkajs;

function capture() {
  const lines: { level: number; msg: string; kafkajs: string }[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const log = pinoLogCreator(logger)(logLevel.DEBUG);
  return { lines, log: (level: number, message: string, extra: Record<string, unknown> = {}) => log({ namespace: 'Consumer', level, label: 'ERROR', log: { timestamp: '', message, ...extra } }) };
}

describe('pinoLogCreator', () => {
  it('logs a broker that went away at info (pipeline run reports it once per restart), other errors as errors', () => {
    const { lines, log } = capture();
    // A trial killed the broker: kafkajs logged its "Closed connection" with the stack at error level.
    log(logLevel.ERROR, 'Crash: KafkaJSConnectionClosedError: Closed connection', { error: 'Closed connection', stack: 'KafkaJSConnectionClosedError: Closed connection\n    at Socket.onEnd' });
    log(logLevel.ERROR, 'Connection error: connect ECONNREFUSED 127.0.0.1:9092');
    log(logLevel.WARN, 'The group is rebalancing, re-joining');
    log(logLevel.ERROR, 'Crash: KafkaJSProtocolError: Not authorized to access topics: [Topic authorization failed]');
    log(logLevel.WARN, 'Response Heartbeat: unknown member id');
    log(logLevel.ERROR, 'Response OffsetCommit(key: 8, version: 5)', { error: 'Specified group generation id is not valid' });
    // A trial's retention gap: edgelat logs the skipped range; kafkajs's reset lines were errors too.
    log(logLevel.ERROR, 'Offset out of range, resetting to default offset', { topic: 't', partition: 0 });
    log(logLevel.ERROR, 'Response Fetch(key: 1, version: 11)', { error: 'The requested offset is not within the range of offsets maintained by the server' });
    // A trial's 56 s broker stall, recovered by itself: 18 such error lines.
    log(logLevel.ERROR, 'Response OffsetCommit(key: 8, version: 5)', { error: 'The coordinator is not aware of this member' });
    log(logLevel.ERROR, 'Request Produce(key: 0, version: 7) timed out', { retryCount: 0 });
    expect(lines.map((l) => [l.level, l.msg.slice(0, 30), l.kafkajs])).toEqual([
      [30, 'Crash: KafkaJSConnectionClosed', 'Consumer'],
      [30, 'Connection error: connect ECON', 'Consumer'],
      [30, 'The group is rebalancing, re-j', 'Consumer'],
      [50, 'Crash: KafkaJSProtocolError: N', 'Consumer'],
      [40, 'Response Heartbeat: unknown me', 'Consumer'],
      [30, 'Response OffsetCommit(key: 8, ', 'Consumer'],
      [30, 'Offset out of range, resetting', 'Consumer'],
      [30, 'Response Fetch(key: 1, version', 'Consumer'],
      [30, 'Response OffsetCommit(key: 8, ', 'Consumer'],
      [30, 'Request Produce(key: 0, versio', 'Consumer'],
    ]);
  });
});

describe('toBrokerError', () => {
  it('names the call of a plain Error kafkajs throws (a trial: "Broker not connected" alone, for a broker that never answers)', () => {
    const e = toBrokerError(new Error('Broker not connected'), 'connect to "127.0.0.1:29999"');
    expect([e.constructor.name, e.message, (e as BrokerUnavailableError).retriable]).toEqual(['BrokerUnavailableError', 'kafka: connect to "127.0.0.1:29999" failed: Broker not connected', true]);
    // Programmer errors pass unchanged.
    const bug = new TypeError('x is not a function');
    expect(toBrokerError(bug, 'produce')).toBe(bug);
  });

  it('takes a TypeError raised in kafkajs\'s own code for a broker answer it could not read: retriable (a trial: it ended a pipeline run)', () => {
    const kafkajs = new TypeError('Cannot destructure property \'partitions\' of \'low.pop(...)\' as it is undefined.');
    kafkajs.stack = `TypeError: ${kafkajs.message}\n    at /srv/app/node_modules/kafkajs/src/admin/index.js:328:17\n    at async /srv/app/services/eventlog/kafka.ts:253:21`;
    const e = toBrokerError(kafkajs, 'fetch offsets of "t"');
    expect([e.constructor.name, e.message, (e as BrokerUnavailableError).retriable]).toEqual(['BrokerUnavailableError',
      'kafka: fetch offsets of "t" failed: kafkajs could not read the broker\'s answer (Cannot destructure property \'partitions\' of \'low.pop(...)\' as it is undefined.)', true]);
    // Ours, with kafkajs further down the stack, is still a programmer error.
    const ours = new TypeError('y is undefined');
    ours.stack = 'TypeError: y is undefined\n    at /srv/app/services/eventlog/kafka.ts:10:1\n    at /srv/app/node_modules/kafkajs/src/index.js:1:1';
    expect(toBrokerError(ours, 'produce')).toBe(ours);
  });
});

describe('produceChunks and recordBytes', () => {
  it('splits records, in order, into runs of at most the limit; a record above it runs alone', () => {
    expect(produceChunks([])).toEqual([]);
    expect(produceChunks([400_000, 400_000, 400_000])).toEqual([[0, 2], [2, 3]]);
    expect(produceChunks([100, 1_500_000, 100])).toEqual([[0, 1], [1, 2], [2, 3]]);
    expect(produceChunks([5, 5, 5, 5, 5], 10)).toEqual([[0, 2], [2, 4], [4, 5]]);
    expect(produceChunks([10, 0, 1], 10)).toEqual([[0, 2], [2, 3]]);
    expect(MAX_PRODUCE_BYTES).toBeLessThan(1_048_588); // Kafka's default message.max.bytes
  });

  it('counts key, value and header bytes (UTF-8) plus 64 for the record\'s own fields', () => {
    expect(recordBytes({ key: 'k', value: Buffer.alloc(10), headers: { a: 'bc' } })).toBe(64 + 10 + 1 + 1 + 2);
    expect(recordBytes({ key: null, value: Buffer.alloc(0) })).toBe(64);
    expect(recordBytes({ key: 'µ', value: Buffer.alloc(1), headers: { 'é': 'ü' } })).toBe(64 + 1 + 2 + 2 + 2);
  });
});

describe('fetchTopicOffsets', () => {
  const offsets = [{ partition: 0, offset: '5', high: '5', low: '0' }];
  it('asks again, twice, when the answer could not be read, and throws the broker error itself when it stays so', async () => {
    let calls = 0;
    const flaky = { fetchTopicOffsets: async () => (++calls < 3 ? Promise.reject(new Error('Broker not connected')) : offsets) };
    expect(await fetchTopicOffsets(flaky, 't')).toEqual(offsets);
    expect(calls).toBe(3);
    calls = 0;
    const down = { fetchTopicOffsets: async () => { calls++; throw new Error('Broker not connected'); } };
    const error = await fetchTopicOffsets(down, 't').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerUnavailableError);
    expect((error as Error).message).toBe('kafka: fetch offsets of "t" failed: Broker not connected');
    expect(calls).toBe(3);
  });
});

describe('securityHint', () => {
  // kafkajs's messages as they came from a first connect with each mismatch (the mock cluster, a Node TLS server).
  const at = '127.0.0.1:9092';
  const none = { saslMechanism: null, tls: false };
  it('names the setting to check where kafkajs\'s words name none', () => {
    expect(securityHint('kafka: connect to "127.0.0.1:9092" failed: The Kafka server does not support the requested API version', { saslMechanism: 'plain', tls: false }, at))
      .toBe('EDGELAT_KAFKA_SASL_MECHANISM=plain is set and "127.0.0.1:9092" refused the SASL handshake: is it a SASL listener (SASL_PLAINTEXT or SASL_SSL) with that mechanism enabled?');
    expect(securityHint('Connection error: read ECONNRESET', { saslMechanism: null, tls: true }, at))
      .toBe('EDGELAT_KAFKA_TLS=true and "127.0.0.1:9092" ended the TLS handshake: is it a TLS listener (SSL or SASL_SSL)? A plaintext one resets it');
    expect(securityHint('Closed connection', none, at))
      .toBe('"127.0.0.1:9092" closed the connection: if it is a TLS or SASL listener, set EDGELAT_KAFKA_TLS=true or EDGELAT_KAFKA_SASL_MECHANISM (with _USERNAME and _PASSWORD)');
    expect(securityHint('Closed connection', { saslMechanism: 'scram-sha-256', tls: false }, at))
      .toBe('"127.0.0.1:9092" closed the connection: if it is a TLS or SASL listener, set EDGELAT_KAFKA_TLS=true');
    expect(securityHint('Connection error: self-signed certificate', { saslMechanism: null, tls: true }, at))
      .toBe('EDGELAT_KAFKA_TLS=true checks the brokers\' certificates against Node\'s CA store: for a private CA, add it with NODE_EXTRA_CA_CERTS=/path/ca.pem');
    // An HTTP server's port, or a listener that never answers (a trial: "Broker not connected" after 30 s, naming nothing).
    expect(securityHint('Broker not connected', none, at))
      .toBe('"127.0.0.1:9092" accepted the connection but gave no Kafka answer within the client\'s request time-out (30 s): is that address a Kafka listener, or is the broker hung?');
  });

  it('adds nothing to failures that say what they are', () => {
    expect(securityHint('Connection error: connect ECONNREFUSED 127.0.0.1:9092', { saslMechanism: 'plain', tls: true }, at)).toBeNull();
    expect(securityHint('getaddrinfo ENOTFOUND kafka', { saslMechanism: null, tls: true }, at)).toBeNull();
    expect(securityHint('SASL PLAIN authentication failed: Authentication failed: Invalid username or password', { saslMechanism: 'plain', tls: false }, at)).toBeNull();
    expect(securityHint('The Kafka server does not support the requested API version', none, at)).toBeNull();
    expect(securityHint('Connection error: read ECONNRESET', { saslMechanism: 'plain', tls: true }, at)).toMatch(/^EDGELAT_KAFKA_TLS=true and /);
  });
});
