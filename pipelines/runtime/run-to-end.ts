/** Read position of one owned input partition: `position` is the next offset to read. */
export interface PartitionPosition {
  topic: string;
  partition: number;
  position: number;
}

/** What both run kinds (processor, sink) offer for a bounded run. */
export interface BoundedRun<C> {
  start(): Promise<void>;
  /** @returns true at end of input. */
  runBatch(): Promise<boolean>;
  close(): Promise<void>;
  /** Whether the whole consumer group is done with the sealed inputs. */
  groupDrained(): Promise<boolean>;
  /** Positions of the partitions this member owns (consumer lag = end offset − position). */
  positions(): PartitionPosition[];
  readonly counts: C;
}

/**
 * Start a run, poll until end of input, then leave the group. On a failure
 * the member leaves the group uncommitted, as a crashed consumer does after
 * its session times out, and the error propagates.
 * @returns the run's counts.
 */
export async function runToEnd<C>(run: BoundedRun<C>): Promise<C> {
  await run.start();
  try {
    while (!(await run.runBatch()));
  } finally {
    await run.close();
  }
  return run.counts;
}
