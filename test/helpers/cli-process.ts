import { spawn } from 'node:child_process';

const BIN = new URL('../../bin/edgelat.js', import.meta.url).pathname;

/**
 * Run `edgelat pipeline run --until-end <args>` as a separate process with
 * `env` added; when `killWhen` resolves, kill it with SIGKILL.
 * @returns '0' on a clean exit, or the signal that ended it.
 * @throws if it exits with a non-zero code (with the end of its stderr).
 */
export function runPipelineProcess(env: NodeJS.ProcessEnv, args: string[] = [], killWhen?: () => Promise<void>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('node', [BIN, 'pipeline', 'run', '--until-end', '--metrics-port', '0', '--metrics-host', '127.0.0.1', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    void killWhen?.().then(() => child.kill('SIGKILL'));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code !== 0 && signal === null) reject(new Error(`pipeline run ${args.join(' ')} exited ${code}: ${stderr.slice(-800)}`));
      else resolve(signal ?? String(code));
    });
  });
}
