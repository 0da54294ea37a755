/**
 * B3: the warehouse fails (the endpoint answers 503) → the sink pauses with
 * back-off, no offset moves past unwritten rows, and every row arrives after
 * recovery, once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SinkRun } from '../../pipelines/runtime/run-sink.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import { codecFor } from '../../schemas/index.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import { ClickHouseWarehouse } from '../../services/warehouse/clickhouse.ts';
import { makeInference } from '../helpers/factories.ts';
import { startSqlEndpointProcess, type SqlEndpointProcess } from '../helpers/sql-endpoint.ts';

describe('warehouse outage', () => {
  let endpoint: SqlEndpointProcess;
  let warehouse: ClickHouseWarehouse;
  beforeAll(async () => {
    endpoint = await startSqlEndpointProcess();
    warehouse = new ClickHouseWarehouse({ url: endpoint.url, database: 'outage' });
    await warehouse.migrate();
  });
  afterAll(async () => {
    await warehouse?.close();
    await endpoint?.stop();
  });

  it('pauses while the warehouse answers 503 for 10 s and loses nothing', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    const t0 = Date.UTC(2024, 5, 1, 10);
    await log.produce(TOPICS.inference, Array.from({ length: 1000 }, (_, i) => ({ key: 'edge-01', value: codecFor('InferenceEvent').encode(makeInference({ edge_server_id: 'edge-01', ts: t0 + i * 10, event_id: `o-${i}` })) })));
    await log.seal(TOPICS.inference);
    const retries: number[] = [];
    const run = new SinkRun({ log, warehouse, topics: [TOPICS.inference], batchOffsets: 100, maxBatch: 100, retry: { initialRetryTimeMs: 200, maxRetryTimeMs: 1000, onRetry: (_e, attempt) => retries.push(attempt) } });
    await run.start();
    await run.runBatch(); // first block written
    const committed = async () => (await run['consumer']!.committed({ topic: TOPICS.inference, partition: 0 }))?.offset ?? 0;
    expect(await committed()).toBe(100);
    await endpoint.setUnavailable(true);
    const outage = setTimeout(() => void endpoint.setUnavailable(false), 10_000);
    const started = Date.now();
    const batch = run.runBatch(); // blocks in back-off while the warehouse is down
    await new Promise((r) => setTimeout(r, 5000));
    expect(await committed()).toBe(100); // nothing committed past unwritten rows
    await batch;
    expect(Date.now() - started).toBeGreaterThanOrEqual(9000);
    clearTimeout(outage);
    while (!(await run.runBatch()));
    const final = await committed();
    await run.close();
    expect(retries.length).toBeGreaterThan(3);
    const [r] = await warehouse.query<{ c: number; u: number }>('SELECT count() AS c, uniqExact(event_id) AS u FROM outage.inference_events');
    expect(r).toEqual({ c: 1000, u: 1000 });
    expect(final).toBe(1000);
  }, 60_000);

  it('stops a write retried during an outage when its signal aborts (SIGTERM), committing nothing past it', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    const t0 = Date.UTC(2024, 5, 1, 11);
    await log.produce(TOPICS.inference, Array.from({ length: 100 }, (_, i) => ({ key: 'edge-02', value: codecFor('InferenceEvent').encode(makeInference({ edge_server_id: 'edge-02', ts: t0 + i * 10, event_id: `s-${i}` })) })));
    const stop = new AbortController();
    let attempts = 0;
    const run = new SinkRun({ log, warehouse, topics: [TOPICS.inference], batchOffsets: 100, maxBatch: 100, retry: { signal: stop.signal, initialRetryTimeMs: 200, maxRetryTimeMs: 1000, onRetry: () => void attempts++ } });
    await run.start();
    await endpoint.setUnavailable(true);
    try {
      const batch = run.runBatch();
      while (attempts < 2) await new Promise((r) => setTimeout(r, 50));
      stop.abort();
      await expect(batch).rejects.toMatchObject({ name: 'RetryStoppedError', message: expect.stringMatching(/^stopped retrying after \d+ attempt\(s\): /) });
      expect((await run['consumer']!.committed({ topic: TOPICS.inference, partition: 0 }))?.offset ?? 0).toBe(0);
    } finally {
      await endpoint.setUnavailable(false);
      await run.close();
    }
  }, 60_000);
});
