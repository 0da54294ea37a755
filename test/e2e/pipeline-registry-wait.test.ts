/**
 * `edgelat pipeline run` with EDGELAT_SCHEMA_REGISTRY_URL on a registry that does not answer, reading a
 * Confluent-framed record (mock cluster): the batch waits for the registry (its retries go on), /healthz says so
 * with 503 and the call waited for, and SIGTERM ends the wait and the run, naming the registry. A trial: /healthz
 * answered 200 "ok" while nothing progressed, and SIGTERM and Ctrl-C were ignored for 10 minutes, until SIGKILL.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TOPICS } from '../../pipelines/topics.ts';
import { KafkaEventLog } from '../../services/eventlog/kafka.ts';
import { encodeArrival } from '../../services/pipeline/produce.ts';
import { normalizeSimConfig, simulateFleet } from '../../services/simulator/index.ts';
import { kafkaTestsCanRun, MOCK_GROUP_ENV } from '../helpers/kafka-mock.ts';
import { useKafkaMock } from '../helpers/kafka-mock-suite.ts';

const BIN = new URL('../../bin/edgelat.js', import.meta.url).pathname;
const haveKafka = kafkaTestsCanRun('the pipeline registry-wait test', { mockOnly: true });

/** A TCP port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Produce one Confluent-framed record to `topic`: 00 + schema id 1 + the Avro body of a simulated inference event (its
 * single-object header, C3 01 + an 8-byte fingerprint, taken off), whose schema only a registry could give.
 */
async function produceFramed(brokers: string[], topic: string): Promise<void> {
  const sim = simulateFleet(normalizeSimConfig({ seed: 3, servers: 1, durationMs: 10_000 }));
  const event = sim.arrivals.find((a) => a.topic === TOPICS.inference)!;
  const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 1]), encodeArrival(event).subarray(10)]);
  const log = await KafkaEventLog.connect({ brokers, clientId: 'edgelat-registry-wait-test' });
  try {
    await log.produce(topic, [{ key: event.key, value: framed, timestampMs: event.arrivalMs }]);
  } finally {
    await log.close();
  }
}

describe.skipIf(!haveKafka)('pipeline run waiting for a schema registry that does not answer', () => {
  const kafkaMock = useKafkaMock();

  it('says so on /healthz (503, the call and its error) and stops on SIGTERM, naming the registry', async () => {
    await produceFramed(kafkaMock().brokers, TOPICS.inference);

    const registry = `http://127.0.0.1:${await closedPort()}`;
    const env = {
      ...process.env, ...MOCK_GROUP_ENV, EDGELAT_KAFKA_BROKERS: kafkaMock().brokers.join(','), EDGELAT_SCHEMA_REGISTRY_URL: registry,
      EDGELAT_DATA_DIR: mkdtempSync(join(tmpdir(), 'edgelat-registry-wait-')), EDGELAT_LOG_LEVEL: 'error',
    };
    const child = spawn('node', [BIN, 'pipeline', 'run', '--metrics-port', '0', '--metrics-host', '127.0.0.1'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      let health: { status: number; body: { details?: { registry?: { call: string; waiting_ms: number; error: string } } } } | null = null;
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const metrics = /metrics (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(stderr)?.[1];
        if (metrics) {
          const res = await fetch(`${metrics}/healthz`);
          health = { status: res.status, body: await res.json() as NonNullable<typeof health>['body'] };
          if (health.body.details?.registry) break;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(health?.status).toBe(503);
      expect(health?.body.details?.registry).toEqual({
        call: 'get schema id 1', waiting_ms: expect.any(Number) as number,
        error: `schema registry GET /schemas/ids/1 at ${registry} failed: fetch failed: ECONNREFUSED`,
      });
      const signalledAt = Date.now();
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running 20 s after SIGTERM'), 20_000))]);
      expect(code).toBe(1);
      expect(Date.now() - signalledAt).toBeLessThan(15_000);
      expect(stderr.trim().split('\n').at(-1)).toBe(`edgelat: stopped by a signal while the schema registry did not answer (schema registry GET /schemas/ids/1 at ${registry} failed: fetch failed: ECONNREFUSED); the processors start from their committed offsets next time`);
    } finally {
      child.kill('SIGKILL');
    }
  }, 120_000);

  it('alerts tail waiting for the registry on a framed correlation record ends on Ctrl-C (exit 0), not after the retries (never)', async () => {
    await produceFramed(kafkaMock().brokers, TOPICS.correlation);
    const env = { ...process.env, EDGELAT_KAFKA_BROKERS: kafkaMock().brokers.join(','), EDGELAT_SCHEMA_REGISTRY_URL: `http://127.0.0.1:${await closedPort()}`, EDGELAT_DATA_DIR: mkdtempSync(join(tmpdir(), 'edgelat-registry-tail-')) };
    const child = spawn('node', [BIN, 'alerts', 'tail'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      await new Promise((r) => setTimeout(r, 4000)); // connected, and the read of the framed record waits for the registry
      child.kill('SIGINT');
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running 15 s after SIGINT'), 15_000))]);
      const lines = stderr.split('\n').filter((l) => l !== '' && !l.startsWith('npm warn'));
      expect([code, lines.at(-1), lines.slice(0, -1).every((l) => /^edgelat: schema registry GET \/schemas\/ids\/1 at http:\/\/127\.0\.0\.1:\d+ failed: fetch failed: ECONNREFUSED; asking again in \d+\.\d s \(Ctrl-C stops\)$/.test(l)), lines.length > 1])
        .toEqual([0, 'edgelat: stopped while the schema registry did not answer; the records not read yet are read at the next start', true, true]);
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);
});
