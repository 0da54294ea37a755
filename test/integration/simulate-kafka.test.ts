/**
 * `edgelat simulate` against librdkafka's mock cluster (through Debian's kcat),
 * or a real Kafka when EDGELAT_TEST_KAFKA_BROKERS is set; plus its pure pieces.
 */
import { Writable } from 'node:stream';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  heldRecordsWarning, batchSizeFor, encodeArrivals, formatSummary, NO_KAFKA_MESSAGE, pacingDelayMs, planBatches, progressStep, simConfigFromOptions, simulateCommand, type SimulateOptions,
} from '../../services/cli/simulate.ts';
import { UsageError } from '../../services/cli/usage-error.ts';
import { loadConfig } from '../../services/config.ts';
import { KafkaEventLog } from '../../services/eventlog/kafka.ts';
import { partitionForKey } from '../../services/eventlog/murmur2.ts';
import type { LogRecord } from '../../services/eventlog/types.ts';
import { normalizeSimConfig, simulateFleet } from '../../services/simulator/index.ts';
import { codecFor } from '../../schemas/index.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import { kafkaTestsCanRun, startKafkaMock, type KafkaMock } from '../helpers/kafka-mock.ts';
import { startSchemaRegistryStub } from '../helpers/schema-registry.ts';

const OPTS: SimulateOptions = { duration: 1, servers: 3, seed: 7, jitter: 1500, rate: null, seal: true, badRecords: 2 };

/** A stream that keeps what is written to it. */
function sink(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({ write(chunk, _enc, cb) { chunks.push(String(chunk)); cb(); } });
  return Object.assign(w, { text: () => chunks.join('') });
}

