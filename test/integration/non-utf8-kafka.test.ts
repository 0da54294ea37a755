/**
 * Bytes that are not UTF-8, in an Avro string or a Kafka key, through the pipeline on Kafka (the kcat
 * mock): each record is a dead letter keeping the key and value bytes that came. A trial saw `edge-\xff`
 * and `edge-\xfe` both stored as server `edge-\uFFFD` (avsc replaced the bytes), and a dead letter's
 * `key_b64` of `ff fe` stored as `ef bf bd ef bf bd` (the key had been read as text).
 */
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { TOPICS } from '../../pipelines/topics.ts';
import { codecFor } from '../../schemas/index.ts';
import { loadConfig } from '../../services/config.ts';
import { KafkaEventLog } from '../../services/eventlog/kafka.ts';
import { SIM_TOPICS } from '../../services/pipeline/produce.ts';
import { runStreaming } from '../../services/pipeline/streaming.ts';
import { at, makeInference, makeLoad } from '../helpers/factories.ts';
import { kafkaTestsCanRun, MOCK_GROUP_TIMEOUTS } from '../helpers/kafka-mock.ts';
import { useKafkaMock } from '../helpers/kafka-mock-suite.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

const haveKafka = kafkaTestsCanRun('the non-UTF-8 key and string test on Kafka', { mockOnly: true });

/** `value` with the byte after the first `marker` replaced by `byte` (an Avro string's content, same length). */
function withByte(value: Buffer, marker: string, byte: number): Buffer {
  const out = Buffer.from(value);
  const at = out.indexOf(Buffer.from(marker));
  if (at < 0) throw new Error(`marker ${marker} not in the record`);
  out[at + marker.length] = byte;
  return out;
}

describe.skipIf(!haveKafka)('bytes that are not UTF-8 on Kafka', () => {
  const kafkaMock = useKafkaMock();

  it('an Avro string or a key that is not UTF-8 is a dead letter with the bytes that came', async () => {
    const warehouse = await createTestDatabase('nonutf8');
    const brokers = kafkaMock().brokers;
    const client = new kafkajs.Kafka({ clientId: 'edgelat-non-utf8-test', brokers, logLevel: kafkajs.logLevel.NOTHING });
    const producer = client.producer();
    const log = await KafkaEventLog.connect({ brokers, clientId: 'edgelat-non-utf8-test', ...MOCK_GROUP_TIMEOUTS });
    try {
      const t0 = at('2024-06-01T10:00:00.000Z');
      const inference = codecFor('InferenceEvent');
      const good = inference.encode(makeInference({ edge_server_id: 'edge-0A', ts: t0 + 500, event_id: 'good' }));
      const badServer = [0xff, 0xfe].map((b) => withByte(inference.encode(makeInference({ edge_server_id: 'edge-0A', ts: t0 + 600, event_id: `bad-${b}` })), 'edge-0', b));
      const badKey = Buffer.from([0x65, 0x64, 0x67, 0x65, 0x2d, 0xff]);
      await producer.connect();
      // One partition for all, so their offsets are known; every key is murmur2-misplaced alike, which is a warning only.
      await producer.send({
        topic: TOPICS.inference,
        messages: [
          { partition: 0, key: 'edge-0A', value: good, timestamp: String(t0 + 500) },
          { partition: 0, key: 'edge-0A', value: badServer[0]!, timestamp: String(t0 + 600) },
          { partition: 0, key: 'edge-0A', value: badServer[1]!, timestamp: String(t0 + 600) },
          { partition: 0, key: badKey, value: inference.encode(makeInference({ edge_server_id: 'edge-0A', ts: t0 + 700, event_id: 'bad-key' })), timestamp: String(t0 + 700) },
        ],
      });
      await producer.send({ topic: TOPICS.load, messages: [{ partition: 0, key: 'edge-0A', value: codecFor('LoadSample').encode(makeLoad({ edge_server_id: 'edge-0A', ts: t0 })), timestamp: String(t0) }] });
      for (const topic of SIM_TOPICS) await log.seal(topic);

      const counts = await runStreaming({ log, warehouse, config: loadConfig({}), untilEnd: true });
      expect(counts.sink![TOPICS.inference]).toMatchObject({ consumed: 4, processed: 1, dead: 3 });
      const dead = await warehouse.query<{ offset: number; key_b64: string; raw_b64: string; path: string; error: string }>(
        `SELECT offset, key_b64, raw_b64, path, error FROM ${warehouse.database}.dead_letters WHERE topic = '${TOPICS.inference}' ORDER BY offset`,
      );
      expect(dead.map((d) => [d.offset, d.path, Buffer.from(d.key_b64, 'base64').toString('hex'), Buffer.from(d.raw_b64, 'base64').toString('hex')])).toEqual([
        [1, 'edge_server_id', Buffer.from('edge-0A').toString('hex'), badServer[0]!.toString('hex')],
        [2, 'edge_server_id', Buffer.from('edge-0A').toString('hex'), badServer[1]!.toString('hex')],
        [3, 'key', badKey.toString('hex'), expect.any(String)],
      ]);
      expect(dead[0]!.error).toMatch(/^edge_server_id \(from byte \d+\): invalid avro body: string of 7 bytes at byte \d+ is not utf-8 \(hex 656467652d30ff\)/);
      expect(dead[1]!.error).toContain('(hex 656467652d30fe)');
      expect(dead[2]!.error).toContain('key: record key bytes "656467652dff" are not utf-8 text, so they cannot equal edge_server_id "edge-0A"');
      const servers = await warehouse.query<{ s: string }>(`SELECT DISTINCT edge_server_id AS s FROM ${warehouse.database}.inference_enriched`);
      expect(servers).toEqual([{ s: 'edge-0A' }]);
    } finally {
      await producer.disconnect();
      await log.close();
      await warehouse.close();
    }
  }, 120_000);
});
