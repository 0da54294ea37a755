/**
 * Which chdb calls of this process are running. libchdb segfaults when the process exits while a call runs on its
 * threads (a re-test: `report load-latency 2>&1 | head -1` ended with exit 139 when a progress line met the closed
 * pipe and the process exited at once), so an early exit waits for the calls in flight.
 */
let inFlight = 0;
const waiters: (() => void)[] = [];

/** Run one chdb call, counted as in flight until it settles. */
export async function chdbCall<T>(call: () => Promise<T>): Promise<T> {
  inFlight++;
  try {
    return await call();
  } finally {
    inFlight--;
    if (inFlight === 0) for (const w of waiters.splice(0)) w();
  }
}

/** Exit with `code` as soon as no chdb call runs (at once when none does). */
export function exitWhenChdbIdle(code: number): void {
  const attempt = (): void => {
    if (inFlight === 0) process.exit(code);
    else waiters.push(attempt);
  };
  attempt();
}
