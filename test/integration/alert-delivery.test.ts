import pino from 'pino';
/**
 * Alert delivery (issue 6, E4 on the in-process log; the Kafka + SIGKILL
 * version is test/e2e/alerts-sigkill.test.ts): a local HTTP receiver that
 * deduplicates by idempotency key sees every state change exactly once across
 * crashes at every point, a 500 is retried with growing back-off, and a 4xx
 * is recorded as a refusal.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LANE_HEADER, SEQ_HEADER } from '../../pipelines/runtime/lanes.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import { codecFor } from '../../schemas/index.ts';
import { alertChanges, changeKey } from '../../services/alerts/alert-change.ts';
import { AlertDeliveryRun, RECORD_EVERY_CHANGES } from '../../services/alerts/delivery-run.ts';
import { loadConfig } from '../../services/config.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import { runStreaming } from '../../services/pipeline/streaming.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import { alertWindows as windows } from '../helpers/alert-windows.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

/** A receiver that records every POST and answers from `answer` (default 200). */
function receiver() {
  const posts: { key: string; at: number; status: number; body: Record<string, unknown> }[] = [];
  let answer: (n: number, key: string) => number = () => 200;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += String(d)));
    req.on('end', () => {
      const key = String(req.headers['idempotency-key']);
      const status = answer(posts.length, key);
      posts.push({ key, at: performance.now(), status, body: JSON.parse(body) as Record<string, unknown> });
      res.statusCode = status;
      res.end();
    });
  });
  return {
    posts, server,
    setAnswer: (f: typeof answer) => (answer = f),
    /** Keys acknowledged with 2xx, deduplicated, and how many were acknowledged more than once. */
    acked: () => {
      const ok = posts.filter((p) => p.status < 300).map((p) => p.key);
      return { keys: new Set(ok), repeats: ok.length - new Set(ok).size };
    },
    url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
  };
}

