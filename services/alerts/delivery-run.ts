/**
 * Alert delivery: follows the correlation topic as consumer group
 * `edgelat-alert-delivery` and posts every alert state change to a webhook
 * (DESIGN §3 "Alerts"; issue 6).
 *
 * Per change, in each partition's offset order: POST (retried with back-off
 * until the receiver answers 2xx; a 4xx other than 408/425/429 is a refusal,
 * recorded and not retried), then a row in `alert_deliveries` (the delivery
 * position), written in blocks ({@link RECORD_EVERY_CHANGES} changes or
 * {@link RECORD_EVERY_MS} after the first unrecorded one, and always before a
 * commit), then, after the batch, the offset commit. After a restart, even
 * after SIGKILL, a partition resumes at its committed offset: changes whose
 * key is already in `alert_deliveries` are not sent again, and each pair's
 * state before that offset is read back from the table, so only changes
 * posted but not yet recorded (at most one block's) can be sent twice — with
 * the same idempotency keys.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { PipelineError, RetryStoppedError, WebhookError } from '../../errors.ts';
import type { CorrelationUpdate } from '../../schemas/types.ts';
import { decodeLogRecord, type RecordChecks } from '../../pipelines/runtime/decode.ts';
import type { FailPoint, TopicCounts } from '../../pipelines/runtime/run-processor.ts';
import { runToEnd, type PartitionPosition } from '../../pipelines/runtime/run-to-end.ts';
import { LaneRepeats, SkippedCopies } from '../../pipelines/runtime/lanes.ts';
import { OUTPUT_TOPICS, TOPICS } from '../../pipelines/topics.ts';
import { keyPartition, partitionKey as tpKey, type Consumer, type EventLog } from '../eventlog/types.ts';
import { withRetry, type RetryOptions } from '../retry.ts';
import { msToDateTime64, type Warehouse } from '../warehouse/types.ts';
import { ALERT_SCOPE, alertChange, pairKey, type AlertChange } from './alert-change.ts';
import { isHttpUrl, postAlert, webhookForLogs, type WebhookOptions } from './webhook.ts';

/**
 * Most changes posted before their rows are written to `alert_deliveries` in one insert. One insert per change held
 * delivery to ~9 changes/s on the embedded warehouse (a long-run trial: a 1,000-server fleet's alerts fell behind), and
 * each insert is a part ClickHouse merges; what a crash can send twice is at most this block.
 */
export const RECORD_EVERY_CHANGES = 100;
/** Longest a posted change waits for its row in `alert_deliveries`, ms (the block is written at the next change after it, or at the commit). */
export const RECORD_EVERY_MS = 1000;

/** Options of an alert delivery run. */
export interface AlertDeliveryOptions {
  log: EventLog;
  warehouse: Warehouse;
  /** http(s) URL that receives each change as a JSON POST. */
  webhookUrl: string;
  /** Consumer group. @default 'edgelat-alert-delivery' */
  groupId?: string;
  /** Correlation topic. @default TOPICS.correlation */
  topic?: string;
  /** Max records per poll. @default 2000 */
  maxBatch?: number;
  /** Back-off of the POST and of the warehouse write. @default retries forever, 300 ms doubling to 30 s, jitter 0.2 */
  retry?: RetryOptions;
  webhook?: WebhookOptions;
  checks?: RecordChecks;
  logger?: Logger;
  /**
   * New states worth a POST (e.g. firing and resolved); changes into other states are recorded
   * as `filtered` without a POST, so a restart still knows every pair's state. @default every state
   */
  states?: ReadonlySet<string>;
  /** Called after each change is recorded. */
  onDelivered?: (change: AlertChange, status: DeliveryStatus) => void;
  /**
   * Called when a POST first fails and delivery pauses to retry it, with the error (its message names the webhook,
   * secrets redacted, and why); not again until a change is delivered or refused. The logger says each retry, at warn
   * level for the first two: a command that logs errors only (the demo) says the pause this way (a trial: an
   * unreachable webhook left the demo silent after "sink...").
   */
  onPause?: (error: Error) => void;
  /** Called when the webhook answers again after {@link onPause} (the change delivered, or refused for good). */
  onResume?: () => void;
  /** Test hook: 'after-produce' right after a POST was acknowledged, before it is recorded. */
  failPoint?: (point: FailPoint, recordsDone: number) => void;
  /**
   * Stops a delivery that is being retried (SIGTERM while the webhook is down): the batch ends before that change,
   * commits what was recorded and returns; the next run resumes at the change. @default never
   */
  signal?: AbortSignal;
  /** Whether this process's producers of the inputs have finished: an end of input counts only then (run-processor.ts `ProcessorRunOptions.inputsFinal`). @default () => true */
  inputsFinal?: () => boolean;
}

