/**
 * Sliding windows over panes on an absolute grid, with O(1) amortised merges
 * and a combination order fixed by pane positions alone.
 *
 * Behaviour: pane i covers [i·slide, (i+1)·slide); a window of k panes ending
 * before pane `end` covers panes [end − k, end). Panes are grouped into
 * aligned blocks of k (block b = panes [b·k, (b+1)·k)), so a window is a
 * suffix of block b plus a prefix of block b + 1. Suffix aggregates of a
 * block are built once, right to left; prefix aggregates left to right, one
 * pane at a time: each pane enters O(1) merges per window (the two-stacks
 * idea with the flip at block boundaries). Because the grouping depends only
 * on pane indices, the floating-point result of a window is bit-for-bit the
 * same however the state was built — after a restart and replay too — which
 * a two-stacks queue whose flips depend on its history cannot promise.
 * Missing panes count as the identity. Values passed to `add` and returned
 * aggregates are never mutated.
 * @see K. Tangwongsan, M. Hirzel, S. Schneider, "Sliding-window aggregation
 *      algorithms", Encyclopedia of Big Data Technologies, 2019 (two-stacks).
 */
export class AlignedPaneWindows<T> {
  private readonly panes = new Map<number, T>();
  private readonly suffixes = new Map<number, T[]>();
  private readonly prefixes = new Map<number, T[]>();

  /**
   * @param k         Panes per window (size / slide), integer >= 1.
   * @param combine   Associative merge of an older and a newer aggregate; must not mutate its inputs.
   * @param identity  A fresh empty aggregate.
   * @throws {RangeError} if k is not a positive integer.
   */
  constructor(
    private readonly k: number,
    private readonly combine: (older: T, newer: T) => T,
    private readonly identity: () => T,
  ) {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`k: expected an integer >= 1, got ${JSON.stringify(k)}`);
  }

  /** Number of panes held. */
  get size(): number {
    return this.panes.size;
  }

  /** Indices of the panes held (any order). */
  indices(): IterableIterator<number> {
    return this.panes.keys();
  }

  /**
   * Add a final pane (no record will enter it any more).
   * @throws {RangeError} if the pane is already present (panes are immutable once added).
   */
  add(index: number, value: T): void {
    if (this.panes.has(index)) throw new RangeError(`pane ${index} was already added`);
    this.panes.set(index, value);
  }

  /** Aggregate of panes [end − k, end); every pane in that range must already be added (or be empty). */
  window(end: number): T {
    const start = end - this.k;
    const block = Math.floor(start / this.k);
    const offset = start - block * this.k;
    const suffix = this.suffix(block)[offset]!;
    return offset === 0 ? suffix : this.combine(suffix, this.prefix(block + 1, offset - 1));
  }

  /** Drop panes with index < `index` and the block aggregates no window from `index` on needs. */
  evictBefore(index: number): void {
    for (const i of this.panes.keys()) if (i < index) this.panes.delete(i);
    const block = Math.floor(index / this.k);
    for (const b of this.suffixes.keys()) if (b < block) this.suffixes.delete(b);
    for (const b of this.prefixes.keys()) if (b <= block) this.prefixes.delete(b);
  }

  private pane(i: number): T {
    return this.panes.get(i) ?? this.identity();
  }

  /** suffix[s] = panes b·k+s … b·k+k−1 combined, right to left. */
  private suffix(block: number): T[] {
    let s = this.suffixes.get(block);
    if (!s) {
      s = new Array<T>(this.k);
      let acc = this.pane(block * this.k + this.k - 1);
      s[this.k - 1] = acc;
      for (let j = this.k - 2; j >= 0; j--) {
        acc = this.combine(this.pane(block * this.k + j), acc);
        s[j] = acc;
      }
      this.suffixes.set(block, s);
    }
    return s;
  }

  /** prefix[j] = panes b·k … b·k+j combined, left to right (extended on demand). */
  private prefix(block: number, j: number): T {
    let p = this.prefixes.get(block);
    if (!p) this.prefixes.set(block, (p = []));
    while (p.length <= j) {
      const next = this.pane(block * this.k + p.length);
      p.push(p.length === 0 ? next : this.combine(p[p.length - 1]!, next));
    }
    return p[j]!;
  }
}
