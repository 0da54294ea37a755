/**
 * KafkaEventLog's producer compression and SASL/TLS wiring against librdkafka's
 * mock cluster (through Debian's kcat), or a real Kafka when
 * EDGELAT_TEST_KAFKA_BROKERS is set (then only the compression tests run).
 *
 * What is checked where:
 * - gzip (here): records produced through KafkaEventLog with `compression: 'gzip'`
 *   come back intact (keys, values, headers, timestamps, offsets) through `read()`
 *   and a consumer group, and kafkajs's gzip codec really compressed on produce and
 *   decompressed on fetch (so the broker stored gzip batches); with 'none' it is
 *   never used. `edgelat simulate` with EDGELAT_KAFKA_COMPRESSION=gzip compresses too.
 * - SASL (here, negative only): the mock cluster of librdkafka 2.0.2 (Debian's
 *   kcat 1.7.1) implements no SaslHandshake, so no SASL login can succeed against
 *   it. What is checked is that the credentials reach kafkajs: with SASL the
 *   connect fails on the handshake ("does not support the requested API
 *   version"), while the same broker accepts the same connect without SASL; and
 *   `edgelat simulate` / `edgelat pipeline run` no longer refuse SASL up front
 *   but fail at the broker.
 * - TLS (here, negative only): the mock listens in plaintext, so `tls: true`
 *   must fail to connect; a successful TLS or SASL login needs a real broker.
 * - The exact kafkajs config for each combination: test/unit/eventlog/kafka-client-config.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import kafkajs from 'kafkajs';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BrokerUnavailableError } from '../../errors.ts';
import { pipelineRunCommand } from '../../services/cli/pipeline.ts';
import { simulateCommand } from '../../services/cli/simulate.ts';
import { loadConfig } from '../../services/config.ts';
import { KafkaEventLog } from '../../services/eventlog/kafka.ts';
import type { LogRecord, ProduceRecord } from '../../services/eventlog/types.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import { kafkaTestsCanRun, startKafkaMock, type KafkaMock } from '../helpers/kafka-mock.ts';

// kafkajs is CommonJS: its codec registry is only on the default export.
const { CompressionCodecs, CompressionTypes } = kafkajs;

const external = process.env.EDGELAT_TEST_KAFKA_BROKERS?.split(',').map((s) => s.trim()).filter(Boolean);

/** Counts of kafkajs gzip codec calls, with bytes before/after compression. */
interface GzipCalls { compress: number; rawBytes: number; gzipBytes: number; decompress: number }

/** Wrap kafkajs's gzip codec (the same registry KafkaEventLog's client uses) so each call is counted; returns the counters and an undo. */
function spyOnGzip(): { calls: GzipCalls; restore: () => void } {
  const original = CompressionCodecs[CompressionTypes.GZIP];
  const calls: GzipCalls = { compress: 0, rawBytes: 0, gzipBytes: 0, decompress: 0 };
  const codec = original();
  CompressionCodecs[CompressionTypes.GZIP] = () => ({
    async compress(encoder: { buffer: Buffer }) {
      const out: Buffer = await codec.compress(encoder);
      calls.compress += 1;
      calls.rawBytes += encoder.buffer.length;
      calls.gzipBytes += out.length;
      return out;
    },
    async decompress(buffer: Buffer) {
      calls.decompress += 1;
      return codec.decompress(buffer);
    },
  });
  return { calls, restore: () => { CompressionCodecs[CompressionTypes.GZIP] = original; } };
}

/** Records with keys (and null keys), repetitive and binary values, and several headers. */
function sample(n: number): ProduceRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    key: i % 5 === 4 ? null : `edge-${i % 7}`,
    value: i % 3 === 0 ? Buffer.from([0, 255, i & 0xff, 0x1f, 0x8b]) : Buffer.from(JSON.stringify({ i, text: 'latença µs '.repeat(200) })),
    headers: { 'content-type': i % 3 === 0 ? 'application/octet-stream' : 'application/json', seq: String(i), 'x-edge': `é-${i}` },
    timestampMs: 1_700_000_000_000 + i,
  }));
}

/** A sink stream for the CLI commands' stdout/stderr. */
const quiet = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });

