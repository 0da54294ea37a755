/**
 * KafkaEventLog.ping (the broker part of `pipeline run`'s /healthz) against the mock cluster: once the broker is gone
 * (its port refuses connections), every ping is refused at once, the first and the later ones: none is held by the
 * client's retries of the lost connection (a trial: /healthz said "has not answered a metadata request for 22 s"
 * between refusals, where kafkajs's cluster retried the connection under the probe's admin).
 */
import { describe, expect, it } from 'vitest';
import { KafkaEventLog } from '../../services/eventlog/kafka.ts';
import { kafkaTestsCanRun, startKafkaMock } from '../helpers/kafka-mock.ts';

describe.skipIf(!kafkaTestsCanRun('the Kafka ping test', { mockOnly: true }))('KafkaEventLog.ping', () => {
  it('answers while the broker is up, and is refused within 0.5 s each time once it is gone (kafkajs\'s connection retries took 1.3 s here, 22 s in a pipeline run)', async () => {
    const mock = await startKafkaMock();
    const log = await KafkaEventLog.connect({ brokers: mock.brokers, clientId: 'edgelat-ping-test' });
    try {
      await log.ping();
      await log.ping();
      await mock.stop();
      const outcomes: string[] = [];
      for (let i = 0; i < 4; i++) {
        const t0 = Date.now();
        const error = await log.ping().then(() => 'answered', (e: unknown) => (e as Error).message);
        outcomes.push(`${/ECONNREFUSED/.test(error) ? 'refused' : error} ${Date.now() - t0 < 500 ? 'at once' : `after ${Date.now() - t0} ms`}`);
        await new Promise((r) => setTimeout(r, 300));
      }
      expect(outcomes).toEqual(['refused at once', 'refused at once', 'refused at once', 'refused at once']);
    } finally {
      await log.close();
      await mock.stop();
    }
  }, 60_000);
});
