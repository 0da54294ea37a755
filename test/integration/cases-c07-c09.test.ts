/**
 * Cases C07 and C09 (test/fixtures/cases, from kafkajs#782 and kafkajs#1046)
 * through the warehouse-sink runtime, one insert block per offset (the
 * cases' granularity). Each case message becomes an InferenceEvent
 * (event_id, edge_server_id = server_id, ts = ts_ms, total_ms = latency_ms)
 * at the case's partition and offset.
 *
 * C07: the insert of offset 3 fails twice and the process is killed → the
 * committed offset is 3 and no commit of 4 or more ever happened, the table
 * holds ev-0-0..ev-0-2; after the restart: 6 rows once, committed 6.
 * C09: consumer A inserts 100–104 but its commits past 103 are dropped in a
 * rebalance; consumer B resumes at 103 and also reads 105 → 6 rows once,
 * edge-09 = 6 events, committed 106.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WarehouseError } from '../../errors.ts';
import { SinkRun } from '../../pipelines/runtime/run-sink.ts';
import { TOPICS } from '../../pipelines/topics.ts';
import { codecFor } from '../../schemas/index.ts';
import { MemoryEventLog } from '../../services/eventlog/memory.ts';
import type { CommittedOffset, Consumer, EventLog } from '../../services/eventlog/types.ts';
import type { ChdbWarehouse } from '../../services/warehouse/chdb.ts';
import type { Warehouse } from '../../services/warehouse/types.ts';
import { makeInference } from '../helpers/factories.ts';
import { createTestDatabase } from '../helpers/warehouse.ts';

interface CaseMessage {
  partition: number;
  offset: number;
  value: { event_id: string; server_id: string; ts_ms: number; latency_ms: number };
}
const messages = (name: string): CaseMessage[] => (JSON.parse(readFileSync(new URL(`../fixtures/cases/${name}`, import.meta.url), 'utf8')) as { messages: CaseMessage[] }).messages;

class Killed extends Error {}

/** Put case messages on the log at their partition; filler records first when the case starts past offset 0 (committed away). */
async function produceCase(log: MemoryEventLog, msgs: CaseMessage[]): Promise<void> {
  await log.ensureTopic(TOPICS.inference);
  for (const m of msgs) {
    const end = await log.endOffset({ topic: TOPICS.inference, partition: m.partition });
    expect(end).toBe(m.offset); // the case's offsets are the log's
    const value = makeInference({ edge_server_id: m.value.server_id, ts: m.value.ts_ms, event_id: m.value.event_id, total_ms: m.value.latency_ms });
    await log.produce(TOPICS.inference, [{ key: m.value.server_id, partition: m.partition, value: codecFor('InferenceEvent').encode(value) }]);
  }
}

/** The log with every consumer commit recorded; `drop(o)` true makes a commit vanish silently (a commit lost in a rebalance, kafkajs#28). */
function recordingLog(log: EventLog, commits: CommittedOffset[], drop: (o: CommittedOffset) => boolean = () => false): EventLog {
  return new Proxy(log, {
    get(target, prop, receiver) {
      if (prop !== 'consumer') return Reflect.get(target, prop, receiver);
      return async (groupId: string, topics: string[]): Promise<Consumer> => {
        const c = await target.consumer(groupId, topics);
        return new Proxy(c, {
          get(t, p) {
            if (p !== 'commit') {
              const v = Reflect.get(t, p, t) as unknown;
              return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v; // the log knows its members by identity
            }
            return async (offsets: CommittedOffset[]) => {
              commits.push(...offsets);
              const kept = offsets.filter((o) => !drop(o));
              if (kept.length) await t.commit(kept);
            };
          },
        });
      };
    },
  });
}