/** How a change was recorded: acknowledged (2xx), refused for good (4xx), or not sent (its state is filtered out). */
export type DeliveryStatus = 'delivered' | 'rejected' | 'filtered';

interface PartitionState {
  next: number;
  committed: number;
  /** State of each pair after the last record read. */
  prev: Map<string, string>;
  /**
   * Keys recorded in alert_deliveries at or after the committed offset, with the offset of their change: forgotten
   * once committed past (a long-run trial: every change ever sent was kept, 192k keys a day for 50 servers).
   */
  recorded: Map<string, number>;
}


/** The run; same shape as the processor and sink runs (start, runBatch, close, groupDrained, positions). */
export class AlertDeliveryRun {
  /** Whether the pause of a delivery that failed was said ({@link AlertDeliveryOptions.onPause}); reset by an answer. */
  private pauseSaid = false;
  readonly counts: Record<string, TopicCounts> = {};
  /** Changes delivered (2xx) and refused (4xx) by this run. */
  readonly deliveries: Record<DeliveryStatus, number> = { delivered: 0, rejected: 0, filtered: 0 };
  private consumer: Consumer | null = null;
  private readonly parts = new Map<string, PartitionState>();
  private readonly topic: string;
  private recordsDone = 0;
  /** Second copies of correlation windows (a producer's retry), skipped: a window read twice would make changes back and forth. */
  private readonly repeats = new LaneRepeats(OUTPUT_TOPICS);
  private readonly skipped = new SkippedCopies();
  /** Changes posted (or filtered) whose rows are not written yet, in order, and when the first of them was. */
  private unrecorded: { part: PartitionState; offset: number; change: AlertChange; status: DeliveryStatus; row: Record<string, unknown> }[] = [];
  private unrecordedSinceMs = 0;
  /** Refusals so far per HTTP status (one line per status at error level, then at 10, 100, 1000 … of it). */
  private readonly refusals = new Map<number, number>();

  /** @throws {RangeError} when `webhookUrl` is not an http(s) URL. */
  constructor(private readonly options: AlertDeliveryOptions) {
    this.topic = options.topic ?? TOPICS.correlation;
    this.counts[this.topic] = { consumed: 0, processed: 0, late: 0, dead: 0 };
    if (!isHttpUrl(options.webhookUrl)) throw new RangeError(`--alerts-webhook: expected an http(s) URL, got ${JSON.stringify(webhookForLogs(options.webhookUrl))}`);
  }

  /** Join the consumer group and resume each owned partition (see {@link syncAssignment}). */
  async start(): Promise<void> {
    await this.warnOfRefusals();
    await this.options.log.ensureTopic(this.topic);
    this.consumer = await this.options.log.consumer(this.options.groupId ?? 'edgelat-alert-delivery', [this.topic]);
    await this.syncAssignment();
  }

  /**
   * Say at start how many changes the webhook refused for good in earlier runs (status `rejected`: a 3xx or 4xx, never
   * sent again), so a mistyped URL or a rotated token is not found only by pages that never came (a trial: 94 refusals
   * by a redirect, then a run with the URL mended sent none of them, in silence).
   */
  private async warnOfRefusals(): Promise<void> {
    const { warehouse, logger } = this.options;
    const [row] = await warehouse.query<{ n: number; last: string | null }>(
      `SELECT count() AS n, if(count() = 0, NULL, toString(max(delivered_at))) AS last FROM ${warehouse.database}.alert_deliveries WHERE status = 'rejected'`);
    const n = Number(row?.n ?? 0);
    if (n === 0) return;
    logger?.warn({ pipeline: 'alert-delivery', rejected: n, last: row?.last },
      `${n} alert change(s) were refused for good by the webhook in earlier runs (status rejected in ${warehouse.database}.alert_deliveries, last at ${row?.last} UTC) and are not sent again: read them with \`edgelat sql "SELECT * FROM ${warehouse.database}.alert_deliveries WHERE status = 'rejected'"\``);
  }

