/**
 * `pipeline run` on a warehouse with no inference event, behind a sink group that has read records into another one
 * (a new EDGELAT_DATA_DIR with the default group prefix): the run gets only the records after the group's offsets,
 * and says so (a trial: the new folder stayed empty, "sink: 0 consumed", without a word).
 */
import { describe, expect, it } from 'vitest';
import { TOPICS } from '../../pipelines/topics.ts';
import { resumedIntoEmptyWarehouse } from '../../services/cli/pipeline.ts';
import { KafkaEventLog } from '../../services/eventlog/kafka.ts';
import { kafkaTestsCanRun, startKafkaMock } from '../helpers/kafka-mock.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

describe.skipIf(!kafkaTestsCanRun('the resumed-group warning test', { mockOnly: true }))('resumedIntoEmptyWarehouse', () => {
  it('warns where the sink group has read records and the warehouse holds no event, and not otherwise', async () => {
    const mock = await startKafkaMock();
    const log = await KafkaEventLog.connect({ brokers: mock.brokers, clientId: 'edgelat-resumed-test' });
    const w = await createTestDatabase('resumed');
    try {
      await log.ensureTopic(TOPICS.inference);
      await log.produce(TOPICS.inference, Array.from({ length: 12 }, (_, i) => ({ key: `edge-0${i % 3}`, value: Buffer.from(`r${i}`), timestampMs: 1_717_236_000_000 + i })));
      // A group that has read nothing: nothing to say.
      expect(await resumedIntoEmptyWarehouse(w, log, 'edgelat-warehouse-sink')).toBeNull();
      // The group reads and commits 12 records (as an earlier warehouse's sink did).
      const consumer = await log.consumer('edgelat-warehouse-sink', [TOPICS.inference]);
      let read = 0;
      for (let i = 0; i < 40 && read < 12; i++) {
        const { records } = await consumer.poll(100);
        read += records.length;
        if (records.length > 0) await consumer.commit(records.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.offset + 1, metadata: '' })));
      }
      await consumer.close();
      expect(read).toBe(12);
      expect(await log.committedRecords('edgelat-warehouse-sink', TOPICS.inference)).toBe(12);
      expect(await resumedIntoEmptyWarehouse(w, log, 'edgelat-warehouse-sink')).toBe(
        `${w.database}.inference_events is empty, but consumer group edgelat-warehouse-sink has read 12 record(s) of edge.inference.v1 into another warehouse: this one gets only the records after them; to read the topics from their start into it, set another EDGELAT_KAFKA_GROUP_PREFIX (the processors' groups are <prefix>-join-load-latency, …)`);
      // Another prefix's group has read nothing; a warehouse with events is the one the group wrote (or a restart).
      expect(await resumedIntoEmptyWarehouse(w, log, 'mine-warehouse-sink')).toBeNull();
      await w.exec(`INSERT INTO ${w.database}.inference_events (event_id, request_id, ts) VALUES ('e1', 'r1', '2024-06-01 10:00:00.000')`);
      expect(await resumedIntoEmptyWarehouse(w, log, 'edgelat-warehouse-sink')).toBeNull();
    } finally {
      await log.close();
      await mock.stop();
    }
  }, 60_000);
});