describe('simulate: pure pieces', () => {
  it('refuses to run without Kafka, in one line', async () => {
    const p = simulateCommand(loadConfig({}), OPTS);
    await expect(p).rejects.toThrow(UsageError);
    await expect(p).rejects.toThrow(NO_KAFKA_MESSAGE);
    expect(NO_KAFKA_MESSAGE).not.toContain('\n');
    expect(NO_KAFKA_MESSAGE).toMatch(/^simulate writes to Kafka/); // printed after "edgelat: " (a trial read "edgelat: edgelat simulate")
  });

  it('names the flag of a bad option', () => {
    expect(() => simConfigFromOptions({ ...OPTS, servers: 0 })).toThrow(/--servers/);
    expect(() => simConfigFromOptions({ ...OPTS, duration: 0 })).toThrow('--duration, in ms, must be an integer in [1, 604800000], got 0');
    expect(() => simConfigFromOptions({ ...OPTS, rate: 0 })).toThrow(/--rate/);
    expect(() => simConfigFromOptions({ ...OPTS, badRecords: -1 })).toThrow(/--bad-records/);
    expect(simConfigFromOptions(OPTS)).toMatchObject({ servers: 3, durationMs: 60_000, seed: 7, maxJitterMs: 1500 });
    expect(simConfigFromOptions(OPTS).shadows).toBeUndefined();
    expect(simConfigFromOptions({ ...OPTS, shadows: 2 }).shadows).toMatchObject({ servers: 2 });
    expect(() => simConfigFromOptions({ ...OPTS, shadows: 4 })).toThrow('--shadows 4 is more than --servers 3: each shadow deployment runs beside one production server; give --shadows 3 or less, or more --servers');
    expect(() => simConfigFromOptions({ ...OPTS, shadows: -1 })).toThrow('invalid option: --shadows must be an integer >= 0, got -1');
    // The hand-over flags (a trial: lag and reordering were settable only in the simulator's config).
    expect(simConfigFromOptions({ ...OPTS, shadows: 2, shadowMaxLagMs: 5000, shadowReorder: 0.2, shadowReorderMs: 800, shadowSample: 0.5 }).shadows)
      .toEqual({ servers: 2, maxLagMs: 5000, reorderShare: 0.2, reorderMs: 800, sampleShare: 0.5 });
    expect(simConfigFromOptions({ ...OPTS, shadows: 2 }).shadows).toEqual({ servers: 2, maxLagMs: 3000, reorderShare: 0.1, reorderMs: 1500, sampleShare: 1 });
    expect(() => simConfigFromOptions({ ...OPTS, shadowReorder: 0.2 })).toThrow('--shadow-reorder: no shadow deployment to apply it to: give --shadows N too');
    expect(() => simConfigFromOptions({ ...OPTS, shadows: 1, shadowReorder: 2 })).toThrow('--shadow-reorder must be a number in [0, 1], got 2');
    expect(() => simConfigFromOptions({ ...OPTS, shadows: 1, shadowReorder: 0, shadowReorderMs: 5000 })).toThrow('--shadow-reorder-ms 5000 holds back nothing with --shadow-reorder 0: give a share above 0, or leave --shadow-reorder-ms out');
    expect(simConfigFromOptions({ ...OPTS, shadows: 1, shadowReorder: 0 }).shadows).toMatchObject({ reorderShare: 0 });
    // The whole run is built in memory: the flags' maximums ran out of JS heap (a trial, on the demo).
    expect(() => simConfigFromOptions({ ...OPTS, servers: 1000, duration: 7 })).toThrow('--servers 1000 × --duration 7 is 7,000 server-minutes, more than simulate holds in memory (6,000): give --duration 6 or less, or --servers 857 or less');
    expect(simConfigFromOptions({ ...OPTS, servers: 300, duration: 20 })).toMatchObject({ servers: 300, durationMs: 20 * 60_000 });
  });

  it('batches in order, grouped by topic within a chunk', () => {
    const rec = (topic: string, key: string) => ({ topic, record: { key, value: Buffer.from(key) } });
    const chunks = planBatches([rec('a', '1'), rec('b', '2'), rec('a', '3'), rec('b', '4'), rec('a', '5')], 3);
    expect(chunks.map((c) => c.map((b) => [b.topic, b.records.map((r) => r.key)]))).toEqual([
      [['a', ['1', '3']], ['b', ['2']]],
      [['b', ['4']], ['a', ['5']]],
    ]);
    expect(() => planBatches([], 0)).toThrow(RangeError);
    expect(batchSizeFor(null)).toBe(500);
    expect(batchSizeFor(100)).toBe(10);
    expect(batchSizeFor(1)).toBe(1);
    expect(batchSizeFor(1e9)).toBe(500);
  });

  it('paces to the rate and reports each 10 % once', () => {
    expect(pacingDelayMs(500, null, 0)).toBe(0);
    expect(pacingDelayMs(500, 1000, 200)).toBe(300);
    expect(pacingDelayMs(500, 1000, 900)).toBe(0);
    expect(progressStep(5, 100, 0)).toBeNull();
    expect(progressStep(25, 100, 0)).toMatchObject({ tenth: 2 });
    expect(progressStep(25, 100, 2)).toBeNull();
    expect(progressStep(100, 100, 9)?.line).toContain('(100%)');
    expect(progressStep(500, 2582, 0)?.line).toBe('edgelat: simulate produced 500/2,582 records (19%)\n');
    // The note of bad records follows edge.inference.v1, where they are, whatever comes after it.
    expect(formatSummary({ topicRecords: { [TOPICS.inference]: 1200, [TOPICS.load]: 3, [TOPICS.shadow]: 7 }, badRecords: 2, sealed: true, elapsedMs: 1500, recordsPerSecond: 802 })).toBe(
      `edgelat simulate: produced ${TOPICS.inference}=1,200 (incl. 2 bad) ${TOPICS.load}=3 ${TOPICS.shadow}=7 in 1.5 s, 802 records/s, sealed\n`,
    );
  });

  it('injects the bad records into edge.inference.v1 only, keyed like their neighbours', () => {
    const sim = simulateFleet(normalizeSimConfig({ servers: 2, durationMs: 30_000, seed: 1 }));
    const { records, injected } = encodeArrivals(sim.arrivals, 3);
    expect(injected).toBe(3);
    expect(records).toHaveLength(sim.arrivals.length + 3);
    const bad = records.filter((r) => r.topic === TOPICS.inference && !codecFor('InferenceEvent').decode(r.record.value).ok);
    expect(bad).toHaveLength(3);
    expect(records.every((r) => r.record.key !== null && /^edge-\d+$/.test(r.record.key))).toBe(true);
  });
});