describe('alert delivery to a webhook', () => {
  const rx = receiver();
  let w: ChdbWarehouse;
  const input = windows();
  const expected = alertChanges(input);
  beforeAll(async () => {
    await new Promise<void>((r) => rx.server.listen(0, '127.0.0.1', r));
  });
  afterEach(async () => {
    rx.posts.length = 0;
    rx.setAnswer(() => 200);
    await w?.close();
  });
  afterAll(() => new Promise<void>((r) => rx.server.close(() => r())));

  async function logWithWindows(): Promise<MemoryEventLog> {
    const log = new MemoryEventLog({ defaultPartitions: 4, now: () => 0 });
    await log.ensureTopic(TOPICS.correlation, 4);
    await log.produce(TOPICS.correlation, input.map((u) => ({ key: u.edge_server_id, value: codecFor('CorrelationUpdate').encode(u) })));
    await log.seal(TOPICS.correlation);
    return log;
  }
  const fast = { initialRetryTimeMs: 20, maxRetryTimeMs: 200, factor: 0 };

  it('posts every change once, with the stable key, the JSON body and an Idempotency-Key header', async () => {
    expect(expected.length).toBeGreaterThan(80);
    w = await createTestDatabase('alerts');
    const log = await logWithWindows();
    // Inserts into alert_deliveries counted: blocks of up to RECORD_EVERY_CHANGES, not one a change (~9 changes/s).
    const blocks: number[] = [];
    const counting = new Proxy(w, { get: (t, k) => (k === 'insert' ? (table: string, rows: unknown[], o: unknown) => { blocks.push(rows.length); return t.insert(table, rows as never, o as never); } : Reflect.get(t, k)) });
    const run = new AlertDeliveryRun({ log, warehouse: counting, webhookUrl: rx.url(), retry: fast });
    await run.runToEnd();
    expect(blocks.reduce((a, b) => a + b, 0)).toBe(expected.length);
    expect(blocks.length).toBeLessThanOrEqual(Math.ceil(expected.length / RECORD_EVERY_CHANGES) + 4); // + a block per poll's end (4 partitions)
    expect(Math.max(...blocks)).toBeLessThanOrEqual(RECORD_EVERY_CHANGES);
    expect(rx.posts.map((p) => p.key).sort()).toEqual(expected.map((c) => c.idempotency_key).sort());
    const first = rx.posts.find((p) => p.key === expected[0]!.idempotency_key)!;
    expect(first.body).toEqual(expected[0]);
    expect(first.body).toMatchObject({ kind: 'edgelat.alert-state-change.v1', previous_state: 'none', x_metric: expect.any(String) });
    const c0 = expected[0]!;
    const w0 = input.find((u) => u.edge_server_id === c0.edge_server_id && u.x_metric === c0.x_metric && new Date(u.window_end).toISOString() === c0.window_end)!;
    expect(c0.idempotency_key).toMatch(/^[0-9a-f]{32}$/);
    expect(changeKey(w0, c0.previous_state, c0.state)).toBe(c0.idempotency_key);
    expect(changeKey(w0, 'firing', c0.state)).not.toBe(c0.idempotency_key);
    const [row] = await w.query<{ n: number; u: number }>(`SELECT count() AS n, uniqExact(idempotency_key) AS u FROM ${w.database}.alert_deliveries WHERE status = 'delivered'`);
    expect([Number(row!.n), Number(row!.u)]).toEqual([expected.length, expected.length]);
    expect(run.deliveries).toEqual({ delivered: expected.length, rejected: 0, filtered: 0 });
  });

  it('keeps the keys of recorded changes only until they are committed past, and no pair back at none (a long-run trial: 192k keys a day for 50 servers)', async () => {
    w = await createTestDatabase('alerts_bounded');
    const log = await logWithWindows();
    type Parts = Map<string, { recorded: Map<string, number>; prev: Map<string, string> }>;
    let run: AlertDeliveryRun;
    let most = 0;
    const held = () => [...((run as unknown as { parts: Parts }).parts.values())].reduce((n, p) => n + p.recorded.size, 0);
    run = new AlertDeliveryRun({ log, warehouse: w, webhookUrl: rx.url(), retry: fast, maxBatch: 13, onDelivered: () => { most = Math.max(most, held()); } });
    await run.runToEnd();
    expect(run.deliveries.delivered).toBe(expected.length);
    // At most one poll's changes (13 records) at a time, and none once all is committed.
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(13);
    expect(held()).toBe(0);
    const states = [...((run as unknown as { parts: Parts }).parts.values())].flatMap((p) => [...p.prev.values()]);
    expect(states).not.toContain('none');
  });

  it('skips second copies of windows (a send retried by a producer without idempotence): no change back and forth', async () => {
    w = await createTestDatabase('alerts_repeats');
    const log = new MemoryEventLog({ defaultPartitions: 4, now: () => 0 });
    await log.ensureTopic(TOPICS.correlation, 4);
    const records = input.map((u, i) => ({
      key: u.edge_server_id, value: codecFor('CorrelationUpdate').encode(u),
      headers: { [LANE_HEADER]: 'rolling-correlation:windows:0', [SEQ_HEADER]: JSON.stringify([i]) },
    }));
    // Every chunk of 7 windows written twice, the copy right after it.
    for (let i = 0; i < records.length; i += 7) {
      await log.produce(TOPICS.correlation, records.slice(i, i + 7));
      await log.produce(TOPICS.correlation, records.slice(i, i + 7));
    }
    await log.seal(TOPICS.correlation);
    // Restarted after the first batch of 13, so a resumed partition tells copies apart by the records before its offset.
    const first = new AlertDeliveryRun({ log, warehouse: w, webhookUrl: rx.url(), retry: fast, maxBatch: 13 });
    await first.start();
    await first.runBatch();
    await first.close();
    const run = new AlertDeliveryRun({ log, warehouse: w, webhookUrl: rx.url(), retry: fast, maxBatch: 13 });
    const counts = await run.runToEnd();
    expect(rx.posts.map((p) => p.key).sort()).toEqual(expected.map((c) => c.idempotency_key).sort());
    expect(counts[TOPICS.correlation]).toMatchObject({ consumed: input.length * 2 - (first.counts[TOPICS.correlation]!.consumed), repeated: input.length - first.counts[TOPICS.correlation]!.repeated! });
  });

  it('crashes after a POST, before or after the commit: each change is acknowledged; only those posted since the last recorded block come again, with the same keys', async () => {
    w = await createTestDatabase('alerts_crash');
    const log = await logWithWindows();
    // Crash when the receiver has seen `at` POSTs: after a POST (before it is recorded), after a commit, and
    // twice in a row after a POST (the restarted run re-sends the changes in flight and crashes again).
    /** Per crashed run: the keys it posted and had not recorded when it crashed. */
    const unrecorded: string[][] = [];
    for (const [point, at] of [['after-produce', 10], ['after-commit', 30], ['after-produce', 50], ['after-produce', 51]] as const) {
      const from = rx.posts.length;
      const recorded = new Set<string>();
      const run = new AlertDeliveryRun({
        log, warehouse: w, webhookUrl: rx.url(), retry: fast, maxBatch: 13,
        onDelivered: (c) => recorded.add(c.idempotency_key),
        failPoint: (p) => { if (p === point && rx.posts.length >= at) throw new Error(`crash ${point} ${at}`); },
      });
      await expect(run.runToEnd()).rejects.toThrow(/crash/);
      unrecorded.push(rx.posts.slice(from).map((p) => p.key).filter((k) => !recorded.has(k)));
    }
    // A block is recorded at least once a poll (13 windows): a crash after a POST leaves at most a poll's changes
    // unrecorded, including the one in flight; a crash after a commit none.
    expect(unrecorded.map((u) => u.length > 0)).toEqual([true, false, true, true]);
    for (const u of unrecorded) expect(u.length).toBeLessThanOrEqual(13);
    await new AlertDeliveryRun({ log, warehouse: w, webhookUrl: rx.url(), retry: fast, maxBatch: 13 }).runToEnd();
    const { keys } = rx.acked();
    expect([...keys].sort()).toEqual(expected.map((c) => c.idempotency_key).sort());
    // Each change posted once, and once more for each crashed run that had posted it without recording it.
    const counts = new Map<string, number>();
    for (const p of rx.posts) counts.set(p.key, (counts.get(p.key) ?? 0) + 1);
    for (const c of expected) {
      const again = unrecorded.filter((u) => u.includes(c.idempotency_key)).length;
      expect(counts.get(c.idempotency_key), c.idempotency_key).toBe(1 + again);
    }
    expect(rx.posts.length).toBeGreaterThan(expected.length);
    const [row] = await w.query<{ n: number; u: number }>(`SELECT count() AS n, uniqExact(idempotency_key) AS u FROM ${w.database}.alert_deliveries`);
    expect([Number(row!.n), Number(row!.u)]).toEqual([expected.length, expected.length]);
  });

  it('retries a receiver answering 500 with growing back-off, and records a 4xx refusal without retrying it', async () => {
    w = await createTestDatabase('alerts_retry');
    const log = await logWithWindows();
    const refused = expected[5]!.idempotency_key;
    rx.setAnswer((n, key) => (n < 4 ? 500 : key === refused ? 422 : 200));
    const errors: { msg: string; status: number; err: string }[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void errors.push(JSON.parse(line)) });
    // The pause is said once, at the first failure, and the resumption once, at the answer after it (the demo says them
    // whatever its log level: a trial's demo was silent while the webhook was down).
    const pauses: string[] = [];
    const run = new AlertDeliveryRun({ log, warehouse: w, webhookUrl: rx.url(), retry: { initialRetryTimeMs: 40, maxRetryTimeMs: 1000, factor: 0 }, logger,
      onPause: (e) => pauses.push(`pause: ${e.message}`), onResume: () => pauses.push(`resume after ${rx.posts.length} posts`) });
    await run.runToEnd();
    expect(pauses).toEqual([`pause: alert webhook ${new URL(rx.url()).origin}/… answered 500`, 'resume after 5 posts']);
    // The refusal's log line says why, with the URL as scheme, host and port (a trial's showed the status alone).
    const refusal = errors.filter((e) => e.msg.startsWith('alert webhook refused'));
    expect(refusal.map((e) => [e.status, e.err])).toEqual([[422, `alert webhook ${new URL(rx.url()).origin}/… answered 422 (not retried: the receiver refuses this change)`]]);
    const firstKey = rx.posts[0]!.key;
    const tries = rx.posts.filter((p) => p.key === firstKey);
    expect(tries.map((p) => p.status)).toEqual([500, 500, 500, 500, 200]);
    const gaps = tries.slice(1).map((p, i) => p.at - tries[i]!.at);
    // Back-off 40, 80, 160, 320 ms (factor 0: no jitter), each at least its delay: the last one at least 315 ms
    // shows the growth (a constant 40 ms back-off fails it). No upper bound or ratio: on a loaded machine the first
    // gap took 88 ms, and gap 4 > 4 × gap 1 failed without any fault.
    gaps.forEach((g, i) => expect(g).toBeGreaterThanOrEqual(40 * 2 ** i - 5));
    expect(rx.posts.filter((p) => p.key === refused).map((p) => p.status)).toEqual([422]);
    expect(run.deliveries).toEqual({ delivered: expected.length - 1, rejected: 1, filtered: 0 });
    const rows = await w.query<{ status: string; http_status: number; attempts: number }>(`SELECT status, http_status, attempts FROM ${w.database}.alert_deliveries WHERE idempotency_key = {k:String}`, { k: refused });
    expect(rows).toEqual([{ status: 'rejected', http_status: 422, attempts: 1 }]);
    // A later run says at start that an earlier one's change was refused for good (a trial: 94 refusals, then silence).
    const warnings: { msg: string; rejected?: number }[] = [];
    const next = new AlertDeliveryRun({ log, warehouse: w, webhookUrl: rx.url(), logger: pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line)) }) });
    await next.start();
    await next.close();
    const said = warnings.filter((x) => x.rejected !== undefined);
    expect(said.map((x) => x.rejected)).toEqual([1]);
    expect(said[0]!.msg).toMatch(/^1 alert change\(s\) were refused for good by the webhook in earlier runs \(status rejected in \w+\.alert_deliveries, last at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC\) and are not sent again: /);
  });

  it('logs a webhook that refuses every change once at error level, then at the 10th, 100th … refusal (a trial: 197 lines for 197 changes)', async () => {
    w = await createTestDatabase('alerts_refuse_all');
    const log = await logWithWindows();
    rx.setAnswer(() => 404);
    const lines: { level: number; msg: string; refused?: number }[] = [];
    const run = new AlertDeliveryRun({ log, warehouse: w, webhookUrl: rx.url(), retry: fast, logger: pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) }) });
    await run.runToEnd();
    expect(expected.length).toBeGreaterThan(10);
    expect(run.deliveries).toEqual({ delivered: 0, rejected: expected.length, filtered: 0 });
    const refusals = lines.filter((l) => l.refused !== undefined);
    expect(refusals.map((l) => l.refused)).toEqual(expected.map((_, i) => i + 1));
    // pino's levels: 50 error, 20 debug.
    const loud = refusals.filter((l) => l.level === 50).map((l) => l.refused);
    expect(loud).toEqual([1, 10, 100, 1000].filter((n) => n <= expected.length));
    expect(refusals.filter((l) => l.level === 20)).toHaveLength(expected.length - loud.length);
    expect(refusals.find((l) => l.refused === 10)!.msg).toBe('alert webhook refused 10 changes so far with status 404; recorded as rejected');
  });

  it('--alerts-states firing,resolved: only those changes are posted; the others are recorded as filtered, and a crash keeps it exact', async () => {
    w = await createTestDatabase('alerts_states');
    const log = await logWithWindows();
    const states = new Set(['firing', 'resolved']);
    const wanted = expected.filter((c) => states.has(c.state));
    expect(wanted.length).toBeGreaterThan(10);
    expect(wanted.length).toBeLessThan(expected.length);
    const crash = new AlertDeliveryRun({
      log, warehouse: w, webhookUrl: rx.url(), retry: fast, maxBatch: 13, states,
      failPoint: (p) => { if (p === 'after-produce' && rx.posts.length >= 9) throw new Error('crash'); },
    });
    await expect(crash.runToEnd()).rejects.toThrow(/crash/);
    await new AlertDeliveryRun({ log, warehouse: w, webhookUrl: rx.url(), retry: fast, maxBatch: 13, states }).runToEnd();
    const { keys, repeats } = rx.acked();
    expect([...keys].sort()).toEqual(wanted.map((c) => c.idempotency_key).sort());
    expect(repeats).toBeLessThanOrEqual(13); // at most a poll's changes (13 windows) posted but not recorded
    const rows = await w.query<{ status: string; n: number }>(`SELECT status, count() AS n FROM ${w.database}.alert_deliveries GROUP BY status ORDER BY status`);
    expect(rows.map((r) => [r.status, Number(r.n)])).toEqual([['delivered', wanted.length], ['filtered', expected.length - wanted.length]]);
  });

  it('a stop (SIGTERM) while a delivery is retried ends the batch at that change; the next run delivers from it', async () => {
    w = await createTestDatabase('alerts_stop');
    const log = await logWithWindows();
    rx.setAnswer(() => 503); // the webhook is down
    const stop = new AbortController();
    const run = new AlertDeliveryRun({ log, warehouse: w, webhookUrl: rx.url(), retry: { initialRetryTimeMs: 50, maxRetryTimeMs: 60_000, factor: 0 }, signal: stop.signal });
    await run.start();
    const batch = run.runBatch();
    while (rx.posts.length < 4) await new Promise((r) => setTimeout(r, 10));
    // The 4th retry waits 800 ms, the 10th would wait 25 s: the stop ends the wait at once.
    const stoppedAt = performance.now();
    stop.abort();
    expect(await batch).toBe(false);
    expect(performance.now() - stoppedAt).toBeLessThan(300);
    await run.close();
    const posted = new Set(rx.posts.map((p) => p.key));
    expect([...posted]).toEqual([rx.posts[0]!.key]); // one change, retried
    const [{ n }] = await w.query<{ n: number }>(`SELECT count() AS n FROM ${w.database}.alert_deliveries`);
    expect(Number(n)).toBe(0);
    // The webhook is back: a new run delivers every change, the stopped one included, each acknowledged once.
    rx.setAnswer(() => 200);
    await new AlertDeliveryRun({ log, warehouse: w, webhookUrl: rx.url(), retry: fast }).runToEnd();
    const { keys, repeats } = rx.acked();
    expect([...keys].sort()).toEqual(expected.map((c) => c.idempotency_key).sort());
    expect(repeats).toBe(0);
  });

  it('pipeline run: SIGTERM while the webhook is down stops the alerts processor at once (it retried forever)', async () => {
    w = await createTestDatabase('alerts_sigterm');
    const log = await logWithWindows();
    rx.setAnswer(() => 503);
    const stop = new AbortController();
    const run = runStreaming({ log, warehouse: w, config: { ...loadConfig({}), sinkLingerMs: 50 }, processors: ['alerts'], alertsWebhook: rx.url(), signal: stop.signal });
    // The default back-off: 300 ms doubling to 30 s; wait for the 3rd attempt, then stop.
    while (rx.posts.length < 3) await new Promise((r) => setTimeout(r, 20));
    const stoppedAt = performance.now();
    stop.abort();
    const counts = await run;
    expect(performance.now() - stoppedAt).toBeLessThan(2000);
    // Stopped at the first change (the records before it carried none): nothing recorded, the rest unread.
    expect(new Set(rx.posts.map((p) => p.key)).size).toBe(1);
    expect(counts.alerts![TOPICS.correlation]!.processed).toBeLessThan(input.length);
    const [{ n }] = await w.query<{ n: number }>(`SELECT count() AS n FROM ${w.database}.alert_deliveries`);
    expect(Number(n)).toBe(0);
  });

  it('rejects a webhook that is not an http(s) URL', () => {
    expect(() => new AlertDeliveryRun({ log: new MemoryEventLog(), warehouse: w, webhookUrl: 'ftp://x' })).toThrow(/--alerts-webhook: expected an http\(s\) URL, got "ftp:\/\/x"/);
  });
});
