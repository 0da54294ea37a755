import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WarehouseError } from '../../errors.ts';
import { SinkRun } from '../../pipelines/runtime/run-sink.ts';
import { SINK_ROUTES } from '../../pipelines/warehouse-sink.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import { addPoint, correlationResult, emptyMoments } from '../../pipelines/stats/moments.ts';
import { codecFor } from '../../schemas/index.ts';
import type { CorrelationUpdate } from '../../schemas/types.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import { rowToJson } from '../../services/warehouse/json.ts';
import { restoreColumns } from '../../services/warehouse/migrations.ts';
import { missingObject } from '../../services/warehouse/missing-object.ts';
import { msToDateTime64 } from '../../services/warehouse/types.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { makeInference } from '../helpers/factories.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/cases/${name}`, import.meta.url), 'utf8');

describe('chdb warehouse', () => {
  let w: ChdbWarehouse;
  beforeAll(async () => {
    w = await createTestDatabase('wh');
  });
  afterAll(async () => w?.close());

  it('migrate is idempotent and records what it applied', async () => {
    expect(await w.migrate()).toEqual([]);
    const applied = await w.query<{ name: string }>(`SELECT name FROM ${w.database}.schema_migrations ORDER BY version`);
    const files = readdirSync(new URL('../../sql/migrations/', import.meta.url)).filter((f) => /^\d{4}_.*\.sql$/.test(f)).sort();
    expect(files.slice(0, 3)).toEqual(['0001_database.sql', '0002_raw_topics.sql', '0003_enriched.sql']);
    expect(applied.map((r) => r.name)).toEqual(files);
  });

  it('case C13: UInt64 values and counts come back exact; values are bound, not spliced', async () => {
    const rows = fixture('C13.csv').trim().split('\n').slice(1).map((l) => l.split(','));
    await w.exec(`CREATE TABLE ${w.database}.c13 (ts DateTime, server_id String, trace_id UInt64, latency_ms UInt32, tokens_out UInt32) ENGINE = MergeTree ORDER BY ts`);
    await w.insert(`${w.database}.c13`, rows.map(([ts, server_id, trace_id, latency_ms, tokens_out]) => ({ ts, server_id, trace_id: BigInt(trace_id!), latency_ms: Number(latency_ms), tokens_out: Number(tokens_out) })));
    const report = await w.query<{ server_id: string; requests: number; tokens: number; slowest_trace: bigint | number }>(
      `SELECT server_id, count() AS requests, sum(tokens_out) AS tokens, argMax(trace_id, latency_ms) AS slowest_trace FROM ${w.database}.c13 WHERE server_id IN {servers:Array(String)} GROUP BY server_id ORDER BY server_id`,
      { servers: ['edge-a', 'edge-b'] },
    );
    expect(report).toEqual([
      { server_id: 'edge-a', requests: 7, tokens: 830, slowest_trace: 12345678901234567890n },
      { server_id: 'edge-b', requests: 5, tokens: 960, slowest_trace: 9007199254740993n },
    ]);
    expect(report.reduce((s, r) => s + r.requests, 0)).toBe(12);
    expect(report.reduce((s, r) => s + r.tokens, 0)).toBe(1790);
    const hostile = await w.query<{ n: number }>(`SELECT count() AS n FROM ${w.database}.c13 WHERE server_id = {s:String}`, { s: "edge-a' OR 1=1 --" });
    expect(hostile[0]!.n).toBe(0);
  });

  it('reads numbers by their column types: 64-bit integers exact, floats as the doubles stored (a trial: toFloat64(2^64 - 1) came back as 18446744073709552000n)', async () => {
    const [row] = await w.query<Record<string, unknown>>(
      'SELECT toFloat64(18446744073709551615) AS f, toUInt64(18446744073709551615) AS u, 1e20 AS g, [toUInt64(9007199254740993)] AS a, '
      + 'toNullable(toInt64(-9007199254740993)) AS n, [1.5e20, 2.0] AS fa, toUInt32(7) AS small, count() AS c FROM numbers(3)');
    expect(row).toEqual({ f: 2 ** 64, u: 18446744073709551615n, g: 1e20, a: [9007199254740993n], n: -9007199254740993n, fa: [1.5e20, 2], small: 7, c: 3 });
    // An Array(UInt64) of bigints goes in and comes back exactly; [1, NaN] is refused, not stored as [1, 0].
    await w.exec(`CREATE TABLE ${w.database}.arrays (k UInt8, ids Array(UInt64), xs Array(Float64)) ENGINE = MergeTree ORDER BY k`);
    await w.insert(`${w.database}.arrays`, [{ k: 1, ids: [9007199254740993n, 18446744073709551615n], xs: [0.1, 1e300] }]);
    expect(await w.query(`SELECT ids, xs FROM ${w.database}.arrays`)).toEqual([{ ids: [9007199254740993n, 18446744073709551615n], xs: [0.1, 1e300] }]);
    await expect(w.insert(`${w.database}.arrays`, [{ k: 2, ids: [], xs: [1, Number.NaN] }])).rejects.toThrow('xs[1]: NaN cannot be stored');
  });

  it('case C20: undefined correlations are stored as NULL, never NaN or 0; NaN is refused by name', async () => {
    const c20 = JSON.parse(fixture('C20.json')) as { rows: { window_end: string; pearson_r_js: string }[] };
    // Recompute the C02 windows with our moments (window of 4), as the pipeline would.
    const c02 = fixture('C02.csv').trim().split('\n').slice(1).map((l) => l.split(','));
    const updates: CorrelationUpdate[] = c20.rows.map((row) => {
      const end = c02.findIndex((r) => r[0] === row.window_end);
      const m = emptyMoments();
      for (const r of c02.slice(end - 3, end + 1)) addPoint(m, Number(r[2]), Number(r[3]));
      const t = Date.parse(row.window_end);
      return { scope: 'server', edge_server_id: 'edge-03', model_id: null, chip: null, window_start: t - 3000, window_end: t + 1, x_metric: 'gpu_util', y_metric: 'total_ms', ...correlationResult(m), alert_state: 'none' };
    });
    // The case's values (JS NaN where undefined) within 1e-12; ours are null there, with a reason.
    updates.forEach((u, i) => {
      const want = c20.rows[i]!.pearson_r_js;
      if (want === 'NaN') expect([u.pearson_r, u.null_reason]).toEqual([null, expect.stringMatching(/_constant$/)]);
      else expect(Math.abs(u.pearson_r! - Number(want))).toBeLessThan(1e-12);
    });
    const codec = codecFor('CorrelationUpdate');
    const route = SINK_ROUTES[TOPICS.correlation]!;
    const decoded = updates.map((u) => codec.decode(codec.encode(u)));
    expect(decoded.every((d) => d.ok)).toBe(true);
    await w.insert(`${w.database}.load_latency_correlations`, decoded.map((d) => route.toRow((d as { value: CorrelationUpdate }).value, 0, 0)));
    const [r] = await w.query<{ windows: number; defined: number; undefined: number; zeros: number; r_min: number; r_max: number }>(
      `SELECT count() AS windows, count(pearson_r) AS defined, countIf(pearson_r IS NULL) AS undefined, countIf(pearson_r = 0) AS zeros, min(pearson_r) AS r_min, max(pearson_r) AS r_max FROM ${w.database}.load_latency_correlations`,
    );
    expect({ ...r, r_min: undefined, r_max: undefined }).toEqual({ windows: 8, defined: 5, undefined: 3, zeros: 0, r_min: undefined, r_max: undefined });
    expect(Math.abs(r!.r_min - -0.9999694770658232)).toBeLessThan(1e-12);
    expect(Math.abs(r!.r_max - 0.997628923753008)).toBeLessThan(1e-12);
    expect(() => rowToJson({ pearson_r: NaN })).toThrow(/pearson_r: NaN cannot be stored/);
    expect(() => codecFor('CorrelationUpdate').encode({ ...updates[0]!, pearson_r: Number.POSITIVE_INFINITY })).toThrow(/pearson_r/);
  });

  it('case C15: a batch whose insert committed but timed out is retried without adding rows', async () => {
    const c15 = JSON.parse(fixture('C15.json')) as { batches: { records: { offset: number; value: { event_id: string; server_id: string; ts_ms: number; latency_ms: number } }[] }[] };
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    const records = c15.batches.flatMap((b) => b.records);
    await log.produce(TOPICS.inference, records.map((r) => ({ key: r.value.server_id, value: codecFor('InferenceEvent').encode(makeInference({ event_id: r.value.event_id, edge_server_id: r.value.server_id, ts: r.value.ts_ms, total_ms: r.value.latency_ms })) })));
    await log.seal(TOPICS.inference);
    let timedOut = false;
    const flaky = Object.create(w) as ChdbWarehouse;
    flaky.insert = async (table, rows, options) => {
      await w.insert(table, rows, options);
      if (!timedOut) {
        timedOut = true; // the first insert reached the server, but the client saw a timeout
        throw new WarehouseError('insert timed out (client side)', 159, { retriable: true });
      }
    };
    await new SinkRun({ log, warehouse: flaky, topics: [TOPICS.inference], batchOffsets: 4, retry: { initialRetryTimeMs: 1, retries: 3 } }).runToEnd();
    expect(timedOut).toBe(true);
    const [r] = await w.query<{ c: number; s: number; offsets: number }>(`SELECT count() AS c, sum(total_ms) AS s, uniqExact(src_offset) AS offsets FROM ${w.database}.inference_events`);
    expect(r).toEqual({ c: 8, s: 428, offsets: 8 });
  });

  it('a block spanning more than 100 monthly partitions (a backfill) is accepted', async () => {
    const rows = Array.from({ length: 120 }, (_, i) => ({ edge_server_id: 'edge-01', ts: msToDateTime64(Date.UTC(2010, i, 15)), cpu_util: 0.1, gpu_util: 0.2, mem_util: 0.3, queue_depth: 1, concurrency: 1, requests_per_s: 2, temperature_c: null, power_w: null, src_partition: 0, src_offset: i }));
    await w.insert(`${w.database}.load_samples`, rows, { dedupToken: 'backfill' });
    const [r] = await w.query<{ c: number; months: number }>(`SELECT count() AS c, uniqExact(toYYYYMM(ts)) AS months FROM ${w.database}.load_samples`);
    expect(r).toEqual({ c: 120, months: 120 });
  });

  it('two bounded runs from two logs into one database both land (tokens carry the log id)', async () => {
    const w2 = await createTestDatabase('twice');
    try {
      for (const day of [0, 1]) {
        const log = new MemoryEventLog({ defaultPartitions: 1 });
        const t0 = Date.UTC(2024, 5, 1 + day, 10);
        await log.produce(TOPICS.inference, [0, 1, 2].map((i) => ({ key: 'edge-01', value: codecFor('InferenceEvent').encode(makeInference({ edge_server_id: 'edge-01', ts: t0 + i })) })));
        await log.seal(TOPICS.inference);
        await new SinkRun({ log, warehouse: w2, topics: [TOPICS.inference] }).runToEnd();
      }
      const [r] = await w2.query<{ c: number; days: number }>(`SELECT count() AS c, uniqExact(toDate(ts)) AS days FROM ${w2.database}.inference_events`);
      expect(r).toEqual({ c: 6, days: 2 });
    } finally {
      await w2.close();
    }
  });

  it('migrate adds back a column dropped by hand, as the migrations define it (a trial: every read failed, code 47, and migrate said up to date)', async () => {
    const w3 = await createTestDatabase('columns');
    const shape = async () => w3.query(`SELECT table, name, type, default_kind, default_expression, compression_codec, position FROM system.columns WHERE database = {db:String} ORDER BY table, position`, { db: w3.database });
    try {
      const before = await shape();
      expect(await restoreColumns(w3)).toEqual({ added: [], differing: [] });
      await w3.exec(`ALTER TABLE ${w3.database}.inference_enriched DROP COLUMN load_age_ms`);
      await w3.exec(`ALTER TABLE ${w3.database}.shadow_verdicts DROP COLUMN failed_pairs`);
      await w3.exec(`ALTER TABLE ${w3.database}.inference_enriched DROP COLUMN device_id`);
      const error = await w3.query(`SELECT sum(load_age_ms) FROM ${w3.database}.inference_enriched`).catch((e: unknown) => e);
      expect(missingObject(error)).toMatch(/^the warehouse's tables lack column load_age_ms, which edgelat reads \(dropped by hand\?\): run `edgelat migrate`/);
      expect(await w3.migrate()).toEqual([]); // the files are all applied: only the columns tell
      expect(await restoreColumns(w3)).toEqual({ added: ['inference_enriched.device_id', 'inference_enriched.load_age_ms', 'shadow_verdicts.failed_pairs'], differing: [] });
      expect(await shape()).toEqual(before); // types, defaults, codecs and order as the migrations made them
      expect(await restoreColumns(w3)).toEqual({ added: [], differing: [] });
      // Another type is named, not converted; no scratch database is left behind.
      await w3.exec(`ALTER TABLE ${w3.database}.inference_enriched MODIFY COLUMN batch_size UInt64`);
      expect(await restoreColumns(w3)).toEqual({ added: [], differing: ['inference_enriched.batch_size: UInt64 here, the migrations say UInt32'] });
      expect(await w3.query(`SELECT name FROM system.databases WHERE name LIKE '\\_edgelat\\_columns%'`)).toEqual([]);
    } finally {
      await w3.close();
    }
  });
});
