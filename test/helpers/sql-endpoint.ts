/**
 * The SQL endpoint in a child process of its own, for tests. chdb allows one
 * data folder per process, so a test that also holds a ChdbWarehouse cannot
 * open the endpoint's engine in-process. The child is this file, forked with
 * tsx and driven over IPC (`setUnavailable`).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A running endpoint child. */
export interface SqlEndpointProcess {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Flip the endpoint's fault switch; resolves once the child applied it. */
  setUnavailable(unavailable: boolean): Promise<void>;
  /** Stop the child (closes the engine). */
  stop(): Promise<void>;
}

type Message = { type: 'listening'; port: number } | { type: 'ack' } | { type: 'error'; message: string };

/**
 * Fork the endpoint over a chdb Session on a fresh temp folder, on 127.0.0.1 and a random port.
 * @param options  Endpoint options that survive JSON (e.g. `clientStallMs`), passed to createSqlEndpoint.
 */
export async function startSqlEndpointProcess(options: { clientStallMs?: number } = {}): Promise<SqlEndpointProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgelat-endpoint-'));
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, EDGELAT_TEST_SQL_ENDPOINT_CHILD: dataDir, EDGELAT_TEST_SQL_ENDPOINT_OPTIONS: JSON.stringify(options) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = () =>
    new Promise<Message>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`sql endpoint child exited with code ${String(code)}`));
      child.once('exit', onExit);
      child.once('message', (m) => {
        child.off('exit', onExit);
        const msg = m as Message;
        if (msg.type === 'error') reject(new Error(msg.message));
        else resolve(msg);
      });
    });
  const first = await next();
  if (first.type !== 'listening') throw new Error('sql endpoint child: unexpected first message');
  return {
    url: `http://127.0.0.1:${first.port}`,
    async setUnavailable(unavailable) {
      const ack = next();
      child.send({ type: 'unavailable', unavailable });
      await ack;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'stop' });
      await exited;
    },
  };
}

async function runChild(dataDir: string): Promise<void> {
  const { ChdbEngine } = await import('../../services/sql-endpoint/chdb-engine.ts');
  const { createSqlEndpoint } = await import('../../services/sql-endpoint/server.ts');
  const options = JSON.parse(process.env.EDGELAT_TEST_SQL_ENDPOINT_OPTIONS ?? '{}') as { clientStallMs?: number };
  const endpoint = createSqlEndpoint({ engine: new ChdbEngine(dataDir), ...options });
  await endpoint.listen({ host: '127.0.0.1', port: 0 });
  const address = endpoint.server.address();
  process.on('message', (m: { type: string; unavailable?: boolean }) => {
    if (m.type === 'unavailable') {
      endpoint.setUnavailable(Boolean(m.unavailable));
      process.send!({ type: 'ack' });
    } else if (m.type === 'stop') {
      void endpoint.close().finally(() => process.exit(0));
    }
  });
  process.on('disconnect', () => void endpoint.close().finally(() => process.exit(0)));
  process.send!({ type: 'listening', port: typeof address === 'object' && address ? address.port : 0 });
}

if (process.env.EDGELAT_TEST_SQL_ENDPOINT_CHILD && process.send && process.argv[1] === fileURLToPath(import.meta.url)) {
  runChild(process.env.EDGELAT_TEST_SQL_ENDPOINT_CHILD).catch((error: unknown) => {
    process.send!({ type: 'error', message: String((error as Error)?.message ?? error) });
    process.exit(1);
  });
}