  /** New partitions: resume at the committed offset with the pairs' states and the recorded keys from alert_deliveries. */
  private async syncAssignment(): Promise<void> {
    const owned = this.consumer!.assignment();
    const keys = new Set(owned.map(tpKey));
    for (const k of [...this.parts.keys()]) {
      if (keys.has(k)) continue;
      this.parts.delete(k);
      this.repeats.forget(keyPartition(k));
    }
    const { warehouse, log } = this.options;
    for (const tp of owned.filter((t) => !this.parts.has(tpKey(t)))) {
      const committed = (await this.consumer!.committed(tp))?.offset ?? 0;
      const where = `log_id = {l:String} AND topic = {t:String} AND partition = {p:UInt32}`;
      const params = { l: log.id, t: tp.topic, p: tp.partition, c: committed };
      const before = await warehouse.query<{ edge_server_id: string; model_id: string; x_metric: string; y_metric: string; state: string }>(
        `SELECT edge_server_id, model_id, x_metric, y_metric, argMax(state, offset) AS state FROM ${warehouse.database}.alert_deliveries
         WHERE ${where} AND offset < {c:UInt64} GROUP BY edge_server_id, model_id, x_metric, y_metric`, params);
      const after = await warehouse.query<{ idempotency_key: string; offset: number | string }>(
        `SELECT idempotency_key, offset FROM ${warehouse.database}.alert_deliveries WHERE ${where} AND offset >= {c:UInt64}`, params);
      this.consumer!.seek(tp, committed);
      await this.repeats.seed(log, tp, committed);
      this.parts.set(tpKey(tp), {
        next: committed, committed,
        prev: new Map(before.filter((r) => r.state !== 'none').map((r) => [pairKey(r), r.state])),
        recorded: new Map(after.map((r) => [r.idempotency_key, Number(r.offset)])),
      });
      this.options.logger?.info({ pipeline: 'alert-delivery', partition: tp.partition, offset: committed, pairs: before.length, recorded: after.length }, 'partition assigned; resuming from committed offset');
    }
  }

  /** One poll: deliver its changes in order, then commit. @returns true at end of input. */
  async runBatch(): Promise<boolean> {
    if (!this.consumer) throw new Error('AlertDeliveryRun.start() was not called');
    await this.syncAssignment();
    const final = this.options.inputsFinal?.() ?? true;
    const polled = await this.consumer.poll(this.options.maxBatch ?? 2000);
    const { records } = polled;
    const endOfInput = polled.endOfInput && final;
    await this.syncAssignment();
    const counts = this.counts[this.topic]!;
    for (const r of records) {
      const part = this.parts.get(tpKey(r));
      if (!part || r.offset < part.next) continue;
      const copyOf = this.repeats.copyOf(r);
      const decoded = copyOf === null ? decodeLogRecord(r, this.options.checks) : null;
      if (decoded === null) {
        counts.consumed++;
        counts.repeated = (counts.repeated ?? 0) + 1;
        this.skipped.add(r, copyOf!);
      } else if (decoded.ok) {
        try {
          await this.consider(part, r.partition, r.offset, decoded.value as unknown as CorrelationUpdate);
        } catch (error) {
          // Stopping while a delivery was retried: this change stays unread (the next run starts at it).
          if (!(error instanceof RetryStoppedError)) throw error;
          this.options.logger?.warn({ pipeline: 'alert-delivery', partition: r.partition, offset: r.offset, err: error.message }, 'stopping: the change being delivered is left for the next run');
          this.skipped.flush(this.options.logger, 'alert-delivery');
          await this.recordThenCommit();
          return false;
        }
        counts.consumed++;
        counts.processed++;
      } else {
        counts.consumed++;
        counts.dead++; // the warehouse-sink dead-letters it
      }
      part.next = r.offset + 1;
      this.recordsDone++;
    }
    this.skipped.flush(this.options.logger, 'alert-delivery');
    if (!(await this.recordThenCommit())) return false;
    return endOfInput;
  }

