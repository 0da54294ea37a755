/**
 * B7: the "Run on Kafka and ClickHouse" path on real servers in containers
 * (testcontainers): a one-node KRaft Kafka and the ClickHouse server image
 * docker-compose.yml pins. `edgelat simulate --seal` and `edgelat pipeline
 * run --until-end` run as separate processes through bin/edgelat.js; then
 * ClickHouse holds one enriched row per inference event and every table
 * equals what the embedded bounded pipeline writes for the same simulation.
 * Where no Docker engine is reachable the suite skips with one line on stderr.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ClickHouseContainer, type StartedClickHouseContainer } from '@testcontainers/clickhouse';
import { KafkaContainer, type StartedKafkaContainer } from '@testcontainers/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { TOPICS } from '../../pipelines/topics.ts';
import { loadConfig } from '../../services/config.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import { produceSimulation } from '../../services/pipeline/demo.ts';
import { runBoundedPipeline } from '../../services/pipeline/embedded.ts';
import { normalizeSimConfig, simulateFleet } from '../../services/simulator/index.ts';
import { ClickHouseWarehouse } from '../../services/warehouse/clickhouse.ts';
import { runPipelineProcess } from '../helpers/cli-process.ts';
import { dockerTestsCanRun } from '../helpers/docker.ts';
import { fingerprint } from '../helpers/fingerprint.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

const haveDocker = await dockerTestsCanRun('testcontainers suite');

/**
 * KRaft Kafka. docker-compose.yml runs apache/kafka:3.9.1, but the
 * @testcontainers/kafka module drives Confluent's start scripts, so it runs
 * the Confluent Platform release of the same Apache Kafka line (7.9 = 3.9).
 */
const KAFKA_IMAGE = 'confluentinc/cp-kafka:7.9.1';
/** The module's PLAINTEXT listener, advertised to clients outside Docker as host:mapped port. */
const KAFKA_CLIENT_PORT = 9093;
/** User, password and database of the ClickHouse server, as in docker-compose.yml. */
const CH = { username: 'edgelat', password: 'edgelat', database: 'edgelat' };
/** The simulation: `edgelat simulate` flags and the same settings in-process. */
const SIM = { minutes: 2, servers: 4, seed: 11, jitterMs: 1500, badRecords: 2 };
const BIN = new URL('../../bin/edgelat.js', import.meta.url).pathname;

/** The ClickHouse image docker-compose.yml pins (one pin for both). */
function composeClickHouseImage(): string {
  const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8')) as { services: Record<string, { image?: string }> };
  const image = compose.services.clickhouse?.image;
  if (!image) throw new Error('docker-compose.yml has no services.clickhouse.image');
  return image;
}

/**
 * Run `edgelat <args>` as a separate process with `env` added.
 * @returns its stdout.
 * @throws if it exits other than with code 0 (with the end of its stderr).
 */
function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('node', [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`edgelat ${args.join(' ')} ended with ${signal ?? `code ${code}`}: ${stderr.slice(-800)}`));
    });
  });
}

