/**
 * `GET /v1/correlations` through the backend on chdb: the filters answer the windows they match,
 * and a server or model that no window has is a 404 naming the nearest known ids (a trial found
 * `?server=edge-5` answered 200 with no windows, like a server with none yet).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TOPICS } from '../../pipelines/topics.ts';
import { SINK_ROUTES } from '../../pipelines/warehouse-sink.ts';
import { ALERT_CHANGE_KEYS, alertChanges } from '../../services/alerts/alert-change.ts';
import { readAlertChanges } from '../../services/alerts/alert-log.ts';
import { ModelRegistry } from '../../services/model/registry.ts';
import { recordDemoRun } from '../../services/pipeline/demo-runs.ts';
import { createBackend } from '../../services/predictor/backend.ts';
import { NotFoundError, type CorrelationWindow } from '../../services/predictor/types.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { alertWindows } from '../helpers/alert-windows.ts';
import { makeEnriched, makeInference } from '../helpers/factories.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';
import { missingObject } from '../../services/warehouse/missing-object.ts';

describe('backend correlations', () => {
  let w: ChdbWarehouse;
  let backend: ReturnType<typeof createBackend>;
  beforeAll(async () => {
    w = await createTestDatabase('corr');
    backend = createBackend({ warehouse: w, registry: new ModelRegistry(w, mkdtempSync(join(tmpdir(), 'edgelat-models-'))) });
  });
  afterAll(async () => {
    await backend.close();
    await w.close();
  });

  it('answers [] before any window, then the filtered windows; an id no window has is a 404 with the nearest ids', async () => {
    expect(await backend.correlations({ server: 'edge-5' })).toEqual({ windows: [], next_offset: null }); // nothing yet: not a typo
    const route = SINK_ROUTES[TOPICS.correlation]!;
    await w.insert(`${w.database}.load_latency_correlations`, alertWindows().map((u) => route.toRow(u, 0, 0)));
    const edge5 = (await backend.correlations({ server: 'edge-5', model: 'resnet50', limit: 1000 })).windows;
    expect([edge5.length, new Set(edge5.map((c) => c.edge_server_id))]).toEqual([28, new Set(['edge-5'])]);
    expect(await backend.correlations({ server: 'edge-5', sinceMs: Date.UTC(2030, 0, 1) })).toEqual({ windows: [], next_offset: null }); // known, no window since
    // since is inclusive (window_end ≥ since), as alerts tail --since: the newest windows end exactly there.
    // ISO 8601 UTC to the millisecond, as every other time of the API (a trial: microseconds here alone).
    expect(edge5.every((c) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(c.window_end) && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(c.window_start))).toBe(true);
    const newest = Date.parse(edge5[0]!.window_end);
    const atNewest = (await backend.correlations({ server: 'edge-5', model: 'resnet50', sinceMs: newest, limit: 1000 })).windows;
    expect([atNewest.length > 0, atNewest.every((c) => c.window_end === edge5[0]!.window_end)]).toEqual([true, true]);
    expect(atNewest).toEqual(edge5.filter((c) => c.window_end === edge5[0]!.window_end));
    await expect(backend.correlations({ server: 'edge-9' })).rejects.toThrow(new NotFoundError('server: no correlation window of server "edge-9" (nearest known: edge-0, edge-1, edge-2, edge-3, edge-4, edge-5)', 'server'));
    await expect(backend.correlations({ model: 'resnt50' })).rejects.toThrow(new NotFoundError('model: no correlation window of model "resnt50" (nearest known: resnet50)', 'model'));
    // A server and a model both known, never together: a 404 naming the server's models (a trial: 200 with no windows).
    await w.insert(`${w.database}.load_latency_correlations`, [route.toRow({ ...alertWindows()[0]!, edge_server_id: 'edge-0', model_id: 'bert' }, 0, 0)]);
    expect((await backend.correlations({ server: 'edge-0', model: 'bert' })).windows.map((c) => [c.edge_server_id, c.model_id])).toEqual([['edge-0', 'bert']]);
    await expect(backend.correlations({ server: 'edge-1', model: 'bert' })).rejects.toThrow(new NotFoundError('model: server "edge-1" has no correlation window of model "bert" (its models: "resnet50")', 'model'));
    // Together, but not since: an empty page, as before.
    expect(await backend.correlations({ server: 'edge-0', model: 'bert', sinceMs: Date.UTC(2030, 0, 1) })).toEqual({ windows: [], next_offset: null });
  });

  it('recommend on a model of HELP rows only says it cannot be ranked, and HELP ids are not offered as nearest models (a trial: 55 chips skipped, one line each)', async () => {
    const help = (arch: number, device: string) => ({ source: 'help-nb201', model_id: `help-nb201:${arch}`, device, chip: device, batch: 1, scenario: 'help', percentile: 0.5, latency_ms: 3 + arch, system: device });
    await w.insert(`${w.database}.benchmark_latency`, [help(0, 'raspi4'), help(1, 'raspi4'),
      { source: 'mlperf', model_id: 'resnet50', device: 'd', chip: 'gpu-a', batch: 1, scenario: 'SingleStream', percentile: 0.9, latency_ms: 5, system: 'v4.1/closed/S/a' }]);
    const slo = { percentile: 0.99 as const, ms: 50 };
    await expect(backend.recommend({ model: 'help-nb201:0', slo, rps: 1 })).rejects.toThrow(new NotFoundError(
      'model "help-nb201:0" has only HELP benchmark rows, measured on HELP\'s devices, which are not chips of the catalog: they serve SQL (benchmark_latency, scenario help) and `edgelat model evaluate --format help`, not a chip ranking; for a network of your own give its ONNX profile', 'model'));
    await expect(backend.recommend({ model: 'help-nb201:2', slo, rps: 1 })).rejects.toThrow('unknown model "help-nb201:2": nearest known: resnet50; for a new model give its ONNX profile');
    // --chips takes a chip only a benchmark knows, as the default ranking holds it (a trial: refused as unknown, not being
    // in the catalog); a HELP device is no chip.
    const named = await backend.recommend({ model: 'resnet50', slo, rps: 1, chips: ['gpu-a'] });
    expect(named.chips.map((c) => [c.chip, c.evidence.kind])).toEqual([['gpu-a', 'benchmark']]);
    await expect(backend.recommend({ model: 'resnet50', slo, rps: 1, chips: ['gpu-a', 'raspi4'] })).rejects.toThrow(new NotFoundError(
      'unknown chip(s) "raspi4" (nearest: gpu-a): neither the chip catalog (GET /v1/chips, `edgelat chips list`), the fleet, its shadows nor the benchmarks know it as an id', 'chips'));
    // A chip asked for by a name the catalog gives it is named first, as such (a re-test: "Jetson AGX Orin 64GB" was
    // unknown with other chips suggested first). Its own database: the catalog of this one is the health test's.
    const own = await createTestDatabase('aliases');
    try {
      await own.insert(`${own.database}.chips`, [
        { chip: 'abc-board', kind: 'gpu', vendor: 'V', names: ['ABC X1 Module 64GB'] },
        { chip: 'gpu-b', kind: 'gpu', vendor: 'V', names: ['ABC X1 Module 64GB (Board Y)'] },
        { chip: 'zz-npu', kind: 'npu', vendor: 'V', names: [] },
      ]);
      await own.insert(`${own.database}.benchmark_latency`, [{ source: 'mlperf', model_id: 'resnet50', device: 'd', chip: 'gpu-b', batch: 1, scenario: 'SingleStream', percentile: 0.9, latency_ms: 5, system: 'v4.1/closed/S/a' }]);
      const aliased = createBackend({ warehouse: own, registry: new ModelRegistry(own, mkdtempSync(join(tmpdir(), 'edgelat-models-'))) });
      await expect(aliased.recommend({ model: 'resnet50', slo, rps: 1, chips: ['abc x1 module 64gb'] })).rejects.toThrow(new NotFoundError(
        'unknown chip(s) "abc x1 module 64gb" (a name the chip catalog gives abc-board, gpu-b: ask for one of them by its id; nearest: zz-npu): neither the chip catalog (GET /v1/chips, `edgelat chips list`), the fleet, its shadows nor the benchmarks know it as an id', 'chips'));
    } finally {
      await own.close();
    }
  });

  it('pages: limit and next_offset walk every matching window once, in order; metric filters; an unknown metric is a 404 (a trial: 100 of 19,845 windows, no way past them)', async () => {
    const all = (await backend.correlations({ limit: 10_000 })).windows;
    const [count] = await w.query<{ n: number }>(`SELECT count() AS n FROM ${w.database}.load_latency_correlations`);
    expect([all.length, (await backend.correlations({ limit: 10_000 })).next_offset]).toEqual([Number(count!.n), null]);
    const pages: CorrelationWindow[][] = [];
    let offset: number | null = 0;
    while (offset !== null) {
      const page = await backend.correlations({ limit: 7, offset });
      pages.push(page.windows);
      expect(page.windows.length).toBe(page.next_offset === null ? all.length - offset : 7);
      offset = page.next_offset;
    }
    expect(pages.flat()).toEqual(all);
    expect(pages.length).toBe(Math.ceil(all.length / 7));
    // An offset past the end is an empty last page, not a 404.
    expect(await backend.correlations({ server: 'edge-5', offset: 100_000 })).toEqual({ windows: [], next_offset: null });
    const pair = await backend.correlations({ xMetric: all[0]!.x_metric, yMetric: all[0]!.y_metric, limit: 10_000 });
    expect(pair.windows).toEqual(all.filter((c) => c.x_metric === all[0]!.x_metric && c.y_metric === all[0]!.y_metric));
    expect(pair.windows.length).toBeGreaterThan(0);
    await expect(backend.correlations({ xMetric: 'queue_dept' })).rejects.toThrow(/^x_metric: no correlation window of load metric "queue_dept" \(nearest known: /);
  });

  it('is not ready on an empty warehouse, ready once it holds a chip catalog (a trial: serve on an empty folder answered /healthz 200 while predict, recommend and gate answered 404)', async () => {
    expect(await backend.health()).toEqual({ ok: false, details: { warehouse: w.database, champions: [], chips: 0, reason: expect.stringMatching(/^the warehouse holds no chip catalog and no champion latency model: predict, recommend and gate cannot answer \(a new, empty EDGELAT_DATA_DIR\?\)/) } });
    // Telemetry without a catalog or models is no empty folder (an upgrade trial: an older demo's 71,582 rows).
    await w.insert(`${w.database}.inference_enriched`, [1, 2].map((i) => SINK_ROUTES[TOPICS.enriched]!.toRow(makeEnriched({ edge_server_id: 'edge-h', event_id: `h-${i}`, ts: Date.UTC(2024, 5, 1, 10) + i }), 0, i)));
    // Raw events the join has not read yet count too (a re-test: raw rows alone were "a new, empty EDGELAT_DATA_DIR?").
    await w.insert(`${w.database}.inference_events`, [1, 2, 3].map((i) => SINK_ROUTES[TOPICS.inference]!.toRow(makeInference({ edge_server_id: 'edge-h', event_id: `h-${i}`, ts: Date.UTC(2024, 5, 1, 10) + i }), 0, i)));
    await new Promise((r) => setTimeout(r, 1100));
    expect(await backend.health()).toMatchObject({ ok: false, details: { reason: expect.stringMatching(/^the warehouse holds 3 inference events but no chip catalog and no champion latency model: predict, recommend and gate cannot answer \(an older edgelat's data, or a pipeline's without models\?\); run `edgelat demo`, or import a catalog \(`edgelat chips import`\)/) } });
    await w.insert(`${w.database}.chips`, [{ chip: 'c1', kind: 'gpu', vendor: 'V', names: [] }]);
    // A second version of the same chip (a catalog imported again) is not a second chip.
    await w.insert(`${w.database}.chips`, [{ chip: 'c1', kind: 'gpu', vendor: 'V2', names: [] }]);
    // Cached for 1 s: a probe does not cost a query each time.
    await new Promise((r) => setTimeout(r, 1100));
    expect(await backend.health()).toEqual({ ok: true, details: { warehouse: w.database, champions: [], chips: 1 } });
  });
  it('says in /healthz that the newest demo run did not finish, ready still (a trial: the CLI warned of a demo cut short, the API answered from it without a word)', async () => {
    const d = await createTestDatabase('partialdemo');
    const b = createBackend({ warehouse: d, registry: new ModelRegistry(d, mkdtempSync(join(tmpdir(), 'edgelat-models-'))) });
    try {
      await d.insert(`${d.database}.chips`, [{ chip: 'c1', kind: 'gpu', vendor: 'V', names: [] }]);
      expect(await b.health()).toEqual({ ok: true, details: { warehouse: d.database, champions: [], chips: 1 } });
      await recordDemoRun(d, null);
      // A ready answer is cached 1 s, and a stale one given while the next is read.
      await vi.waitFor(async () => expect(await b.health()).toEqual({ ok: true, details: { warehouse: d.database, champions: [], chips: 1,
        warning: expect.stringMatching(new RegExp(`^the last demo run into database "${d.database}" \\(started \\d{4}-.* UTC\\) did not finish: its tables hold part of that run, and answers from them cover only that part; run the demo again \\(npm start\\) to replace it$`)) } }), { timeout: 5000, interval: 300 });
      // Finished: no warning.
      await recordDemoRun(d, 0);
      await vi.waitFor(async () => expect(await b.health()).toEqual({ ok: true, details: { warehouse: d.database, champions: [], chips: 1 } }), { timeout: 5000, interval: 300 });
    } finally {
      await b.close();
      await d.close();
    }
  });

  it('alert changes read back from the warehouse are the topic\'s, with the same keys, which ALERT_CHANGE_KEYS lists in full (alerts tail --json prints by it)', async () => {
    // The windows inserted by the first test.
    const fromTopic = alertChanges(alertWindows());
    const fromWarehouse = await readAlertChanges(w);
    const keysOf = (c: object) => Object.keys(c).sort();
    expect(fromWarehouse.map(keysOf)).toEqual(fromTopic.map(() => [...ALERT_CHANGE_KEYS].sort()));
    expect(keysOf(fromTopic[0]!)).toEqual([...ALERT_CHANGE_KEYS].sort());
    const byKey = (cs: object[]) => cs.map((c) => JSON.stringify(c, ALERT_CHANGE_KEYS)).sort();
    expect(byKey(fromWarehouse)).toEqual(byKey(fromTopic));
    // Windows of another scope (EDGELAT_CORRELATION_SCOPES) post no change, from the topic or the warehouse: alerts
    // follow server×model, whose keys the changes and alert_deliveries carry.
    const flip = { none: 'firing', firing: 'none' } as Record<string, string>;
    const other = alertWindows().map((u) => ({ ...u, scope: 'server', model_id: null, chip: null, alert_state: (flip[u.alert_state] ?? 'firing') as typeof u.alert_state }));
    expect(alertChanges([...other, ...alertWindows()])).toEqual(fromTopic);
    await w.insert(`${w.database}.load_latency_correlations`, other.map((u) => SINK_ROUTES[TOPICS.correlation]!.toRow(u, 0, 0)));
    expect(byKey(await readAlertChanges(w))).toEqual(byKey(fromTopic));
    await w.exec(`ALTER TABLE ${w.database}.load_latency_correlations DELETE WHERE scope = 'server' SETTINGS mutations_sync = 1`);
  });
});

describe('backend on a warehouse that lost a table', () => {
  it('is not ready, naming the mend, and a route that reads the table is a 503 problem naming it, not a 500 (a trial dropped one by hand)', async () => {
    const w = await createTestDatabase('lost_table');
    const backend = createBackend({ warehouse: w, registry: new ModelRegistry(w, mkdtempSync(join(tmpdir(), 'edgelat-models-'))) });
    try {
      await w.insert(`${w.database}.chips`, [{ chip: 'c1', kind: 'gpu', vendor: 'V', names: [] }]);
      expect((await backend.health()).ok).toBe(true);
      await w.exec(`DROP TABLE ${w.database}.load_latency_correlations`);
      await new Promise((r) => setTimeout(r, 1100)); // past the health cache
      // The cached "ready" is answered while the next answer is read (a probe waits for no query); then the fresh one.
      expect((await backend.health()).ok).toBe(true);
      await vi.waitFor(async () => expect((await backend.health()).ok).toBe(false));
      expect(await backend.health()).toEqual({ ok: false, details: { warehouse: w.database, reason: expect.stringMatching(/^the warehouse lacks \d+ migration\(s\) \(\S+ \(again: load_latency_correlations missing\)(, .*)?\), a table dropped or never created: run `edgelat migrate` \(through the ClickHouse port of this server, EDGELAT_CLICKHOUSE_URL=http:\/\/HOST:SQL_PORT, where it holds the embedded warehouse, which one process at a time opens; or with it stopped\)$/) } });
      const error = await backend.correlations({}).catch((e: unknown) => e);
      expect(missingObject(error)).toBe(`the warehouse has no table ${w.database}.load_latency_correlations (dropped, or never created): run \`edgelat migrate\` to create the tables again, then the pipeline or the demo to fill them (through the ClickHouse port of this server, EDGELAT_CLICKHOUSE_URL=http://HOST:SQL_PORT, where it holds the embedded warehouse, which one process at a time opens; or with it stopped)`);
      expect(missingObject(new Error('Unknown table expression identifier \'x\''))).toBeNull();
    } finally {
      await backend.close();
      await w.close();
    }
  });
});
