/** kafkajs's log lines through pinoLogCreator: what is normal operation goes to info, real trouble stays an error. */
import kafkajs from 'kafkajs';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { BrokerUnavailableError } from '../../../errors.ts';
import { pinoLogCreator, toBrokerError } from '../../../services/eventlog/kafka-support.ts';

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
    expect(lines.map((l) => [l.level, l.msg.slice(0, 30), l.kafkajs])).toEqual([
      [30, 'Crash: KafkaJSConnectionClosed', 'Consumer'],
      [30, 'Connection error: connect ECON', 'Consumer'],
      [30, 'The group is rebalancing, re-j', 'Consumer'],
      [50, 'Crash: KafkaJSProtocolError: N', 'Consumer'],
      [40, 'Response Heartbeat: unknown me', 'Consumer'],
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
});
