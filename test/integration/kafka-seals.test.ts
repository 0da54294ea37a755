/**
 * Seals on the control topic `edgelat.control.seals` (kafka-seals.ts) against the mock cluster: a record seals the
 * topic its key names only when its value is `{"sealed": <that topic>, …}`; any other record there seals nothing and
 * is logged once, naming why (a trial: a line `edge.inference.v1:sealed` typed into kcat sealed the topic for good).
 */
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { KafkaEventLog } from '../../services/eventlog/kafka.ts';
import { SEALS_TOPIC } from '../../services/eventlog/kafka-support.ts';
import { sealMarkerProblem } from '../../services/eventlog/kafka-seals.ts';
import { kafkaTestsCanRun, startKafkaMock } from '../helpers/kafka-mock.ts';

describe('sealMarkerProblem', () => {
  it('takes {"sealed": key} (with anything else beside it) and names what is wrong with any other record', () => {
    const b = (text: string) => Buffer.from(text);
    expect(sealMarkerProblem('edge.load.v1', b('{"sealed":"edge.load.v1","atMs":1717200000000}'))).toBeNull();
    expect(sealMarkerProblem('edge.load.v1', b('{"sealed": "edge.load.v1"}'))).toBeNull();
    expect([
      sealMarkerProblem('edge.load.v1', b('sealed')),
      sealMarkerProblem('edge.load.v1', b('{"sealed":"edge.load.v2"}')),
      sealMarkerProblem('edge.load.v1', b('{"atMs":1}')),
      sealMarkerProblem('edge.load.v1', b('["edge.load.v1"]')),
      sealMarkerProblem('edge.load.v1', null),
      sealMarkerProblem(null, b('{"sealed":"edge.load.v1"}')),
    ]).toEqual([
      'its value "sealed" is not JSON: expected {"sealed":"edge.load.v1"}',
      'its value\'s "sealed" is "edge.load.v2", not its key: expected {"sealed":"edge.load.v1"}',
      'its value has no "sealed": expected {"sealed":"edge.load.v1"}',
      'its value "[\\"edge.load.v1\\"]" is not a JSON object: expected {"sealed":"edge.load.v1"}',
      'its value is empty: expected {"sealed":"edge.load.v1"}',
      'it has no key (the key names the topic to seal)',
    ]);
  });
});

describe.skipIf(!kafkaTestsCanRun('the seal-marker test', { mockOnly: true }))('seals read from the control topic', () => {
  it('a record that is not a seal seals nothing and is logged; a seal (its own, or the README\'s kcat line) seals', async () => {
    const mock = await startKafkaMock();
    const kafka = new Kafka({ brokers: mock.brokers, clientId: 'edgelat-seals-test', logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    const writer = await KafkaEventLog.connect({ brokers: mock.brokers, clientId: 'edgelat-seals-writer' });
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    let reader: KafkaEventLog | undefined;
    try {
      await producer.connect();
      await producer.send({ topic: SEALS_TOPIC, messages: [
        { key: 'typed.by.hand', value: 'sealed' },
        { key: 'other.key', value: '{"sealed":"another.topic"}' },
        { key: 'readme.line', value: '{"sealed": "readme.line"}' },
      ] });
      await writer.seal('sealed.by.edgelat');
      reader = await KafkaEventLog.connect({ brokers: mock.brokers, clientId: 'edgelat-seals-reader', logger });
      const sealed = [];
      for (const topic of ['typed.by.hand', 'other.key', 'readme.line', 'sealed.by.edgelat', 'another.topic']) sealed.push([topic, await reader.isSealed(topic)]);
      expect(sealed).toEqual([['typed.by.hand', false], ['other.key', false], ['readme.line', true], ['sealed.by.edgelat', true], ['another.topic', false]]);
      // Asked again: the partition is not read again, and nothing is logged twice.
      expect(await reader.isSealed('typed.by.hand')).toBe(false);
      const refused = lines.filter((l) => l.topic === SEALS_TOPIC).map((l) => [l.level, l.key, l.problem]);
      expect(refused).toEqual([
        [40, 'typed.by.hand', 'its value "sealed" is not JSON: expected {"sealed":"typed.by.hand"}'],
        [40, 'other.key', 'its value\'s "sealed" is "another.topic", not its key: expected {"sealed":"other.key"}'],
      ]);
      expect(lines.find((l) => l.key === 'typed.by.hand')?.msg).toBe(`a record of ${SEALS_TOPIC} is not a seal, and seals nothing: its value "sealed" is not JSON: expected {"sealed":"typed.by.hand"}`);
    } finally {
      await producer.disconnect().catch(() => undefined);
      await reader?.close();
      await writer.close();
      await mock.stop();
    }
  }, 60_000);
});