const external = process.env.EDGELAT_TEST_KAFKA_BROKERS?.split(',').map((s) => s.trim()).filter(Boolean);
if (!kafkaTestsCanRun('the simulate-to-Kafka test')) {
  describe.skipIf(true)('simulate: kafka (kcat missing)', () => {
    it('needs kcat', () => undefined);
  });
} else {
  describe('simulate: kafka', () => {
    let mock: KafkaMock | null = null;
    let brokers: string[] = [];
    beforeAll(async () => {
      mock = external ? null : await startKafkaMock();
      brokers = external ?? mock!.brokers;
    }, 30_000);
    afterAll(async () => {
      await mock?.stop();
    });

    it('produces a tiny fleet keyed by edge_server_id and seals both topics', async () => {
      const config = loadConfig({ EDGELAT_KAFKA_BROKERS: brokers.join(','), EDGELAT_KAFKA_CLIENT_ID: 'edgelat-simulate-test', EDGELAT_LOG_LEVEL: 'silent' });
      const sim = simulateFleet(simConfigFromOptions(OPTS));
      const expected = { [TOPICS.inference]: sim.arrivals.filter((a) => a.topic === TOPICS.inference).length + OPTS.badRecords, [TOPICS.load]: sim.arrivals.filter((a) => a.topic === TOPICS.load).length };
      const stdout = sink();
      const stderr = sink();
      const result = await simulateCommand(config, OPTS, { stdout, stderr });
      expect(result.topicRecords).toEqual(expected);
      expect(result.badRecords).toBe(OPTS.badRecords);
      expect(stdout.text()).toMatch(/^edgelat simulate: produced edge\.inference\.v1=\S+ \(incl\. 2 bad\) edge\.load\.v1=\S+ in [\d.]+ s, [\d,]+ records\/s, sealed\n$/);
      expect(stderr.text()).toContain('(100%)');
      expect(stderr.text()).not.toContain('warning'); // fresh topics
      // The mock cluster refuses idempotence: said, as the counts are of records sent.
      expect(stderr.text()).toContain('edgelat: note: the cluster refused an idempotent producer (librdkafka\'s mock cluster does), so a send retried');

      const log = await KafkaEventLog.connect({ brokers, clientId: 'edgelat-simulate-check', retries: 3, pollWaitMs: 200 });
      try {
        for (const topic of [TOPICS.inference, TOPICS.load]) {
          const partitions = (await log.partitionCount(topic))!;
          expect(partitions).toBeGreaterThan(0);
          let n = 0;
          for (let p = 0; p < partitions; p++) n += await log.endOffset({ topic, partition: p });
          expect(n, topic).toBe(expected[topic]);
        }
        // Both topics are sealed: one group reads everything and then sees end of input.
        const consumer = await log.consumer('edgelat-simulate-test-check', [TOPICS.inference, TOPICS.load]);
        const seen: LogRecord[] = [];
        const deadline = Date.now() + 30_000;
        for (;;) {
          const r = await consumer.poll(1000);
          seen.push(...r.records);
          if (r.endOfInput) break;
          if (Date.now() > deadline) throw new Error(`no end of input within 30 s (read ${seen.length} records)`);
        }
        await consumer.close();
        expect(seen).toHaveLength(expected[TOPICS.inference] + expected[TOPICS.load]);
        const counts: Record<string, number> = { [TOPICS.inference]: (await log.partitionCount(TOPICS.inference))!, [TOPICS.load]: (await log.partitionCount(TOPICS.load))! };
        let bad = 0;
        for (const rec of seen) {
          expect(rec.key).toMatch(/^edge-\d+$/);
          expect(rec.partition).toBe(partitionForKey(rec.key!, counts[rec.topic]!));
          const decoded = rec.topic === TOPICS.inference ? codecFor('InferenceEvent').decode(rec.value) : codecFor('LoadSample').decode(rec.value);
          if (decoded.ok) expect(decoded.value.edge_server_id).toBe(rec.key);
          else bad++;
        }
        expect(bad).toBe(OPTS.badRecords);
      } finally {
        await log.close();
      }
    }, 60_000);

    it('--shadows: the shadow chips\' results go to edge.shadow.v1 (for pipeline run with EDGELAT_SHADOWS=true)', async () => {
      const config = loadConfig({ EDGELAT_KAFKA_BROKERS: brokers.join(','), EDGELAT_LOG_LEVEL: 'silent' });
      const opts = { ...OPTS, shadows: 1, seal: false, badRecords: 0 };
      const want = simulateFleet(simConfigFromOptions(opts)).arrivals.filter((a) => a.topic === TOPICS.shadow).length;
      expect(want).toBeGreaterThan(100);
      const result = await simulateCommand(config, opts, { stdout: sink(), stderr: sink() });
      expect(result.topicRecords[TOPICS.shadow]).toBe(want);
      const log = await KafkaEventLog.connect({ brokers, clientId: 'edgelat-simulate-check', retries: 3, pollWaitMs: 200 });
      try {
        let n = 0;
        for (let p = 0; p < (await log.partitionCount(TOPICS.shadow))!; p++) n += await log.endOffset({ topic: TOPICS.shadow, partition: p });
        expect(n).toBe(want);
      } finally {
        await log.close();
      }
    }, 60_000);

    it('paces batches to --rate (after the check above: it appends to the same topics)', async () => {
      const config = loadConfig({ EDGELAT_KAFKA_BROKERS: brokers.join(','), EDGELAT_LOG_LEVEL: 'silent' });
      const opts: SimulateOptions = { ...OPTS, duration: 0.5, servers: 1, rate: 1000, seal: false, badRecords: 0 };
      const total = simulateFleet(simConfigFromOptions(opts)).arrivals.length;
      const stderr = sink();
      const result = await simulateCommand(config, opts, { stdout: sink(), stderr });
      expect(result.topicRecords[TOPICS.inference]! + result.topicRecords[TOPICS.load]!).toBe(total);
      // The first check sealed the topics: what comes after that end is said to be late for a run that read to it.
      expect(stderr.text()).toContain(`edgelat: warning: ${TOPICS.inference}, ${TOPICS.load}, ${TOPICS.shadow} were sealed by an earlier \`simulate --seal\` (seals are permanent)`);
      // The last batch waits until (total - batch) / rate seconds have passed.
      expect(result.elapsedMs).toBeGreaterThanOrEqual(((total - batchSizeFor(opts.rate)) / opts.rate!) * 1000 - 50);
    }, 30_000);

    it('says how far it got when interrupted, then ends by the signal (a trial\'s Ctrl-C exited 130 saying nothing)', async () => {
      const child = spawn('node', [new URL('../../bin/edgelat.js', import.meta.url).pathname, 'simulate', '--duration', '10', '--servers', '2', '--rate', '300'], {
        env: { ...process.env, EDGELAT_KAFKA_BROKERS: brokers.join(','), EDGELAT_LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (code, signal) => resolve([code, signal])));
      await new Promise<void>((resolve) => child.stderr.on('data', (d) => {
        stderr += String(d);
        if (/producing [\d,]+ records/.test(stderr)) resolve();
      }));
      await new Promise((r) => setTimeout(r, 1500));
      child.kill('SIGTERM');
      expect(await exited).toEqual([null, 'SIGTERM']);
      const line = stderr.split('\n').find((l) => l.includes('interrupted'));
      const m = /^edgelat: simulate interrupted \(SIGTERM\) after ([\d,]+) of ([\d,]+) records acknowledged by Kafka \(edge\.inference\.v1=([\d,]+) edge\.load\.v1=([\d,]+)\)$/.exec(line ?? '');
      expect(m, stderr).not.toBeNull();
      const n = (i: number) => Number(m![i]!.replaceAll(',', ''));
      expect(n(1)).toBeGreaterThan(0);
      expect(n(1)).toBeLessThan(n(2));
      expect(n(3) + n(4)).toBe(n(1));
    }, 60_000);

    it('writes the Confluent framing (00 + schema id) when EDGELAT_SCHEMA_REGISTRY_URL is set', async () => {
      const registry = await startSchemaRegistryStub({ firstId: 300 });
      const log = await KafkaEventLog.connect({ brokers, clientId: 'edgelat-simulate-registry-check', retries: 3, pollWaitMs: 200 });
      try {
        const tps = async () => {
          const out = new Map<string, number>();
          for (const topic of [TOPICS.inference, TOPICS.load]) for (let p = 0; p < (await log.partitionCount(topic))!; p++) out.set(`${topic}:${p}`, await log.endOffset({ topic, partition: p }));
          return out;
        };
        const before = await tps();
        const config = loadConfig({ EDGELAT_KAFKA_BROKERS: brokers.join(','), EDGELAT_LOG_LEVEL: 'silent', EDGELAT_SCHEMA_REGISTRY_URL: registry.url });
        const opts: SimulateOptions = { ...OPTS, duration: 0.25, servers: 1, seal: false, badRecords: 0 };
        const result = await simulateCommand(config, opts, { stdout: sink(), stderr: sink() });
        const after = await tps();
        const ids: Record<string, number[] | undefined> = { [TOPICS.inference]: registry.subjects.get(`${TOPICS.inference}-value`), [TOPICS.load]: registry.subjects.get(`${TOPICS.load}-value`) };
        expect(ids[TOPICS.inference]).toHaveLength(1);
        expect(ids[TOPICS.load]).toHaveLength(1);
        let n = 0;
        for (const [key, end] of after) {
          const [topic, partition] = [key.slice(0, key.lastIndexOf(':')), Number(key.slice(key.lastIndexOf(':') + 1))];
          for (const r of await log.read({ topic, partition }, before.get(key) ?? 0, end)) {
            n++;
            expect(r.value[0]).toBe(0x00);
            expect(r.value.readInt32BE(1)).toBe(ids[topic]![0]);
          }
        }
        expect(n).toBe(result.topicRecords[TOPICS.inference]! + result.topicRecords[TOPICS.load]!);
      } finally {
        await log.close();
        await registry.close();
      }
    }, 30_000);

    it('warns when the open input topics hold records already: every run starts at the same event time (a trial\'s second run went all late)', async () => {
      if (external) return; // topics of its own: a broker of its own
      const own = await startKafkaMock();
      try {
        const config = loadConfig({ EDGELAT_KAFKA_BROKERS: own.brokers.join(','), EDGELAT_LOG_LEVEL: 'silent' });
        const opts: SimulateOptions = { ...OPTS, duration: 0.25, servers: 1, seal: false, badRecords: 0 };
        const first = sink();
        const r1 = await simulateCommand(config, opts, { stdout: sink(), stderr: first });
        expect(first.text()).not.toContain('warning');
        const second = sink();
        await simulateCommand(config, opts, { stdout: sink(), stderr: second });
        expect(second.text()).toContain(heldRecordsWarning(r1.topicRecords[TOPICS.inference]!, Date.UTC(2024, 5, 1, 10)));
        expect(heldRecordsWarning(1234, Date.UTC(2024, 5, 1, 10))).toBe(`edgelat: warning: ${TOPICS.inference} holds 1,234 records already; this run's event times start at 2024-06-01T10:00:00.000Z as every run's do, `
          + 'so a pipeline that has read the earlier records takes these as late (their windows have closed). A new job over the same event times needs new topics (another cluster, or delete these)\n');
      } finally {
        await own.stop();
      }
    }, 60_000);
  });
}
