/**
 * A consumer may report end of input before its group has read everything (on
 * Kafka, across a rebalance whose commit was deferred): the processor has then
 * flushed with watermark +∞, and a record that still comes is late. Its late
 * event must carry a finite watermark (Avro long, ClickHouse DateTime64): with
 * +∞ the run died with "cannot encode LateEvent: watermark: value Infinity is
 * not a long" (a breaker trial on the mock Kafka cluster, 2 runs in 10).
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { PipelineError } from '../../../../errors.ts';
import { joinLoadLatency } from '../../../../pipelines/join-load-latency.ts';
import { ProcessorRun } from '../../../../pipelines/runtime/run-processor.ts';
import { TOPICS } from '../../../../pipelines/topics.ts';
import type { LateEvent } from '../../../../schemas/types.ts';
import { MemoryEventLog } from '../../../../services/eventlog/memory.ts';
import type { Consumer, EventLog } from '../../../../services/eventlog/types.ts';
import { at, makeInference, makeLoad } from '../../../helpers/factories.ts';
import { produceArrivals, readTopic } from '../../../helpers/pipeline.ts';

/** The log, with consumers whose first poll reads `first` records and says end of input, and whose first commit fails (retriable). */
function prematureEnd(log: MemoryEventLog, first: number): EventLog {
  return new Proxy(log, {
    get(target, prop, receiver) {
      if (prop !== 'consumer') return Reflect.get(target, prop, receiver);
      return async (groupId: string, topics: string[]): Promise<Consumer> => {
        const inner = await target.consumer(groupId, topics);
        let polls = 0;
        let commits = 0;
        return new Proxy(inner, {
          get(c, name, r) {
            if (name === 'poll') {
              return async (max: number) => (polls++ === 0 ? { records: (await c.poll(first)).records, endOfInput: true } : c.poll(max));
            }
            if (name === 'commit') {
              return async (offsets: Parameters<Consumer['commit']>[0]) => {
                if (commits++ === 0) throw new PipelineError('rebalance in progress', { retriable: true });
                return c.commit(offsets);
              };
            }
            const v = Reflect.get(c, name, r) as unknown;
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(c) : v;
          },
        });
      };
    },
  });
}

describe('records after a premature end of input', () => {
  it('are late with their stream\'s last finite watermark, and the run ends', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    const t0 = at('2024-06-01T10:00:00.000Z');
    await produceArrivals(log, [
      { topic: TOPICS.load, value: makeLoad({ edge_server_id: 'a', ts: t0 }) },
      { topic: TOPICS.inference, value: makeInference({ edge_server_id: 'a', ts: t0 + 9000, event_id: 'read' }) },
      { topic: TOPICS.inference, value: makeInference({ edge_server_id: 'a', ts: t0 + 12_000, event_id: 'after-end-1' }) },
      { topic: TOPICS.inference, value: makeInference({ edge_server_id: 'a', ts: t0 + 15_000, event_id: 'after-end-2' }) },
    ], 1);
    const bound = 2000;
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const counts = await new ProcessorRun({ log: prematureEnd(log, 2), processor: joinLoadLatency({ maxOutOfOrdernessMs: bound }), logger }).runToEnd();
    expect(counts[TOPICS.inference]).toEqual({ consumed: 3, processed: 1, late: 2, dead: 0 });
    // Said once, as records after the end of input, not as a server's clock behind (a re-test was told to sync it).
    const said = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(said).toEqual([expect.stringMatching(/^records of edge\.inference\.v1 came after its end of input \(sealed and read to its end, in this run or an earlier one of its consumer group\): they are late/)]);
    const late = (await readTopic<LateEvent>(log, TOPICS.late)).map((l) => l.value);
    // The inference stream had seen t0 + 9 s when the end was reported: its watermark was t0 + 9 s − the bound.
    expect(late.map((l) => [l.offset, l.ts - t0, l.watermark - t0])).toEqual([[1, 12_000, 9000 - bound], [2, 15_000, 9000 - bound]]);
  });
});

describe('an end of input while a producer of the inputs still runs in this process (inputsFinal)', () => {
  it('is not taken: nothing is flushed, and the run ends only once the inputs are final (a second --until-end run had ended before its upstream wrote)', async () => {
    const log = new MemoryEventLog({ defaultPartitions: 1 });
    const t0 = at('2024-06-01T10:00:00.000Z');
    await produceArrivals(log, [
      { topic: TOPICS.load, value: makeLoad({ edge_server_id: 'a', ts: t0 }) },
      { topic: TOPICS.inference, value: makeInference({ edge_server_id: 'a', ts: t0 + 500, event_id: 'e1' }) },
    ], 1);
    let final = false;
    const run = new ProcessorRun({ log, processor: joinLoadLatency({ maxOutOfOrdernessMs: 2000 }), inputsFinal: () => final });
    await run.start();
    // The inputs are sealed and read, but not final: no end, and the held event is not released by a +∞ watermark.
    for (let i = 0; i < 3; i++) expect(await run.runBatch()).toBe(false);
    expect(await readTopic(log, TOPICS.enriched)).toEqual([]);
    final = true;
    let ended = false;
    for (let i = 0; i < 3 && !ended; i++) ended = await run.runBatch();
    await run.close();
    expect(ended).toBe(true);
    expect((await readTopic<{ event_id: string }>(log, TOPICS.enriched)).map((r) => r.value.event_id)).toEqual(['e1']);
  });
});