  /**
   * Record the changes posted since the last block, then commit. A stop (SIGTERM) while the warehouse refuses the block
   * commits nothing: the next run starts before those changes and sends them again, with the same keys.
   * @returns false when stopped before the block was recorded.
   */
  private async recordThenCommit(): Promise<boolean> {
    try {
      await this.record();
    } catch (error) {
      if (!(error instanceof RetryStoppedError)) throw error;
      this.options.logger?.warn({ pipeline: 'alert-delivery', changes: this.unrecorded.length, err: error.message }, 'stopping before the posted changes were recorded: the next run sends them again (same idempotency keys)');
      return false;
    }
    await this.commit();
    return true;
  }

  private async consider(part: PartitionState, partition: number, offset: number, u: CorrelationUpdate): Promise<void> {
    if (u.scope !== ALERT_SCOPE) return; // alerts follow one scope (alert-change.ts)
    const k = pairKey(u);
    const change = alertChange(part.prev.get(k) ?? 'none', u);
    // A pair back at 'none' is as one never seen: not kept (pairs come and go with servers).
    if (u.alert_state === 'none') part.prev.delete(k);
    else part.prev.set(k, u.alert_state);
    if (!change || part.recorded.has(change.idempotency_key)) return;
    const { warehouse, webhookUrl, logger } = this.options;
    const retry = {
      retries: Number.POSITIVE_INFINITY, maxRetryTimeMs: 30_000, signal: this.options.signal, ...this.options.retry,
      // From the 3rd failure on at error level: delivery is paused until the webhook answers (a typo in the URL shows).
      onRetry: (error: unknown, attempt: number, delayMs: number) => {
        logger?.[attempt >= 3 ? 'error' : 'warn']({ pipeline: 'alert-delivery', key: change.idempotency_key, attempt, delayMs: Math.round(delayMs), err: (error as Error).message }, 'alert delivery failed; delivery paused, retrying');
        if (!this.pauseSaid) this.options.onPause?.(error as Error);
        this.pauseSaid = true;
      },
    };
    let attempts = 0;
    let status: DeliveryStatus = 'delivered';
    let httpStatus = 0;
    if (this.options.states && !this.options.states.has(change.state)) {
      status = 'filtered';
    } else {
      try {
        httpStatus = await withRetry(() => {
          attempts++;
          // The stop signal ends a request waiting for its answer too, not only the back-off between tries.
          return postAlert(webhookUrl, change, { ...this.options.webhook, signal: this.options.signal });
        }, retry);
      } catch (error) {
        if (!(error instanceof WebhookError) || error.retriable) throw error;
        status = 'rejected';
        httpStatus = error.status ?? 0;
        // The error says why (a redirect names where it points: a trial's log showed only the status). A refusal of the
        // same status again is logged at debug but at 10, 100, 1000 … of it (a trial: a webhook answering 302 to all gave
        // 197 lines; by status, not by text: a re-test's redirects to a new host each time were each a first).
        const n = (this.refusals.get(httpStatus) ?? 0) + 1;
        this.refusals.set(httpStatus, n);
        const level = n === 1 || Number.isInteger(Math.log10(n)) ? 'error' : 'debug';
        logger?.[level]({ pipeline: 'alert-delivery', key: change.idempotency_key, status: httpStatus, err: error.message, refused: n },
          n === 1 ? `alert webhook refused a change (${httpStatus}); recorded as rejected (refusals of this status again are logged at 10, 100, 1000 … of them)` : `alert webhook refused ${n} changes so far with status ${httpStatus}; recorded as rejected`);
      }
    }
    if (status !== 'filtered' && this.pauseSaid) {
      this.pauseSaid = false;
      this.options.onResume?.();
    }
    this.options.failPoint?.('after-produce', this.recordsDone);
    const row = {
      idempotency_key: change.idempotency_key, log_id: this.options.log.id, topic: this.topic, partition, offset,
      edge_server_id: u.edge_server_id, model_id: u.model_id ?? '', x_metric: u.x_metric, y_metric: u.y_metric,
      window_end: msToDateTime64(u.window_end), previous_state: change.previous_state, state: change.state,
      status, http_status: httpStatus, attempts, delivered_at: msToDateTime64(Date.now()), payload: JSON.stringify(change),
    };
    if (this.unrecorded.length === 0) this.unrecordedSinceMs = Date.now();
    this.unrecorded.push({ part, offset, change, status, row });
    // The key counts as recorded at once: a second copy of the change later in this block is not posted again.
    part.recorded.set(change.idempotency_key, offset);
    if (this.unrecorded.length >= RECORD_EVERY_CHANGES || Date.now() - this.unrecordedSinceMs >= RECORD_EVERY_MS) await this.record();
  }

