import { spawn } from 'node:child_process';

const BIN = new URL('../../bin/edgelat.js', import.meta.url).pathname;

/**
 * Run `edgelat pipeline run --until-end <args>` as a separate process with
 * `env` added; when `killWhen` resolves, send it `options.signal` (SIGKILL by
 * default), and `options.again` 50 ms later. `options.untilEnd: false` leaves out `--until-end` (a run that
 * only stops on a signal).
 * @returns '0' on a clean exit, or the signal that ended it.
 * @throws if it exits with a non-zero code (with the end of its stderr), or what `killWhen` throws.
 */
export function runPipelineProcess(
  env: NodeJS.ProcessEnv, args: string[] = [], killWhen?: () => Promise<void>, options: { signal?: NodeJS.Signals; again?: NodeJS.Signals; untilEnd?: boolean; stdout?: (text: string) => void; stderr?: (text: string) => void } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('node', [BIN, 'pipeline', 'run', ...(options.untilEnd === false ? [] : ['--until-end']), '--metrics-port', '0', '--metrics-host', '127.0.0.1', ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += String(d);
      options.stderr?.(String(d));
    });
    child.stdout.on('data', (d) => options.stdout?.(String(d)));
    // A failing killWhen kills the process and fails the run with its error. `again`: a second signal right after the
    // first, once the process has said it is stopping (a user's second Ctrl-C).
    void killWhen?.().then(() => {
      child.kill(options.signal ?? 'SIGKILL');
      if (options.again) setTimeout(() => child.kill(options.again), 50);
    }, (e: unknown) => {
      child.kill('SIGKILL');
      reject(e);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code !== 0 && signal === null) reject(new Error(`pipeline run ${args.join(' ')} exited ${code}: ${stderr.slice(-800)}`));
      else resolve(signal ?? String(code));
    });
  });
}