describe('cases C07 and C09 through the warehouse sink', () => {
  let warehouse: ChdbWarehouse;
  beforeAll(async () => {
    warehouse = await createTestDatabase('cases');
  });
  afterAll(async () => {
    await warehouse?.close();
  });
  const rows = async (table: string) =>
    warehouse.query<{ event_id: string; n: number }>(`SELECT event_id, count() AS n FROM ${warehouse.database}.${table} GROUP BY event_id ORDER BY event_id`);
  const committed = async (log: EventLog, partition: number) => {
    const c = await log.consumer('edgelat-warehouse-sink', [TOPICS.inference]);
    try {
      return (await c.committed({ topic: TOPICS.inference, partition }))?.offset ?? null;
    } finally {
      await c.close();
    }
  };

  it('C07: nothing is committed past a failing write; after the restart every row is there once', async () => {
    const msgs = messages('C07.json');
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    await produceCase(log, msgs);
    await log.seal(TOPICS.inference);
    const commits: CommittedOffset[] = [];
    let failures = 0;
    // ClickHouse refuses the insert holding ev-0-3 (ECONNREFUSED, retriable); the second failure is where the process is killed.
    const failing: Warehouse = new Proxy(warehouse, {
      get(target, prop, receiver) {
        if (prop !== 'insert') return Reflect.get(target, prop, receiver);
        return async (table: string, rs: readonly Record<string, unknown>[], options?: { dedupToken?: string }) => {
          if (rs.some((r) => r.event_id === 'ev-0-3')) {
            failures++;
            if (failures >= 2) throw new Killed('SIGKILL while still failing on offset 3');
            throw new WarehouseError('connect ECONNREFUSED 127.0.0.1:8123', null, { retriable: true });
          }
          return target.insert(table, rs, options);
        };
      },
    });
    const route = { topics: [TOPICS.inference], batchOffsets: 1, retry: { initialRetryTimeMs: 1, maxRetryTimeMs: 2 } };
    const first = new SinkRun({ log: recordingLog(log, commits), warehouse: failing, ...route });
    await first.start();
    await expect(first.runBatch()).rejects.toThrow(Killed);
    await first.close();
    expect(failures).toBe(2);
    expect(await committed(log, 0)).toBe(3);
    expect(Math.max(...commits.map((c) => c.offset))).toBe(3); // no commit of 4 or more ever happened
    expect(await rows('inference_events')).toEqual([{ event_id: 'ev-0-0', n: 1 }, { event_id: 'ev-0-1', n: 1 }, { event_id: 'ev-0-2', n: 1 }]);

    // ClickHouse is healthy again; the service restarts with the same group and resumes at offset 3.
    const second = new SinkRun({ log, warehouse, ...route });
    await second.start();
    expect(second.positions()).toEqual([{ topic: TOPICS.inference, partition: 0, position: 3 }]);
    while (!(await second.runBatch()));
    await second.close();
    expect(await rows('inference_events')).toEqual(msgs.map((m) => ({ event_id: m.value.event_id, n: 1 })));
    expect(await committed(log, 0)).toBe(6);
  });

  it('C09: work inserted but not committed before a rebalance is not counted twice by the next owner', async () => {
    const msgs = messages('C09.json');
    const log = new MemoryEventLog({ defaultPartitions: 4 });
    // Offsets 0–99 of partition 3 precede the case: fillers the group has already committed.
    const filler = makeInference({ edge_server_id: 'edge-00', ts: msgs[0]!.value.ts_ms - 60_000 });
    await log.produce(TOPICS.inference, Array.from({ length: msgs[0]!.offset }, () => ({ key: 'edge-00', partition: 3, value: codecFor('InferenceEvent').encode(filler) })));
    const setup = await log.consumer('edgelat-warehouse-sink', [TOPICS.inference]);
    await setup.commit([{ topic: TOPICS.inference, partition: 3, offset: msgs[0]!.offset, metadata: '' }]);
    await setup.close();
    await produceCase(log, msgs.filter((m) => m.offset <= 104));

    // Consumer A inserts 100–104; its commits past 103 are dropped by the rebalance (B joins).
    const commitsA: CommittedOffset[] = [];
    const a = new SinkRun({ log: recordingLog(log, commitsA, (o) => o.offset > 103), warehouse, topics: [TOPICS.inference], batchOffsets: 1 });
    await a.start();
    await a.runBatch();
    await a.close();
    expect(commitsA.filter((c) => c.partition === 3).map((c) => c.offset)).toEqual([101, 102, 103, 104, 105]);
    expect(await committed(log, 3)).toBe(103);
    const inserted = (await rows('inference_events')).filter((r) => r.event_id.startsWith('ev-3-'));
    expect(inserted.map((r) => r.event_id)).toEqual(['ev-3-100', 'ev-3-101', 'ev-3-102', 'ev-3-103', 'ev-3-104']);

    // Consumer B takes partition 3 at the committed offset 103 and reads 103, 104 and the new 105.
    await produceCase(log, msgs.filter((m) => m.offset === 105));
    await log.seal(TOPICS.inference);
    const b = new SinkRun({ log, warehouse, topics: [TOPICS.inference], batchOffsets: 1 });
    await b.start();
    expect(b.positions().find((p) => p.partition === 3)?.position).toBe(103);
    while (!(await b.runBatch()));
    await b.close();
    const after = (await rows('inference_events')).filter((r) => r.event_id.startsWith('ev-3-'));
    expect(after).toEqual(msgs.map((m) => ({ event_id: m.value.event_id, n: 1 })));
    const [report] = await warehouse.query<{ n: number }>(`SELECT count() AS n FROM ${warehouse.database}.inference_events WHERE edge_server_id = {s:String}`, { s: 'edge-09' });
    expect(report!.n).toBe(6);
    expect(await committed(log, 3)).toBe(106);
  });
});
