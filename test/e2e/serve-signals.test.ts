/**
 * `edgelat serve` stops on SIGINT, SIGTERM and SIGHUP with exit 0, also during its start, and a client stalled
 * mid-request does not hold the stop (a trial: such a client kept serve running 150 s after SIGTERM; SIGHUP ended it at
 * once with 129 and SIGTERM during the start with 143, each leaving the lock file behind).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errLines } from '../helpers/edgelat-cli.ts';

const BIN = new URL('../../bin/edgelat.js', import.meta.url).pathname;

/** A `serve` on free ports of a new data folder, its stderr gathered, and its exit. */
function startServe(): { child: ChildProcess; dataDir: string; stderr: () => string; exited: Promise<[number | null, NodeJS.Signals | null]>; serving: Promise<{ api: number; sql: number }> } {
  const dataDir = mkdtempSync(join(tmpdir(), 'edgelat-serve-signals-'));
  const child = spawn('node', [BIN, 'serve', '--port', '0', '--sql-port', '0'], { env: { ...process.env, EDGELAT_DATA_DIR: dataDir, EDGELAT_LOG_LEVEL: 'error' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (code, sig) => resolve([code, sig])));
  const serving = new Promise<{ api: number; sql: number }>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      text += d.toString();
      const m = /predictor API on http:\/\/127\.0\.0\.1:(\d+) .*ClickHouse HTTP on http:\/\/127\.0\.0\.1:(\d+)/.exec(text);
      if (m) resolve({ api: Number(m[1]), sql: Number(m[2]) });
    });
    void exited.then(() => reject(new Error(`serve exited before serving: ${text}`)));
  });
  serving.catch(() => undefined);
  return { child, dataDir, stderr: () => text, exited, serving };
}

/** A connection that sent a request's head and part of its body, and then nothing. */
function stalledRequest(port: number, path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"mo`);
      resolve(socket);
    });
    socket.on('error', () => undefined);
    socket.once('error', reject);
  });
}

describe('serve and signals', () => {
  it('SIGTERM with clients stalled mid-request on both ports: a second SIGTERM closes their connections, exit 0', async () => {
    const s = startServe();
    const { api, sql } = await s.serving;
    const clients = await Promise.all([stalledRequest(api, '/v1/recommend'), stalledRequest(sql, '/')]);
    try {
      s.child.kill('SIGTERM');
      // Within the grace the stop waits for them.
      await new Promise((r) => setTimeout(r, 1500));
      expect(s.child.exitCode).toBeNull();
      s.child.kill('SIGTERM');
      expect(await s.exited).toEqual([0, null]);
      expect(errLines(s.stderr())).toContain('edgelat: stopping: closed the connections still open (10 s after the signal, or at a second one)');
      expect(existsSync(join(s.dataDir, 'chdb', 'edgelat.pid'))).toBe(false);
    } finally {
      for (const c of clients) c.destroy();
      s.child.kill('SIGKILL');
    }
  }, 60_000);

  it('SIGHUP (a closed terminal) stops it as SIGTERM does: exit 0', async () => {
    const s = startServe();
    await s.serving;
    s.child.kill('SIGHUP');
    expect(await s.exited).toEqual([0, null]);
    expect(existsSync(join(s.dataDir, 'chdb', 'edgelat.pid'))).toBe(false);
  }, 60_000);

  it('SIGTERM during the start stops it there: exit 0, no lock file left', async () => {
    const s = startServe();
    // While the modules load or the warehouse opens: before the serving line.
    await new Promise((r) => setTimeout(r, 300));
    s.child.kill('SIGTERM');
    expect(await s.exited).toEqual([0, null]);
    expect(errLines(s.stderr()).some((l) => /^edgelat: (SIGTERM while starting|stopped before serving)/.test(l))).toBe(true);
    expect(existsSync(join(s.dataDir, 'chdb', 'edgelat.pid'))).toBe(false);
  }, 60_000);
});