describe.skipIf(!haveDocker)('simulator → pipeline → queries on KRaft Kafka and ClickHouse containers', () => {
  let kafka: StartedKafkaContainer | undefined;
  let clickhouse: StartedClickHouseContainer | undefined;
  beforeAll(async () => {
    // Each handle is kept as soon as its container runs, so afterAll stops it even if the other fails to start.
    await Promise.all([
      new KafkaContainer(KAFKA_IMAGE)
        .withKraft()
        .withEnvironment({ KAFKA_NUM_PARTITIONS: '4' }) // auto-created topics as in docker-compose.yml
        .start()
        .then((c) => void (kafka = c)),
      new ClickHouseContainer(composeClickHouseImage())
        .withUsername(CH.username)
        .withPassword(CH.password)
        .withDatabase(CH.database)
        .start()
        .then((c) => void (clickhouse = c)),
    ]);
  }, 600_000); // first run pulls both images
  afterAll(async () => {
    await Promise.all([kafka?.stop(), clickhouse?.stop()]);
  }, 120_000);

  it('puts every valid inference event in inference_enriched, and every table as the embedded run', async () => {
    const config = { ...loadConfig({}), windowSizeMs: 60_000, windowSlideMs: 15_000 };
    const sim = simulateFleet(normalizeSimConfig({ seed: SIM.seed, servers: SIM.servers, durationMs: SIM.minutes * 60_000, maxJitterMs: SIM.jitterMs }));
    const inferenceEvents = sim.arrivals.filter((a) => a.topic === TOPICS.inference).length;
    const loadSamples = sim.arrivals.filter((a) => a.topic === TOPICS.load).length;

    // Reference: the same records (bad ones at the same places) through the embedded bounded pipeline into chdb.
    const reference = await createTestDatabase('tc_ref');
    const memory = new MemoryEventLog({ defaultPartitions: 4, now: () => 0 });
    expect(await produceSimulation(memory, sim, SIM.badRecords)).toBe(SIM.badRecords);
    await runBoundedPipeline({ log: memory, warehouse: reference, config });
    const expected = await fingerprint(reference);
    await reference.close();
    expect(expected.inference_enriched).toMatch(new RegExp(`^${inferenceEvents}:`));
    expect(expected.dead_letters).toMatch(new RegExp(`^${SIM.badRecords}:`));

    const url = clickhouse!.getHttpUrl();
    const env = {
      EDGELAT_KAFKA_BROKERS: `${kafka!.getHost()}:${kafka!.getMappedPort(KAFKA_CLIENT_PORT)}`,
      EDGELAT_CLICKHOUSE_URL: url,
      EDGELAT_CLICKHOUSE_USER: CH.username,
      EDGELAT_CLICKHOUSE_PASSWORD: CH.password,
      EDGELAT_DATABASE: CH.database,
      EDGELAT_LOG_LEVEL: process.env.EDGELAT_TEST_DEBUG ? 'debug' : 'error',
      // Every setting the result depends on, explicitly (the developer's shell may set others).
      EDGELAT_WINDOW_SIZE_MS: String(config.windowSizeMs),
      EDGELAT_WINDOW_SLIDE_MS: String(config.windowSlideMs),
      EDGELAT_MAX_OUT_OF_ORDERNESS_MS: String(config.maxOutOfOrdernessMs),
      EDGELAT_JOIN_TOLERANCE_MS: String(config.joinToleranceMs),
      EDGELAT_ALLOWED_LATENESS_MS: String(config.allowedLatenessMs),
      EDGELAT_MAX_EVENT_TIME_AHEAD_MS: String(config.maxEventTimeAheadMs),
    };
    const simulate = [
      'simulate', '--duration', String(SIM.minutes), '--servers', String(SIM.servers), '--seed', String(SIM.seed),
      '--jitter', String(SIM.jitterMs), '--bad-records', String(SIM.badRecords), '--seal',
    ];
    const summary = await runCli(simulate, env);
    const n = (x: number) => x.toLocaleString('en-US');
    expect(summary).toContain(`produced ${TOPICS.inference}=${n(inferenceEvents + SIM.badRecords)} (incl. ${SIM.badRecords} bad) ${TOPICS.load}=${n(loadSamples)}`);
    expect(summary.trimEnd()).toMatch(/, sealed$/);

    expect(await runPipelineProcess(env)).toBe('0');

    const warehouse = new ClickHouseWarehouse({ url, username: CH.username, password: CH.password, database: CH.database });
    try {
      const [r] = await warehouse.query<{ c: number; u: number }>(`SELECT count() AS c, uniqExact(event_id) AS u FROM ${CH.database}.inference_enriched`);
      expect(r).toEqual({ c: inferenceEvents, u: inferenceEvents });
      expect(await fingerprint(warehouse)).toEqual(expected);
    } finally {
      await warehouse.close();
    }
  }, 600_000);
});
