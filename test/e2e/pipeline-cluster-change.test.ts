/**
 * `edgelat pipeline run` on Kafka whose broker comes back as another cluster (librdkafka's mock cluster restarted: a
 * broker without its data) stops with exit 1 naming both cluster ids, instead of reading every topic again from its
 * start into the warehouse (a trial: 3,546 inference rows for 3,100, and a process that outlived its summary).
 */
import { mkdtempSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runPipelineProcess } from '../helpers/cli-process.ts';
import { kafkaTestsCanRun, MOCK_GROUP_ENV, startKafkaMock, type KafkaMock } from '../helpers/kafka-mock.ts';

const haveKafka = kafkaTestsCanRun('the pipeline cluster-change test', { mockOnly: true });

/** A TCP forwarder on a free port to `target()` (read at each connection), so the brokers' address can stay while the cluster behind it changes. */
async function forwarder(target: () => number): Promise<{ port: number; server: Server }> {
  const server = createServer((c) => {
    const s = connect(target(), '127.0.0.1');
    c.pipe(s);
    s.pipe(c);
    c.on('error', () => s.destroy());
    s.on('error', () => c.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, server };
}

const portOf = (m: KafkaMock): number => Number(m.brokers[0]!.split(':').at(-1));

describe.skipIf(!haveKafka)('pipeline run when the cluster behind the brokers changes', () => {
  // After the groups joined, and during their first join (the mock delays it 3 s: kafkajs retries it onto the new cluster;
  // a re-test's run then waited for seals forever).
  it.each([['after the groups joined', 5000], ['during the first join', 300]])('stops with exit 1 naming both cluster ids, %s', async (_when, afterMs) => {
    let mock = await startKafkaMock();
    const mocks = [mock];
    const proxy = await forwarder(() => portOf(mock));
    try {
      const dataDir = mkdtempSync(join(tmpdir(), 'edgelat-cluster-'));
      const env = { EDGELAT_KAFKA_BROKERS: `127.0.0.1:${proxy.port}`, EDGELAT_DATA_DIR: dataDir, EDGELAT_LOG_LEVEL: 'error', ...MOCK_GROUP_ENV };
      let stderr = '';
      let started!: () => void;
      const running = new Promise<void>((r) => { started = r; });
      const run = runPipelineProcess(env, ['--processors', 'join'], undefined, {
        stderr: (t) => {
          stderr += t;
          if (stderr.includes('edgelat: pipeline (join)')) started();
        },
      });
      run.catch(() => undefined);
      await Promise.race([running, new Promise((_, rej) => setTimeout(() => rej(new Error(`no start line: ${stderr}`)), 30_000))]);
      // The broker goes and another cluster answers.
      await new Promise((r) => setTimeout(r, afterMs));
      await mock.stop();
      mock = await startKafkaMock();
      mocks.push(mock);
      await expect(run).rejects.toThrow(/exited 1: .*edgelat: kafka: the cluster at 127\.0\.0\.1:\d+ changed while the run was down \(kafka-\S+ → kafka-\S+\): a broker that came back without its data/s);
      // Seen at the member's rejoin (kafkajs restarts the consumer itself) or at the processors' restart, whichever comes first.
      expect(stderr.match(/changed while the run was down/g)).toHaveLength(1);
    } finally {
      proxy.server.close();
      for (const m of mocks) await m.stop().catch(() => undefined);
    }
  }, 120_000);
});
