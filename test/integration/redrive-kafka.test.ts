/**
 * `edgelat pipeline redrive` on Kafka (librdkafka's mock cluster) with a
 * schema registry: the dead letters on `.dlq` are Confluent-framed, as the
 * pipeline writes them there, and the raw bytes go back to the source topic
 * exactly as they came (their own framing kept), on their source partition.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dlqTopic, TOPICS } from '../../pipelines/topics.ts';
import { codecFor } from '../../schemas/index.ts';
import { withSchemaRegistry } from '../../services/eventlog/confluent-wire.ts';
import { KafkaEventLog } from '../../services/eventlog/kafka.ts';
import { SIM_TOPICS } from '../../services/pipeline/produce.ts';
import { redriveDeadLetters, REDRIVE_HEADER } from '../../services/pipeline/redrive.ts';
import { runPipelineProcess } from '../helpers/cli-process.ts';
import { edgelat, errLines } from '../helpers/edgelat-cli.ts';
import { kafkaTestsCanRun, MOCK_GROUP_ENV } from '../helpers/kafka-mock.ts';
import { useKafkaMock } from '../helpers/kafka-mock-suite.ts';
import { startSchemaRegistryStub } from '../helpers/schema-registry.ts';

const haveKafka = kafkaTestsCanRun('the pipeline redrive test on Kafka', { mockOnly: true });

describe.skipIf(!haveKafka)('pipeline redrive on Kafka', () => {
  const kafkaMock = useKafkaMock();

  it('lists with --dry-run, then produces the raw bytes back to their source partition with key, log time and header', async () => {
    const registry = await startSchemaRegistryStub();
    const plain = await KafkaEventLog.connect({ brokers: kafkaMock().brokers, clientId: 'edgelat-redrive-test' });
    const framed = withSchemaRegistry(plain, registry.url);
    const dataDir = mkdtempSync(join(tmpdir(), 'edgelat-redrive-'));
    const env = { EDGELAT_KAFKA_BROKERS: kafkaMock().brokers.join(','), EDGELAT_SCHEMA_REGISTRY_URL: registry.url, EDGELAT_LOG_LEVEL: 'error' };
    // A Confluent-framed value of a schema id the registry did not have when it was read: the sink's dead letter.
    const raw = Buffer.concat([Buffer.from([0, 0, 0, 0, 99]), Buffer.from('avro body')]);
    const ts = Date.UTC(2026, 11, 4, 9, 30);
    const deadAt = Date.UTC(2026, 11, 4, 9, 31); // when the sink wrote the dead letter (its .dlq record's log time)
    try {
      await framed.produce(dlqTopic(TOPICS.inference), [{
        key: 'edge-03', partition: 2, timestampMs: deadAt,
        value: codecFor('DeadLetter').encode({ topic: TOPICS.inference, partition: 2, offset: 41, key_b64: Buffer.from('edge-03').toString('base64'), raw_b64: raw.toString('base64'), error: 'confluent schema-registry framing: schema id 99 is not in the registry', path: '', consumer_group: 'edgelat-sink', ts }),
      }]);
      const before = await plain.endOffset({ topic: TOPICS.inference, partition: 2 });

      const dry = await edgelat(['pipeline', 'redrive', '--topics', TOPICS.inference, '--dry-run'], dataDir, undefined, env);
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toBe(`${dlqTopic(TOPICS.inference)} → ${TOPICS.inference}: 1 read, 1 picked (dead-lettered 2026-12-04T09:31:00.000Z to 2026-12-04T09:31:00.000Z), 1 to produce (dry run: nothing produced)\n`
        + `  ${dlqTopic(TOPICS.inference)} 2:0 (dead-lettered 2026-12-04T09:31:00.000Z)  source 2:41 at 2026-12-04T09:30:00.000Z, ${raw.length} bytes: confluent schema-registry framing: schema id 99 is not in the registry\n`);
      expect(await plain.endOffset({ topic: TOPICS.inference, partition: 2 })).toBe(before);

      const done = await edgelat(['pipeline', 'redrive', '--topics', TOPICS.inference, '--error', 'SCHEMA ID 99', '--json'], dataDir, undefined, env);
      expect(done.code, done.stderr).toBe(0);
      expect(JSON.parse(done.stdout)).toMatchObject({ dry_run: false, topics: [{ topic: TOPICS.inference, read: 1, matched: 1, produced: 1, first_ts: deadAt, last_ts: deadAt }] });
      expect(errLines(done.stderr).join('\n')).toMatch(/^edgelat: 1 record\(s\) produced again \(header edgelat-redrive-of\)/);
      const back = await plain.read({ topic: TOPICS.inference, partition: 2 }, before, before + 1);
      expect(back.map((r) => [r.key, r.value.toString('hex'), r.timestampMs, r.headers[REDRIVE_HEADER]])).toEqual([['edge-03', raw.toString('hex'), ts, `${dlqTopic(TOPICS.inference)}:2:0`]]);

      // A sealed source topic (simulate --seal) takes a redrive too, and a bounded run reads what was produced after the
      // seal (a trial: redrive refused every sealed topic, saying a bounded run would never read them; it reads them).
      for (const topic of SIM_TOPICS) await plain.seal(topic);
      const sealed = await edgelat(['pipeline', 'redrive', '--topics', TOPICS.inference], dataDir, undefined, env);
      expect([sealed.code, sealed.stdout], sealed.stderr).toEqual([0, `${dlqTopic(TOPICS.inference)} → ${TOPICS.inference}: 1 read, 1 picked (dead-lettered 2026-12-04T09:31:00.000Z to 2026-12-04T09:31:00.000Z), 1 produced; ${TOPICS.inference} is sealed: \`pipeline run --until-end\` reads these too (it drains each topic to its end)\n`]);
      expect(await plain.endOffset({ topic: TOPICS.inference, partition: 2 })).toBe(before + 2);
      let summary = '';
      expect(await runPipelineProcess({ ...env, EDGELAT_DATA_DIR: dataDir, ...MOCK_GROUP_ENV }, [], undefined, { stdout: (t) => { summary += t; } })).toBe('0');
      // Both redriven copies were read (schema id 99 is still unknown: dead letters again).
      expect(summary).toMatch(/^edgelat pipeline stopped: join: 2 consumed, 2 dead, 0 late;.* sink: 2 consumed, 2 dead, 0 late$/m);

      const usage = await edgelat(['pipeline', 'redrive', '--since', '2026-12-05', '--until', '2026-12-04'], dataDir, undefined, env);
      expect([usage.code, errLines(usage.stderr)[0]]).toEqual([2, 'edgelat: --since 2026-12-05T00:00:00.000Z is not before --until 2026-12-04T00:00:00.000Z: no dead letter lies between them']);
      const blank = await edgelat(['pipeline', 'redrive', '--error', ' '], dataDir, undefined, env);
      expect([blank.code, errLines(blank.stderr)[0]]).toEqual([2, 'edgelat: --error: expected some text to look for in the errors, got " "']);
    } finally {
      await framed.close();
      await registry.close();
    }
  });

  it('a dead letter whose key is not UTF-8 text goes back with those key bytes, to its partition (a trial: produced without a key, it then failed as "record key null")', async () => {
    const log = await KafkaEventLog.connect({ brokers: kafkaMock().brokers, clientId: 'edgelat-redrive-key-test' });
    const key = Buffer.from([0x65, 0xff]);
    const raw = Buffer.from('the source value');
    try {
      await log.produce(dlqTopic(TOPICS.load), [{
        key: null, partition: 1, timestampMs: Date.UTC(2026, 11, 4, 9, 31),
        value: codecFor('DeadLetter').encode({ topic: TOPICS.load, partition: 1, offset: 7, key_b64: key.toString('base64'), raw_b64: raw.toString('base64'), error: 'key: record key bytes "65ff" are not utf-8 text', path: 'key', consumer_group: 'edgelat-sink', ts: Date.UTC(2026, 11, 4, 9, 30) }),
      }]);
      const before = await log.endOffset({ topic: TOPICS.load, partition: 1 });
      const [done] = await redriveDeadLetters(log, log, { topics: [TOPICS.load] });
      expect(done).toMatchObject({ topic: TOPICS.load, matched: 1, produced: 1 });
      const back = await log.read({ topic: TOPICS.load, partition: 1 }, before, before + 1);
      expect(back.map((r) => [r.key, r.wireKey?.toString('hex'), r.value.toString(), r.headers[REDRIVE_HEADER]])).toEqual([['e\uFFFD', '65ff', 'the source value', `${dlqTopic(TOPICS.load)}:1:0`]]);
    } finally {
      await log.close();
    }
  });
});
