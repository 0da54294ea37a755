/**
 * The broker's part of `pipeline run`'s `/healthz`: does the Kafka cluster answer now? A broker that hangs
 * (no error, no answer: a stalled process, a network partition that drops packets) holds the processors' requests
 * until the client's request time-out (kafkajs: 30 s, then retries), and until then nothing else tells a probe that
 * the pipeline is stuck (a trial: `/healthz` answered 200 through a broker stall).
 */

/** What {@link BrokerProbe.check} found. */
export interface BrokerHealth {
  /** True when the cluster answered a metadata request within the probe's time-out. */
  ok: boolean;
  /**
   * ok: ms the answer took. Not ok: ms since the cluster last answered a check (before its first answer: since the
   * first request it did not answer), so it grows through a long outage whatever the client's own time-outs and
   * retries (a re-test: it fell back to 2 s each time the client's 30 s request time-out started a new request); the
   * outage began between that answer and the first check it failed, so it is at most one interval between checks long.
   */
  ms: number;
  /** The client's error (not ok, answered with an error: connection refused, …); absent otherwise. */
  error?: string;
}

/**
 * Asks the cluster for its metadata on each check, waiting at most `timeoutMs`, with at most one request at a
 * time: a request still pending at the next check is waited on again (a probe every few seconds against a hung
 * broker would otherwise pile requests up), and the answer says how long it has waited.
 *
 * @example
 * const probe = new BrokerProbe(() => log.ping(), 3000);
 * const { ok, ms } = await probe.check(); // { ok: false, ms: 9012 } through a stall
 */
export class BrokerProbe {
  /** The request under way (or answered since the last check, `done` set: a stale answer, asked again). */
  private pending: { since: number; settled: Promise<{ error?: string }>; done: boolean } | null = null;
  /** When the first request since the cluster last answered was made, epoch ms; null after an answer. */
  private unansweredSince: number | null = null;
  /** When the cluster last answered a check, epoch ms; null before its first answer. */
  private lastAnswer: number | null = null;

  /**
   * @param ask        One request to the cluster (e.g. `KafkaEventLog.ping`); its rejection is the broker's error.
   * @param timeoutMs  Longest a check waits, ms (> 0). @default 3000
   * @param now        Clock, epoch ms (tests). @default Date.now
   * @throws {RangeError} when timeoutMs is not a positive finite number.
   */
  constructor(private readonly ask: () => Promise<unknown>, private readonly timeoutMs = 3000, private readonly now: () => number = Date.now) {
    if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new RangeError(`BrokerProbe: timeoutMs must be a number > 0, got ${String(timeoutMs)}`);
  }

  /** Ask the cluster (or wait on the request still pending) for at most the time-out. Never rejects. */
  async check(): Promise<BrokerHealth> {
    // An answer that came after an earlier check gave up waiting is of then, not now: ask again.
    if (!this.pending || this.pending.done) {
      const since = this.now();
      let asked: Promise<unknown>;
      try {
        asked = this.ask();
      } catch (e) {
        asked = Promise.reject(e);
      }
      const entry = { since, done: false, settled: Promise.resolve<{ error?: string }>({}) };
      entry.settled = asked.then(() => ({}), (e: unknown) => ({ error: e instanceof Error ? e.message : String(e) })).finally(() => {
        entry.done = true;
      });
      this.pending = entry;
    }
    const mine = this.pending;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.timeoutMs);
      timer.unref();
    });
    const outcome = await Promise.race([mine.settled, timedOut]);
    clearTimeout(timer);
    this.unansweredSince ??= mine.since;
    // Since the last answer where there was one: the first check after an outage began is not the outage's start (a
    // trial: /healthz said waiting_ms 3 some 20 s after the broker was killed, the checks before it having answered).
    const waited = this.now() - (this.lastAnswer ?? this.unansweredSince);
    if (outcome === 'timeout') return { ok: false, ms: waited };
    if (this.pending === mine) this.pending = null;
    if (outcome.error !== undefined) return { ok: false, ms: waited, error: outcome.error };
    this.unansweredSince = null;
    this.lastAnswer = this.now();
    return { ok: true, ms: this.now() - mine.since };
  }
}