if (!kafkaTestsCanRun('the Kafka security/compression tests')) {
  describe.skipIf(true)('KafkaEventLog security and compression (kcat missing)', () => {
    it('needs kcat', () => undefined);
  });
} else {
  describe('KafkaEventLog security and compression', () => {
    let mock: KafkaMock | null = null;
    let brokers: string[] = [];
    let gzip: ReturnType<typeof spyOnGzip>;

    beforeAll(async () => {
      mock = external ? null : await startKafkaMock();
      brokers = external ?? mock!.brokers;
    });
    afterAll(async () => {
      await mock?.stop();
    });
    beforeEach(() => {
      gzip = spyOnGzip();
    });
    afterEach(() => {
      gzip.restore();
    });

    it('produces gzip batches and reads the records back intact', async () => {
      const log = await KafkaEventLog.connect({ brokers, clientId: 'edgelat-gzip-test', retries: 3, compression: 'gzip' });
      try {
        const topic = `edgelat-gzip-${randomUUID()}`;
        await log.ensureTopic(topic);
        const records = sample(40);
        const placed = [...(await log.produce(topic, records.slice(0, 25))), ...(await log.produce(topic, records.slice(25)))];
        expect(gzip.calls.compress).toBeGreaterThanOrEqual(2);
        // 26 of the 40 values repeat one 2.4 KB phrase: gzip must shrink the batches a lot.
        expect(gzip.calls.gzipBytes).toBeLessThan(gzip.calls.rawBytes / 10);

        const partitions = [...new Set(placed.map((p) => p.partition))].sort();
        expect(partitions.length).toBeGreaterThan(1);
        const got: LogRecord[] = [];
        for (const partition of partitions) {
          const tp = { topic, partition };
          got.push(...(await log.read(tp, 0, await log.endOffset(tp))));
        }
        expect(gzip.calls.decompress).toBeGreaterThanOrEqual(1);
        const byPlace = new Map(got.map((r) => [`${r.partition}:${r.offset}`, r]));
        expect(byPlace.size).toBe(40);
        records.forEach((r, i) => {
          const back = byPlace.get(`${placed[i]!.partition}:${placed[i]!.offset}`);
          expect(back, `record ${i}`).toBeDefined();
          expect({ key: back!.key, value: back!.value.toString('base64'), headers: back!.headers, timestampMs: back!.timestampMs }).toEqual({
            key: r.key,
            value: r.value.toString('base64'),
            headers: r.headers,
            timestampMs: r.timestampMs,
          });
        });

        // A consumer group sees the same records and, after the (gzip-compressed) seal marker, end of input.
        await log.seal(topic);
        const c = await log.consumer(`edgelat-gzip-group-${randomUUID()}`, [topic]);
        try {
          const polled: LogRecord[] = [];
          const deadline = Date.now() + 20_000;
          let end = false;
          while (!end && Date.now() < deadline) {
            const r = await c.poll(16);
            polled.push(...r.records);
            end = r.endOfInput;
          }
          expect(end).toBe(true);
          expect(polled.map((r) => `${r.partition}:${r.offset}:${r.headers.seq}`).sort()).toEqual(placed.map((p, i) => `${p.partition}:${p.offset}:${i}`).sort());
        } finally {
          await c.close();
        }
      } finally {
        await log.close();
      }
    }, 60_000);

    it('does not compress when compression is none', async () => {
      const log = await KafkaEventLog.connect({ brokers, clientId: 'edgelat-plain-test', retries: 3 });
      try {
        const topic = `edgelat-nogzip-${randomUUID()}`;
        await log.ensureTopic(topic);
        const [at] = await log.produce(topic, [{ key: 'edge-1', value: Buffer.from('x'.repeat(5_000)), headers: { seq: '0' } }]);
        const [back] = await log.read({ topic, partition: at!.partition }, at!.offset, at!.offset + 1);
        expect(back!.value.toString()).toBe('x'.repeat(5_000));
        expect(gzip.calls).toEqual({ compress: 0, rawBytes: 0, gzipBytes: 0, decompress: 0 });
      } finally {
        await log.close();
      }
    }, 60_000);

    it('uses an idempotent producer where the cluster grants a producer id, else a plain one that still produces', async () => {
      const warnings: { msg: string; init_producer_id_error?: string }[] = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line) as { msg: string }) });
      const log = await KafkaEventLog.connect({ brokers, clientId: 'edgelat-idempotence-test', retries: 3, logger });
      try {
        // librdkafka's mock cluster names a controller kafkajs cannot find, so InitProducerId fails there; a real Kafka grants it.
        expect(log.idempotent).toBe(external !== undefined);
        // Said as the InitProducerId failure it is, kafkajs's text under that name (a trial read "Broker 0 not found in the
        // cached metadata" as a metadata fault).
        const refused = warnings.filter((w) => w.msg.startsWith('kafka: the cluster refused an idempotent producer'));
        expect(refused.map((w) => [/^kafka: the cluster refused an idempotent producer \(its InitProducerId request failed: init_producer_id_error\); producing without idempotence/.test(w.msg), typeof w.init_producer_id_error]))
          .toEqual(external !== undefined ? [] : [[true, 'string']]);
        const topic = `edgelat-idem-${randomUUID()}`;
        await log.ensureTopic(topic);
        const at = await log.produce(topic, [{ key: 'edge-1', value: Buffer.from('a') }, { key: 'edge-1', value: Buffer.from('b') }]);
        expect(at[1]!.offset).toBe(at[0]!.offset + 1);
      } finally {
        await log.close();
      }
    }, 60_000);

    it('edgelat simulate produces gzip batches when EDGELAT_KAFKA_COMPRESSION=gzip', async () => {
      const config = loadConfig({ EDGELAT_KAFKA_BROKERS: brokers.join(','), EDGELAT_KAFKA_COMPRESSION: 'gzip', EDGELAT_LOG_LEVEL: 'silent' });
      const result = await simulateCommand(config, { duration: 1, servers: 2, seed: 3, jitter: 0, rate: null, seal: false, badRecords: 0 }, { stdout: quiet(), stderr: quiet() });
      expect(result.topicRecords[TOPICS.inference]).toBeGreaterThan(0);
      expect(gzip.calls.compress).toBeGreaterThanOrEqual(1);
      expect(gzip.calls.gzipBytes).toBeLessThan(gzip.calls.rawBytes);
    }, 60_000);

    describe.skipIf(external !== undefined)('SASL and TLS reach kafkajs (mock cluster only)', () => {
      it('with SASL the connect fails on the handshake the mock cluster lacks; without, it succeeds', async () => {
        const plain = await KafkaEventLog.connect({ brokers, retries: 0 });
        expect(plain.id).toMatch(/^kafka-/);
        await plain.close();
        for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
          const p = KafkaEventLog.connect({ brokers, retries: 0, sasl: { mechanism, username: 'alice', password: 's3cret' } });
          await expect(p, mechanism).rejects.toThrow(BrokerUnavailableError);
          await expect(p, mechanism).rejects.toThrow(/does not support the requested API version/);
          // kafkajs's words name no setting: the message says which one to check (a trial).
          await expect(p, mechanism).rejects.toThrow(`(EDGELAT_KAFKA_SASL_MECHANISM=${mechanism} is set and "${brokers.join(',')}" refused the SASL handshake: is it a SASL listener (SASL_PLAINTEXT or SASL_SSL) with that mechanism enabled?)`);
        }
      }, 60_000);

      it('with TLS the connect to the plaintext listener fails', async () => {
        const p = KafkaEventLog.connect({ brokers, retries: 0, tls: true });
        await expect(p).rejects.toThrow(BrokerUnavailableError);
        await expect(p).rejects.toThrow(`(EDGELAT_KAFKA_TLS=true and "${brokers.join(',')}" ended the TLS handshake: is it a TLS listener (SSL or SASL_SSL)? A plaintext one resets it)`);
      }, 60_000);

      it('edgelat simulate and pipeline run pass SASL to the broker instead of refusing it', async () => {
        const config = loadConfig({
          EDGELAT_KAFKA_BROKERS: brokers.join(','),
          EDGELAT_KAFKA_SASL_MECHANISM: 'plain',
          EDGELAT_KAFKA_SASL_USERNAME: 'alice',
          EDGELAT_KAFKA_SASL_PASSWORD: 's3cret',
          EDGELAT_LOG_LEVEL: 'silent',
        });
        const sim = simulateCommand(config, { duration: 1, servers: 1, seed: 1, jitter: 0, rate: null, seal: false, badRecords: 0 }, { stdout: quiet(), stderr: quiet() });
        await expect(sim).rejects.toThrow(BrokerUnavailableError);
        await expect(sim).rejects.toThrow(/does not support the requested API version/);
        const run = pipelineRunCommand(config, { processors: 'join', untilEnd: true, metricsPort: 0, metricsHost: '127.0.0.1' });
        await expect(run).rejects.toThrow(BrokerUnavailableError);
        await expect(run).rejects.toThrow(/does not support the requested API version/);
      }, 90_000);
    });
  });
}
