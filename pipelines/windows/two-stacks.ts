/**
 * FIFO sliding-window aggregation over a monoid with the two-stacks queue.
 *
 * The queue is split into a *front* stack (older elements, each stored with the
 * aggregate of itself and every newer element of the front) and a *back* stack
 * (newer elements, with one running aggregate). `push` and `query` are O(1);
 * `shift` is O(1) amortised: when the front is empty the back is flipped onto it
 * once, so each element is combined at most twice over its lifetime.
 *
 * Reference: the classic two-stacks queue, as analysed for sliding-window
 * aggregation by K. Tangwongsan, M. Hirzel, S. Schneider, K.-L. Wu, "General
 * incremental sliding-window aggregation", PVLDB 8(7), 2015. Only associativity
 * is needed (no inverse, no commutativity), so there is never a subtract-on-evict.
 */

interface FrontEntry<T> {
  /** The element as it was pushed. */
  readonly value: T;
  /** combine(value, …, newest element of the front): aggregate from here to the front's bottom. */
  readonly agg: T;
}

/**
 * Sliding-window aggregator (FIFO queue with an O(1) aggregate query) for an
 * associative `combine` with a neutral `identity`.
 *
 * Behaviour: `query()` returns the combination of every element currently in
 * the queue in arrival order, i.e. `combine(combine(v1, v2), v3)` for pushes
 * v1, v2, v3 (oldest on the left; the grouping may differ, which is why
 * `combine` must be associative). Pushed values and intermediate aggregates are
 * never mutated by the queue; `combine` must not mutate its arguments either,
 * and callers must not mutate values returned by `query()` when `combine` may
 * return one of its arguments.
 *
 * @typeParam T  Element and aggregate type (e.g. a `Moments` pane, a string).
 * @example see test/unit/stats/two-stacks.test.ts
 */
export class TwoStacks<T> {
  private readonly combine: (older: T, newer: T) => T;
  private readonly identity: () => T;
  /** Older elements; the array's last entry is the oldest element of the queue. */
  private front: FrontEntry<T>[] = [];
  /** Newer elements in arrival order (last entry = newest). */
  private back: T[] = [];
  /** combine of every element of `back`, oldest first; `identity()` when empty. */
  private backAgg: T;

  /**
   * Create an empty queue.
   *
   * @param combine   Associative binary operation; called as `combine(older, newer)`.
   *                  Must return a new value or an unmodified argument.
   * @param identity  Factory of the neutral element (`combine(identity(), v)` ≡ `v`).
   *                  Called once per flip and for queries of an empty queue.
   */
  constructor(combine: (older: T, newer: T) => T, identity: () => T) {
    this.combine = combine;
    this.identity = identity;
    this.backAgg = identity();
  }

  /** Number of elements currently in the queue. */
  get size(): number {
    return this.front.length + this.back.length;
  }

  /**
   * Append `value` as the newest element. O(1).
   *
   * @param value  Element to add; kept by reference and never mutated.
   */
  push(value: T): void {
    this.back.push(value);
    this.backAgg = this.back.length === 1 ? value : this.combine(this.backAgg, value);
  }

  /**
   * Remove and return the oldest element. O(1) amortised.
   *
   * @returns  The oldest element, or `undefined` when the queue is empty.
   */
  shift(): T | undefined {
    if (this.front.length === 0) this.flip();
    const entry = this.front.pop();
    return entry === undefined ? undefined : entry.value;
  }

  /**
   * Aggregate of every element in the queue, combined oldest first. O(1).
   *
   * @returns  `identity()` when the queue is empty; the single element itself
   *           when it holds one; otherwise `combine(frontAgg, backAgg)`.
   */
  query(): T {
    const top = this.front[this.front.length - 1];
    if (top === undefined) return this.back.length === 0 ? this.identity() : this.backAgg;
    if (this.back.length === 0) return top.agg;
    return this.combine(top.agg, this.backAgg);
  }

  /** Remove every element. O(1). */
  clear(): void {
    this.front = [];
    this.back = [];
    this.backAgg = this.identity();
  }

  /** Move every back element onto the front, computing suffix aggregates newest→oldest. */
  private flip(): void {
    const back = this.back;
    for (let i = back.length - 1; i >= 0; i--) {
      const value = back[i] as T;
      const below = this.front[this.front.length - 1];
      this.front.push({ value, agg: below === undefined ? value : this.combine(value, below.agg) });
    }
    this.back = [];
    this.backAgg = this.identity();
  }
}
