/**
 * Start librdkafka's mock Kafka cluster through Debian's `kcat` (STYLE §5):
 * one broker on a loopback port, topics auto-created with 4 partitions, each
 * partition keeping only its newest 5 MiB / 100,000 messages. For tests and
 * benchmarks (bench/kafka.ts): no vitest here (a suite's hooks: kafka-mock-suite.ts).
 */
import { spawn, spawnSync } from 'node:child_process';

/** A running mock cluster. */
export interface KafkaMock {
  /** Bootstrap addresses, e.g. `['127.0.0.1:40123']`. */
  brokers: string[];
  /** Stall the broker (SIGSTOP to kcat): connections stay open, nothing answers, as a hung broker. */
  pause(): void;
  /** End a stall (SIGCONT). */
  resume(): void;
  /** Kill the kcat process (by its pid) and wait for it to exit. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Consumer group timeouts for tests on the mock cluster, ms (KafkaLogOptions; EDGELAT_KAFKA_*_TIMEOUT_MS for a
 * CLI child). The mock ends a rebalance only when the rebalance timeout runs out, even after every member has
 * rejoined (a real broker ends it then), and drops a killed member only after its session timeout: at the
 * defaults (10 s, 20 s) a second member or a restart after SIGKILL waited 10–20 s, at 3 s each 3 s. Real brokers
 * refuse sessions under 6 s by default: not for EDGELAT_TEST_KAFKA_BROKERS.
 */
export const MOCK_GROUP_TIMEOUTS = { sessionTimeoutMs: 3000, rebalanceTimeoutMs: 3000 } as const;
/** {@link MOCK_GROUP_TIMEOUTS} as a CLI child's environment. */
export const MOCK_GROUP_ENV = {
  EDGELAT_KAFKA_SESSION_TIMEOUT_MS: String(MOCK_GROUP_TIMEOUTS.sessionTimeoutMs),
  EDGELAT_KAFKA_REBALANCE_TIMEOUT_MS: String(MOCK_GROUP_TIMEOUTS.rebalanceTimeoutMs),
} as const;

/** Open sockets of this process to the broker at `host:port` (a client's connections left after its close show here). */
export function brokerSockets(broker: string): number {
  const port = Number(broker.slice(broker.lastIndexOf(':') + 1));
  return (process as unknown as { _getActiveHandles(): { remotePort?: number; destroyed?: boolean }[] })._getActiveHandles()
    .filter((h) => h.remotePort === port && h.destroyed !== true).length;
}

/** True when `kcat` is on the PATH. */
export function kcatAvailable(): boolean {
  const r = spawnSync('kcat', ['-V'], { stdio: 'ignore' });
  return r.error === undefined && r.status === 0;
}

/**
 * Spawn `kcat` as a mock-cluster host and parse its bootstrap address from stderr.
 *
 * Behaviour: resolves once `bootstrap.servers=127.0.0.1:PORT` appears on stderr;
 * the process is killed if that does not happen within `timeoutMs`.
 * @param timeoutMs  Startup timeout, milliseconds. @default 15000
 * @throws {Error} if kcat cannot be started, exits early, or prints no address in time.
 */
export async function startKafkaMock(timeoutMs = 15_000): Promise<KafkaMock> {
  const child = spawn('kcat', ['-b', 'unused:9092', '-X', 'test.mock.num.brokers=1', '-d', 'mock', '-C', '-t', 'edgelat-mock-warmup', '-o', 'end', '-q'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let exited = false;
  const exitedP = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  const stop = async (): Promise<void> => {
    if (exited || child.pid === undefined) return;
    process.kill(child.pid, 'SIGCONT');
    process.kill(child.pid, 'SIGTERM');
    const t = setTimeout(() => { if (!exited && child.pid !== undefined) process.kill(child.pid, 'SIGKILL'); }, 3_000);
    await exitedP;
    clearTimeout(t);
  };
  try {
    const brokers = await new Promise<string[]>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error(`kcat mock cluster printed no bootstrap.servers within ${timeoutMs} ms; stderr: ${JSON.stringify(text.slice(-500))}`)), timeoutMs);
      child.once('error', (e) => { clearTimeout(timer); reject(new Error(`cannot start kcat: ${e.message}`, { cause: e })); });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`kcat exited with code ${JSON.stringify(code)} before the mock cluster was up; stderr: ${JSON.stringify(text.slice(-500))}`)); });
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (chunk: string) => {
        if (text.length < 64_000) text += chunk;
        const m = /bootstrap\.servers=([0-9.,:]+)/.exec(text);
        if (m) { clearTimeout(timer); resolve(m[1]!.split(',').filter(Boolean)); }
      });
    });
    // Keep draining stderr (debug lines) so the pipe never fills and blocks kcat.
    child.stderr!.removeAllListeners('data');
    child.stderr!.resume();
    if (brokers.some((b) => !b.startsWith('127.0.0.1:'))) throw new Error(`kcat mock cluster is not on loopback: ${JSON.stringify(brokers)}`);
    const signal = (sig: NodeJS.Signals) => {
      if (!exited && child.pid !== undefined) process.kill(child.pid, sig);
    };
    return { brokers, stop, pause: () => signal('SIGSTOP'), resume: () => signal('SIGCONT') };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * Whether a Kafka test can run: EDGELAT_TEST_KAFKA_BROKERS is set (unless the
 * test needs the mock cluster itself: `mockOnly`) or kcat is on the PATH. Otherwise it throws in CI (where .ci/run installs kcat, so a
 * missing kcat is a broken set-up) and prints one line saying what is skipped.
 */
export function kafkaTestsCanRun(what: string, options: { mockOnly?: boolean } = {}): boolean {
  if ((!options.mockOnly && process.env.EDGELAT_TEST_KAFKA_BROKERS) || kcatAvailable()) return true;
  const missing = `kcat not found on PATH: ${what} needs Debian's kcat (apt-get install kcat) or EDGELAT_TEST_KAFKA_BROKERS`;
  if (process.env.CI) throw new Error(missing);
  process.stderr.write(`skipping ${what}: ${missing}\n`);
  return false;
}
