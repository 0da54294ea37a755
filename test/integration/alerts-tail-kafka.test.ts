/**
 * `edgelat alerts tail --json` on Kafka (librdkafka's mock cluster): it
 * follows the correlation topic across all its partitions and prints each
 * alert state change once, in each pair's window order, including changes
 * produced after it started; SIGTERM ends it with exit 0. With a schema
 * registry (EDGELAT_SCHEMA_REGISTRY_URL) it reads the Confluent-framed records
 * the pipeline writes, and says how many records it could not decode.
 */
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { TOPICS } from '../../pipelines/topics.ts';
import { codecFor } from '../../schemas/index.ts';
import { ALERT_CHANGE_KEYS, alertChanges, pairKey, type AlertChange } from '../../services/alerts/alert-change.ts';
import { withSchemaRegistry } from '../../services/eventlog/confluent-wire.ts';
import { KafkaEventLog } from '../../services/eventlog/kafka.ts';
import { alertWindows } from '../helpers/alert-windows.ts';
import { edgelat } from '../helpers/edgelat-cli.ts';
import { kafkaTestsCanRun } from '../helpers/kafka-mock.ts';
import { useKafkaMock } from '../helpers/kafka-mock-suite.ts';
import { startSchemaRegistryStub } from '../helpers/schema-registry.ts';

const BIN = new URL('../../bin/edgelat.js', import.meta.url).pathname;
const haveKafka = kafkaTestsCanRun('the alerts tail test on Kafka', { mockOnly: true });

/** The changes of each pair in order, keyed by pair. */
function byPair(changes: readonly AlertChange[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const c of changes) {
    const k = pairKey(c);
    out.set(k, [...(out.get(k) ?? []), `${c.window_end} ${c.previous_state}→${c.state} ${c.idempotency_key}`]);
  }
  return out;
}

/** `alerts tail --json` as a child process on the given environment: what it printed so far, waiting, and SIGTERM. */
function startTail(env: Record<string, string>) {
  const child = spawn('node', [BIN, 'alerts', 'tail', '--json', '--poll-ms', '100'], { env: { ...process.env, EDGELAT_LOG_LEVEL: 'error', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (out.stdout += String(d)));
  child.stderr.on('data', (d) => (out.stderr += String(d)));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const printed = () => out.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as AlertChange);
  return {
    printed,
    stderr: () => out.stderr,
    /** Wait (at most 60 s) until `done` holds. */
    async waitUntil(done: () => boolean): Promise<void> {
      const deadline = Date.now() + 60_000;
      while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    },
    /** SIGTERM; resolves to the exit code. */
    stop(): Promise<number | null> {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

describe.skipIf(!haveKafka)('alerts tail on Kafka', () => {
  const kafkaMock = useKafkaMock();

  it('prints every change of every partition once, each pair in window order, also those produced after it started', async () => {
    const updates = alertWindows();
    const half = updates.length / 2;
    const expected = alertChanges(updates);
    const expectedFirst = alertChanges(updates.slice(0, half)).length;
    const log = await KafkaEventLog.connect({ brokers: kafkaMock().brokers, clientId: 'edgelat-alerts-tail-test' });
    const produce = (us: typeof updates) => log.produce(TOPICS.correlation, us.map((u) => ({ key: u.edge_server_id, value: codecFor('CorrelationUpdate').encode(u) })));
    try {
      const landed = await produce(updates.slice(0, half));
      expect(new Set(landed.map((l) => l.partition)).size).toBeGreaterThan(1); // the pairs span partitions

      const tail = startTail({ EDGELAT_KAFKA_BROKERS: kafkaMock().brokers.join(',') });
      await tail.waitUntil(() => tail.printed().length >= expectedFirst);
      expect(tail.printed().length, tail.stderr()).toBe(expectedFirst);
      await produce(updates.slice(half));
      await tail.waitUntil(() => tail.printed().length >= expected.length);
      await new Promise((r) => setTimeout(r, 300)); // nothing more comes
      expect(await tail.stop()).toBe(0);
      expect(tail.printed()).toHaveLength(expected.length);
      expect(byPair(tail.printed())).toEqual(byPair(expected));
      // Keys in AlertChange's order, as `alerts tail --json` prints the warehouse's (a trial: the states came first here).
      expect(new Set(tail.printed().map((c) => Object.keys(c).join(',')))).toEqual(new Set([ALERT_CHANGE_KEYS.join(',')]));
    } finally {
      await log.close();
    }
  }, 120_000);

  it('refuses --limit on Kafka (it is the warehouse\'s newest N), naming the flag', async () => {
    const r = await edgelat(['alerts', 'tail', '--limit', '5'], tmpdir(), undefined, { EDGELAT_KAFKA_BROKERS: kafkaMock().brokers.join(',') });
    expect([r.code, r.stderr]).toEqual([2, 'edgelat: --limit 5: the newest N changes are the warehouse\'s; on Kafka (EDGELAT_KAFKA_BROKERS) the tail follows the topic: leave --limit out, or use --since\n']);
  });
});

describe.skipIf(!haveKafka)('alerts tail on Kafka with a schema registry', () => {
  const kafkaMock = useKafkaMock();

  it('reads the Confluent-framed correlation records and counts those it cannot decode (a trial: it printed nothing, silently)', async () => {
    const updates = alertWindows();
    const expected = alertChanges(updates);
    const registry = await startSchemaRegistryStub();
    const log = withSchemaRegistry(await KafkaEventLog.connect({ brokers: kafkaMock().brokers, clientId: 'edgelat-alerts-tail-registry-test' }), registry.url);
    try {
      await log.produce(TOPICS.correlation, updates.map((u) => ({ key: u.edge_server_id, value: codecFor('CorrelationUpdate').encode(u) })));
      const [, garbage] = await log.produce(TOPICS.correlation, [{ key: 'edge-01', value: Buffer.from([0xde, 0xad, 0xbe, 0xef]) }, { key: 'edge-01', value: Buffer.from([0xde, 0xad]) }]);
      const tail = startTail({ EDGELAT_KAFKA_BROKERS: kafkaMock().brokers.join(','), EDGELAT_SCHEMA_REGISTRY_URL: registry.url });
      await tail.waitUntil(() => tail.printed().length >= expected.length && tail.stderr().includes('could not be decoded'));
      expect(await tail.stop()).toBe(0);
      expect(byPair(tail.printed()), tail.stderr()).toEqual(byPair(expected));
      // One line a read that skipped some, with the running total (a re-test: "1 record(s)" where 5 were skipped).
      const said = tail.stderr().split('\n').filter((l) => l.includes('could not be decoded'));
      expect(said).toHaveLength(1);
      expect(said[0]).toContain(`edgelat: 2 record(s) of ${TOPICS.correlation} could not be decoded and were skipped so far (the latest: partition ${garbage!.partition} offset ${garbage!.offset}: confluent schema-registry framing: expected 00 + a 4-byte schema id`);
    } finally {
      await log.close();
      await registry.close();
    }
  }, 120_000);
});
