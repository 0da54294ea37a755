/**
 * The EventLog conformance suite on KafkaEventLog: against librdkafka's mock
 * cluster (started here through Debian's kcat), or against a real Kafka when
 * EDGELAT_TEST_KAFKA_BROKERS is set (comma-separated host:port).
 */
import { describe, it } from 'vitest';
import { KafkaEventLog } from '../../services/eventlog/kafka.ts';
import { eventLogConformance } from '../helpers/eventlog-conformance.ts';
import { kafkaTestsCanRun, MOCK_GROUP_TIMEOUTS, startKafkaMock } from '../helpers/kafka-mock.ts';

const external = process.env.EDGELAT_TEST_KAFKA_BROKERS?.split(',').map((s) => s.trim()).filter(Boolean);
if (!kafkaTestsCanRun('the Kafka EventLog conformance suite')) {
  describe.skipIf(true)('EventLog conformance: kafka (kcat missing)', () => {
    it('needs kcat', () => undefined);
  });
} else {
  eventLogConformance('kafka', async () => {
    const mock = external ? null : await startKafkaMock();
    try {
      const log = await KafkaEventLog.connect({ brokers: external ?? mock!.brokers, clientId: 'edgelat-conformance', retries: 3, ...(external ? {} : MOCK_GROUP_TIMEOUTS) });
      return {
        log,
        cleanup: async () => {
          try {
            await log.close();
          } finally {
            await mock?.stop();
          }
        },
      };
    } catch (e) {
      await mock?.stop();
      throw e;
    }
  }, { testTimeoutMs: 45_000, drainMs: 20_000 });
}
