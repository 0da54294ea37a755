/**
 * `pipeline run` survives losing the broker (a breaker trial: with kcat's
 * mock broker killed, `pipeline run` exited 1 within 5 s). When a run fails
 * with a BrokerUnavailableError, runStreamingWithRestarts closes the log and,
 * after a back-off, runs every stage again on a new connection from the
 * committed offsets: the warehouse then holds exactly the rows and windows of
 * an uninterrupted run. Other failures are raised at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerUnavailableError } from '../../errors.ts';
import { loadConfig } from '../../services/config.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import type { Consumer, EventLog } from '../../services/eventlog/types.ts';
import { runBoundedPipeline } from '../../services/pipeline/embedded.ts';
import { produceSimulation } from '../../services/pipeline/demo.ts';
import { runStreaming, runStreamingWithRestarts } from '../../services/pipeline/streaming.ts';
import { normalizeSimConfig, simulateFleet } from '../../services/simulator/index.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { fingerprint } from '../helpers/fingerprint.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

const sim = simulateFleet(normalizeSimConfig({ seed: 41, servers: 4, durationMs: 3 * 60_000, maxJitterMs: 1500 }));
const config = { ...loadConfig({}), windowSizeMs: 60_000, windowSlideMs: 15_000, sinkLingerMs: 50, idleTimeoutMs: 1000 };

/** The log, whose consumers' polls fail with `error` once `after` polls were made across all of them. */
function failingAfter(log: MemoryEventLog, after: number, error: () => Error): EventLog {
  let polls = 0;
  return new Proxy(log, {
    get(target, prop, receiver) {
      if (prop === 'close') return async () => undefined; // the memory log outlives its connections
      if (prop !== 'consumer') return Reflect.get(target, prop, receiver);
      return async (groupId: string, topics: string[]): Promise<Consumer> => {
        const inner = await target.consumer(groupId, topics);
        return new Proxy(inner, {
          get(c, name, r) {
            if (name === 'poll') return async (max: number) => { if (++polls > after) throw error(); return c.poll(max); };
            const v = Reflect.get(c, name, r) as unknown;
            return typeof v === 'function' ? v.bind(c) : v;
          },
        });
      };
    },
  });
}

describe('runStreamingWithRestarts', () => {
  let reference: ChdbWarehouse;
  let restarted: ChdbWarehouse;
  beforeAll(async () => {
    reference = await createTestDatabase('restart_ref');
    restarted = await createTestDatabase('restart_run');
  });
  afterAll(async () => {
    await reference?.close();
    await restarted?.close();
  });

  it('restarts the stages on a new connection after the broker is lost, with the rows and windows of an uninterrupted run', async () => {
    const plain = new MemoryEventLog({ defaultPartitions: 4, now: () => 0 });
    await produceSimulation(plain, sim, 2);
    await runBoundedPipeline({ log: plain, warehouse: reference, config });
    const expected = await fingerprint(reference);

    const log = new MemoryEventLog({ defaultPartitions: 4, now: () => 0 });
    await produceSimulation(log, sim, 2);
    // The first two connections lose the broker mid-run (after 8 and 4 polls), the third does not.
    const lost = () => new BrokerUnavailableError('kafka: fetch seal offsets failed: Connection error: read ECONNRESET');
    const connections = [failingAfter(log, 8, lost), failingAfter(log, 4, lost), failingAfter(log, Number.POSITIVE_INFINITY, lost)];
    const restarts: { n: number; delayMs: number; message: string }[] = [];
    const rowsAtRestart: Promise<number>[] = [];
    // Rows of the raw, joined and window tables together: the sink may copy every raw record in its first batch.
    const OUTPUTS = ['inference_events', 'inference_enriched', 'load_latency_correlations'] as const;
    const rows = async () => Number((await restarted.query<{ n: number }>(`SELECT ${OUTPUTS.map((t) => `(SELECT count() FROM ${restarted.database}.${t})`).join(' + ')} AS n`))[0]!.n);
    const result = await runStreamingWithRestarts({
      connect: async () => connections.shift()!, warehouse: restarted, config, untilEnd: true,
      restart: { initialRetryTimeMs: 20, maxRetryTimeMs: 100, factor: 0 },
      onRestart: (error, n, delayMs) => {
        restarts.push({ n, delayMs, message: error.message });
        rowsAtRestart.push(rows());
      },
    });
    expect(connections).toHaveLength(0);
    expect(result.restarts).toBe(2);
    expect(restarts).toEqual([
      { n: 1, delayMs: 20, message: 'kafka: fetch seal offsets failed: Connection error: read ECONNRESET' },
      { n: 2, delayMs: 40, message: 'kafka: fetch seal offsets failed: Connection error: read ECONNRESET' },
    ]);
    // Lost mid-run: the first run had written part of the requests.
    const written = await Promise.all(rowsAtRestart);
    expect(written[0]).toBeGreaterThan(0);
    expect(written[0]).toBeLessThan(OUTPUTS.reduce((n, t) => n + Number(expected[t]!.split(':')[0]), 0));
    expect(Object.keys(result.counts).sort()).toEqual(['correlation', 'join', 'sink']);
    expect(await fingerprint(restarted)).toEqual(expected);
  }, 120_000);

  it('raises any other failure at once, and a lost broker once the run was stopped', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 4, now: () => 0 });
    let connects = 0;
    const other = runStreamingWithRestarts({
      connect: async () => (connects++, failingAfter(log, 3, () => new TypeError('a bug'))), warehouse: restarted, config, untilEnd: true,
      onRestart: () => expect.unreachable('no restart after a TypeError'),
    });
    await expect(other).rejects.toThrow('a bug');
    expect(connects).toBe(1);

    const stop = new AbortController();
    const stopped = runStreamingWithRestarts({
      connect: async () => (connects++, failingAfter(log, 3, () => new BrokerUnavailableError('kafka: broker gone'))), warehouse: restarted, config, signal: stop.signal,
      restart: { initialRetryTimeMs: 60_000 },
      onRestart: () => stop.abort(), // stopped (SIGTERM) during the back-off
    });
    await expect(stopped).rejects.toThrow('kafka: broker gone');
    expect(connects).toBe(2);
  }, 60_000);

  it('names its consumer groups <groupPrefix>-<processor>: a second job with its own prefix reads the topics again', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 4, now: () => 0 });
    await produceSimulation(log, sim, 0);
    const inputs = sim.arrivals.length;
    const first = await runStreaming({ log, warehouse: restarted, config, untilEnd: true, processors: ['join'] });
    const consumed = (c: typeof first) => Object.values(c.join!).reduce((n, t) => n + t.consumed, 0);
    expect(consumed(first)).toBe(inputs);
    // The default groups (edgelat-join-load-latency) have committed the end: the same job again reads nothing.
    expect(consumed(await runStreaming({ log, warehouse: restarted, config, untilEnd: true, processors: ['join'] }))).toBe(0);
    expect(consumed(await runStreaming({ log, warehouse: restarted, config, untilEnd: true, processors: ['join'], groupPrefix: 'job2' }))).toBe(inputs);
    const c = await log.consumer('job2-join-load-latency', ['edge.inference.v1']);
    try {
      expect((await c.committed({ topic: 'edge.inference.v1', partition: 0 }))?.offset).toBe(await log.endOffset({ topic: 'edge.inference.v1', partition: 0 }));
    } finally {
      await c.close();
    }
  }, 60_000);
});
