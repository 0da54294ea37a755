/**
 * Find out whether a Docker engine is reachable, for the testcontainers
 * suites (STYLE §5: they run where a Docker engine exists and skip with one
 * clear line where it does not). Test-only.
 */
import { getContainerRuntimeClient } from 'testcontainers';

/** Whether an engine answered, or why not (the first line of the error). */
export type DockerProbe = { ok: true } | { ok: false; reason: string };

/**
 * Ask testcontainers for a container runtime (DOCKER_HOST, ~/.testcontainers.properties,
 * the local socket, rootless Docker, ...): it pings the engine it finds.
 *
 * Behaviour: resolves `{ ok: false }` instead of throwing, and gives up
 * after `timeoutMs` (an unreachable DOCKER_HOST over TCP could otherwise
 * wait for the connect timeout). With no engine on the machine it answers
 * in a few milliseconds. Prints nothing.
 * @param timeoutMs  Longest wait for an answer, milliseconds. @default 4000
 * @returns          `{ ok: true }`, or `{ ok: false, reason }` with a one-line reason.
 */
export async function probeDockerEngine(timeoutMs = 4_000): Promise<DockerProbe> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<DockerProbe>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, reason: `no answer within ${timeoutMs} ms` }), timeoutMs);
    timer.unref();
  });
  const probe = getContainerRuntimeClient().then(
    (): DockerProbe => ({ ok: true }),
    (error: unknown): DockerProbe => ({ ok: false, reason: (error instanceof Error ? error.message : String(error)).split('\n')[0]! }),
  );
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Whether a Docker suite can run. When it cannot, writes exactly one line to
 * stderr, `<what> skipped: no Docker engine reachable (<reason>)`; it never
 * throws, in CI neither (a CI machine without Docker skips these suites).
 * @param what       What is skipped, e.g. `testcontainers suite`.
 * @param timeoutMs  Passed to {@link probeDockerEngine}. @default 4000
 * @see probeDockerEngine
 */
export async function dockerTestsCanRun(what: string, timeoutMs?: number): Promise<boolean> {
  const probe = await probeDockerEngine(timeoutMs);
  if (probe.ok) return true;
  process.stderr.write(`${what} skipped: no Docker engine reachable (${probe.reason})\n`);
  return false;
}
