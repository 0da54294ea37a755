/**
 * Exact discrete-event simulation of a first-come-first-served queue with `c`
 * identical parallel servers (the G/G/c queue), and the closed forms used to
 * check it: Erlang C and the M/M/c mean wait.
 *
 * Sources: L. Kleinrock, Queueing Systems Vol. 1: Theory, Wiley 1975, §3.5
 * (M/M/m: Erlang's C formula, eq. 3.40, and the mean wait W = C/(mμ − λ));
 * D. Gross & C. M. Harris, Fundamentals of Queueing Theory, 3rd ed. 1998, §2.3.
 */

/** Where each customer of an FCFS c-server queue started and finished. Times in ms. */
export interface FcfsQueueResult {
  /** Service start of customer i, same clock as the arrivals. */
  startMs: Float64Array;
  /** Service end of customer i (start + service). */
  endMs: Float64Array;
  /** Waiting time in the queue, startMs[i] − arrivalsMs[i] (>= 0). */
  waitMs: Float64Array;
  /** Index 0..workers−1 of the worker that served customer i. */
  worker: Int32Array;
}

/**
 * Service time of customer `i`, decided when its service starts.
 *
 * @param i        Customer index in arrival order.
 * @param startMs  Service start, ms (same clock as the arrivals).
 * @returns        Service time, ms; must be finite and >= 0.
 */
export type ServiceTimeFn = (i: number, startMs: number) => number;

/**
 * Simulate an FCFS queue with `workers` parallel identical servers, customer by customer (exact).
 *
 * Behaviour: customer i starts at max(arrival_i, earliest time a worker is
 * free) and holds that worker for its service time; ties between free workers
 * go to the lowest index. Start times are non-decreasing in i, so a
 * `ServiceTimeFn` sees every earlier customer already scheduled: it may make
 * the service time depend on the queue's past (e.g. recent utilisation).
 * Cost O(n·workers).
 * @param arrivalsMs  Arrival times, ms, non-decreasing, finite.
 * @param serviceMs   Service time per customer, ms (array), or a {@link ServiceTimeFn}.
 * @param workers     Number of parallel servers c. Must be an integer >= 1.
 * @returns           Start, end, wait and worker per customer.
 * @throws {RangeError} if `workers` < 1, the arrivals decrease or are not finite, or a service time is negative or not finite.
 * @example see test/unit/simulator/simulate.test.ts (M/M/1 and M/M/2 against closed forms)
 */
export function simulateFcfsQueue(
  arrivalsMs: ArrayLike<number>,
  serviceMs: ArrayLike<number> | ServiceTimeFn,
  workers: number,
): FcfsQueueResult {
  if (!Number.isInteger(workers) || workers < 1) {
    throw new RangeError(`workers must be an integer >= 1, got ${JSON.stringify(workers)}`);
  }
  const n = arrivalsMs.length;
  if (typeof serviceMs !== 'function' && serviceMs.length !== n) {
    throw new RangeError(`serviceMs has ${serviceMs.length} entries for ${n} arrivals`);
  }
  const service: ServiceTimeFn = typeof serviceMs === 'function' ? serviceMs : (i) => serviceMs[i];
  const freeAt = new Float64Array(workers).fill(-Infinity);
  const startMs = new Float64Array(n);
  const endMs = new Float64Array(n);
  const waitMs = new Float64Array(n);
  const worker = new Int32Array(n);
  let prev = -Infinity;
  for (let i = 0; i < n; i++) {
    const a = arrivalsMs[i];
    if (!Number.isFinite(a) || a < prev) {
      throw new RangeError(`arrivalsMs must be finite and non-decreasing; index ${i} is ${JSON.stringify(a)} after ${prev}`);
    }
    prev = a;
    let w = 0;
    for (let k = 1; k < workers; k++) if (freeAt[k] < freeAt[w]) w = k;
    const start = freeAt[w] > a ? freeAt[w] : a;
    const s = service(i, start);
    if (!Number.isFinite(s) || s < 0) {
      throw new RangeError(`service time of customer ${i} must be finite and >= 0, got ${JSON.stringify(s)}`);
    }
    startMs[i] = start;
    endMs[i] = start + s;
    waitMs[i] = start - a;
    worker[i] = w;
    freeAt[w] = start + s;
  }
  return { startMs, endMs, waitMs, worker };
}

/**
 * Erlang's C formula: the probability that an arrival must wait in an M/M/c queue.
 *
 * C(c, a) = (a^c / c!) · c/(c − a) / (Σ_{k=0}^{c−1} a^k/k! + (a^c / c!) · c/(c − a)),
 * computed with the stable Erlang B recursion B_k = a·B_{k−1}/(k + a·B_{k−1}),
 * C = c·B_c / (c − a·(1 − B_c)).
 * Source: Kleinrock, Queueing Systems Vol. 1 (1975), eq. 3.40.
 * @param workers       c, number of servers (integer >= 1).
 * @param offeredLoad   a = λ/μ in Erlangs; must satisfy 0 <= a < c.
 * @returns             Probability in [0, 1).
 * @throws {RangeError} if the arguments are out of range (unstable queue).
 */
export function erlangC(workers: number, offeredLoad: number): number {
  if (!Number.isInteger(workers) || workers < 1) {
    throw new RangeError(`workers must be an integer >= 1, got ${JSON.stringify(workers)}`);
  }
  if (!(offeredLoad >= 0 && offeredLoad < workers)) {
    throw new RangeError(`offeredLoad must be in [0, workers), got ${JSON.stringify(offeredLoad)}`);
  }
  let b = 1;
  for (let k = 1; k <= workers; k++) b = (offeredLoad * b) / (k + offeredLoad * b);
  return (workers * b) / (workers - offeredLoad * (1 - b));
}

/**
 * Mean waiting time in queue of an M/M/c FCFS queue: W_q = C(c, λ/μ) / (cμ − λ).
 *
 * For c = 1 this is ρ/(μ − λ). Source: Kleinrock, Queueing Systems Vol. 1 (1975), §3.5.
 * @param arrivalRatePerMs  λ, arrivals per ms (> 0).
 * @param serviceRatePerMs  μ, services per ms per server (> 0).
 * @param workers           c (integer >= 1); λ < cμ is required.
 * @returns                 Mean wait, ms.
 * @throws {RangeError} if a rate is not positive or the queue is unstable.
 */
export function mmcMeanWaitMs(arrivalRatePerMs: number, serviceRatePerMs: number, workers: number): number {
  if (!(arrivalRatePerMs > 0) || !(serviceRatePerMs > 0)) {
    throw new RangeError(`rates must be > 0, got ${JSON.stringify([arrivalRatePerMs, serviceRatePerMs])}`);
  }
  const c = erlangC(workers, arrivalRatePerMs / serviceRatePerMs);
  return c / (workers * serviceRatePerMs - arrivalRatePerMs);
}