  /**
   * Write the rows of the changes posted since the last block to `alert_deliveries`, in one insert (retried with
   * back-off until the warehouse takes it; the dedup token is the block's keys, so a retried block adds no rows).
   */
  private async record(): Promise<void> {
    if (this.unrecorded.length === 0) return;
    const block = this.unrecorded;
    const { warehouse } = this.options;
    const table = `${warehouse.database}.alert_deliveries`;
    const token = `${table}:${createHash('sha256').update(block.map((b) => b.change.idempotency_key).join(',')).digest('hex').slice(0, 32)}`;
    await withRetry(() => warehouse.insert(table, block.map((b) => b.row), { dedupToken: token }), {
      retries: Number.POSITIVE_INFINITY, maxRetryTimeMs: 30_000, signal: this.options.signal, ...this.options.retry,
      onRetry: (error: unknown, attempt: number, delayMs: number) =>
        this.options.logger?.[attempt >= 3 ? 'error' : 'warn']({ pipeline: 'alert-delivery', changes: block.length, attempt, delayMs: Math.round(delayMs), err: (error as Error).message }, 'recording alert deliveries failed; retrying'),
    });
    this.unrecorded = [];
    for (const b of block) {
      this.deliveries[b.status]++;
      this.options.onDelivered?.(b.change, b.status);
    }
  }

  /** Commit each partition's next offset (a rebalance's refusal is logged; the next owner resumes from alert_deliveries). */
  private async commit(): Promise<void> {
    const offsets = [...this.parts].filter(([, p]) => p.next > p.committed).map(([k, p]) => ({ ...keyPartition(k), offset: p.next, metadata: '' }));
    if (offsets.length === 0) return;
    try {
      await this.consumer!.commit(offsets);
      for (const o of offsets) {
        const part = this.parts.get(tpKey(o))!;
        part.committed = o.offset;
        // Records below the commit are never read again by this run: their keys are not needed.
        for (const [key, at] of part.recorded) if (at < o.offset) part.recorded.delete(key);
      }
      this.options.failPoint?.('after-commit', this.recordsDone);
    } catch (error) {
      if (!(error instanceof PipelineError && error.retriable)) throw error;
      this.options.logger?.warn({ pipeline: 'alert-delivery', err: (error as Error).message }, 'commit refused (rebalance?); retried with the next batch');
    }
  }

  /** Whether every member of the group is done with the sealed correlation topic. */
  async groupDrained(): Promise<boolean> {
    if (!this.consumer) throw new Error('AlertDeliveryRun.start() was not called');
    return this.consumer.groupDrained();
  }

  /** Next offset to read per owned partition (consumer lag = end offset − position). */
  positions(): PartitionPosition[] {
    return [...this.parts].map(([k, p]) => ({ ...keyPartition(k), position: p.next }));
  }

  /** Start, deliver until end of input (a sealed topic), leave the group. @returns the counts. */
  async runToEnd(): Promise<Record<string, TopicCounts>> {
    return runToEnd(this);
  }

  /** Leave the group (without committing more). */
  async close(): Promise<void> {
    await this.consumer?.close();
    this.consumer = null;
  }
}
