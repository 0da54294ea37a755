import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BIN = new URL('../../bin/edgelat.js', import.meta.url).pathname;

/** Exit code and output of one `edgelat` process. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run `edgelat <args>` as a separate Node process with its own EDGELAT_DATA_DIR
 * and wait for it; a non-zero exit is returned, not thrown.
 * @param cwd  Working directory (relative file arguments resolve against it). @default the test runner's
 * @param env  Variables set on top of the runner's environment (e.g. EDGELAT_CLICKHOUSE_URL).
 */
export async function edgelat(args: string[], dataDir: string, cwd?: string, env: Record<string, string> = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run('node', [BIN, ...args], { cwd, env: { ...process.env, ...env, EDGELAT_DATA_DIR: dataDir }, maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The lines of a CLI's stderr, without blank lines and npm's own warnings. */
export const errLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l !== '' && !l.startsWith('npm warn'));
