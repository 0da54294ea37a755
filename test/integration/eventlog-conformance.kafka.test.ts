/**
 * The EventLog conformance suite on KafkaEventLog: against librdkafka's mock
 * cluster (started here through Debian's kcat), or against a real Kafka when
 * EDGELAT_TEST_KAFKA_BROKERS is set (comma-separated host:port).
 */
import { describe, it } from 'vitest';
import { KafkaEventLog } from '../../services/eventlog/kafka.ts';
import { eventLogConformance } from '../helpers/eventlog-conformance.ts';
import { kcatAvailable, startKafkaMock } from '../helpers/kafka-mock.ts';

const external = process.env.EDGELAT_TEST_KAFKA_BROKERS?.split(',').map((s) => s.trim()).filter(Boolean);
const haveKcat = external !== undefined || kcatAvailable();
const MISSING = 'kcat not found on PATH: the Kafka conformance suite needs Debian\'s kcat (apt-get install kcat) or EDGELAT_TEST_KAFKA_BROKERS';

if (!haveKcat && process.env.CI) {
  describe('EventLog conformance: kafka', () => {
    it('needs kcat', () => {
      throw new Error(MISSING);
    });
  });
} else if (!haveKcat) {
  process.stderr.write(`skipping the Kafka EventLog conformance suite: ${MISSING}\n`);
  describe.skipIf(true)(`EventLog conformance: kafka (skipped: ${MISSING})`, () => {
    it('needs kcat', () => {
      throw new Error(MISSING);
    });
  });
} else {
  eventLogConformance('kafka', async () => {
    const mock = external ? null : await startKafkaMock();
    try {
      const log = await KafkaEventLog.connect({ brokers: external ?? mock!.brokers, clientId: 'edgelat-conformance', retries: 3 });
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
